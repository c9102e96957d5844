"""How the domain tells people things, without knowing Slack.

The domain emits :class:`Notice` values; ``bot/`` implements :class:`Notifier` with
``slack_sdk`` and turns each notice into Block Kit through ``handlers/blocks.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Protocol

from outreach.keys import MailboxKey, ReplyKey
from outreach.sentences import Sentence


@dataclass(frozen=True)
class MailboxConnected:
    """A user connected their mailbox."""

    email: str
    sender_name: str


@dataclass(frozen=True)
class MailboxConnectedByOther:
    """Someone else connected the address that is this person's Slack profile email."""

    email: str
    mailbox_id: int
    connected_by: str  # the Slack user id who connected it
    #: The connection the Disconnect button acts on (None: not known; the button then
    #: answers with a fresh confirmation), and the fingerprint of what it would delete.
    connected_at: datetime | None = None
    named: str = ""


@dataclass(frozen=True)
class MailboxNeedsReconnect:
    """Microsoft stopped accepting the bot's access; the owner must sign in again."""

    email: str
    reason: str | None = None  # Microsoft's own words, quoted as they came
    advice: Sentence | None = None  # our sentence saying what to do, when we know the cause


@dataclass(frozen=True)
class CampaignDeletedWithMailbox:
    """A campaign this person created on someone else's mailbox was deleted with it."""

    campaign: str
    mailbox_email: str
    disconnected_by: str  # the Slack user id who disconnected or replaced the mailbox


@dataclass(frozen=True)
class DelegationGoneWithMailbox:
    """A mailbox this person was delegated to send from was removed; their access went too."""

    mailbox_email: str
    disconnected_by: str  # the Slack user id who disconnected or replaced the mailbox


@dataclass(frozen=True)
class MailboxRemoved:
    """The member whose Slack email the mailbox is disconnected it; told to the person
    who connected it, with the counts of what was deleted."""

    mailbox_email: str
    disconnected_by: str
    campaigns: int
    messages: int
    replies: int


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
class SendFailed:
    """Outlook refused a campaign step; the candidate's sequence is stopped.

    ``reason`` is a sentence that may quote Microsoft's own error text."""

    step: int | None  # None: not a campaign step
    candidate_email: str
    reason: str


@dataclass(frozen=True)
class SendUnconfirmed:
    """A step left Drafts but is not in Sent Items: it may or may not have gone out.
    The candidate is paused until someone checks and resumes them."""

    step: int | None  # None: not a campaign step
    candidate_email: str
    campaign: str


@dataclass(frozen=True)
class CampaignPaused:
    """The campaign's mailbox can no longer send; it waits for the mailbox owner to
    reconnect, then for a resume.

    ``cause`` names the error that paused it (``MailboxNeedsReconnect`` or
    ``MailboxRefused`` of :mod:`outreach.errors`, whose sentence a surface shows, with
    ``detail`` the refusal's reason); ``reason`` is that sentence as plain text, all that
    notices queued by earlier versions carry."""

    campaign: str
    reason: str
    cause: str = ""
    detail: str = ""


@dataclass(frozen=True)
class DelegationRevoked:
    """The owner of ``mailbox_email`` took back ``delegate_user_id``'s right to send from
    it, which paused the campaign ``campaign``."""

    campaign: str
    mailbox_email: str
    delegate_user_id: str
    by_delegate: bool = False  # the delegate gave it up themselves


@dataclass(frozen=True)
class ReplyReceived:
    """A message answering a campaign send, as its card in the campaign's thread shows it.

    ``kind`` is ``reply | auto_reply | bounce | unsubscribe`` (outreach/classify.py);
    ``signal`` what matched it to the send; ``text`` the new text, history stripped, at
    most :data:`REPLY_TEXT_LIMIT` characters (``truncated`` says if more was cut).
    ``stopped``: campaigns whose sequence for the candidate this stopped; ``waits_until``:
    when an out-of-office moved their next step to; ``retry_at``: a soft bounce's retry.
    ``label`` is the recruiter's verdict, ``undone`` that someone said "Not a reply";
    ``candidate_state`` the enrollment's state now (which of Pause/Resume applies).
    """

    reply: ReplyKey
    campaign: str
    candidate_email: str
    candidate_name: str | None
    from_email: str
    step: int | None
    received_at: datetime
    text: str
    kind: str
    signal: str
    candidate_state: str
    interest: str | None = None
    bounce_type: str | None = None
    return_date: date | None = None
    web_link: str | None = None
    truncated: bool = False
    stopped: tuple[str, ...] = ()
    waits_until: datetime | None = None
    retry_at: datetime | None = None
    label: str | None = None
    undone: bool = False


#: The longest new text a reply card carries (Slack's section text holds 3,000).
REPLY_TEXT_LIMIT = 2400


@dataclass(frozen=True)
class CampaignCounters:
    """The campaign's parent message should show its numbers as they are when it is
    posted (read then, so many sends make one update)."""

    campaign_id: int


@dataclass(frozen=True)
class MessageOutcome:
    """A test or one-off email reached its final state (``sent``, ``failed`` or
    ``unknown``); the Slack message that queued it says so."""

    kind: str  # "test" or "direct"
    to_email: str
    state: str
    at: datetime
    reason: str | None = None


ThreadNotice = SendFailed | SendUnconfirmed | CampaignPaused | DelegationRevoked
"""What the domain posts in a campaign's thread."""

Notice = (
    MailboxConnected
    | MailboxConnectedByOther
    | MailboxNeedsReconnect
    | CampaignDeletedWithMailbox
    | DelegationGoneWithMailbox
    | MailboxRemoved
    | SendingFromYourMailbox
    | ThreadNotice
    | ReplyReceived
)


class SlackDirectory(Protocol):
    """Who is who in a workspace, from Slack profiles (``users:read.email``)."""

    def email_of(self, team_id: str, user_id: str) -> str | None:
        """The user's Slack profile email (``users.info``), or None if Slack shows none."""
        ...

    def user_by_email(self, team_id: str, email: str) -> str | None:
        """The id of the member whose profile email is ``email`` (``users.lookupByEmail``)."""
        ...


class Notifier(Protocol):
    def notify_user(self, team_id: str, user_id: str, notice: Notice) -> None:
        """Tell one Slack user something (a DM). Must not raise for delivery failures."""
        ...



@dataclass
class RecordingNotifier:
    """A notifier that remembers what it was told; for tests that need no Slack at all."""

    sent: list[tuple[str, str, Notice]] = field(default_factory=list)

    def notify_user(self, team_id: str, user_id: str, notice: Notice) -> None:
        self.sent.append((team_id, user_id, notice))
