"""Keys that name exactly one object, for buttons that must act on what they name.

A database id alone is not enough: SQLite hands the id of a deleted row to the next row
inserted, so a campaign deleted and created again under the same name, or a mailbox
disconnected and connected again, can come back with the same id. Each key pairs the
id with the instant the object came to be (``Campaign.created_at``,
``Mailbox.connected_at``, both kept to the microsecond), which a new object does not
share. A key is found only when both match.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class CampaignKey:
    """One campaign: its id and ``created_at``."""

    id: int
    created_at: datetime


@dataclass(frozen=True)
class MailboxKey:
    """One connection of a mailbox: its id and ``connected_at`` (set when the row is
    created; a reconnect of the same row keeps it)."""

    id: int
    connected_at: datetime


@dataclass(frozen=True)
class ReplyKey:
    """One stored reply: its id and ``created_at`` (a reply card's buttons carry it)."""

    id: int
    created_at: datetime


#: The largest id a database integer column holds (SQLite and PostgreSQL ``BIGINT``).
MAX_ID = 2**63 - 1


def parse_id(raw: object) -> int | None:
    """An object id from a button value, or None for anything that is not one.

    Accepts a JSON integer (not a bool) or a string of ASCII digits, in 1..2**63-1; a
    larger number would overflow the database's integer (``OverflowError`` in SQLite's
    driver), and ``str.isdigit`` also accepts digits such as ``²`` that ``int`` refuses.
    """
    if type(raw) is int:
        value = raw
    elif isinstance(raw, str) and 0 < len(raw) <= 19 and raw.isascii() and raw.isdigit():
        value = int(raw)
    else:
        return None
    return value if 1 <= value <= MAX_ID else None


def parse_instant(raw: object) -> datetime | None:
    """An ISO 8601 instant from a button value, or None (not a string, or not ISO 8601)."""
    if not isinstance(raw, str) or len(raw) > 40:
        return None
    try:
        return datetime.fromisoformat(raw)
    except ValueError:
        return None


def mailbox_key(raw_id: object, raw_at: object) -> MailboxKey | None:
    """A :class:`MailboxKey` from a button's id and ``connected_at``, or None."""
    key_id, at = parse_id(raw_id), parse_instant(raw_at)
    return MailboxKey(key_id, at) if key_id is not None and at is not None else None


def campaign_key(raw_id: object, raw_at: object) -> CampaignKey | None:
    """A :class:`CampaignKey` from a button's id and ``created_at``, or None."""
    key_id, at = parse_id(raw_id), parse_instant(raw_at)
    return CampaignKey(key_id, at) if key_id is not None and at is not None else None


def reply_key(raw_id: object, raw_at: object) -> ReplyKey | None:
    """A :class:`ReplyKey` from a button's id and ``created_at``, or None."""
    key_id, at = parse_id(raw_id), parse_instant(raw_at)
    return ReplyKey(key_id, at) if key_id is not None and at is not None else None
