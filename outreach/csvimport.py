"""A recruiter's shortlist CSV, read into candidates, with a sentence for whatever was wrong.

Pure parsing and validation, no database. Chosen so a file from Excel, Numbers or Sheets works:

- **Encoding.** UTF-16 with a byte-order mark (Excel's "Unicode text"); else UTF-8, BOM or
  not; else Windows-1252, which Excel on Windows writes for plain "CSV".
- **Separator.** Whichever of tab, ``;`` and ``,`` occurs most often outside quotes in the
  header line (``csv.Sniffer`` is fooled by data rows); ties go to tab, then ``;``, which
  almost never appear inside a column name while a comma sometimes does.
- **Row numbers** are the spreadsheet's: the header is row 1 and blank lines count. They
  count records, not physical lines (the reader's ``line_num``), so a cell with line breaks
  inside does not shift the rows after it.
- **Cells** are trimmed (leading tabs and carriage returns included) and NFC-normalised, so
  "Zoë" typed either way is one name.
- **Formulas are text.** ``=HYPERLINK(…)``, ``+49 30 1234``, ``-`` or ``@handle`` are kept
  exactly as written, never evaluated. ScaleUp never writes CSV back; a future export must
  pass each cell through :func:`safe_for_spreadsheet`.
- **Good rows survive bad ones.** A bad row is rejected with every reason that applies; the
  rest are imported. Only a problem with the whole file (no email column, duplicate columns,
  an unclosed quote, more than ``max_rows`` rows) rejects everything: a file that is too
  long must be split, rather than have its tail quietly dropped.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import re
import unicodedata
import zoneinfo
from collections.abc import Container, Iterator
from dataclasses import dataclass, field
from functools import cache

from outreach.addresses import normalize_email
from outreach.errors import InvalidEmail

MAX_FIELD_LENGTH = 1_000
CORE_COLUMNS = ("email", "first_name", "last_name", "timezone", "country")

_ALIASES = {
    **dict.fromkeys(("e_mail", "email_address", "e_mail_address", "emailaddress", "mail"), "email"),
    **dict.fromkeys(("first", "firstname", "given_name", "forename"), "first_name"),
    **dict.fromkeys(("last", "lastname", "surname", "family_name"), "last_name"),
    **dict.fromkeys(("time_zone", "tz", "timezone_name"), "timezone"),
    **dict.fromkeys(("country_code", "country_iso", "iso_country"), "country"),
}
# ISO 3166-1 alpha-2: the 249 assigned codes, plus "UK", which ISO reserves for the United
# Kingdom and recruiters write; looked up lower-case.
_ISO_3166 = (
    "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ "
    "BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM "
    "DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS "
    "GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN "
    "KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ "
    "MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM "
    "PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV "
    "SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI "
    "VN VU WF WS YE YT ZA ZM ZW"
)
_COUNTRIES = {code.lower(): code for code in _ISO_3166.split()} | {"uk": "GB"}
_UNKNOWN_ZONE = "unknown time zone {} (use an IANA name like Europe/Berlin)"
_UNKNOWN_COUNTRY = "unknown country {} (use a two-letter code like DE)"
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
# The first line that is not empty; a quoted cell in it may span lines.
_HEADER_LINE = re.compile(r'[\r\n]*((?:"[^"]*"|[^"\r\n])*)')
# Fed to the reader after the last line: it lands inside a cell only if a quote never closed.
_END = "\x00"
_SAVE_AS = "Save it from your spreadsheet as CSV UTF-8 (File, Save As) and import that file."


class _Unreadable(Exception):
    """The file as a whole cannot be imported; the message says why."""


@dataclass(frozen=True)
class CandidateRow:
    """One candidate to import. ``row`` is the spreadsheet row it came from."""

    row: int
    email: str
    first_name: str
    last_name: str
    timezone: str | None
    country: str | None
    variables: dict[str, str]


@dataclass(frozen=True)
class RejectedRow:
    """A row left out, with every reason. ``email`` is the email cell as written, or the row."""

    row: int
    email: str
    reasons: list[str]

    @property
    def message(self) -> str:
        """The sentence for the recruiter: "Row 14: 'jane@' is not an email address"."""
        return f"Row {self.row}: {'; '.join(self.reasons)}"


@dataclass
class ParsedShortlist:
    """What a shortlist file held: candidates to import, rows left out, and file problems."""

    candidates: list[CandidateRow] = field(default_factory=list)
    rejected: list[RejectedRow] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    file_errors: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One sentence: "Imported 9,998 candidates; rejected 2 rows." or why nothing was."""
        if self.file_errors:
            return "Nothing was imported. " + " ".join(self.file_errors)
        rejected = f"; rejected {_count(len(self.rejected), 'row')}" if self.rejected else ""
        return f"Imported {_count(len(self.candidates), 'candidate')}{rejected}."

    def rejection_report(self, limit: int = 50) -> str:
        """File errors, then one line per rejected row, at most ``limit`` rows of them."""
        lines = [*self.file_errors, *(r.message for r in self.rejected[:limit])]
        if len(self.rejected) > limit:
            lines.append(f"…and {len(self.rejected) - limit:,} more.")
        return "\n".join(lines)


def column_key(header: str) -> str:
    """A column's key: snake case, core columns' usual spellings unified ("E-mail" → email)."""
    text = unicodedata.normalize("NFKC", header).strip().lower()
    key = re.sub(r"\W+", "_", text).strip("_")
    return _ALIASES.get(key, key)


def safe_for_spreadsheet(value: str) -> str:
    """``value`` for a CSV export: prefixed with ``'`` if a spreadsheet would run it as a formula.

    Excel, LibreOffice and Google Sheets treat a cell starting with ``=``, ``+``, ``-``, ``@``,
    tab or carriage return as a formula; the apostrophe makes them show it as text.
    """
    return "'" + value if value.startswith(_FORMULA_PREFIXES) else value


def parse_shortlist(
    data: bytes | str, *, do_not_contact: Container[str] = frozenset(), max_rows: int = 50_000
) -> ParsedShortlist:
    """Read a shortlist file (see the module docstring for the rules) into candidates.

    ``do_not_contact`` holds normalised (lower-case) addresses; rows with one are rejected.
    Never raises for bad input: problems come back as sentences in the result.
    """
    try:
        text = _decode(data)
        records = _records(text, _delimiter(text))
        _, headers = next(records, (0, []))
        if not headers:
            raise _Unreadable("The file is empty.")
        checker = _RowChecker(headers, do_not_contact)
        body = list(itertools.islice(records, max_rows + 1))
        if not body:
            raise _Unreadable("The file has a header row but no candidates.")
        if len(body) > max_rows:
            raise _Unreadable(
                f"The file has more than {max_rows:,} rows. Split it into files of at most "
                f"{max_rows:,} candidates and import each one."
            )
    except UnicodeDecodeError as error:
        byte = f"Byte {error.start + 1:,} of the file is not text."
        return ParsedShortlist(file_errors=[f"{byte} {_SAVE_AS}"])
    except _Unreadable as problem:
        return ParsedShortlist(file_errors=[str(problem)])
    result = ParsedShortlist(columns=checker.variable_keys)
    for row, fields in body:
        outcome = checker.check(row, fields)
        if isinstance(outcome, CandidateRow):
            result.candidates.append(outcome)
        else:
            result.rejected.append(outcome)
    return result


def _decode(data: bytes | str) -> str:
    if isinstance(data, str):
        text = data.removeprefix("\ufeff")
    elif data.startswith(b"PK\x03\x04"):
        raise _Unreadable(f"This is an Excel workbook, not a CSV file. {_SAVE_AS}")
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        text = data.decode("utf-16")
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = data.decode("cp1252")
    if _END in text:  # UTF-16 without its byte-order mark, or not a text file at all
        raise _Unreadable(f"The file contains NUL characters, so it is not text. {_SAVE_AS}")
    return text


def _delimiter(text: str) -> str:
    match = _HEADER_LINE.match(text)
    header = re.sub(r'"[^"]*"', "", match[1] if match else "")
    best = max("\t;,", key=header.count)  # a tie keeps the first: tab, then ;
    return best if best in header else ","


def _records(text: str, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """(spreadsheet row, trimmed NFC cells) for each record that is not blank."""
    lines = itertools.chain(io.StringIO(text, newline=""), [_END])
    reader = csv.reader(lines, delimiter=delimiter)
    row = 0
    try:
        for row, record in enumerate(reader, start=1):
            if record == [_END]:
                return
            if any(_END in cell for cell in record):
                raise _Unreadable(
                    f'Row {row} opens a quote (") that is never closed, so the rest of the file '
                    "would be read as one cell. Close the quote and import again."
                )
            cells = [unicodedata.normalize("NFC", cell.strip()) for cell in record]
            if any(cells):
                yield row, cells
    except csv.Error as error:
        raise _Unreadable(
            f"Row {row + 1} could not be read ({error}); check it for a quote that is never closed."
        ) from None


class _RowChecker:
    """Turns one row's cells into a candidate or a rejection, remembering emails imported."""

    def __init__(self, headers: list[str], do_not_contact: Container[str]) -> None:
        self.headers, self.do_not_contact = headers, do_not_contact
        self.keys = [column_key(header) for header in headers]
        self.imported: dict[str, int] = {}
        named: dict[str, str] = {}
        for header, key in zip(headers, self.keys, strict=True):
            if key in named:
                raise _Unreadable(
                    f"The columns '{named[key]}' and '{header}' both hold {key}; "
                    "keep one of them and import again."
                )
            if key:
                named[key] = header
        if "email" not in named:
            found = ", ".join(named.values())
            raise _Unreadable(
                f"There is no email column; the header row has {found}. "
                "Add a column named Email and import again."
            )
        self.variable_keys = [key for key in named if key not in CORE_COLUMNS]

    def check(self, row: int, fields: list[str]) -> CandidateRow | RejectedRow:
        """The candidate in ``fields``, or every reason it cannot be imported."""
        cells = {key: value for key, value in zip(self.keys, fields, strict=False) if key}
        reasons: list[str] = []
        raw = cells.get("email", "")
        email = self._email(raw, reasons)
        timezone = _canonical(cells.get("timezone", ""), _time_zones(), _UNKNOWN_ZONE, reasons)
        country = _canonical(cells.get("country", ""), _COUNTRIES, _UNKNOWN_COUNTRY, reasons)
        for index, value in enumerate(fields):
            if value and (index >= len(self.keys) or not self.keys[index]):
                reasons.append(f"column {_letter(index)} holds {_quote(value)} but has no header")
            elif len(value) > MAX_FIELD_LENGTH:
                reasons.append(
                    f"'{self.headers[index]}' is longer than {MAX_FIELD_LENGTH:,} characters"
                )
        if email is None or reasons:
            return RejectedRow(row, raw or ", ".join(value for value in fields if value), reasons)
        self.imported[email] = row
        first, last = cells.get("first_name", ""), cells.get("last_name", "")
        variables = {key: cells.get(key, "") for key in self.variable_keys}
        return CandidateRow(row, email, first, last, timezone, country, variables)

    def _email(self, raw: str, reasons: list[str]) -> str | None:
        try:
            email = normalize_email(raw)
        except InvalidEmail:
            reasons.append(
                f"{_quote(raw)} is not an email address" if raw else "has no email address"
            )
            return None
        # Only imported rows count, so a bad first copy does not also sink a good later one.
        if email in self.imported:
            reasons.append(f"duplicate of row {self.imported[email]} ({email})")
        if email in self.do_not_contact:
            reasons.append(f"{email} is on the do-not-contact list")
        return email


def _canonical(value: str, names: dict[str, str], unknown: str, reasons: list[str]) -> str | None:
    """The canonical spelling of ``value`` (looked up lower-case), or None with a reason."""
    if not value:
        return None
    name = names.get(value.lower())
    if name is None:
        reasons.append(unknown.format(_quote(value)))
    return name


@cache
def _time_zones() -> dict[str, str]:
    return {name.lower(): name for name in zoneinfo.available_timezones()}


def _quote(value: str) -> str:
    return f"'{value}'" if len(value) <= 40 else f"'{value[:39]}…'"


def _letter(index: int) -> str:
    """The spreadsheet's name for column ``index`` (from 0): A, B, …, Z, AA, AB, …"""
    return (_letter(index // 26 - 1) if index >= 26 else "") + chr(ord("A") + index % 26)


def _count(number: int, noun: str) -> str:
    return f"{number:,} {noun}{'' if number == 1 else 's'}"
