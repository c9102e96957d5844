"""A recruiter's shortlist CSV, read into candidates, with a sentence for whatever was wrong.

Pure parsing and validation, no database. How the file is written (encoding, separator, a
preamble before the header) is :mod:`outreach.csvdialect`; which column is which is
:mod:`outreach.columns`; time zones and countries are read by :mod:`outreach.places` and
email cells by :func:`outreach.addresses.email_from_cell`.

- **Formulas are text.** ``=HYPERLINK(…)``, ``+49 30 1234``, ``-`` or ``@handle`` are kept
  exactly as written, never evaluated. ScaleUp never writes CSV back; a future export must
  pass each cell through :func:`safe_for_spreadsheet`.
- **Good rows survive bad ones.** A row is rejected only for its email (missing, not an
  address, a duplicate, on the do-not-contact list), an over-long cell or values outside the
  header, with every reason in one sentence. An optional column never drops a candidate: a
  time zone or country that cannot be read leaves the candidate on the campaign's zone or
  without holidays, and the row's note says so. Only a problem with the whole file (no email
  column, duplicate columns, more than :data:`MAX_COLUMNS` columns, an unclosed quote, more
  than ``max_rows`` rows) rejects everything: a file that is too long must be split, rather
  than have its tail quietly dropped.
"""

from __future__ import annotations

import itertools
from collections.abc import Container
from dataclasses import dataclass, field

from outreach.addresses import email_from_cell
from outreach.columns import (
    CORE_COLUMNS,
    FULL_NAME_KEYS,
    LOCATION_KEYS,
    column_key,
    column_keys,
    split_name,
)
from outreach.csvdialect import MAX_COLUMNS, SAVE_AS, decode, layout, records
from outreach.errors import InvalidEmail, ShortlistUnreadable
from outreach.places import read_country, read_zone

__all__ = ["CORE_COLUMNS", "MAX_COLUMNS", "column_key", "parse_shortlist"]

MAX_FIELD_LENGTH = 1_000
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_ZONE_FALLBACK = "; the campaign's time zone is used"
_COUNTRY_FALLBACK = "; no public holidays are skipped"


@dataclass(frozen=True)
class CandidateRow:
    """One candidate to import. ``row`` is the spreadsheet row it came from; ``notes`` say
    what was read differently from how it was written, or left out (see the module doc)."""

    row: int
    email: str
    first_name: str
    last_name: str
    timezone: str | None
    country: str | None
    variables: dict[str, str]
    notes: tuple[str, ...] = ()

    @property
    def message(self) -> str:
        """The note for the recruiter: "Row 4: time zone 'Mars' is not one I know; …"."""
        return f"Row {self.row}: {'; '.join(self.notes)}"


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

    @property
    def noted(self) -> list[CandidateRow]:
        """The imported candidates whose row has a note."""
        return [candidate for candidate in self.candidates if candidate.notes]

    def summary(self) -> str:
        """One sentence: "Imported 9,998 candidates; rejected 2 rows." or why nothing was."""
        if self.file_errors:
            return "Nothing was imported. " + " ".join(self.file_errors)
        rejected = f"; rejected {_count(len(self.rejected), 'row')}" if self.rejected else ""
        return f"Imported {_count(len(self.candidates), 'candidate')}{rejected}."

    def rejection_report(self, limit: int = 50) -> str:
        """File errors, then one line per rejected row, at most ``limit`` rows of them."""
        return _lines([*self.file_errors], [r.message for r in self.rejected], limit)

    def notes_report(self, limit: int = 50) -> str:
        """One line per imported row with a note, at most ``limit`` of them."""
        return _lines([], [c.message for c in self.noted], limit)


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
        text = decode(data)
        found = layout(text)
        rows = (r for r in records(text, found.delimiter) if r.row > found.header_row - 1)
        header = next(rows, None)
        if header is None:
            raise ShortlistUnreadable("The file is empty.")
        checker = _RowChecker(header.cells, header.width, do_not_contact)
        body = list(itertools.islice(rows, max_rows + 1))
        if not body:
            raise ShortlistUnreadable("The file has a header row but no candidates.")
        if len(body) > max_rows:
            raise ShortlistUnreadable(
                f"The file has more than {max_rows:,} rows. Split it into files of at most "
                f"{max_rows:,} candidates and import each one."
            )
    except UnicodeDecodeError as error:
        byte = f"Byte {error.start + 1:,} of the file is not text."
        return ParsedShortlist(file_errors=[f"{byte} {SAVE_AS}"])
    except ShortlistUnreadable as problem:
        return ParsedShortlist(file_errors=[str(problem)])
    result = ParsedShortlist(columns=checker.variable_keys)
    for record in body:
        outcome = checker.check(record.row, record.cells, record.width)
        if isinstance(outcome, CandidateRow):
            result.candidates.append(outcome)
        else:
            result.rejected.append(outcome)
    return result


class _RowChecker:
    """Turns one row's cells into a candidate or a rejection, remembering emails imported."""

    def __init__(self, headers: list[str], width: int, do_not_contact: Container[str]) -> None:
        if width > MAX_COLUMNS:
            raise ShortlistUnreadable(
                f"The header row has {width:,} columns; ScaleUp reads at most {MAX_COLUMNS}. "
                "Remove the columns you don't need, or check the separator, and import again."
            )
        self.headers, self.do_not_contact = headers, do_not_contact
        self.keys = column_keys(headers)
        self.imported: dict[str, int] = {}
        named: dict[str, str] = {}
        for header, key in zip(headers, self.keys, strict=True):
            if key in named:
                raise ShortlistUnreadable(
                    f"The columns '{named[key]}' and '{header}' both hold {key}; "
                    "keep one of them and import again."
                )
            if key:
                named[key] = header
        if "email" not in named:
            found = ", ".join(named.values())
            raise ShortlistUnreadable(
                f"There is no email column; the header row has {found}. "
                "Add a column named Email and import again."
            )
        self.variable_keys = [key for key in named if key not in CORE_COLUMNS]
        # Used row by row wherever first_name or country is empty: an empty cell is absent.
        self.full_name = _first(FULL_NAME_KEYS, named)
        self.location = _first(LOCATION_KEYS, named)

    def check(self, row: int, fields: list[str], width: int) -> CandidateRow | RejectedRow:
        """The candidate in ``fields``, or every reason it cannot be imported."""
        cells = {key: value for key, value in zip(self.keys, fields, strict=False) if key}
        reasons: list[str] = []
        notes: list[str] = []
        raw = cells.get("email", "")
        email = self._email(raw, reasons, notes)
        self._outside(fields, width, reasons)
        for index, value in enumerate(fields[: len(self.keys)]):
            if len(value) > MAX_FIELD_LENGTH:
                reasons.append(
                    f"'{self.headers[index]}' is longer than {MAX_FIELD_LENGTH:,} characters"
                )
        if email is None or reasons:
            return RejectedRow(row, raw or ", ".join(value for value in fields if value), reasons)
        country = read_country(cells.get("country", ""))
        if country.note:
            notes.append(country.note + _COUNTRY_FALLBACK)
        elif self.location and not country.value:
            place = cells.get(self.location, "").rpartition(",")[2]
            country = read_country(place) if place.strip() else country
        zone = read_zone(cells.get("timezone", ""), country.value)
        if zone.note:
            notes.append(zone.note + ("" if zone.value else _ZONE_FALLBACK))
        self.imported[email] = row
        first, last = cells.get("first_name", ""), cells.get("last_name", "")
        if self.full_name and not first.strip():
            first, split_last = split_name(cells.get(self.full_name, ""))
            last = last if last.strip() else split_last
        variables = {key: cells.get(key, "") for key in self.variable_keys}
        return CandidateRow(
            row, email, first, last, zone.value, country.value, variables, tuple(notes)
        )

    def _email(self, raw: str, reasons: list[str], notes: list[str]) -> str | None:
        try:
            found = email_from_cell(raw)
        except InvalidEmail:
            reasons.append(
                f"{_quote(raw)} is not an email address" if raw else "has no email address"
            )
            return None
        email = found.email
        notes.extend(found.notes)
        # Only imported rows count, so a bad first copy does not also sink a good later one.
        if email in self.imported:
            reasons.append(f"duplicate of row {self.imported[email]} ({email})")
        if email in self.do_not_contact:
            reasons.append(f"{email} is on the do-not-contact list")
        return email

    def _outside(self, fields: list[str], width: int, reasons: list[str]) -> None:
        """One reason for every value outside the header's named columns, however many."""
        if width > MAX_COLUMNS:
            reasons.append(
                f"has {width:,} cells, far more than the header's {len(self.keys)} columns; "
                "check the separators and quotes of this row"
            )
            return
        stray = [
            index
            for index, value in enumerate(fields)
            if value and (index >= len(self.keys) or not self.keys[index])
        ]
        if len(stray) == 1:
            index = stray[0]
            reasons.append(
                f"column {_letter(index)} holds {_quote(fields[index])} but has no header"
            )
        elif stray:
            shown = ", ".join(_letter(index) for index in stray[:3])
            more = f" and {len(stray) - 3} more" if len(stray) > 3 else ""
            reasons.append(
                f"{len(stray)} cells (columns {shown}{more}) hold values but have no header; "
                "check the separators and quotes of this row"
            )


def _first(keys: tuple[str, ...], named: dict[str, str]) -> str | None:
    return next((key for key in keys if key in named), None)


def _lines(head: list[str], lines: list[str], limit: int) -> str:
    shown = head + lines[:limit]
    if len(lines) > limit:
        shown.append(f"…and {len(lines) - limit:,} more.")
    return "\n".join(shown)


def _quote(value: str) -> str:
    return f"'{value}'" if len(value) <= 40 else f"'{value[:39]}…'"


def _letter(index: int) -> str:
    """The spreadsheet's name for column ``index`` (from 0): A, B, …, Z, AA, AB, …"""
    return (_letter(index // 26 - 1) if index >= 26 else "") + chr(ord("A") + index % 26)


def _count(number: int, noun: str) -> str:
    return f"{number:,} {noun}{'' if number == 1 else 's'}"
