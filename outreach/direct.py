"""Direct messages: one email from the recruiter's own mailbox to one address.

A direct message is an outbox row without an enrollment (``dedupe_key`` ``direct:<uuid>``)
due at once, so the dispatcher sends it exactly once, paced with the mailbox's campaign
sends. The checks run twice: before the compose modal opens, so nobody writes an email
that cannot go out, and again when it is queued, because the address may have been added
to the do-not-contact list or the mailbox disconnected in between.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.clock import Clock
from bot.db import SessionFactory, transaction
from bot.models import Mailbox, OutboxMessage, Suppression
from outreach import audit, outbox, slack_queue
from outreach.addresses import normalize_email
from outreach.errors import (
    EmptyMessage,
    MailboxNeedsReconnect,
    NoMailbox,
    Suppressed,
)
from outreach.mailboxes import CONNECTED

MAX_SUBJECT = 255


@dataclass(frozen=True)
class DirectTarget:
    """Where a direct message goes and the mailbox it goes out from."""

    email: str
    mailbox_id: int
    mailbox_email: str
    sender_name: str


def suppression_of(session: Session, team_id: str, email: str) -> str | None:
    """``"dnc"`` or ``"bounced"`` if the workspace must not email ``email``, else None."""
    kinds = set(
        session.scalars(
            select(Suppression.kind).where(
                Suppression.team_id == team_id, Suppression.email == email
            )
        )
    )
    if not kinds:
        return None
    return "dnc" if "dnc" in kinds else sorted(kinds)[0]


def target(session: Session, team_id: str, user_id: str, email: str) -> DirectTarget:
    """The checked recipient and the user's own mailbox, or the error to show them.

    Raises :class:`~outreach.errors.InvalidEmail`, :class:`~outreach.errors.NoMailbox`,
    :class:`~outreach.errors.MailboxNeedsReconnect` or :class:`Suppressed`.
    """
    address = normalize_email(email)
    mailbox = session.scalars(
        select(Mailbox).where(Mailbox.team_id == team_id, Mailbox.owner_user_id == user_id)
    ).first()
    if mailbox is None:
        raise NoMailbox()
    if mailbox.state != CONNECTED:
        raise MailboxNeedsReconnect()
    kind = suppression_of(session, team_id, address)
    if kind is not None:
        raise Suppressed(address, kind)
    return DirectTarget(address, mailbox.id, mailbox.email, mailbox.sender_name)


def check_direct(db: SessionFactory, team_id: str, user_id: str, email: str) -> DirectTarget:
    """Whether ``user_id`` may email ``email`` now (see :func:`target`), before composing."""
    with db() as session:
        return target(session, team_id, user_id, email)


def queue_direct(
    db: SessionFactory,
    clock: Clock,
    team_id: str,
    user_id: str,
    email: str,
    subject: str,
    body: str,
) -> int:
    """Queue one email from the user's own mailbox to ``email``, due now; the outbox id.

    The subject becomes one line; the body goes out as typed. Raises what :func:`target`
    raises, or :class:`EmptyMessage` when the subject or body is blank.
    """
    line = " ".join(subject.split())[:MAX_SUBJECT]
    if not line or not body.strip():
        raise EmptyMessage()
    now = clock.now()
    with transaction(db) as session:
        to = target(session, team_id, user_id, email)
        row = one_off(session, now, "direct", to.mailbox_id, to.email, None, line, body, html=False)
        # Ids only, like every audit entry: no address, subject or body.
        audit.record(
            session,
            now,
            team_id,
            "message.queued",
            actor=user_id,
            mailbox_id=to.mailbox_id,
            outbox_id=row.id,
        )
        return row.id


def attach_message(db: SessionFactory, clock: Clock, outbox_id: int, channel: str, ts: str) -> None:
    """Record the Slack message (``channel``, ``ts``) that confirmed a test or direct email,
    so that its outcome replaces it (:func:`outreach.slack_queue.outbox_outcome`).

    The worker may have sent the email before the confirmation was posted: the row is
    locked, and an outcome already reached is queued now instead of being missed. A row
    that no longer exists (its mailbox was disconnected) is ignored.
    """
    with transaction(db) as session:
        row = session.scalars(
            select(OutboxMessage).where(OutboxMessage.id == outbox_id).with_for_update()
        ).first()
        if row is None:
            return
        row.slack_channel, row.slack_ts = channel, ts
        if row.state in outbox.OUTCOMES:
            slack_queue.outbox_outcome(session, row, clock.now())


def one_off(
    session: Session,
    now: datetime,
    kind: str,
    mailbox_id: int,
    to_email: str,
    to_name: str | None,
    subject: str,
    body: str,
    *,
    html: bool,
) -> OutboxMessage:
    """Add a message outside any campaign (a direct or test email) to the outbox, due now;
    the dispatcher sends it exactly once like a campaign step."""
    return outbox.enqueue(
        session,
        dedupe_key=f"{kind}:{uuid.uuid4()}",
        mailbox_id=mailbox_id,
        enrollment_id=None,
        step_position=None,
        to_email=to_email,
        to_name=to_name,
        subject=subject,
        body=body,
        body_html=html,
        due_at=now,
        created_at=now,
    )
