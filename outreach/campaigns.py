"""Campaigns: define, start (render everything first), pause, resume, stop, report.

Starting renders every step for every candidate; if any candidate lacks a variable the
campaign does not start and the answer lists each such candidate with all it lacks.
Then every step of every enrollment is stored in the outbox: step 1 ``pending`` at the
candidate's first send slot, later steps ``waiting`` until the previous one is sent.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
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
    Suppression,
)
from outreach import audit, direct
from outreach.addresses import normalize_email
from outreach.errors import MailboxNeedsReconnect, NoMailbox, OutreachError
from outreach.mailboxes import CONNECTED
from outreach.schedule import SendWindow, describe_local, next_send_time, step_due_times
from outreach.sequencing import ACTIVE, hold_pending, step_key, window_of, zone_for
from outreach.templates import (
    CompiledCampaign,
    MissingVariables,
    RenderedEmail,
    RenderProblem,
    Sender,
    StepTemplate,
    TemplateProblem,
    compile_steps,
    describe_missing,
)


class CampaignNotFound(OutreachError):
    """There is no campaign by that name in this workspace. `/scaleup campaign list` shows them."""

    def __init__(self, name: str) -> None:
        super().__init__(
            f"There is no campaign called '{name}'. `/scaleup campaign list` shows them."
        )


class CampaignCannotStart(OutreachError):
    """The campaign cannot start."""


class CampaignStateError(OutreachError):
    """The campaign is not in a state that allows this."""


class NoCandidate(OutreachError):
    """The campaign's shortlist has no such candidate."""


class CannotPreview(TemplateProblem):
    """The steps cannot be filled in for this candidate."""

    def __init__(self, name: str, problem: MissingVariables) -> None:
        super().__init__(
            f"'{name}' cannot be previewed: {problem.sentence()}. Add the column to the "
            "shortlist or use `| default(...)` in the template."
        )
        self.problem = problem


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
class StartReport:
    campaign_id: int
    enrolled: int
    skipped: list[tuple[str, str]]  # (email, why)
    first_send: datetime | None


@dataclass(frozen=True)
class CampaignStatus:
    name: str
    state: str
    sender: str
    enrollments: dict[str, int]
    messages: dict[str, int]
    channel_id: str
    thread_ts: str | None


@dataclass(frozen=True)
class PreviewStep:
    """One step as one candidate gets it, and when."""

    position: int
    subject: str
    body: str
    html: bool
    wait_business_days: int
    #: The planned send instant (UTC), or when it was sent; None when it won't go out
    #: (cancelled, failed) or can't be known yet (paused, or after such a step).
    at: datetime | None
    #: ``at`` on the candidate's clock, e.g. "Tue 3 Mar 2026, 09:00 CET".
    local: str | None
    #: ``planned``, ``sent``, ``paused``, ``cancelled``, ``failed`` or ``unknown``.
    state: str


@dataclass(frozen=True)
class Preview:
    """A campaign as one candidate would receive it."""

    campaign: str
    campaign_state: str
    sender: str
    email: str
    zone: str
    window: str
    #: True when the steps are the candidate's stored, already rendered emails.
    enrolled: bool
    steps: list[PreviewStep]


# Outbox states a preview names as they are; the rest (waiting, pending, in flight) are
# all "planned" to the recruiter.
_PREVIEW_STATES = frozenset({"sent", "paused", "cancelled", "failed", "unknown"})
TEST_PREFIX = "[Test] "


class Campaigns:
    """The campaign service."""

    def __init__(self, db: SessionFactory, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    def create(self, team_id: str, user_id: str, spec: CampaignSpec) -> int:
        """Store a campaign in ``draft``; templates are checked for syntax now."""
        compile_steps([StepTemplate(s.subject, s.body) for s in spec.steps])
        now = self._clock.now()
        with transaction(self._db) as session:
            if _find(session, team_id, spec.name) is not None:
                raise CampaignStateError(f"A campaign called '{spec.name}' already exists.")
            campaign = Campaign(
                team_id=team_id,
                name=spec.name,
                created_by=user_id,
                shortlist_id=spec.shortlist_id,
                mailbox_id=spec.mailbox_id,
                channel_id=spec.channel_id,
                state="draft",
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

    def start(self, team_id: str, user_id: str, name: str) -> StartReport:
        """Enroll the shortlist and schedule step 1; refuse if any candidate can't be rendered."""
        now = self._clock.now()
        with transaction(self._db) as session:
            campaign = _get(session, team_id, name)
            if campaign.state != "draft":
                raise CampaignStateError(f"'{name}' has already started ({campaign.state}).")
            mailbox = session.get_one(Mailbox, campaign.mailbox_id)
            steps = list(
                session.scalars(
                    select(CampaignStep)
                    .where(CampaignStep.campaign_id == campaign.id)
                    .order_by(CampaignStep.position)
                )
            )
            candidates = list(
                session.scalars(
                    select(Candidate)
                    .where(Candidate.shortlist_id == campaign.shortlist_id)
                    .order_by(Candidate.id)
                )
            )
            compiled = compile_steps([StepTemplate(s.subject, s.body) for s in steps])
            sender = Sender(name=mailbox.sender_name, email=mailbox.email)
            problems = compiled.check(((c.email, variables_of(c)) for c in candidates), sender)
            if problems:
                raise CampaignCannotStart(
                    f"'{name}' did not start: some candidates lack template variables. "
                    "Add the columns to the shortlist or use `| default(...)` in the template.\n"
                    + describe_missing(problems)
                )
            skipped = _skips(session, team_id, campaign.id, [c.email for c in candidates])
            chosen = [c for c in candidates if c.email not in skipped]
            enrollments = [
                Enrollment(
                    campaign_id=campaign.id,
                    candidate_id=c.id,
                    team_id=team_id,
                    email=c.email,
                    state=ACTIVE,
                    enrolled_at=now,
                    updated_at=now,
                )
                for c in chosen
            ]
            session.add_all(enrollments)
            session.flush()
            window = window_of(campaign)
            first_send: datetime | None = None
            for enrollment, candidate in zip(enrollments, chosen, strict=True):
                variables = variables_of(candidate)
                due = next_send_time(now, window, zone_for(candidate, campaign), candidate.country)
                first_send = due if first_send is None else min(first_send, due)
                for index, step in enumerate(steps):
                    email = compiled.render(index, variables, sender)
                    session.add(
                        OutboxMessage(
                            dedupe_key=step_key(enrollment.id, step.position),
                            mailbox_id=mailbox.id,
                            enrollment_id=enrollment.id,
                            step_position=step.position,
                            to_email=candidate.email,
                            to_name=_full_name(candidate),
                            subject=email.subject,
                            body=email.body,
                            body_html=email.html,
                            reply_as_followup=step.as_reply,
                            state="pending" if index == 0 else "waiting",
                            due_at=due,
                            created_at=now,
                        )
                    )
            campaign.state, campaign.started_at = ACTIVE, now
            audit.record(
                session,
                now,
                team_id,
                "campaign.started",
                actor=user_id,
                campaign_id=campaign.id,
                enrolled=len(chosen),
            )
            return StartReport(campaign.id, len(chosen), sorted(skipped.items()), first_send)

    def set_thread(self, campaign_id: int, thread_ts: str) -> None:
        with transaction(self._db) as session:
            session.get_one(Campaign, campaign_id).thread_ts = thread_ts

    def pause(self, team_id: str, name: str) -> None:
        with transaction(self._db) as session:
            campaign = _get(session, team_id, name)
            if campaign.state != ACTIVE:
                raise CampaignStateError(f"'{name}' is {campaign.state}, not running.")
            campaign.state = "paused"
            hold_pending(session, campaign.id)

    def resume(self, team_id: str, name: str) -> None:
        """Paused steps become due again at each candidate's next send slot."""
        now = self._clock.now()
        with transaction(self._db) as session:
            campaign = _get(session, team_id, name)
            if campaign.state != "paused":
                raise CampaignStateError(f"'{name}' is {campaign.state}, not paused.")
            campaign.state = ACTIVE
            _release_paused(session, campaign, now, Enrollment.campaign_id == campaign.id)

    def stop(self, team_id: str, name: str) -> int:
        """End the campaign; nothing more is sent. Returns how many messages were cancelled."""
        with transaction(self._db) as session:
            campaign = _get(session, team_id, name)
            if campaign.state in ("stopped", "completed"):
                raise CampaignStateError(f"'{name}' is already {campaign.state}.")
            campaign.state = "stopped"
            ids = select(Enrollment.id).where(Enrollment.campaign_id == campaign.id)
            cancelled = session.scalars(
                update(OutboxMessage)
                .where(
                    OutboxMessage.enrollment_id.in_(ids),
                    OutboxMessage.state.in_(("waiting", "pending", "paused")),
                )
                .values(state="cancelled", last_error="campaign stopped")
                .returning(OutboxMessage.id)
            ).all()
            return len(cancelled)

    def pause_candidate(self, team_id: str, name: str, email: str) -> None:
        with transaction(self._db) as session:
            enrollment = _enrollment(session, team_id, name, email)
            if enrollment.state != ACTIVE:
                raise CampaignStateError(f"{email} is {enrollment.state} in '{name}'.")
            enrollment.state = "paused"
            session.execute(
                update(OutboxMessage)
                .where(
                    OutboxMessage.enrollment_id == enrollment.id, OutboxMessage.state == "pending"
                )
                .values(state="paused")
            )

    def resume_candidate(self, team_id: str, name: str, email: str) -> None:
        now = self._clock.now()
        with transaction(self._db) as session:
            enrollment = _enrollment(session, team_id, name, email)
            if enrollment.state != "paused":
                raise CampaignStateError(f"{email} is {enrollment.state} in '{name}', not paused.")
            enrollment.state = ACTIVE
            campaign = session.get_one(Campaign, enrollment.campaign_id)
            if campaign.state == ACTIVE:
                _release_paused(session, campaign, now, Enrollment.id == enrollment.id)

    def status(self, team_id: str, name: str) -> CampaignStatus:
        with self._db() as session:
            campaign = _get(session, team_id, name)
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
                dict(enrollments),
                dict(messages),
                campaign.channel_id,
                campaign.thread_ts,
            )

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
        self, team_id: str, name: str, email: str | None = None, now: datetime | None = None
    ) -> Preview:
        """Every step for one candidate (``email``, else the shortlist's first) and when it
        goes out on their clock.

        A draft, or a candidate the campaign did not enroll, is rendered from the templates
        and planned from ``now`` (default: the clock) with :func:`step_due_times`. An
        enrolled candidate shows the stored emails: sent steps at their send time, the next
        at its due time, later ones planned from it. Raises :class:`CannotPreview` when the
        candidate's row lacks template variables.
        """
        now = now or self._clock.now()
        with self._db() as session:
            campaign = _get(session, team_id, name)
            mailbox = session.get_one(Mailbox, campaign.mailbox_id)
            steps = _steps_of(session, campaign.id)
            candidate = _candidate(session, campaign, email)
            window, zone = window_of(campaign), zone_for(candidate, campaign)
            enrollment_id = session.scalar(
                select(Enrollment.id).where(
                    Enrollment.campaign_id == campaign.id, Enrollment.candidate_id == candidate.id
                )
            )
            rows: dict[int | None, OutboxMessage] = {}
            if enrollment_id is not None:
                found = select(OutboxMessage).where(OutboxMessage.enrollment_id == enrollment_id)
                rows = {row.step_position: row for row in session.scalars(found)}
            if len(rows) == len(steps):
                planned = _stored_steps(steps, rows, window, zone, candidate.country)
            else:
                sender = Sender(name=mailbox.sender_name, email=mailbox.email)
                row = variables_of(candidate)
                rendered = _render_all(campaign.name, _compiled(steps), row, sender)
                waits = [step.wait_business_days for step in steps]
                times = step_due_times(now, waits, window, zone, candidate.country)
                planned = [
                    (email.subject, email.body, email.html, at, "planned")
                    for email, at in zip(rendered, times, strict=True)
                ]
            return Preview(
                campaign=campaign.name,
                campaign_state=campaign.state,
                sender=mailbox.email,
                email=candidate.email,
                zone=zone.key,
                window=window.describe(),
                enrolled=enrollment_id is not None,
                steps=[
                    PreviewStep(
                        step.position,
                        subject,
                        body,
                        html,
                        step.wait_business_days,
                        at,
                        describe_local(at, zone) if at is not None else None,
                        state,
                    )
                    for step, (subject, body, html, at, state) in zip(steps, planned, strict=True)
                ],
            )

    def send_test(self, team_id: str, user_id: str, name: str) -> int:
        """Queue step 1 to the user's own mailbox address, from the campaign's sender; the
        outbox id. The dispatcher sends it exactly once, like a campaign step.

        Step 1 is filled in for the shortlist's first candidate; any variable their row
        lacks (or every one, with an empty shortlist) shows as ``[name]``. The subject
        starts with ``[Test] ``. Raises :class:`~outreach.errors.NoMailbox` when the user
        has not connected a mailbox to receive it.
        """
        now = self._clock.now()
        with transaction(self._db) as session:
            campaign = _get(session, team_id, name)
            sender_box = session.get_one(Mailbox, campaign.mailbox_id)
            own = session.scalars(
                select(Mailbox).where(Mailbox.team_id == team_id, Mailbox.owner_user_id == user_id)
            ).first()
            if own is None:
                raise NoMailbox()
            if sender_box.state != CONNECTED:
                raise MailboxNeedsReconnect(
                    f"Microsoft no longer accepts ScaleUp's access to {sender_box.email}; its "
                    "owner needs to run `/scaleup connect` to reconnect it."
                )
            first = session.scalars(
                select(Candidate)
                .where(Candidate.shortlist_id == campaign.shortlist_id)
                .order_by(Candidate.id)
                .limit(1)
            ).first()
            row = variables_of(first) if first else {"email": "candidate@example.com"}
            sender = Sender(name=sender_box.sender_name, email=sender_box.email)
            email = _render_sample(_compiled(_steps_of(session, campaign.id)), row, sender)
            message = OutboxMessage(
                dedupe_key=f"test:{uuid.uuid4()}",
                mailbox_id=sender_box.id,
                enrollment_id=None,
                step_position=None,
                to_email=own.email,
                to_name=own.sender_name,
                subject=TEST_PREFIX + email.subject,
                body=email.body,
                body_html=email.html,
                state="pending",
                due_at=now,
                created_at=now,
            )
            session.add(message)
            session.flush()
            audit.record(
                session,
                now,
                team_id,
                "campaign.test_queued",
                actor=user_id,
                mailbox_id=sender_box.id,
                campaign_id=campaign.id,
                outbox_id=message.id,
            )
            return message.id

    def direct_target(self, team_id: str, user_id: str, email: str) -> direct.DirectTarget:
        """Whether ``user_id`` may email ``email`` from their own mailbox; see
        :func:`outreach.direct.check_direct`."""
        return direct.check_direct(self._db, team_id, user_id, email)

    def queue_direct(self, team_id: str, user_id: str, email: str, subject: str, body: str) -> int:
        """Queue a direct message; see :func:`outreach.direct.queue_direct`."""
        return direct.queue_direct(self._db, self._clock, team_id, user_id, email, subject, body)


def variables_of(candidate: Candidate) -> dict[str, str]:
    """Everything a template may use for this candidate."""
    base = {
        "email": candidate.email,
        "first_name": candidate.first_name or "",
        "last_name": candidate.last_name or "",
        "timezone": candidate.timezone or "",
        "country": candidate.country or "",
    }
    return {**{k: str(v) for k, v in candidate.variables.items()}, **base}


def _steps_of(session: Session, campaign_id: int) -> list[CampaignStep]:
    return list(
        session.scalars(
            select(CampaignStep)
            .where(CampaignStep.campaign_id == campaign_id)
            .order_by(CampaignStep.position)
        )
    )


def _compiled(steps: list[CampaignStep]) -> CompiledCampaign:
    return compile_steps([StepTemplate(s.subject, s.body) for s in steps])


def _candidate(session: Session, campaign: Campaign, email: str | None) -> Candidate:
    """The named candidate of the campaign's shortlist, else its first."""
    query = select(Candidate).where(Candidate.shortlist_id == campaign.shortlist_id)
    if email is not None:
        address = normalize_email(email)
        found = session.scalars(query.where(Candidate.email == address)).first()
        if found is None:
            raise NoCandidate(f"{address} is not on the shortlist of '{campaign.name}'.")
        return found
    first = session.scalars(query.order_by(Candidate.id).limit(1)).first()
    if first is None:
        raise NoCandidate(f"The shortlist of '{campaign.name}' has no candidates to preview.")
    return first


def _render_all(
    name: str, compiled: CompiledCampaign, row: Mapping[str, str], sender: Sender
) -> list[RenderedEmail]:
    problems = compiled.check([(row.get("email", "?"), row)], sender)
    if problems:
        raise CannotPreview(name, problems[0])
    return [compiled.render(index, row, sender) for index in range(len(compiled))]


def _render_sample(
    compiled: CompiledCampaign, row: Mapping[str, str], sender: Sender
) -> RenderedEmail:
    """Step 1 for ``row``, each variable it lacks shown as ``[name]`` (a test, not a send)."""
    try:
        return compiled.render(0, row, sender)
    except RenderProblem as exc:
        if exc.problem.errors:
            raise
        filled = {**row, **{name: f"[{name}]" for name in exc.problem.missing}}
        return compiled.render(0, filled, sender)


Planned = tuple[str, str, bool, datetime | None, str]


def _stored_steps(
    steps: list[CampaignStep],
    rows: Mapping[int | None, OutboxMessage],
    window: SendWindow,
    zone: ZoneInfo,
    country: str | None,
) -> list[Planned]:
    """An enrolled candidate's stored emails with their actual or planned send instants.

    A sent step anchors the next; a pending one is planned at its due time; a waiting
    one follows the step before as the dispatcher will schedule it. After a step that is
    paused or will never go out, nothing can be planned.
    """
    planned: list[Planned] = []
    anchor: datetime | None = None
    for step in steps:
        row = rows[step.position]
        state = row.state if row.state in _PREVIEW_STATES else "planned"
        at: datetime | None = None
        if state == "sent":
            at = row.sent_at
        elif row.state == "waiting":
            if anchor is not None:
                [at] = step_due_times(anchor, [step.wait_business_days], window, zone, country)
        elif state == "planned":
            at = row.due_at
        anchor = at
        planned.append((row.subject, row.body, row.body_html, at, state))
    return planned


def _full_name(candidate: Candidate) -> str | None:
    name = " ".join(p for p in (candidate.first_name, candidate.last_name) if p)
    return name or None


def _skips(session: Session, team_id: str, campaign_id: int, emails: list[str]) -> dict[str, str]:
    """Candidates not to enroll, and why."""
    skipped: dict[str, str] = {}
    for email, kind in session.execute(
        select(Suppression.email, Suppression.kind).where(Suppression.team_id == team_id)
    ):
        skipped[email] = "on the do-not-contact list" if kind == "dnc" else "the address bounced"
    busy = session.execute(
        select(Enrollment.email, Campaign.name)
        .join(Campaign, Campaign.id == Enrollment.campaign_id)
        .where(
            Enrollment.team_id == team_id,
            Enrollment.state.in_((ACTIVE, "paused")),
            Enrollment.campaign_id != campaign_id,
        )
    )
    for email, other in busy:
        skipped.setdefault(email, f"active in campaign '{other}'")
    wanted = set(emails)
    return {e: why for e, why in skipped.items() if e in wanted}


def _release_paused(session: Session, campaign: Campaign, now: datetime, which: object) -> None:
    window = window_of(campaign)
    rows = session.execute(
        select(OutboxMessage, Candidate)
        .join(Enrollment, Enrollment.id == OutboxMessage.enrollment_id)
        .join(Candidate, Candidate.id == Enrollment.candidate_id)
        .where(which, Enrollment.state == ACTIVE, OutboxMessage.state == "paused")  # type: ignore[arg-type]
    )
    for row, candidate in rows:
        row.state = "pending"
        row.due_at = max(
            row.due_at,
            next_send_time(now, window, zone_for(candidate, campaign), candidate.country),
        )


def _find(session: Session, team_id: str, name: str) -> Campaign | None:
    return session.scalars(
        select(Campaign).where(
            Campaign.team_id == team_id, func.lower(Campaign.name) == name.lower()
        )
    ).first()


def _get(session: Session, team_id: str, name: str) -> Campaign:
    campaign = _find(session, team_id, name)
    if campaign is None:
        raise CampaignNotFound(name)
    return campaign


def _enrollment(session: Session, team_id: str, name: str, email: str) -> Enrollment:
    campaign = _get(session, team_id, name)
    enrollment = session.scalars(
        select(Enrollment).where(
            Enrollment.campaign_id == campaign.id, Enrollment.email == email.strip().lower()
        )
    ).first()
    if enrollment is None:
        raise CampaignStateError(f"{email} is not in '{name}'.")
    return enrollment
