"""Campaigns: define, start, pause, resume, stop, report.

Starting checks every step for every candidate; if any candidate lacks a variable or an
email would be too large, the campaign does not start and the answer lists the problems
(bounded). Then every step of every enrollment is stored in the outbox: step 1
``pending`` at the candidate's first send slot, later steps ``waiting`` until the
previous one is sent. :mod:`outreach.enrollment` does this a page of candidates at a time.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.clock import Clock
from bot.db import SessionFactory, transaction
from bot.models import (
    Campaign,
    CampaignStep,
    Candidate,
    Delegation,
    Enrollment,
    Mailbox,
    OutboxMessage,
)
from outreach import audit, campaign_state, direct, outbox, previews, sequencing
from outreach.addresses import normalize_email
from outreach.campaign_lookup import CampaignRef, campaign_name
from outreach.campaign_lookup import find_campaign as _find
from outreach.campaign_lookup import get_campaign as _get
from outreach.campaign_state import ACTIVE, ENDED, PAUSED, STARTING
from outreach.enrollment import Announce, Enroller
from outreach.enrollment import StartReport as StartReport  # re-exported
from outreach.errors import CampaignStateError
from outreach.keys import CampaignKey
from outreach.metrics import CampaignNumbers, UserCampaigns, campaign_numbers, user_campaigns
from outreach.permissions import Action, Actor, CampaignTarget, decide
from outreach.previews import Preview
from outreach.schedule import SendWindow, next_send_time
from outreach.sentences import Code, Sentence
from outreach.sequencing import CampaignSequencer, EnrollmentState, window_of, zone_for
from outreach.start_claims import claim, claimable
from outreach.templates import (
    StepTemplate,
    compile_steps,
)


@dataclass(frozen=True)
class StepSpec:
    subject: str
    body: str
    wait_business_days: int = 3
    as_reply: bool = True


@dataclass(frozen=True)
class CampaignSpec:
    """What the create modal collects."""

    name: str
    shortlist_id: int
    mailbox_id: int
    channel_id: str
    steps: list[StepSpec]
    window: SendWindow = field(default_factory=SendWindow)
    timezone: str = "UTC"
    daily_cap: int = 200
    min_gap_seconds: int = 60


@dataclass(frozen=True)
class CampaignStatus:
    name: str
    state: str
    sender: str
    enrollments: dict[str, int]
    messages: dict[str, int]
    channel_id: str
    thread_ts: str | None
    #: What a button carries to act on exactly this campaign (None: not known).
    key: CampaignKey | None = None
    #: Sent per step, replies, interest, bounces… (outreach/metrics.py).
    numbers: CampaignNumbers | None = None


class Campaigns:
    """The campaign service."""

    def __init__(self, db: SessionFactory, clock: Clock) -> None:
        self._db = db
        self._clock = clock
        self.enroller = Enroller(db, clock)

    def create(self, team_id: str, user_id: str, spec: CampaignSpec) -> int:
        """Store a campaign in ``draft``; templates are checked for syntax now.

        Raises :class:`~outreach.errors.NotAllowed` unless the user may send ``spec.name``
        from ``spec.mailbox_id`` (see :mod:`outreach.permissions`), and
        :class:`~outreach.errors.InvalidCampaignName` for a name commands could not reach;
        the name is stored with its whitespace collapsed (:func:`campaign_name`).
        """
        spec = replace(spec, name=campaign_name(spec.name))
        compile_steps([StepTemplate(s.subject, s.body) for s in spec.steps])
        now = self._clock.now()
        with transaction(self._db) as session:
            target = CampaignTarget(team_id, spec.mailbox_id, spec.name)
            decide(session, Actor(team_id, user_id), Action.CREATE, target)
            if _find(session, team_id, spec.name) is not None:
                raise CampaignStateError(f"A campaign called '{spec.name}' already exists.")
            campaign = campaign_state.new_campaign(
                team_id=team_id,
                name=spec.name,
                created_by=user_id,
                shortlist_id=spec.shortlist_id,
                mailbox_id=spec.mailbox_id,
                channel_id=spec.channel_id,
                window_days=",".join(str(d) for d in sorted(spec.window.days)),
                window_start=spec.window.start.strftime("%H:%M"),
                window_end=spec.window.end.strftime("%H:%M"),
                timezone=spec.timezone,
                daily_cap=spec.daily_cap,
                min_gap_seconds=spec.min_gap_seconds,
                created_at=now,
            )
            session.add(campaign)
            session.flush()
            for position, step in enumerate(spec.steps, 1):
                session.add(
                    CampaignStep(
                        campaign_id=campaign.id,
                        position=position,
                        subject=step.subject,
                        body=step.body,
                        wait_business_days=step.wait_business_days if position > 1 else 0,
                        as_reply=step.as_reply and position > 1,
                    )
                )
            audit.record(
                session, now, team_id, "campaign.created", actor=user_id, campaign_id=campaign.id
            )
            return campaign.id

    def start(
        self, team_id: str, user_id: str, name: str, *, announce: Announce | None = None
    ) -> StartReport:
        """Enroll the shortlist and schedule step 1; refuse, enrolling nobody, if any
        candidate's emails cannot be filled in or would be too large.

        Memory stays bounded however long the shortlist: see :mod:`outreach.enrollment`.
        ``announce`` posts the campaign's parent message and returns its thread id; it runs
        in the transaction that makes the start live, so no worker sends step 1 before the
        thread its notices go to exists, and if it raises, nothing is enrolled.
        Raises :class:`CampaignStateError` unless the campaign is a draft (or its start
        was abandoned), :class:`CampaignCannotStart` with every problem, bounded.
        Raises :class:`~outreach.errors.NotAllowed` unless the user may start it.
        """
        now = self._clock.now()
        starting = CampaignStateError(
            Sentence(
                f"'{name}' is being started right now; ",
                Code(f"/scaleup campaign status {name}"),
                " says when it is running.",
            )
        )
        with transaction(self._db) as session:
            campaign = _get(session, team_id, name)
            decide(session, Actor(team_id, user_id), Action.START, CampaignTarget.of(campaign))
            if campaign.state == STARTING and not claimable(campaign, now):
                raise starting
            if not claimable(campaign, now):
                raise CampaignStateError(f"'{name}' has already started ({campaign.state}).")
            claimed = claim(session, campaign, now)
        if claimed is None:  # another start claimed it between our read and our write
            raise starting
        return self.enroller.run(claimed, user_id, announce)

    def set_thread(self, campaign_id: int, thread_ts: str) -> None:
        with transaction(self._db) as session:
            session.get_one(Campaign, campaign_id).thread_ts = thread_ts

    # Each change below takes the campaign by name (a command) or id (a button), checks
    # the actor with :func:`outreach.permissions.decide` (raising NotAllowed), then the
    # state (raising CampaignStateError naming it), in one transaction.

    def pause(
        self, team_id: str, user_id: str, campaign: CampaignRef, *, is_admin: bool = False
    ) -> None:
        """Hold every unsent step until :meth:`resume`."""
        with transaction(self._db) as session:
            found = _changing(session, Actor(team_id, user_id, is_admin), Action.PAUSE, campaign)
            if found.state != ACTIVE:
                raise _state_error(found, "not running")
            campaign_state.pause(session, found)

    def resume(self, team_id: str, user_id: str, campaign: CampaignRef) -> None:
        """Paused steps become due again at each candidate's next send slot."""
        now = self._clock.now()
        with transaction(self._db) as session:
            found = _changing(session, Actor(team_id, user_id), Action.RESUME, campaign)
            if found.state != PAUSED:
                raise _state_error(found, "not paused")
            campaign_state.resume(found)
            _release_paused(session, found, now, Enrollment.campaign_id == found.id)

    def stop(
        self, team_id: str, user_id: str, campaign: CampaignRef, *, is_admin: bool = False
    ) -> int:
        """End the campaign; nothing more is sent. Returns how many messages were cancelled."""
        with transaction(self._db) as session:
            found = _changing(session, Actor(team_id, user_id, is_admin), Action.STOP, campaign)
            if found.state in ENDED:
                raise _state_error(found, "already")
            return campaign_state.stop(session, found)

    def pause_candidate(
        self,
        team_id: str,
        user_id: str,
        campaign: CampaignRef,
        email: str,
        *,
        is_admin: bool = False,
    ) -> None:
        """Hold one candidate's unsent steps until :meth:`resume_candidate`."""
        with transaction(self._db) as session:
            actor = Actor(team_id, user_id, is_admin)
            enrollment, name = _enrollment(session, actor, Action.PAUSE_CANDIDATE, campaign, email)
            if enrollment.state != EnrollmentState.ACTIVE:
                raise CampaignStateError(f"{email} is {enrollment.state} in '{name}'.")
            sequencing.pause(session, enrollment)

    def resume_candidate(
        self, team_id: str, user_id: str, campaign: CampaignRef, email: str
    ) -> None:
        """Release one paused candidate; see :meth:`resume`."""
        now = self._clock.now()
        with transaction(self._db) as session:
            actor = Actor(team_id, user_id)
            enrollment, name = _enrollment(session, actor, Action.RESUME_CANDIDATE, campaign, email)
            if enrollment.state != EnrollmentState.PAUSED:
                raise CampaignStateError(f"{email} is {enrollment.state} in '{name}', not paused.")
            sequencing.resume(enrollment)
            found = session.get_one(Campaign, enrollment.campaign_id)
            if found.state == ACTIVE:
                _release_paused(session, found, now, Enrollment.id == enrollment.id)
                # Resuming after a send we could not confirm means the recruiter checked the
                # mailbox: that step counts as sent and the next one is planned from now.
                unconfirmed = outbox.last_unconfirmed(session, enrollment.id)
                if unconfirmed is not None:
                    CampaignSequencer().after_sent(session, unconfirmed, now)

    def status(self, team_id: str, campaign_ref: CampaignRef) -> CampaignStatus:
        """A campaign's state and numbers; open to everyone in the workspace."""
        with self._db() as session:
            campaign = _get(session, team_id, campaign_ref)
            mailbox = session.get_one(Mailbox, campaign.mailbox_id)
            enrollments = Counter(
                dict(
                    session.execute(
                        select(Enrollment.state, func.count())
                        .where(Enrollment.campaign_id == campaign.id)
                        .group_by(Enrollment.state)
                    ).all()
                )
            )
            ids = select(Enrollment.id).where(Enrollment.campaign_id == campaign.id)
            messages = Counter(
                dict(
                    session.execute(
                        select(OutboxMessage.state, func.count())
                        .where(OutboxMessage.enrollment_id.in_(ids))
                        .group_by(OutboxMessage.state)
                    ).all()
                )
            )
            return CampaignStatus(
                campaign.name,
                campaign.state,
                mailbox.email,
                {str(state): n for state, n in enrollments.items()},
                {str(state): n for state, n in messages.items()},
                campaign.channel_id,
                campaign.thread_ts,
                CampaignKey(campaign.id, campaign.created_at),
                campaign_numbers(session, campaign.id),
            )

    def of_user(self, team_id: str, user_id: str) -> UserCampaigns:
        """The user's most recent campaigns with their numbers (the App Home); see
        :func:`outreach.metrics.user_campaigns`."""
        with self._db() as session:
            return user_campaigns(session, team_id, user_id)

    def sender_choices(self, team_id: str, user_id: str) -> list[tuple[int, str]]:
        """Mailboxes the user may send from: their own, then those delegated to them."""
        with self._db() as session:
            own = session.execute(
                select(Mailbox.id, Mailbox.email).where(
                    Mailbox.team_id == team_id, Mailbox.owner_user_id == user_id
                )
            ).all()
            delegated = session.execute(
                select(Mailbox.id, Mailbox.email)
                .join(Delegation, Delegation.mailbox_id == Mailbox.id)
                .where(Mailbox.team_id == team_id, Delegation.delegate_user_id == user_id)
                .distinct()
            ).all()
        seen: dict[int, str] = {}
        for mailbox_id, email in [*own, *delegated]:
            seen.setdefault(mailbox_id, email)
        return list(seen.items())

    def names(self, team_id: str) -> list[tuple[str, str]]:
        with self._db() as session:
            return list(
                session.execute(
                    select(Campaign.name, Campaign.state)
                    .where(Campaign.team_id == team_id)
                    .order_by(Campaign.created_at)
                )
            )

    def preview(
        self,
        team_id: str,
        user_id: str,
        name: str,
        email: str | None = None,
        now: datetime | None = None,
    ) -> Preview:
        """Every step for one candidate and when it goes out; see :func:`previews.preview`."""
        return previews.preview(self._db, self._clock, team_id, user_id, name, email, now)

    def send_test(self, team_id: str, user_id: str, name: str) -> int:
        """Queue step 1 to the user's own mailbox; see :func:`previews.send_test`."""
        return previews.send_test(self._db, self._clock, team_id, user_id, name)

    def direct_target(self, team_id: str, user_id: str, email: str) -> direct.DirectTarget:
        """Whether ``user_id`` may email ``email`` from their own mailbox; see
        :func:`outreach.direct.check_direct`."""
        return direct.check_direct(self._db, team_id, user_id, email)

    def queue_direct(self, team_id: str, user_id: str, email: str, subject: str, body: str) -> int:
        """Queue a direct message; see :func:`outreach.direct.queue_direct`."""
        return direct.queue_direct(self._db, self._clock, team_id, user_id, email, subject, body)

    def attach_message(self, outbox_id: int, channel: str, ts: str) -> None:
        """Record the Slack message that confirms a test or direct email; see
        :func:`outreach.direct.attach_message`."""
        direct.attach_message(self._db, self._clock, outbox_id, channel, ts)


Planned = tuple[str, str, bool, datetime | None, str]


def _release_paused(session: Session, campaign: Campaign, now: datetime, which: object) -> None:
    """Paused steps of active candidates (``which`` selects the enrollments) are due at
    each candidate's next send slot, or their own due time if later."""
    window = window_of(campaign)

    def next_slot(_row: OutboxMessage, candidate: Candidate) -> datetime:
        return next_send_time(now, window, zone_for(candidate, campaign), candidate.country)

    active = Enrollment.state == EnrollmentState.ACTIVE
    outbox.release(session, which, next_slot, active=active)


def _changing(session: Session, actor: Actor, action: Action, ref: CampaignRef) -> Campaign:
    """The campaign ``ref`` names, once ``actor`` may do ``action`` to it."""
    campaign = _get(session, actor.team_id, ref)
    decide(session, actor, action, CampaignTarget.of(campaign))
    return campaign


def _state_error(campaign: Campaign, why: str) -> CampaignStateError:
    """E.g. "'alpha' is stopped, not running." or "'alpha' is already stopped."."""
    said = (
        f"'{campaign.name}' is already {campaign.state}."
        if why == "already"
        else f"'{campaign.name}' is {campaign.state}, {why}."
    )
    return CampaignStateError(said, campaign=campaign.name, state=campaign.state)


def _enrollment(
    session: Session, actor: Actor, action: Action, ref: CampaignRef, email: str
) -> tuple[Enrollment, str]:
    """The candidate's enrollment in the campaign ``ref`` names, and the campaign's name."""
    campaign = _changing(session, actor, action, ref)
    if campaign.state in ENDED:  # its unsent steps are cancelled: nothing to hold or release
        raise _state_error(campaign, "so its candidates can no longer be paused or resumed")
    enrollment = session.scalars(
        select(Enrollment).where(
            Enrollment.campaign_id == campaign.id, Enrollment.email == normalize_email(email)
        )
    ).first()
    if enrollment is None:
        raise CampaignStateError(f"{email} is not in '{campaign.name}'.")
    return enrollment, campaign.name
