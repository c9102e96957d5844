"""How a shortlist file is written: its encoding, its separator, and where its header is.

- **Encoding.** UTF-16 with a byte-order mark (Excel's "Unicode Text"); else UTF-8, BOM or
  not; else Windows-1252, which Excel on Windows writes for plain "CSV".
- **Header.** The first of the first :data:`HEADER_SEARCH` records that has an email column
  (see :mod:`outreach.columns`), so a preamble is skipped: LinkedIn's ``Connections.csv``
  starts with a ``Notes:`` paragraph and a blank line. With no such record, the first
  non-blank one is the header (and the import says it lacks an email column).
- **Separator.** The one of tab, ``;`` and ``,`` with which that record has an email column;
  if several do, the one splitting the header into the most columns; a tie goes to tab,
  then ``;``, which almost never appear inside a column name while a comma sometimes does.
  ``csv.Sniffer`` (and clevercsv, tried on the same cases) picks ``,`` for
  ``Email;Notes, misc``, because both read the data rows too, so it is not used.
- **Row numbers** are the spreadsheet's: blank lines and a preamble count. They count
  records, not physical lines (the reader's ``line_num``), so a cell with line breaks inside
  does not shift the rows after it.
- **Cells** are trimmed (leading tabs and carriage returns included) and NFC-normalised;
  only the first :data:`MAX_COLUMNS` + 1 cells of a record are kept, with its real width.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass

from outreach.columns import column_keys
from outreach.errors import ShortlistUnreadable

MAX_COLUMNS = 200
HEADER_SEARCH = 10
SEPARATORS = "\t;,"
SAVE_AS = "Save it from your spreadsheet as CSV UTF-8 (File, Save As) and import that file."
# Fed to the reader after the last line: it lands inside a cell only if a quote never closed.
_END = "\x00"


@dataclass(frozen=True)
class Record:
    """One non-blank record: its spreadsheet row, its cells (at most MAX_COLUMNS + 1), width."""

    row: int
    cells: list[str]
    width: int


@dataclass(frozen=True)
class Layout:
    """Where the header is (its spreadsheet row) and what separates cells."""

    header_row: int
    delimiter: str


def decode(data: bytes | str) -> str:
    """The file's text; :class:`ShortlistUnreadable` for a workbook or a binary file,
    ``UnicodeDecodeError`` never (Windows-1252 takes any byte but five, which are reported)."""
    if isinstance(data, str):
        text = data.removeprefix("\ufeff")
    elif data.startswith(b"PK\x03\x04"):
        raise ShortlistUnreadable(f"This is an Excel workbook, not a CSV file. {SAVE_AS}")
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        text = data.decode("utf-16")
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = data.decode("cp1252")
    if _END in text:  # UTF-16 without its byte-order mark, or not a text file at all
        raise ShortlistUnreadable(f"The file contains NUL characters, so it is not text. {SAVE_AS}")
    return text


def layout(text: str) -> Layout:
    """Where the header is and the separator (module docstring); never raises."""
    found: list[tuple[int, int, Layout]] = []
    for rank, delimiter in enumerate(SEPARATORS):
        try:
            head = list(itertools.islice(records(text, delimiter), HEADER_SEARCH))
        except ShortlistUnreadable:
            continue
        for record in head:
            if "email" in column_keys(record.cells[:MAX_COLUMNS]):
                found.append((-record.width, rank, Layout(record.row, delimiter)))
                break
    if found:
        return min(found, key=lambda item: (item[2].header_row, item[0], item[1]))[2]
    return Layout(0, _first_line_delimiter(text))


def looks_like_shortlist(data: bytes) -> bool:
    """Whether ``data`` is text with a header row naming an email column in its first lines."""
    try:
        text = decode(data)
    except (ShortlistUnreadable, UnicodeDecodeError):
        return False
    return layout(text).header_row > 0


def records(text: str, delimiter: str) -> Iterator[Record]:
    """Every non-blank record, with trimmed NFC cells; :class:`ShortlistUnreadable` for a broken quote."""
    lines = itertools.chain(io.StringIO(text, newline=""), [_END])
    first_line: list[str] = []  # the first physical line of the record being read

    def fed() -> Iterator[str]:
        for line in lines:
            if not first_line:
                first_line.append(line)
            yield line

    reader = csv.reader(fed(), delimiter=delimiter)
    row = 0
    try:
        for row, record in enumerate(reader, start=1):
            first_line.clear()
            if record == [_END]:
                return
            if any(_END in cell for cell in record):
                raise ShortlistUnreadable(
                    f'Row {row} opens a quote (") that is never closed, so the rest of the file '
                    "would be read as one cell. Close the quote and import again."
                )
            cells = [unicodedata.normalize("NFC", c.strip()) for c in record[: MAX_COLUMNS + 1]]
            if any(cells):
                yield Record(row, cells, len(record))
    except csv.Error as error:
        opened = bool(first_line) and first_line[0].count('"') % 2 == 1
        if "field limit" in str(error) and not opened:  # one huge cell, no quote involved
            raise ShortlistUnreadable(
                f"Row {row + 1} has a cell longer than {csv.field_size_limit():,} characters, "
                "more than any shortlist needs; shorten it (or check the row's separators) "
                "and import again."
            ) from None
        raise ShortlistUnreadable(
            f"Row {row + 1} could not be read ({error}); check it for a quote that is never closed."
        ) from None


def _first_line_delimiter(text: str) -> str:
    """The separator occurring most often outside quotes in the first non-blank line."""
    line = next((line for line in text.splitlines() if line.strip()), "")
    outside = "".join(part for index, part in enumerate(line.split('"')) if index % 2 == 0)
    best = max(SEPARATORS, key=outside.count)  # a tie keeps the first: tab, then ;
    return best if best in outside else ","
