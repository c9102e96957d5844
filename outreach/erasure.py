"""Erasing a mailbox: what a disconnect deletes, and deleting a whole workspace.

:meth:`MailboxErasure.disconnect` deletes a mailbox the user confirmed after seeing what
goes (:meth:`MailboxErasure.removal_preview`); :mod:`outreach.removal` names what goes and
fingerprints it, so a confirmation deletes only what it named. A Replace deletes the old
mailbox when the new one is stored (:mod:`outreach.connections`).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, func, select

from bot.clock import Clock
from bot.db import SessionFactory, transaction
from bot.models import (
    AuditEntry,
    Campaign,
    Mailbox,
    OutlookAuthFlow,
    Shortlist,
    Suppression,
    Workspace,
)
from outreach import audit
from outreach.errors import RemovalChanged
from outreach.keys import MailboxKey
from outreach.mailboxes import keyed
from outreach.notify import SlackDirectory
from outreach.removal import (
    RemovalPreview,
    preview_of,
    tell_connector,
    tell_other_creators,
)
from outreach.tokens import MailboxTokens


@dataclass(frozen=True)
class DisconnectReport:
    """What ``disconnect`` deleted, so the reply can say it."""

    email: str
    pending_sign_ins: int
    campaigns: int = 0
    messages: int = 0
    replies: int = 0


class MailboxErasure:
    """Deletes mailboxes and workspaces, with everything stored of them."""

    def __init__(
        self,
        db: SessionFactory,
        tokens: MailboxTokens,
        clock: Clock,
        *,
        directory: SlackDirectory | None = None,
    ) -> None:
        """``directory`` reads Slack profile emails: the member whose address a mailbox
        is may disconnect it too."""
        self._db = db
        self._tokens = tokens
        self._clock = clock
        self._directory = directory

    def removal_preview(
        self, team_id: str, user_id: str, key: MailboxKey | None = None, email: str | None = None
    ) -> RemovalPreview:
        """What :meth:`disconnect` would delete, after the same checks of who asks.

        Without ``key``: the user's own mailbox (NoMailbox if none). ``email`` is the
        address the button showed, for the stale-button sentence.
        """
        with self._db() as session:
            return preview_of(
                session, keyed(session, self._directory, team_id, user_id, key, email)
            )

    def disconnect(
        self,
        team_id: str,
        user_id: str,
        key: MailboxKey | None = None,
        email: str | None = None,
        named: str | None = None,
    ) -> DisconnectReport:
        """Delete a mailbox's token cache and every stored datum of it.

        ``key`` (and ``email``, the address the button showed) name the mailbox; the user
        must have connected it, or be the member whose Slack profile email it is. Without
        ``key``: the user's own mailbox. ``named`` is the fingerprint of what the
        confirmation named (:attr:`RemovalPreview.named`); when what goes now differs,
        nothing is deleted and RemovalChanged carries what goes now. Campaigns other
        people run from the mailbox go too; each of them is told by DM, as is each
        delegate, and the person who connected it when someone else removes it. Pending
        sign-in links go only for the mailbox's address. Raises NoMailbox,
        StaleMailboxButton (gone, or connected again since) or NotYourMailboxButton.
        """
        now = self._clock.now()
        with transaction(self._db) as session:
            mailbox = keyed(session, self._directory, team_id, user_id, key, email)
            preview = preview_of(session, mailbox)
            if named is not None and named != preview.named:
                raise RemovalChanged(preview)
            owner = mailbox.owner_user_id
            # Only the owner's links for this address: one for another address stays.
            links = (
                OutlookAuthFlow.team_id == team_id,
                OutlookAuthFlow.user_id == owner,
                OutlookAuthFlow.email == mailbox.email,
            )
            flows = session.scalar(select(func.count()).select_from(OutlookAuthFlow).where(*links))
            session.execute(delete(OutlookAuthFlow).where(*links))
            self._tokens.forget_token(mailbox.id)
            report = DisconnectReport(
                mailbox.email,
                pending_sign_ins=int(flows or 0),
                campaigns=len(preview.campaigns),
                messages=preview.messages,
                replies=preview.replies,
            )
            tell_other_creators(session, preview, team_id, user_id, now)
            tell_connector(session, preview, team_id, owner, user_id, now)
            # Campaigns, their enrollments and every outbox message of the mailbox go with it
            # (ON DELETE CASCADE); shortlists stay, they belong to the workspace.
            session.delete(mailbox)
            audit.record(session, now, team_id, "mailbox.disconnected", actor=user_id)
        return report

    def wipe_workspace(self, team_id: str) -> int:
        """Delete everything a workspace had here: mailboxes, campaigns, shortlists,
        suppressions, pending sign-ins, audit entries and the installation.

        Returns the number of mailboxes deleted.
        """
        with transaction(self._db) as session:
            count = (
                session.scalar(
                    select(func.count()).select_from(Mailbox).where(Mailbox.team_id == team_id)
                )
                or 0
            )
            session.execute(delete(Mailbox).where(Mailbox.team_id == team_id))
            session.execute(delete(Campaign).where(Campaign.team_id == team_id))
            session.execute(delete(Shortlist).where(Shortlist.team_id == team_id))
            session.execute(delete(Suppression).where(Suppression.team_id == team_id))
            session.execute(delete(OutlookAuthFlow).where(OutlookAuthFlow.team_id == team_id))
            session.execute(delete(AuditEntry).where(AuditEntry.team_id == team_id))
            session.execute(delete(Workspace).where(Workspace.team_id == team_id))
        return int(count)
