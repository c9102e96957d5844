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
