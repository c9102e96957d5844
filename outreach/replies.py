"""What a matched reply does: store it, act on it, and say so in the campaign's thread.

Effects, all in the sync's transaction (outreach/sync.py), by classification:

- **reply**: the candidate's sequence stops in every campaign of the workspace where it
  is under way, whichever mailbox received it (``replied``);
- **unsubscribe**: the address goes on the do-not-contact list, and the same stop
  (``unsubscribed``);
- **bounce**, hard: the address is suppressed as ``bounced`` and the same stop; soft: the
  step is sent once more a day later (outreach/sequencing.py ``retry_send``); a second
  soft bounce of the same candidate counts as hard;
- **auto_reply**: not a reply; with a return date, the candidate's next step waits until
  the next business day after it, and the card says until when.

Our own Exchange's quota NDRs ("SubmissionQuotaExceeded", status 5.2.0, from our own
domain's postmaster; Exchange sends them when a mailbox passes its sending limits) are
not the candidate's bounce: the address is not marked bounced, nothing is posted, and
the step is sent again later (a day for the daily recipient limit, else 15 minutes).

Every stop keeps what it changed in ``Reply.undo``, so "Not a reply" restores it
(outreach/reply_triage.py). Cards leave through :func:`post`, the one place that hands
them to Slack.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.models import Campaign, Candidate, Enrollment, Mailbox, OutboxMessage, Reply
from outreach import slack_queue
from outreach.classify import AUTO_REPLY, BOUNCE, REPLY, UNSUBSCRIBE, Classification
from outreach.keys import ReplyKey
from outreach.mailmessage import MailMessage
from outreach.matching import Match
from outreach.notify import REPLY_TEXT_LIMIT, ReplyReceived
from outreach.sequencing import EnrollmentState, delay_next_step, retry_send, stop_candidate
from outreach.slack_queue import Target
from outreach.suppressions import BOUNCED, DNC, suppress

log = logging.getLogger(__name__)

_STOPS = {
    REPLY: EnrollmentState.REPLIED,
    UNSUBSCRIBE: EnrollmentState.UNSUBSCRIBED,
    BOUNCE: EnrollmentState.BOUNCED,
}
_WHY = {
    REPLY: "replied",
    UNSUBSCRIBE: "asked not to be contacted",
    BOUNCE: "the address bounced",
}
SOFT_RETRY = timedelta(days=1)


@dataclass(frozen=True)
class ThreadPost:
    """A reply card for a campaign's thread; ``owner_user_id`` (the campaign's creator)
    is told by DM instead when the bot can no longer post in the channel."""

    team_id: str
    channel_id: str
    thread_ts: str | None
    notice: ReplyReceived
    owner_user_id: str | None = None


def post(session: Session, posts: Iterable[ThreadPost], now: datetime) -> None:
    """Queue reply cards for Slack in ``session``, with the change they report: the one
    place they leave from; the worker's Slack poster posts them (:mod:`outreach.slack_queue`)."""
    for item in posts:
        target = Target(
            item.team_id, item.channel_id, item.thread_ts, fallback_user_id=item.owner_user_id
        )
        slack_queue.enqueue(session, target, item.notice, now)


def is_own_quota_ndr(mail: MailMessage, mailbox_email: str, verdict: Classification) -> bool:
    """Whether a bounce is our own Exchange refusing to send (sending limits), not the
    candidate's server refusing the mail."""
    if verdict.kind != BOUNCE:
        return False
    domain = mailbox_email.rsplit("@", 1)[-1].lower()
    own = mail.sender.endswith("@" + domain) or not mail.sender
    said = f"{mail.subject}\n{mail.text}"
    return own and ("SubmissionQuotaExceeded" in said or "5.2.0" in said)


def record(
    session: Session,
    mailbox: Mailbox,
    details: Mapping[str, Any],
    mail: MailMessage,
    verdict: Classification,
    found: Match,
    now: datetime,
) -> ThreadPost | None:
    """Store the reply and apply its effects; its card, or None if it was stored before
    (a resync) or is our own quota NDR (the step is retried instead)."""
    key = str(details.get("internetMessageId") or f"id:{details['id']}")
    known = select(Reply.id).where(Reply.mailbox_id == mailbox.id, Reply.internet_message_id == key)
    if session.scalar(known) is not None:
        return None
    row = session.get_one(OutboxMessage, found.outbox_id)
    if is_own_quota_ndr(mail, mailbox.email, verdict):
        daily = "per day" in mail.text or "recipients per day" in mail.subject
        retry_send(session, row, now + (timedelta(days=1) if daily else timedelta(minutes=15)), now)
        log.info("outbox row %s hit our own sending limits; sent again later", row.id)
        return None
    enrollment = session.get_one(Enrollment, found.enrollment_id)
    reply = Reply(
        team_id=mailbox.team_id,
        mailbox_id=mailbox.id,
        graph_message_id=str(details["id"]),
        internet_message_id=key,
        enrollment_id=enrollment.id,
        outbox_id=row.id,
        step_position=row.step_position,
        from_email=mail.sender or enrollment.email,
        kind=verdict.kind,
        interest=verdict.interest,
        bounce_type=verdict.bounce_type,
        return_date=verdict.return_date.isoformat() if verdict.return_date else None,
        signal=found.signal,
        reasons={"reasons": verdict.reasons[:10]},
        text=verdict.text[: REPLY_TEXT_LIMIT + 1],
        web_link=details.get("webLink"),
        received_at=mail.date or now,
        created_at=now,
        undo={},
    )
    _apply(session, reply, row, enrollment, now)
    session.add(reply)
    session.flush()
    return card(session, reply)


def _apply(
    session: Session, reply: Reply, row: OutboxMessage, enrollment: Enrollment, now: datetime
) -> None:
    team, email, kind = reply.team_id, enrollment.email, reply.kind
    if kind == AUTO_REPLY:
        if reply.return_date:
            waits = delay_next_step(session, team, email, date.fromisoformat(reply.return_date))
            reply.undo = {"waits_until": waits.isoformat() if waits else None}
        return
    if kind == BOUNCE and reply.bounce_type == "soft" and not _bounced_softly(session, enrollment):
        retried = retry_send(session, row, now + SOFT_RETRY, now)
        reply.undo = {"retry_at": (now + SOFT_RETRY).isoformat() if retried else None}
        return
    undo: dict[str, Any] = {}
    if kind in (UNSUBSCRIBE, BOUNCE):
        undo["suppression"] = suppress(
            session, team, email, DNC if kind == UNSUBSCRIBE else BOUNCED, _WHY[kind], now
        )
    undo.update(stop_candidate(session, team, email, _STOPS[kind], _WHY[kind], now))
    reply.undo = undo


def _bounced_softly(session: Session, enrollment: Enrollment) -> bool:
    earlier = select(func.count(Reply.id)).where(
        Reply.enrollment_id == enrollment.id,
        Reply.kind == BOUNCE,
        Reply.bounce_type == "soft",
        Reply.undone_at.is_(None),
    )
    return bool(session.scalar(earlier))


def card(session: Session, reply: Reply) -> ThreadPost:
    """The reply's card as it stands now, addressed to its campaign's thread."""
    enrollment = session.get_one(Enrollment, reply.enrollment_id)
    campaign = session.get_one(Campaign, enrollment.campaign_id)
    candidate = session.get_one(Candidate, enrollment.candidate_id)
    name = " ".join(p for p in (candidate.first_name, candidate.last_name) if p) or None
    undo = reply.undo or {}
    notice = ReplyReceived(
        reply=ReplyKey(reply.id, reply.created_at),
        campaign=campaign.name,
        candidate_email=enrollment.email,
        candidate_name=name,
        from_email=reply.from_email,
        step=reply.step_position,
        received_at=reply.received_at,
        text=reply.text[:REPLY_TEXT_LIMIT],
        kind=reply.kind,
        signal=reply.signal,
        candidate_state=enrollment.state,
        interest=reply.interest,
        bounce_type=reply.bounce_type,
        return_date=date.fromisoformat(reply.return_date) if reply.return_date else None,
        web_link=reply.web_link,
        truncated=len(reply.text) > REPLY_TEXT_LIMIT,
        stopped=tuple(undo.get("campaigns") or ()),
        waits_until=_when(undo.get("waits_until")),
        retry_at=_when(undo.get("retry_at")),
        label=reply.label,
        undone=reply.undone_at is not None,
    )
    return ThreadPost(
        campaign.team_id, campaign.channel_id, campaign.thread_ts, notice, campaign.created_by
    )


def _when(value: object) -> datetime | None:
    return datetime.fromisoformat(str(value)) if value else None
