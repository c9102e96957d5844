"""Seeing a campaign before it reaches anyone: a per-candidate preview with local send
times, and a test of step 1 sent to the recruiter's own mailbox through the outbox."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.clock import Clock
from bot.db import SessionFactory, transaction
from bot.models import Campaign, CampaignStep, Candidate, Enrollment, Mailbox, OutboxMessage
from outreach import audit, direct, outbox
from outreach.addresses import normalize_email
from outreach.campaign_lookup import get_campaign as _get
from outreach.campaign_lookup import variables_of
from outreach.errors import (
    CannotPreview,
    MailboxNeedsReconnect,
    NoCandidate,
    NoMailbox,
    RenderProblem,
)
from outreach.mailboxes import CONNECTED
from outreach.outbox import OutboxState
from outreach.permissions import Action, Actor, CampaignTarget, decide
from outreach.schedule import SendWindow, describe_local, step_due_times
from outreach.sentences import Code, Sentence
from outreach.sequencing import window_of, zone_for
from outreach.subjects import step_subject
from outreach.templates import (
    CompiledCampaign,
    RenderedEmail,
    Sender,
    StepTemplate,
    compile_steps,
)


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
_PREVIEW_STATES = frozenset({OutboxState.SENT, OutboxState.PAUSED, *outbox.FINAL})


#: (subject, body, html, when, state) of one step.
Planned = tuple[str, str, bool, datetime | None, str]
TEST_PREFIX = "[Test] "


def preview(
    db: SessionFactory,
    clock: Clock,
    team_id: str,
    user_id: str,
    name: str,
    email: str | None = None,
    now: datetime | None = None,
) -> Preview:
    """Every step for one candidate (``email``, else the shortlist's first) and when it
    goes out on their clock.

    A draft, or a candidate the campaign did not enroll, is rendered from the templates
    and planned from ``now`` (default: the clock) with :func:`step_due_times`. An
    enrolled candidate shows the stored emails: sent steps at their send time, the next
    at its due time, later ones planned from it. Raises :class:`CannotPreview` when the
    candidate's row lacks template variables, and :class:`~outreach.errors.NotAllowed`
    unless ``user_id`` may preview the campaign (see :mod:`outreach.permissions`).
    """
    now = now or clock.now()
    with db() as session:
        campaign = _get(session, team_id, name)
        decide(session, Actor(team_id, user_id), Action.PREVIEW, CampaignTarget.of(campaign))
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
            first = rendered[0].subject if rendered else ""
            planned = [
                (
                    step_subject(email.subject, first, as_reply=step.as_reply),
                    email.body,
                    email.html,
                    at,
                    "planned",
                )
                for email, step, at in zip(rendered, steps, times, strict=True)
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


def send_test(db: SessionFactory, clock: Clock, team_id: str, user_id: str, name: str) -> int:
    """Queue step 1 to the user's own mailbox address, from the campaign's sender; the
    outbox id. The dispatcher sends it exactly once, like a campaign step.

    Step 1 is filled in for the shortlist's first candidate; any variable their row
    lacks (or every one, with an empty shortlist) shows as ``[name]``. The subject
    starts with ``[Test] ``. Raises :class:`~outreach.errors.NoMailbox` when the user
    has not connected a mailbox to receive it, and :class:`~outreach.errors.NotAllowed`
    unless they may test the campaign (see :mod:`outreach.permissions`).
    """
    now = clock.now()
    with transaction(db) as session:
        campaign = _get(session, team_id, name)
        decide(session, Actor(team_id, user_id), Action.TEST, CampaignTarget.of(campaign))
        sender_box = session.get_one(Mailbox, campaign.mailbox_id)
        own = session.scalars(
            select(Mailbox).where(Mailbox.team_id == team_id, Mailbox.owner_user_id == user_id)
        ).first()
        if own is None:
            raise NoMailbox()
        if sender_box.state != CONNECTED:
            raise MailboxNeedsReconnect(
                Sentence(
                    f"Microsoft no longer accepts ScaleUp's access to {sender_box.email}; its "
                    "owner needs to run ",
                    Code("/scaleup connect"),
                    " to reconnect it.",
                )
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
        message = direct.one_off(
            session,
            now,
            "test",
            sender_box.id,
            own.email,
            own.sender_name,
            TEST_PREFIX + email.subject,
            email.body,
            html=email.html,
        )
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
        if state == OutboxState.SENT:
            at = row.sent_at
        elif row.state == OutboxState.WAITING:
            if anchor is not None:
                [at] = step_due_times(anchor, [step.wait_business_days], window, zone, country)
        elif state == "planned":
            at = row.due_at
        anchor = at
        planned.append((row.subject, row.body, row.body_html, at, state))
    return planned
