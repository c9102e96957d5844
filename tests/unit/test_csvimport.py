from __future__ import annotations

import unicodedata

import pytest

from outreach.csvimport import (
    CandidateRow,
    ParsedShortlist,
    RejectedRow,
    column_key,
    parse_shortlist,
    safe_for_spreadsheet,
)

SAVE_AS = "Save it from your spreadsheet as CSV UTF-8 (File, Save As) and import that file."


def messages(parsed: ParsedShortlist) -> list[str]:
    return [rejected.message for rejected in parsed.rejected]


def notes(parsed: ParsedShortlist) -> list[str]:
    return [candidate.message for candidate in parsed.noted]


def only_emails(parsed: ParsedShortlist) -> list[str]:
    return [c.email for c in parsed.candidates]


def only(parsed: ParsedShortlist) -> CandidateRow:
    assert parsed.file_errors == []
    assert messages(parsed) == []
    assert len(parsed.candidates) == 1
    return parsed.candidates[0]


@pytest.mark.parametrize(
    ("header", "key"),
    [
        ("First Name", "first_name"),
        ("first_name", "first_name"),
        ("FirstName", "first_name"),
        ("Surname", "last_name"),
        ("Last name", "last_name"),
        ("E-mail", "email"),
        ("Email Address", "email"),
        ("email", "email"),
        (" EMAIL ", "email"),
        ("Time Zone", "timezone"),
        ("TZ", "timezone"),
        ("Country Code", "country"),
        ("Company Name", "company_name"),
        ("LinkedIn URL", "linkedin_url"),
        ("Role / Title", "role_title"),
    ],
)
def test_column_keys_are_snake_case_with_core_aliases(header: str, key: str) -> None:
    assert column_key(header) == key


def test_a_plain_file_becomes_candidates_with_variables() -> None:
    parsed = parse_shortlist(
        "Email,First Name,Last Name,Time Zone,Country,Company,Role\r\n"
        "Jane.Doe@Acme.Test,Jane,Doe,europe/berlin,de,Acme,CTO\r\n"
        "  riley@acme.test , Riley ,,,\r\n"
    )
    assert parsed.file_errors == []
    assert parsed.rejected == []
    assert parsed.columns == ["company", "role"]
    assert parsed.candidates == [
        CandidateRow(
            2,
            "jane.doe@acme.test",
            "Jane",
            "Doe",
            "Europe/Berlin",
            "DE",
            {"company": "Acme", "role": "CTO"},
        ),
        CandidateRow(3, "riley@acme.test", "Riley", "", None, None, {"company": "", "role": ""}),
    ]
    assert parsed.summary() == "Imported 2 candidates."
    assert parsed.rejection_report() == ""


def test_utf8_byte_order_mark_is_not_part_of_the_first_header() -> None:
    data = "\ufeffEmail,First Name\r\nzoe@x.test,Zoë\r\n".encode()
    assert data.startswith(b"\xef\xbb\xbf")
    candidate = only(parse_shortlist(data))
    assert (candidate.email, candidate.first_name) == ("zoe@x.test", "Zoë")


def test_a_string_with_a_byte_order_mark_is_read_the_same() -> None:
    assert only(parse_shortlist("\ufeffEmail\na@x.test\n")).email == "a@x.test"


def test_excel_unicode_text_is_utf16_with_tabs() -> None:
    data = 'Email\tFirst Name\tNotes\r\nlukasz@x.test\tŁukasz\tsays "hi", ok\r\n'.encode("utf-16")
    assert data[:2] in (b"\xff\xfe", b"\xfe\xff")
    candidate = only(parse_shortlist(data))
    assert candidate.first_name == "Łukasz"
    assert candidate.variables == {"notes": 'says "hi", ok'}


def test_semicolons_separate_european_excel_files() -> None:
    parsed = parse_shortlist(b"Email;First Name;Salary\r\njose@x.test;Jos\xc3\xa9;1.234,56\r\n")
    candidate = only(parsed)
    assert (candidate.first_name, candidate.variables) == ("José", {"salary": "1.234,56"})


def test_tabs_separate_pasted_files() -> None:
    candidate = only(parse_shortlist("Email\tFirst Name\tCity\na@x.test\tAnn\tLyon, France\n"))
    assert (candidate.first_name, candidate.variables) == ("Ann", {"city": "Lyon, France"})


def test_separators_inside_quoted_headers_do_not_count() -> None:
    parsed = parse_shortlist('Email;"Notes, misc";"City, Country"\na@x.test;x, y;Lyon\n')
    assert only(parsed).variables == {"notes_misc": "x, y", "city_country": "Lyon"}
    parsed = parse_shortlist('Email,"Notes; misc"\na@x.test,"p; q"\n')
    assert only(parsed).variables == {"notes_misc": "p; q"}


def test_a_tie_goes_to_tab_then_semicolon_since_commas_appear_in_names() -> None:
    parsed = parse_shortlist("Email;Notes, misc\na@x.test;x, y\n")
    assert only(parsed).variables == {"notes_misc": "x, y"}
    parsed = parse_shortlist("Email\tNotes; misc, more\na@x.test\tx; y, z\n")
    assert only(parsed).variables == {"notes_misc_more": "x; y, z"}


def test_a_one_column_file_needs_no_separator() -> None:
    parsed = parse_shortlist("Email\na@x.test\nb@x.test\n")
    assert [c.email for c in parsed.candidates] == ["a@x.test", "b@x.test"]


def test_quoted_fields_keep_separators_quotes_and_line_breaks() -> None:
    parsed = parse_shortlist(
        "Email,First Name,Notes\r\n"
        'a@x.test,"Doe, Jane","She said ""yes""\r\nthen ""no"", twice"\r\n'
        "bad@,Bob,\r\n"
    )
    assert parsed.candidates[0].first_name == "Doe, Jane"
    assert parsed.candidates[0].variables == {"notes": 'She said "yes"\r\nthen "no", twice'}
    # The multi-line cell is one spreadsheet row, so the next record is row 3, not line 4.
    assert messages(parsed) == ["Row 3: 'bad@' is not an email address"]


def test_old_mac_line_endings() -> None:
    parsed = parse_shortlist(b"Email,First Name\ra@x.test,Ann\rb@x.test,Ben\r")
    assert [(c.row, c.first_name) for c in parsed.candidates] == [(2, "Ann"), (3, "Ben")]


def test_unicode_names_are_kept_and_nfc_normalised() -> None:
    nfd_zoe = unicodedata.normalize("NFD", "Zoë")
    assert nfd_zoe != "Zoë"
    parsed = parse_shortlist(
        f"Email,First Name,Last Name\nzoe@x.test,{nfd_zoe},Ångström\n"
        "lukasz@x.test,Łukasz,Żółć\nli@x.test,李雷,李\n".encode()
    )
    assert [(c.first_name, c.last_name) for c in parsed.candidates] == [
        ("Zo\u00eb", unicodedata.normalize("NFC", "Ångström")),
        ("Łukasz", "Żółć"),
        ("李雷", "李"),
    ]
    assert all(unicodedata.is_normalized("NFC", c.first_name) for c in parsed.candidates)


def test_windows_1252_is_the_fallback_when_the_file_is_not_utf8() -> None:
    parsed = parse_shortlist(b"Email,First Name,Notes\r\njose@x.test,Jos\xe9,caf\xe9 \x80 5\r\n")
    candidate = only(parsed)
    assert (candidate.first_name, candidate.variables) == ("José", {"notes": "café € 5"})


def test_bytes_that_are_no_text_encoding_reject_the_file() -> None:
    parsed = parse_shortlist(b"Email\r\n\x81\x81@x.test\r\n")
    assert parsed.file_errors == [f"Byte 8 of the file is not text. {SAVE_AS}"]
    assert parsed.candidates == []


def test_an_excel_workbook_is_explained() -> None:
    parsed = parse_shortlist(b"PK\x03\x04\x14\x00\x06\x00")
    assert parsed.file_errors == [f"This is an Excel workbook, not a CSV file. {SAVE_AS}"]


def test_utf16_without_byte_order_mark_is_not_read_as_garbage() -> None:
    parsed = parse_shortlist("Email\r\na@x.test\r\n".encode("utf-16-le"))
    assert parsed.file_errors == [f"The file contains NUL characters, so it is not text. {SAVE_AS}"]


@pytest.mark.parametrize(
    "value", ['=HYPERLINK("http://evil.test","x")', "+49 30 1234567", "-", "-5", "@handle", "=1+1"]
)
def test_formula_prefixes_are_kept_as_plain_text(value: str) -> None:
    quoted = '"' + value.replace('"', '""') + '"'
    candidate = only(parse_shortlist(f"Email,Phone\na@x.test,{quoted}\n"))
    assert candidate.variables == {"phone": value}


@pytest.mark.parametrize(
    ("value", "safe"),
    [
        ("=1+1", "'=1+1"),
        ("+49 30 1234567", "'+49 30 1234567"),
        ("-", "'-"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("Jane", "Jane"),
        ("", ""),
        ("a=b", "a=b"),
    ],
)
def test_safe_for_spreadsheet_prefixes_formulas(value: str, safe: str) -> None:
    assert safe_for_spreadsheet(value) == safe


def test_over_long_fields_reject_the_row() -> None:
    parsed = parse_shortlist(f"Email,Notes\na@x.test,{'n' * 1000}\nb@x.test,{'n' * 1001}\n")
    assert [c.email for c in parsed.candidates] == ["a@x.test"]
    assert messages(parsed) == ["Row 3: 'Notes' is longer than 1,000 characters"]
    assert parsed.rejected[0].email == "b@x.test"


def test_extra_fields_without_a_header_reject_the_row_but_empty_ones_are_tolerated() -> None:
    parsed = parse_shortlist(
        "Email,First Name\n"
        "a@x.test,Ann,,\n"  # trailing empty cells, as Excel pads rows
        "b@x.test,Ben,surprise\n"
        "c@x.test\n"  # too few fields: the rest are empty
    )
    assert [(c.email, c.first_name) for c in parsed.candidates] == [
        ("a@x.test", "Ann"),
        ("c@x.test", ""),
    ]
    assert messages(parsed) == ["Row 3: column C holds 'surprise' but has no header"]


def test_a_column_with_a_blank_header_must_stay_empty() -> None:
    parsed = parse_shortlist("Email,,Company\na@x.test,,Acme\nb@x.test,oops,Acme\n")
    assert parsed.columns == ["company"]
    assert only_emails(parsed) == ["a@x.test"]
    assert messages(parsed) == ["Row 3: column B holds 'oops' but has no header"]


def test_duplicates_point_at_the_row_that_was_imported() -> None:
    parsed = parse_shortlist("Email\njane@x.test\nriley@x.test\n JANE@X.test\njane@x.test\n")
    assert only_emails(parsed) == ["jane@x.test", "riley@x.test"]
    assert messages(parsed) == [
        "Row 4: duplicate of row 2 (jane@x.test)",
        "Row 5: duplicate of row 2 (jane@x.test)",
    ]
    assert [r.email for r in parsed.rejected] == ["JANE@X.test", "jane@x.test"]


def test_a_bad_first_copy_does_not_sink_a_good_later_one() -> None:
    parsed = parse_shortlist("Email,Time Zone\njane@\njane@x.test,UTC\n")
    assert [(c.row, c.timezone) for c in parsed.candidates] == [(3, "UTC")]
    assert messages(parsed) == ["Row 2: 'jane@' is not an email address"]


def test_do_not_contact_addresses_are_rejected() -> None:
    parsed = parse_shortlist(
        "Email\nJane@X.test\nriley@x.test\n", do_not_contact=frozenset({"jane@x.test"})
    )
    assert only_emails(parsed) == ["riley@x.test"]
    assert messages(parsed) == ["Row 2: jane@x.test is on the do-not-contact list"]


def test_time_zones_are_iana_names_matched_case_insensitively() -> None:
    parsed = parse_shortlist(
        "Email,TZ\na@x.test,america/new_york\nb@x.test,UTC\nc@x.test,Europe/Berlinn\nd@x.test,CEST\n"
    )
    # An unusable zone keeps the candidate on the campaign's zone and says so.
    assert [c.timezone for c in parsed.candidates] == [
        "America/New_York",
        "UTC",
        None,
        "Europe/Berlin",
    ]
    assert messages(parsed) == []
    assert notes(parsed) == [
        "Row 4: time zone 'Europe/Berlinn' is not one I know; the campaign's time zone is used"
    ]


def test_countries_are_iso_alpha2_codes() -> None:
    parsed = parse_shortlist(
        "Email,Country Code\na@x.test,de\nb@x.test,UK\nc@x.test,XX\nd@x.test,Germany\ne@x.test,\n"
    )
    assert [c.country for c in parsed.candidates] == ["DE", "GB", None, "DE", None]
    assert messages(parsed) == []
    assert notes(parsed) == [
        "Row 4: country 'XX' is not one I know; no public holidays are skipped"
    ]


def test_a_row_reports_every_reason_at_once() -> None:
    parsed = parse_shortlist(f"Email,Time Zone,Country,Notes\njane@,Mars/Base,ZZ,{'x' * 1001},y\n")
    assert messages(parsed) == [
        "Row 2: 'jane@' is not an email address; "
        "column E holds 'y' but has no header; "
        "'Notes' is longer than 1,000 characters"
    ]
    assert parsed.rejected[0] == RejectedRow(2, "jane@", parsed.rejected[0].reasons)


def test_a_row_without_an_email_names_what_it_has() -> None:
    parsed = parse_shortlist("Email,First Name,Company\n,Jane,Acme\na@x.test,Ann,Acme\n")
    assert messages(parsed) == ["Row 2: has no email address"]
    assert parsed.rejected[0].email == "Jane, Acme"
    assert parsed.summary() == "Imported 1 candidate; rejected 1 row."


def test_long_values_are_shortened_in_messages() -> None:
    parsed = parse_shortlist(f"Email\n{'x' * 50}\n")
    assert messages(parsed) == [f"Row 2: '{'x' * 39}…' is not an email address"]


def test_a_missing_email_column_is_a_file_error_naming_the_headers() -> None:
    parsed = parse_shortlist("First Name,Company\nJane,Acme\n")
    assert parsed.file_errors == [
        "There is no email column; the header row has First Name, Company. "
        "Add a column named Email and import again."
    ]
    assert parsed.candidates == [] and parsed.rejected == []
    assert parsed.summary() == (
        "Nothing was imported. There is no email column; the header row has First Name, "
        "Company. Add a column named Email and import again."
    )


def test_duplicate_headers_are_a_file_error() -> None:
    parsed = parse_shortlist("Email,Company,E-mail\na@x.test,Acme,b@x.test\n")
    assert parsed.file_errors == [
        "The columns 'Email' and 'E-mail' both hold email; keep one of them and import again."
    ]
    parsed = parse_shortlist("Email,Company,company\na@x.test,Acme,Acme\n")
    assert parsed.file_errors == [
        "The columns 'Company' and 'company' both hold company; keep one of them and import again."
    ]


def test_an_unclosed_quote_rejects_the_file_instead_of_swallowing_rows() -> None:
    parsed = parse_shortlist('Email,Notes\na@x.test,ok\nb@x.test,"oops\nc@x.test,fine\n')
    assert parsed.file_errors == [
        'Row 3 opens a quote (") that is never closed, so the rest of the file would be read '
        "as one cell. Close the quote and import again."
    ]
    assert parsed.candidates == []


def test_an_unclosed_quote_in_a_large_file_names_the_row() -> None:
    parsed = parse_shortlist('Email,Notes\na@x.test,ok\nb@x.test,"' + "x," * 70_000)
    assert parsed.file_errors == [
        "Row 3 could not be read (field larger than field limit (131072)); "
        "check it for a quote that is never closed."
    ]


def test_a_stray_quote_inside_a_cell_is_kept() -> None:
    assert only(parse_shortlist("Email,Height\na@x.test,5'11\"\n")).variables == {
        "height": "5'11\""
    }


def test_blank_lines_are_skipped_but_keep_their_row_numbers() -> None:
    parsed = parse_shortlist("\r\nEmail,Name\r\n\r\na@x.test,A\r\n,\r\n   ,  \r\nbad\r\n\r\n\r\n")
    assert [(c.row, c.email) for c in parsed.candidates] == [(4, "a@x.test")]
    assert messages(parsed) == ["Row 7: 'bad' is not an email address"]


@pytest.mark.parametrize("data", [b"", "", "\n\n", b"\xef\xbb\xbf", " , \r\n"])
def test_an_empty_file_is_a_file_error(data: bytes | str) -> None:
    assert parse_shortlist(data).file_errors == ["The file is empty."]


def test_a_header_without_rows_is_a_file_error() -> None:
    parsed = parse_shortlist("Email,First Name\r\n\r\n")
    assert parsed.file_errors == ["The file has a header row but no candidates."]


def test_too_many_rows_reject_the_whole_file() -> None:
    rows = "".join(f"c{n}@x.test\n\n" for n in range(5))
    assert len(parse_shortlist("Email\n" + rows, max_rows=5).candidates) == 5
    parsed = parse_shortlist("Email\n" + rows + "c5@x.test\n", max_rows=5)
    assert parsed.file_errors == [
        "The file has more than 5 rows. Split it into files of at most 5 candidates and import each one."
    ]
    assert parsed.candidates == [] and parsed.rejected == []


def test_the_default_limit_is_fifty_thousand_rows() -> None:
    rows = "".join(f"c{n}@x.test\n" for n in range(50_001))
    assert parse_shortlist("Email\n" + rows).file_errors == [
        "The file has more than 50,000 rows. Split it into files of at most 50,000 candidates "
        "and import each one."
    ]


def test_rejection_report_lists_each_row_up_to_the_limit() -> None:
    parsed = parse_shortlist("Email\na@\nb@\nc@\nok@x.test\n")
    assert parsed.rejection_report(limit=2) == (
        "Row 2: 'a@' is not an email address\nRow 3: 'b@' is not an email address\n…and 1 more."
    )
    assert parsed.rejection_report().count("\n") == 2
    assert parsed.summary() == "Imported 1 candidate; rejected 3 rows."


def test_ten_thousand_rows_with_a_few_bad_ones() -> None:
    lines = ["Email,First Name,Last Name,Time Zone,Country,Company"]
    for n in range(10_000):
        lines.append(f"cand{n}@example.test,First{n},Last{n},Europe/Berlin,DE,Company {n}")
    lines[1234] = "cand1232@example.test,Dup,Again,UTC,US,X"  # row 1235 repeats row 1234
    lines[5000] = "not-an-address,Bad,Email,UTC,US,X"  # row 5001
    lines[9999] = "cand9998@example.test,Ok,Tz,Europe/Berlinn,DE,X"  # row 10000: a note
    lines[10000] = "x@example.test,Ok,Country,UTC,QQ,X"  # row 10001: a note
    data = ("\r\n".join(lines) + "\r\n").encode()

    parsed = parse_shortlist(data, do_not_contact=frozenset({"cand42@example.test"}))

    assert len(parsed.candidates) == 9_997
    assert parsed.summary() == "Imported 9,997 candidates; rejected 3 rows."
    assert messages(parsed) == [
        "Row 44: cand42@example.test is on the do-not-contact list",
        "Row 1235: duplicate of row 1234 (cand1232@example.test)",
        "Row 5001: 'not-an-address' is not an email address",
    ]
    assert notes(parsed) == [
        "Row 10000: time zone 'Europe/Berlinn' is not one I know; the campaign's time zone is used",
        "Row 10001: country 'QQ' is not one I know; no public holidays are skipped",
    ]
    assert parsed.candidates[0] == CandidateRow(
        2, "cand0@example.test", "First0", "Last0", "Europe/Berlin", "DE", {"company": "Company 0"}
    )
    assert parsed.candidates[-1].row == 10_001
    assert parsed.columns == ["company"]
