"""A candidate's sequence: the enrollment's state, and what happens around each send.

The one owner of ``Enrollment.state`` (:class:`EnrollmentState`): ``starting`` while a
start stages it, then ``active ⇄ paused`` until it ends ``completed`` (every step sent),
``replied``, ``bounced``, ``unsubscribed``, ``failed`` or ``stopped`` (do-not-contact).
Every module that changes an enrollment asks a function here.

:class:`CampaignSequencer` is the :class:`outreach.dispatch.Sequencer` the dispatcher
consults: hold, cancel, pace, and schedule the next step. Every step of every enrollment
is rendered and stored when the campaign starts (``waiting`` rows), so a follow-up goes
out exactly as the preview showed; sending step N turns step N+1 ``pending`` with its due
time.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from bot.clock import Clock, SystemClock
from bot.models import Campaign, CampaignStep, Candidate, Enrollment, OutboxMessage, Suppression
from outreach import audit, campaign_state, outbox, slack_queue
from outreach.errors import MailboxError, MailboxRefused
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
from outreach.states import CampaignState, OutboxState
from outreach.states import EnrollmentState as EnrollmentState  # re-exported

log = logging.getLogger(__name__)

STARTING, ACTIVE = EnrollmentState.STARTING, EnrollmentState.ACTIVE
PAUSED, COMPLETED = EnrollmentState.PAUSED, EnrollmentState.COMPLETED
STOPPED, FAILED = EnrollmentState.STOPPED, EnrollmentState.FAILED
REPLIED, BOUNCED = EnrollmentState.REPLIED, EnrollmentState.BOUNCED
UNSUBSCRIBED = EnrollmentState.UNSUBSCRIBED
#: Enrollments a reply, bounce or opt-out ends: running ones and those that may be resumed.
UNDER_WAY = (ACTIVE, PAUSED)
#: Enrollments that keep a candidate from another campaign: under way or being started.
BUSY = (*UNDER_WAY, STARTING)


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

    def hold_or_cancel(
        self, session: Session, row: OutboxMessage
    ) -> tuple[OutboxState, str] | None:
        """``(paused | cancelled, reason)`` if the row must not go out now, else None."""
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
        if campaign.state not in campaign_state.UNDER_WAY:
            return OutboxState.CANCELLED, f"campaign {campaign.state}"
        if enrollment.state not in UNDER_WAY:
            return OutboxState.CANCELLED, f"candidate {enrollment.state}"
        if campaign.state == CampaignState.PAUSED or enrollment.state == PAUSED:
            return OutboxState.PAUSED, "paused before it was sent"
        suppressed = session.scalar(
            select(Suppression.kind).where(
                Suppression.team_id == campaign.team_id, Suppression.email == row.to_email
            )
        )
        if suppressed:
            enrollment.state, enrollment.reason = STOPPED, f"address {suppressed}"
            why = "on the do-not-contact list" if suppressed == "dnc" else "bounced"
            return OutboxState.CANCELLED, why
        return None

    def pacing(self, session: Session, mailbox_id: int) -> tuple[int, timedelta]:
        """The strictest cap and widest gap of the mailbox's active campaigns."""
        cap, gap = session.execute(
            select(func.min(Campaign.daily_cap), func.max(Campaign.min_gap_seconds)).where(
                Campaign.mailbox_id == mailbox_id, Campaign.state == CampaignState.ACTIVE
            )
        ).one()
        return int(cap or DEFAULT_DAILY_CAP), timedelta(seconds=int(gap or 0))

    def recent_sends(self, session: Session, mailbox_id: int, since: datetime) -> list[datetime]:
        """Sends of the mailbox since ``since``, counting unconfirmed ones (``sending``,
        ``unknown``) at the moment they were attempted: they may well have gone out."""
        sent = select(OutboxMessage.sent_at).where(
            OutboxMessage.mailbox_id == mailbox_id, OutboxMessage.sent_at >= since
        )
        times = [t for t in session.scalars(sent) if t is not None]
        return [*times, *outbox.attempted_since(session, mailbox_id, since)]

    def after_sent(self, session: Session, row: OutboxMessage, now: datetime) -> None:
        """Make the next step due, or complete the enrollment; the parent message's
        counters (or the Slack message of a test or one-off email) will show it."""
        if row.enrollment_id is None or row.step_position is None:
            slack_queue.outbox_outcome(session, row, now)
            return
        enrollment = session.get_one(Enrollment, row.enrollment_id)
        campaign = session.get_one(Campaign, enrollment.campaign_id)
        slack_queue.campaign_counters_changed(session, campaign, now)
        following = outbox.step(session, enrollment.id, row.step_position + 1)
        if following is None:
            if enrollment.state == ACTIVE:
                enrollment.state, enrollment.updated_at = COMPLETED, now
            return
        if following.state != OutboxState.WAITING:
            return
        candidate = session.get_one(Candidate, enrollment.candidate_id)
        wait = session.scalar(
            select(CampaignStep.wait_business_days).where(
                CampaignStep.campaign_id == campaign.id,
                CampaignStep.position == row.step_position + 1,
            )
        )
        due = follow_up_earliest(
            now,
            int(wait or 0),
            window_of(campaign),
            zone_for(candidate, campaign),
            candidate.country,
        )
        outbox.make_due(following, due)

    def after_failed(self, session: Session, row: OutboxMessage, reason: str) -> None:
        if row.enrollment_id is None:
            slack_queue.outbox_outcome(session, row, self._clock.now())
            return
        enrollment = session.get_one(Enrollment, row.enrollment_id)
        enrollment.state, enrollment.reason = FAILED, reason
        outbox.cancel_unsent(session, [enrollment.id], "an earlier step failed")
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
        enrollment.state = PAUSED
        enrollment.reason = "We could not confirm whether a message was sent; check Sent Items."
        campaign = session.get_one(Campaign, enrollment.campaign_id)
        self._note(
            session, campaign, SendUnconfirmed(row.step_position, row.to_email, campaign.name)
        )
        slack_queue.campaign_counters_changed(session, campaign, self._clock.now())
        outbox.hold(session, [enrollment.id])

    def mailbox_unusable(self, session: Session, mailbox_id: int, error: MailboxError) -> None:
        """Pause every active campaign sending from the mailbox until it is reconnected,
        telling each campaign's thread why (``error``, e.g. MailboxNeedsReconnect)."""
        for campaign in session.scalars(
            select(Campaign).where(
                Campaign.mailbox_id == mailbox_id, Campaign.state == CampaignState.ACTIVE
            )
        ):
            campaign_state.pause(session, campaign)
            log.info("campaign %s paused: %s", campaign.id, error)
            detail = error.detail if isinstance(error, MailboxRefused) else ""
            notice = CampaignPaused(campaign.name, str(error), type(error).__name__, detail)
            self._note(session, campaign, notice)


# -- what a start, a person or a reply does to an enrollment --------------------------------


def delete_staged(session: Session, campaign_id: int) -> None:
    """Delete the campaign's ``starting`` enrollments (what an abandoned or interrupted
    start staged) and their outbox rows."""
    staged_ids = select(Enrollment.id).where(
        Enrollment.campaign_id == campaign_id, Enrollment.state == STARTING
    )
    outbox.delete_of(session, staged_ids)
    session.execute(
        delete(Enrollment)
        .where(Enrollment.campaign_id == campaign_id, Enrollment.state == STARTING)
        .execution_options(synchronize_session=False)
    )


def staged(**fields: Any) -> dict[str, Any]:
    """An enrollment a campaign start stages, for a bulk insert: ``starting``, which the
    dispatcher never sees; :func:`go_live` makes it active."""
    return {**fields, "state": STARTING}


def go_live(session: Session, campaign_id: int) -> None:
    """The campaign's staged enrollments become ``active`` (their step 1 is made due by
    :func:`outreach.outbox.go_live`)."""
    session.execute(
        update(Enrollment)
        .where(Enrollment.campaign_id == campaign_id, Enrollment.state == STARTING)
        .values(state=ACTIVE)
        .execution_options(synchronize_session=False)
    )


def pause(session: Session, enrollment: Enrollment) -> None:
    """``active → paused``: the candidate's due steps wait until :func:`resume`."""
    enrollment.state = PAUSED
    outbox.hold(session, [enrollment.id])


def resume(enrollment: Enrollment) -> None:
    """``paused → active``; the caller makes the paused steps due again."""
    enrollment.state = ACTIVE


def stop(session: Session, enrollments: list[Enrollment], reason: str, now: datetime) -> int:
    """The address went on the do-not-contact list: these sequences are ``stopped`` and
    their unsent steps cancelled (rows in flight are checked by the dispatcher). Returns
    how many steps were cancelled."""
    if not enrollments:
        return 0
    cancelled = outbox.cancel_unsent(session, [e.id for e in enrollments], reason)
    for enrollment in enrollments:
        enrollment.state, enrollment.reason, enrollment.updated_at = STOPPED, reason, now
    return cancelled


def stop_candidate(
    session: Session,
    team_id: str,
    email: str,
    state: EnrollmentState,
    reason: str,
    now: datetime,
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
        undo["outbox"] = outbox.cancel_unsent_recording(session, ids, reason)
    return undo


def restore_candidate(session: Session, undo: dict[str, Any], now: datetime) -> None:
    """Put back what :func:`stop_candidate` changed, where nothing changed it since."""
    for enrollment_id, (state, reason) in (undo.get("enrollments") or {}).items():
        enrollment = session.get(Enrollment, int(enrollment_id))
        if enrollment is not None and enrollment.state not in UNDER_WAY:
            enrollment.state = EnrollmentState(state)
            enrollment.reason, enrollment.updated_at = reason, now
    outbox.uncancel(session, undo.get("outbox") or {})


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
        row = outbox.next_unsent(session, enrollment.id)
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
    key = outbox.retry_key(row.id)
    if row.enrollment_id is None or session.scalar(
        select(OutboxMessage.id).where(OutboxMessage.dedupe_key == key)
    ):
        return False
    enrollment = session.get_one(Enrollment, row.enrollment_id)
    if enrollment.state == COMPLETED:
        enrollment.state, enrollment.updated_at = ACTIVE, now
    outbox.enqueue(
        session,
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
        due_at=due,
        created_at=now,
    )
    return True
