"""The rows a shortlist import left out, as a CSV the recruiter can fix and import again.

The file has the original header row and, for each rejected row, its cells exactly as
they were read (trimmed, Unicode NFC), after a first column ``reason`` (``import_reason``
if the file has a ``reason`` column already) with every reason, as the import report words
it. The reason comes first so it is the first thing seen, and so it stays in its column
when a row was rejected for holding more values than the header has columns. It is UTF-8 with a BOM, comma-separated, so Excel opens it with accents intact; the
importer reads it back like any other shortlist (the reason column becomes an unused
variable, or the recruiter deletes it). Every cell goes through
:func:`outreach.csvimport.safe_for_spreadsheet`, so a cell that a spreadsheet would run
as a formula (``=HYPERLINK(…)``) is written with a leading apostrophe.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from outreach.csvdialect import decode, layout, records
from outreach.csvimport import RejectedRow, safe_for_spreadsheet

REASON_COLUMN = "reason"


def rejected_csv(data: bytes | str, rejected: Sequence[RejectedRow]) -> bytes:
    """``data``'s header and rejected rows, each with its reasons, as CSV bytes.

    ``data`` is the file that was imported and ``rejected`` the rows
    :func:`outreach.csvimport.parse_shortlist` left out of it (their ``row`` numbers
    are the file's own). Raises :class:`~outreach.errors.ShortlistUnreadable` only if ``data``
    is not the file those rows came from.
    """
    text = decode(data)
    found = layout(text)
    wanted = {r.row: r for r in rejected}
    header: list[str] | None = None
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for record in records(text, found.delimiter):
        if record.row < found.header_row:
            continue  # a preamble (LinkedIn's "Notes:") stays out
        if header is None:
            header = record.cells
            taken = {cell.strip().lower() for cell in header}
            reason = REASON_COLUMN if REASON_COLUMN not in taken else f"import_{REASON_COLUMN}"
            writer.writerow([safe_for_spreadsheet(c) for c in [reason, *header]])
            continue
        row = wanted.get(record.row)
        if row is not None:
            why = "; ".join(row.reasons)
            writer.writerow([safe_for_spreadsheet(c) for c in [why, *record.cells]])
    return ("\ufeff" + out.getvalue()).encode("utf-8")
