"""How the domain tells people things, without knowing Slack.

The domain emits :class:`Notice` values; ``bot/`` implements :class:`Notifier` with
``slack_sdk`` and turns each notice into Block Kit through ``handlers/blocks.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from outreach.keys import MailboxKey


@dataclass(frozen=True)
class MailboxConnected:
    """A user connected their mailbox."""

    email: str
    sender_name: str


@dataclass(frozen=True)
class MailboxNeedsReconnect:
    """Microsoft stopped accepting the bot's access; the owner must sign in again."""

    email: str
    reason: str | None = None


@dataclass(frozen=True)
class SendingFromYourMailbox:
    """A campaign started sending from a mailbox whose owner delegated it to a recruiter."""

    campaign: str
    recruiter_user_id: str
    mailbox_email: str
    candidates: int
    #: The mailbox the Revoke button acts on (None: not known).
    mailbox: MailboxKey | None = None


@dataclass(frozen=True)
class ThreadNote:
    """A line for a campaign's Slack thread (a failed or unconfirmed send, a pause)."""

    text: str


Notice = MailboxConnected | MailboxNeedsReconnect | SendingFromYourMailbox | ThreadNote


class Notifier(Protocol):
    def notify_user(self, team_id: str, user_id: str, notice: Notice) -> None:
        """Tell one Slack user something (a DM). Must not raise for delivery failures."""
        ...

    def notify_thread(
        self, team_id: str, channel_id: str, thread_ts: str | None, notice: Notice
    ) -> None:
        """Post in a campaign's thread (or the channel when there is none). Must not raise."""
        ...


@dataclass
class RecordingNotifier:
    """A notifier that remembers what it was told; for tests that need no Slack at all."""

    sent: list[tuple[str, str, Notice]] = field(default_factory=list)

    def notify_user(self, team_id: str, user_id: str, notice: Notice) -> None:
        self.sent.append((team_id, user_id, notice))

    def notify_thread(
        self, team_id: str, channel_id: str, thread_ts: str | None, notice: Notice
    ) -> None:
        self.sent.append((team_id, f"{channel_id}/{thread_ts}", notice))
