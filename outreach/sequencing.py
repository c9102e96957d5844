"""What happens around each campaign send: hold, cancel, pace, and schedule the next step.

This is the :class:`outreach.dispatch.Sequencer` the dispatcher consults. Every step of
every enrollment is rendered and stored when the campaign starts (``waiting`` rows), so a
follow-up goes out exactly as the preview showed; sending step N turns step N+1
``pending`` with its due time.
"""

from __future__ import annotations

import logging
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from bot.clock import Clock, SystemClock
from bot.models import Campaign, CampaignStep, Candidate, Enrollment, OutboxMessage, Suppression
from outreach import audit, slack_queue
from outreach.notify import CampaignPaused, SendFailed, SendUnconfirmed, ThreadNotice
from outreach.schedule import DEFAULT_DAILY_CAP, SendWindow, follow_up_earliest, resolve_zone
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
