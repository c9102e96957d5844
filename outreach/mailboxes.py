"""A recruiter's connected Outlook mailbox: its states, what a user sees of it, and how a
request finds the mailbox it may act on.

Four services share these: :class:`outreach.sign_in_links.SignInLinks` starts a mailbox's
sign-in, :class:`outreach.connections.MailboxConnections` completes it into the stored
connection, :class:`outreach.tokens.MailboxTokens` keeps its MSAL token cache and hands out
Graph clients acting as it, and :class:`outreach.erasure.MailboxErasure` deletes it and
everything stored of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.models import Mailbox
from outreach.errors import NoMailbox, NotYourMailboxButton, StaleMailboxButton
from outreach.keys import MailboxKey
from outreach.notify import SlackDirectory
from outreach.slack_sign_in import owns_mailbox

CONNECTED = "connected"
NEEDS_RECONNECT = "needs_reconnect"


class Cipher(Protocol):
    def encrypt(self, plaintext: str) -> str: ...
    def decrypt(self, token: str) -> str: ...


@dataclass(frozen=True)
class MailboxStatus:
    """What a user sees about their mailbox connection."""

    id: int
    email: str
    sender_name: str
    state: str
    connected_at: datetime
    last_error: str | None


def status_of(mailbox: Mailbox) -> MailboxStatus:
    """What the user sees of a stored mailbox."""
    return MailboxStatus(
        id=mailbox.id,
        email=mailbox.email,
        sender_name=mailbox.sender_name,
        state=mailbox.state,
        connected_at=mailbox.connected_at,
        last_error=mailbox.last_error,
    )


def owned(session: Session, team_id: str, user_id: str) -> Mailbox | None:
    """The mailbox the user connected in the workspace, if any (one per user)."""
    return session.scalars(
        select(Mailbox).where(Mailbox.team_id == team_id, Mailbox.owner_user_id == user_id)
    ).first()


def keyed(
    session: Session,
    directory: SlackDirectory | None,
    team_id: str,
    user_id: str,
    key: MailboxKey | None,
    email: str | None,
    *,
    owner_only: bool = False,
) -> Mailbox:
    """The mailbox a button names, checked against who asks: its owner, or (unless
    ``owner_only``) the member whose Slack profile email is its address (read through
    ``directory``). Without ``key``: the user's own mailbox. Raises NoMailbox,
    StaleMailboxButton (gone, or connected again since) or NotYourMailboxButton."""
    if key is None:
        mine = owned(session, team_id, user_id)
        if mine is None:
            raise NoMailbox()
        return mine
    mailbox = session.get(Mailbox, key.id)
    if (
        mailbox is None
        or mailbox.team_id != team_id
        or mailbox.connected_at != key.connected_at
        or email not in (None, mailbox.email)
    ):
        raise StaleMailboxButton(email or "this mailbox")
    if mailbox.owner_user_id == user_id:
        return mailbox
    # The member whose Slack profile email is the address owns it in truth.
    profile = directory.email_of(team_id, user_id) if directory else None
    if not owner_only and owns_mailbox(profile, [mailbox.email]):
        return mailbox
    raise NotYourMailboxButton(mailbox.email)
