"""Button values name objects by ids the database can hold, or name nothing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from outreach.keys import MAX_ID, MailboxKey, mailbox_key, parse_id, parse_instant

AT = datetime(2026, 3, 2, 6, tzinfo=UTC)


@pytest.mark.parametrize(
    ("raw", "found"),
    [
        (1, 1),
        ("42", 42),
        (MAX_ID, MAX_ID),
        (str(MAX_ID), MAX_ID),
        (MAX_ID + 1, None),  # SQLite: OverflowError binding it
        (10**30, None),
        ("99999999999999999999999", None),
        ("²", None),  # str.isdigit says yes, int() says no
        ("١٢", None),  # Arabic-Indic digits: int() reads them, a button never holds them
        (0, None),
        (-1, None),
        ("-1", None),
        (True, None),
        (1.0, None),
        ("1e3", None),
        (" 1", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_id_accepts_only_ascii_digits_in_range(raw: object, found: int | None) -> None:
    assert parse_id(raw) == found


def test_keys_need_an_id_and_an_instant() -> None:
    assert mailbox_key(3, AT.isoformat()) == MailboxKey(3, AT)
    assert mailbox_key(3, "yesterday") is None
    assert mailbox_key(3, 12) is None
    assert mailbox_key(10**30, AT.isoformat()) is None
    assert parse_instant("x" * 500) is None
