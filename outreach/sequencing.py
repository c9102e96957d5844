"""What happens around each campaign send: hold, cancel, pace, and schedule the next step.

This is the :class:`outreach.dispatch.Sequencer` the dispatcher consults. Every step of
every enrollment is rendered and stored when the campaign starts (``waiting`` rows), so a
follow-up goes out exactly as the preview showed; sending step N turns step N+1
``pending`` with its due time.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from bot.clock import Clock, SystemClock
from bot.models import Campaign, CampaignStep, Candidate, Enrollment, OutboxMessage, Suppression
from outreach import audit, slack_queue
from outreach.notify import CampaignPaused, SendFailed, SendUnconfirmed, ThreadNotice
from outreach.schedule import (
    DEFAULT_DAILY_CAP,
    SendWindow,
    add_business_days,
    follow_up_earliest,
    next_send_time,
    resolve_zone,
)
from outreach.slack_queue import Target

log = logging.getLogger(__name__)

ACTIVE = "active"


def window_of(campaign: Campaign) -> SendWindow:
    """The campaign's send window as the schedule module wants it."""
    return SendWindow(
        days=frozenset(int(d) for d in campaign.window_days.split(",") if d),
        start=time.fromisoformat(campaign.window_start),
        end=time.fromisoformat(campaign.window_end),
    )


def zone_for(candidate: Candidate, campaign: Campaign) -> ZoneInfo:
    """The candidate's time zone, else the campaign's."""
    return resolve_zone(candidate.timezone, campaign.timezone)


class CampaignSequencer:
    """The campaign rules the dispatcher applies, all inside its transactions.

    What the thread should hear is queued in the same transaction (:mod:`outreach.slack_queue`),
    so Slack never hears of a rolled-back change and an outage of Slack loses nothing.
    """

    def __init__(self, clock: Clock | None = None) -> None:
        self._clock = clock or SystemClock()

    def _note(self, session: Session, campaign: Campaign, notice: ThreadNotice) -> None:
        slack_queue.enqueue(session, Target.thread_of(campaign), notice, self._clock.now())

    def hold_or_cancel(self, session: Session, row: OutboxMessage) -> tuple[str, str] | None:
        """``(state, reason)`` if the row must not go out now, else None."""
        if row.enrollment_id is None:
            return None
        # Locked, so a pause or resume committing now is seen whole, before or after us.
        enrollment = session.scalars(
            select(Enrollment).where(Enrollment.id == row.enrollment_id).with_for_update()
        ).one()
        campaign = session.scalars(
            select(Campaign).where(Campaign.id == enrollment.campaign_id).with_for_update()
        ).one()
        # Ended beats paused: a stopped campaign's paused candidate gets nothing more.
        if campaign.state not in (ACTIVE, "paused"):
            return "cancelled", f"campaign {campaign.state}"
        if enrollment.state not in (ACTIVE, "paused"):
            return "cancelled", f"candidate {enrollment.state}"
        if campaign.state == "paused" or enrollment.state == "paused":
            return "paused", "paused before it was sent"
        suppressed = session.scalar(
            select(Suppression.kind).where(
                Suppression.team_id == campaign.team_id, Suppression.email == row.to_email
            )
        )
        if suppressed:
            enrollment.state, enrollment.reason = "stopped", f"address {suppressed}"
            return "cancelled", "on the do-not-contact list" if suppressed == "dnc" else "bounced"
        return None

    def pacing(self, session: Session, mailbox_id: int) -> tuple[int, timedelta]:
        """The strictest cap and widest gap of the mailbox's active campaigns."""
        cap, gap = session.execute(
            select(func.min(Campaign.daily_cap), func.max(Campaign.min_gap_seconds)).where(
                Campaign.mailbox_id == mailbox_id, Campaign.state == ACTIVE
            )
        ).one()
        return int(cap or DEFAULT_DAILY_CAP), timedelta(seconds=int(gap or 0))

    def recent_sends(self, session: Session, mailbox_id: int, since: datetime) -> list[datetime]:
        """Sends of the mailbox since ``since``, counting unconfirmed ones (``sending``,
        ``unknown``) at the moment they were attempted: they may well have gone out."""
        sent = select(OutboxMessage.sent_at).where(
            OutboxMessage.mailbox_id == mailbox_id, OutboxMessage.sent_at >= since
        )
        attempted = select(OutboxMessage.send_attempted_at).where(
            OutboxMessage.mailbox_id == mailbox_id,
            OutboxMessage.state.in_(("sending", "unknown")),
            OutboxMessage.send_attempted_at >= since,
        )
        times = [*session.scalars(sent), *session.scalars(attempted)]
        return [t for t in times if t is not None]

    def after_sent(self, session: Session, row: OutboxMessage, now: datetime) -> None:
        """Make the next step due, or complete the enrollment; the parent message's
        counters (or the Slack message of a test or one-off email) will show it."""
        if row.enrollment_id is None or row.step_position is None:
            slack_queue.outbox_outcome(session, row, now)
            return
        enrollment = session.get_one(Enrollment, row.enrollment_id)
        campaign = session.get_one(Campaign, enrollment.campaign_id)
        slack_queue.campaign_counters_changed(session, campaign, now)
        following = session.scalars(
            select(OutboxMessage).where(
                OutboxMessage.dedupe_key == step_key(enrollment.id, row.step_position + 1)
            )
        ).first()
        if following is None:
            if enrollment.state == ACTIVE:
                enrollment.state, enrollment.updated_at = "completed", now
            return
        if following.state != "waiting":
            return
        candidate = session.get_one(Candidate, enrollment.candidate_id)
        wait = session.scalar(
            select(CampaignStep.wait_business_days).where(
                CampaignStep.campaign_id == campaign.id,
                CampaignStep.position == row.step_position + 1,
            )
        )
        following.state = "pending"
        following.due_at = follow_up_earliest(
            now,
            int(wait or 0),
            window_of(campaign),
            zone_for(candidate, campaign),
            candidate.country,
        )

    def after_failed(self, session: Session, row: OutboxMessage, reason: str) -> None:
        if row.enrollment_id is None:
            slack_queue.outbox_outcome(session, row, self._clock.now())
            return
        enrollment = session.get_one(Enrollment, row.enrollment_id)
        enrollment.state, enrollment.reason = "failed", reason
        _cancel_rest(session, enrollment.id, "an earlier step failed")
        campaign = session.get_one(Campaign, enrollment.campaign_id)
        self._note(session, campaign, SendFailed(row.step_position, row.to_email, reason))
        slack_queue.campaign_counters_changed(session, campaign, self._clock.now())
        audit.record(
            session,
            row.created_at,
            enrollment.team_id,
            "send.failed",
            outbox_id=row.id,  # not the reason: Microsoft's text can name the recipient
        )

    def after_unknown(self, session: Session, row: OutboxMessage) -> None:
        """Nobody can tell whether it went out: stop this candidate until a person looks."""
        if row.enrollment_id is None:
            slack_queue.outbox_outcome(session, row, self._clock.now())
            return
        enrollment = session.get_one(Enrollment, row.enrollment_id)
        enrollment.state = "paused"
        enrollment.reason = "We could not confirm whether a message was sent; check Sent Items."
        campaign = session.get_one(Campaign, enrollment.campaign_id)
        self._note(
            session, campaign, SendUnconfirmed(row.step_position, row.to_email, campaign.name)
        )
        slack_queue.campaign_counters_changed(session, campaign, self._clock.now())
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.enrollment_id == enrollment.id, OutboxMessage.state == "pending")
            .values(state="paused")
        )

    def mailbox_unusable(self, session: Session, mailbox_id: int, reason: str) -> None:
        """Pause every active campaign sending from the mailbox until it is reconnected."""
        for campaign in session.scalars(
            select(Campaign).where(Campaign.mailbox_id == mailbox_id, Campaign.state == ACTIVE)
        ):
            campaign.state = "paused"
            hold_pending(session, campaign.id)
            log.info("campaign %s paused: %s", campaign.id, reason)
            self._note(session, campaign, CampaignPaused(campaign.name, reason))


def step_key(enrollment_id: int, position: int) -> str:
    """The outbox's unique key of step ``position`` for an enrollment."""
    return f"step:{enrollment_id}:{position}"


def hold_pending(session: Session, campaign_id: int) -> None:
    """Pending steps of a campaign wait (``paused``) until it resumes."""
    ids = select(Enrollment.id).where(Enrollment.campaign_id == campaign_id)
    session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.enrollment_id.in_(ids), OutboxMessage.state == "pending")
        .values(state="paused")
    )


def _cancel_rest(session: Session, enrollment_id: int, reason: str) -> None:
    session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.enrollment_id == enrollment_id,
            OutboxMessage.state.in_(("waiting", "pending", "paused")),
        )
        .values(state="cancelled", last_error=reason)
    )


# -- what a reply does to sequences (outreach/replies.py) ---------------------------------
#: Enrollments a reply, bounce or opt-out ends; outbox rows not yet handed to a worker.
UNDER_WAY = (ACTIVE, "paused")
_UNSENT = ("waiting", "pending", "paused")


def stop_candidate(
    session: Session, team_id: str, email: str, state: str, reason: str, now: datetime
) -> dict[str, Any]:
    """End ``email``'s sequence in every campaign of the team where it is under way.

    The enrollments become ``state`` (``replied``, ``bounced``, ``unsubscribed``) and their
    unsent rows ``cancelled``. Returns what changed, JSON-shaped, for
    :func:`restore_candidate`: ``{"enrollments": {id: [state, reason]}, "outbox": {id:
    state}, "campaigns": [names]}``.
    """
    found = session.execute(
        select(Enrollment, Campaign.name)
        .join(Campaign, Campaign.id == Enrollment.campaign_id)
        .where(
            Enrollment.team_id == team_id,
            Enrollment.email == email,
            Enrollment.state.in_(UNDER_WAY),
        )
        .order_by(Campaign.created_at)
    ).all()
    undo: dict[str, Any] = {"enrollments": {}, "outbox": {}, "campaigns": []}
    for enrollment, name in found:
        undo["enrollments"][str(enrollment.id)] = [enrollment.state, enrollment.reason]
        undo["campaigns"].append(name)
        enrollment.state, enrollment.reason, enrollment.updated_at = state, reason, now
    ids = [enrollment.id for enrollment, _ in found]
    if ids:
        unsent = session.execute(
            select(OutboxMessage.id, OutboxMessage.state).where(
                OutboxMessage.enrollment_id.in_(ids), OutboxMessage.state.in_(_UNSENT)
            )
        ).all()
        undo["outbox"] = {str(row_id): row_state for row_id, row_state in unsent}
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_([row_id for row_id, _ in unsent]))
            .values(state="cancelled", last_error=reason)
        )
    return undo


def restore_candidate(session: Session, undo: dict[str, Any], now: datetime) -> None:
    """Put back what :func:`stop_candidate` changed, where nothing changed it since."""
    for enrollment_id, (state, reason) in (undo.get("enrollments") or {}).items():
        enrollment = session.get(Enrollment, int(enrollment_id))
        if enrollment is not None and enrollment.state not in UNDER_WAY:
            enrollment.state, enrollment.reason, enrollment.updated_at = state, reason, now
    for row_id, state in (undo.get("outbox") or {}).items():
        row = session.get(OutboxMessage, int(row_id))
        if row is not None and row.state == "cancelled":
            row.state, row.last_error = state, None


def delay_next_step(session: Session, team_id: str, email: str, back: date) -> datetime | None:
    """An out-of-office until ``back``: the candidate's next unsent step, in every campaign
    where they are under way, waits until the first send slot of the next business day
    after ``back`` (their zone, the campaign's window and their country's holidays).

    Returns the latest new due time (UTC), or None when no step was waiting to go.
    """
    latest: datetime | None = None
    found = session.execute(
        select(Enrollment, Campaign, Candidate)
        .join(Campaign, Campaign.id == Enrollment.campaign_id)
        .join(Candidate, Candidate.id == Enrollment.candidate_id)
        .where(
            Enrollment.team_id == team_id,
            Enrollment.email == email,
            Enrollment.state.in_(UNDER_WAY),
        )
    ).all()
    for enrollment, campaign, candidate in found:
        row = session.scalars(
            select(OutboxMessage)
            .where(
                OutboxMessage.enrollment_id == enrollment.id,
                OutboxMessage.state.in_(("pending", "paused")),
            )
            .order_by(OutboxMessage.step_position)
            .limit(1)
        ).first()
        if row is None:
            continue
        zone = zone_for(candidate, campaign)
        day = add_business_days(back, 1, candidate.country)
        due = next_send_time(
            datetime.combine(day, time(0), tzinfo=zone),
            window_of(campaign),
            zone,
            candidate.country,
        )
        row.due_at = max(row.due_at, due)
        latest = row.due_at if latest is None else max(latest, row.due_at)
    return latest


def retry_send(session: Session, row: OutboxMessage, due: datetime, now: datetime) -> bool:
    """Send a campaign step again at ``due`` (after a soft bounce or our own quota NDR):
    a new outbox row keyed ``retry:<row id>``, so a step is retried at most once. A
    candidate whose sequence had completed is under way again until it goes.
    Returns False when it was retried already or is not a campaign step."""
    key = f"retry:{row.id}"
    if row.enrollment_id is None or session.scalar(
        select(OutboxMessage.id).where(OutboxMessage.dedupe_key == key)
    ):
        return False
    enrollment = session.get_one(Enrollment, row.enrollment_id)
    if enrollment.state == "completed":
        enrollment.state, enrollment.updated_at = ACTIVE, now
    session.add(
        OutboxMessage(
            dedupe_key=key,
            mailbox_id=row.mailbox_id,
            enrollment_id=row.enrollment_id,
            step_position=row.step_position,
            to_email=row.to_email,
            to_name=row.to_name,
            subject=row.subject,
            body=row.body,
            body_html=row.body_html,
            reply_as_followup=False,
            state="pending",
            due_at=due,
            created_at=now,
        )
    )
    return True
