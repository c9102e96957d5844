"""Shortlists as they come out of the tools recruiters use: LinkedIn, Excel, Google and
Outlook contacts, ATS exports; email cells as mail clients write them; time zones and
countries as people write them; files too wide to be a shortlist."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from outreach.addresses import email_from_cell, normalize_email
from outreach.csvdialect import looks_like_shortlist
from outreach.csvimport import ParsedShortlist, parse_shortlist
from outreach.errors import InvalidEmail
from outreach.places import read_country, read_zone
from outreach.schedule import SendWindow, next_send_time, resolve_zone

INPUTS = Path(__file__).parents[1] / "inputs"


def rows(parsed: ParsedShortlist) -> list[tuple[int, str, str, str]]:
    return [(c.row, c.email, c.first_name, c.last_name) for c in parsed.candidates]


def notes(parsed: ParsedShortlist) -> list[str]:
    return [c.message for c in parsed.noted]


def test_linkedin_connections_header_after_its_notes_preamble() -> None:
    parsed = parse_shortlist((INPUTS / "linkedin-connections.csv").read_bytes())
    assert parsed.file_errors == []
    # Notes: is row 1, the paragraph row 2, a blank row 3, the header row 4.
    assert rows(parsed) == [
        (5, "jana.novak@talent.example", "Jana", "Novak"),
        (7, "mei.tanaka@talent.example", "Mei", "Tanaka"),
    ]
    assert [r.message for r in parsed.rejected] == ["Row 6: has no email address"]
    assert parsed.columns == ["url", "company", "position", "connected_on"]
    assert parsed.candidates[0].variables["position"] == "Staff Engineer"


def test_a_preamble_is_found_with_any_separator_and_a_multi_line_note() -> None:
    data = 'Exported by Ashby;\n"line one\nline two; more"\n\nName;Primary Email\nJo Bo;jo@x.test\n'
    parsed = parse_shortlist(data)
    assert rows(parsed) == [(5, "jo@x.test", "Jo", "Bo")]  # the note is one record


def test_excel_unicode_text_file() -> None:
    data = (INPUTS / "excel-unicode-text.txt").read_bytes()
    assert data.startswith(b"\xff\xfe")
    parsed = parse_shortlist(data)
    assert rows(parsed) == [
        (2, "jörg.müller@talent.example", "Jörg", "Müller"),
        (3, "zoe@talent.example", "Zoë", "Lefèvre"),
    ]
    assert parsed.candidates[0].variables == {"company": "Bäckerei \u2013 Nord"}
    assert looks_like_shortlist(data)


@pytest.mark.parametrize(
    "data",
    [b"Dear team,\nplease find the notes below.\n", b"%PDF-1.7\x00\x01", b"PK\x03\x04xx", b""],
)
def test_text_that_is_no_shortlist_is_recognised(data: bytes) -> None:
    assert not looks_like_shortlist(data)


@pytest.mark.parametrize(
    ("header", "row"),
    [
        # Google Contacts (current and older exports)
        (
            "First Name,Middle Name,Last Name,E-mail 1 - Label,E-mail 1 - Value,"
            "E-mail 2 - Value,Organization Name",
            "Jana,,Novak,* Home,jana@x.test ::: jn@x.test,other@x.test,Initech",
        ),
        (
            "Name,Given Name,Family Name,E-mail 1 - Type,E-mail 1 - Value",
            "J N,Jana,Novak,*,jana@x.test",
        ),
        # Outlook contacts
        (
            "First Name,Last Name,E-mail Address,E-mail 2 Address,Company,Business Country/Region",
            "Jana,Novak,jana@x.test,j2@x.test,Initech,Germany",
        ),
        # ATS exports
        ("Candidate Name,Candidate Email,Location", '"Novak, Jana",jana@x.test,"Berlin, Germany"'),
        ("Full Name,Personal Email,Work Email,Country", "Jana Novak,jana@x.test,jn@work.test,DEU"),
        ("First Name,Last Name,Primary Email,Time Zone", "Jana,Novak,jana@x.test,CET"),
    ],
)
def test_contact_and_ats_exports_name_their_columns_their_way(header: str, row: str) -> None:
    parsed = parse_shortlist(f"{header}\n{row}\n")
    assert parsed.file_errors == [] and parsed.rejected == []
    [candidate] = parsed.candidates
    assert (candidate.email, candidate.first_name, candidate.last_name) == (
        "jana@x.test",
        "Jana",
        "Novak",
    )
    if "Germany" in row or "DEU" in row:
        assert candidate.country == "DE"


def test_several_addresses_in_a_google_cell_take_the_first_and_say_so() -> None:
    parsed = parse_shortlist("E-mail 1 - Value\njana@x.test ::: jn@x.test\n")
    assert notes(parsed) == ["Row 2: the email cell holds 2 addresses; the first is used"]


@pytest.mark.parametrize(
    ("cell", "email"),
    [
        ("Jane Doe <Jane@X.test>", "jane@x.test"),
        ('"Doe, Jane" <jane@x.test>', "jane@x.test"),
        ("Doe, Jane <jane@x.test>", "jane@x.test"),  # Outlook copies the name unquoted
        ("Doe; Jane (HR) <Jane@X.test>", "jane@x.test"),
        ("<jane@x.test>", "jane@x.test"),
        ("mailto:jane@x.test", "jane@x.test"),
        ("MAILTO:jane@x.test?subject=Hello", "jane@x.test"),
        ("jane@bücher.example", "jane@xn--bcher-kva.example"),
        ("jane@xn--bcher-kva.example", "jane@xn--bcher-kva.example"),
        ("jörg.müller@talent.example", "jörg.müller@talent.example"),
    ],
)
def test_email_cells_in_any_form_a_mail_client_accepts(cell: str, email: str) -> None:
    found = email_from_cell(cell)
    assert (found.email, found.notes) == (email, ())
    parsed = parse_shortlist(f'Email,First Name\n"{cell.replace(chr(34), chr(34) * 2)}",Jane\n')
    assert [c.email for c in parsed.candidates] == [email]


def test_invisible_characters_are_removed_and_named() -> None:
    parsed = parse_shortlist(
        "Email\n\u200bjane@x.test\u00a0\n\ufeffriley@x.test\nzoe@x\u200d.test\nok@x.test\n"
    )
    assert [c.email for c in parsed.candidates] == [
        "jane@x.test",
        "riley@x.test",
        "zoe@x.test",
        "ok@x.test",
    ]
    assert notes(parsed) == [
        "Row 2: removed a zero-width space from the email address",  # the NBSP is trimmed
        "Row 3: removed a byte-order mark from the email address",
        "Row 4: removed a zero-width joiner from the email address",
    ]


@pytest.mark.parametrize(
    ("cell", "count"),
    [
        ("Doe, Jane <jane@x.test>, Roe, Rick <rick@x.test>", 2),
        ("jane@x.test, rick@x.test; zoe@x.test", 3),
    ],
)
def test_several_addresses_in_a_mail_client_cell_take_the_first_and_say_so(
    cell: str, count: int
) -> None:
    found = email_from_cell(cell)
    assert (found.email, found.notes) == (
        "jane@x.test",
        (f"the email cell holds {count} addresses; the first is used",),
    )


@pytest.mark.parametrize(
    "raw", ["jane@", "Jane Doe", "mailto:", "Jane <jane@>", "a@b@c.test", "Doe, Jane"]
)
def test_what_no_mail_client_accepts_is_still_refused(raw: str) -> None:
    with pytest.raises(InvalidEmail):
        email_from_cell(raw)


def test_normalize_email_uses_the_library_rules() -> None:
    assert normalize_email("Jane@Bücher.Example") == "jane@xn--bcher-kva.example"
    with pytest.raises(InvalidEmail):
        normalize_email("jane..doe@x.test")  # the old regex let consecutive dots through


# --- time zones and countries as written -------------------------------------------------


def test_time_zones_as_written_keep_every_candidate() -> None:
    parsed = parse_shortlist((INPUTS / "timezones-as-written.csv").read_bytes())
    assert parsed.rejected == []
    assert [(c.email.split("@")[0], c.timezone, c.country) for c in parsed.candidates] == [
        ("est", "America/New_York", "US"),
        ("ny", "America/New_York", "US"),
        ("mst", "America/Denver", "US"),
        ("pst", "America/Los_Angeles", "US"),
        ("et", "America/New_York", "US"),
        ("gmt", "Europe/Berlin", "DE"),
    ]
    assert notes(parsed) == [
        "Row 7: time zone 'GMT+1' read as Europe/Berlin, the zone of DE at UTC+01:00 "
        "(daylight saving included)"
    ]


def test_est_candidates_get_daylight_saving_in_july() -> None:
    """Before: 'EST' was IANA's fixed UTC-5, so 09:00 'EST' went out at 10:00 in New York."""
    [candidate] = parse_shortlist("Email,Time Zone\nerin@x.test,EST\n").candidates
    zone = resolve_zone(candidate.timezone, "UTC")
    monday_july = datetime(2026, 7, 13, 0, 0, tzinfo=UTC)
    due = next_send_time(monday_july, SendWindow(), zone, "US")
    assert due == datetime(2026, 7, 13, 13, 0, tzinfo=UTC)  # 09:00 EDT
    assert due.astimezone(ZoneInfo("America/New_York")).hour == 9
    # A shortlist imported before this change stored 'EST'; it is read the same way now.
    assert resolve_zone("EST", "UTC") == ZoneInfo("America/New_York")
    assert resolve_zone("MST", "UTC") == ZoneInfo("America/Denver")
    stored_est = next_send_time(monday_july, SendWindow(), resolve_zone("EST", "UTC"), "US")
    assert stored_est == due


@pytest.mark.parametrize(
    ("written", "country", "zone", "note"),
    [
        ("EST", None, "America/New_York", None),
        ("Eastern Standard Time", None, "America/New_York", None),
        ("Pacific Time (US & Canada)", None, "America/Los_Angeles", None),
        ("PDT", None, "America/Los_Angeles", None),
        ("CET", "FR", "Europe/Berlin", None),
        ("Central European Summer Time", None, "Europe/Berlin", None),
        ("europe/paris", None, "Europe/Paris", None),
        ("IST", None, "Asia/Kolkata", "time zone 'IST' has several meanings; read as Asia/Kolkata"),
        ("IST", "IE", "Europe/Dublin", "time zone 'IST' read as Europe/Dublin, its meaning in IE"),
        (
            "IST",
            "IL",
            "Asia/Jerusalem",
            "time zone 'IST' read as Asia/Jerusalem, its meaning in IL",
        ),
        (
            "CST",
            None,
            "America/Chicago",
            "time zone 'CST' has several meanings; read as America/Chicago",
        ),
        ("CST", "CN", "Asia/Shanghai", "time zone 'CST' read as Asia/Shanghai, its meaning in CN"),
        ("GMT", "GB", "Europe/London", "time zone 'GMT' read as Europe/London, its meaning in GB"),
        ("UTC", None, "UTC", None),
        (
            "GMT+1",
            None,
            "Etc/GMT-1",
            "time zone 'GMT+1' read as the fixed offset UTC+01:00, without daylight saving",
        ),
        (
            "UTC-05:00",
            "US",
            "America/New_York",
            "time zone 'UTC-05:00' read as America/New_York, the zone of US at UTC-05:00 "
            "(daylight saving included)",
        ),
        (
            "UTC+5:30",
            None,
            "Asia/Kolkata",
            "time zone 'UTC+5:30' read as the fixed offset UTC+05:30 (Asia/Kolkata, which "
            "keeps it all year), without daylight saving",
        ),
        (
            "GMT+5:45",
            None,
            "Asia/Kathmandu",
            "time zone 'GMT+5:45' read as the fixed offset UTC+05:45 (Asia/Kathmandu, which "
            "keeps it all year), without daylight saving",
        ),
        ("UTC-3:30", None, None, "time zone 'UTC-3:30' is an offset no fixed zone has"),
        ("Mars/Olympus", None, None, "time zone 'Mars/Olympus' is not one I know"),
    ],
)
def test_zones_as_written(
    written: str, country: str | None, zone: str | None, note: str | None
) -> None:
    assert (read_zone(written, country).value, read_zone(written, country).note) == (zone, note)


@pytest.mark.parametrize(
    ("written", "code"),
    [
        ("Germany", "DE"),
        ("USA", "US"),
        ("DEU", "DE"),
        ("United Kingdom", "GB"),
        ("UK", "GB"),
        ("england", "GB"),
        ("United States", "US"),
        ("South Korea", "KR"),
        ("fr", "FR"),
        ("Atlantis", None),
    ],
)
def test_countries_as_written(written: str, code: str | None) -> None:
    assert read_country(written).value == code


def test_an_unreadable_zone_or_country_keeps_the_candidate_with_a_note() -> None:
    parsed = parse_shortlist(
        "Email,Time Zone,Country\na@x.test,Mars/Olympus,Atlantis\nb@x.test,PST,USA\n"
    )
    assert [(c.timezone, c.country) for c in parsed.candidates] == [
        (None, None),
        ("America/Los_Angeles", "US"),
    ]
    assert parsed.rejected == []
    assert notes(parsed) == [
        "Row 2: country 'Atlantis' is not one I know; no public holidays are skipped; "
        "time zone 'Mars/Olympus' is not one I know; the campaign's time zone is used"
    ]


def test_an_empty_country_cell_lets_the_location_say_the_country() -> None:
    parsed = parse_shortlist(
        "Email,Name,First Name,Country,Location\n"
        'a@x.test,Jana Novak,,,"Berlin, Germany"\n'
        'b@x.test,Bo Li,Bo,FR,"Berlin, Germany"\n'
    )
    assert [(c.first_name, c.last_name, c.country) for c in parsed.candidates] == [
        ("Jana", "Novak", "DE"),  # empty cells count as absent, row by row
        ("Bo", "", "FR"),  # a value is never overridden
    ]


def test_a_half_hour_offset_without_a_country_keeps_its_offset() -> None:
    parsed = parse_shortlist("Email,Time Zone\na@x.test,GMT+5:30\nb@x.test,UTC-03:30\n")
    assert [c.timezone for c in parsed.candidates] == ["Asia/Kolkata", None]
    assert notes(parsed) == [
        "Row 2: time zone 'GMT+5:30' read as the fixed offset UTC+05:30 (Asia/Kolkata, which "
        "keeps it all year), without daylight saving",
        "Row 3: time zone 'UTC-03:30' is an offset no fixed zone has; "
        "the campaign's time zone is used",
    ]


def test_a_huge_unquoted_cell_is_called_too_large_not_an_open_quote() -> None:
    parsed = parse_shortlist("Email,Notes\na@x.test,ok\nb@x.test," + "x" * 5_000_000 + "\n")
    assert parsed.file_errors == [
        "Row 3 has a cell longer than 131,072 characters, more than any shortlist needs; "
        "shorten it (or check the row's separators) and import again."
    ]


# --- files too wide to be a shortlist ----------------------------------------------------


def test_more_than_200_columns_is_one_sentence() -> None:
    header = "Email," + ",".join(f"c{n}" for n in range(250))
    parsed = parse_shortlist(f"{header}\na@x.test{',x' * 250}\n")
    assert parsed.file_errors == [
        "The header row has 251 columns; ScaleUp reads at most 200. Remove the columns you "
        "don't need, or check the separator, and import again."
    ]


def test_a_row_far_wider_than_its_header_is_one_reason() -> None:
    parsed = parse_shortlist(f"Email,Name\na@x.test,Ann{',x' * 5000}\nb@x.test,Ben,p,q,r,s\n")
    assert [r.message for r in parsed.rejected] == [
        "Row 2: has 5,002 cells, far more than the header's 2 columns; "
        "check the separators and quotes of this row",
        "Row 3: 4 cells (columns C, D, E and 1 more) hold values but have no header; "
        "check the separators and quotes of this row",
    ]
