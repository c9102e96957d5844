"""Enrollment planning: starting a campaign in memory that does not grow with its shortlist.

A start reads the shortlist in pages of :data:`PAGE` candidates (keyset on the candidate
id) and holds at most one page of candidates and :data:`INSERT_BYTES` of rendered emails:

1. **claim** (:func:`outreach.start_claims.claim`, one short transaction): the campaign
   goes ``draft → starting``; a second start is refused while one runs.
2. **check**: every step is rendered for every candidate and thrown away; only the first
   :data:`~outreach.start_problems.SHOWN` candidates with gaps and, per step, the first
   email too large are kept, with counts of the rest. Any problem ends the start here,
   before anything is written.
3. **stage**: one transaction per page writes its enrollments (``starting``) and every
   step's outbox row (``waiting``) with bulk inserts. Nothing sends a waiting row and the
   dispatcher never sees a ``starting`` enrollment, so a half-staged start sends nothing.
4. **go**: one short transaction turns the enrollments ``active``, step 1 ``pending`` and
   the campaign ``active``: all or nothing.

Why a transaction per page rather than one for the whole start: SQLite has one writer at
a time, and a 10,000 x 5 start takes seconds; in one transaction every other writer (a
Slack event's de-duplication before its ack, a ``dnc add``, the worker's claims) would
wait that long, and Slack wants its ack within 3 s. A page holds the lock for tens of
milliseconds. Readers (``/healthz``, ``campaign list``) never wait, in WAL mode or on
PostgreSQL. The start itself runs after the Slack ack, on Bolt's listener thread pool.

A start that fails after the claim deletes what it staged and puts the campaign back in
``draft``. One that died with its process leaves a ``starting`` campaign of staged rows
that cannot send; after :data:`~outreach.start_claims.ABANDONED_AFTER` the next start
takes it over and deletes them first.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from bot.clock import Clock
from bot.db import SessionFactory, transaction
from bot.models import (
    Campaign,
    CampaignStep,
    Candidate,
    Enrollment,
    Mailbox,
    OutboxMessage,
    Suppression,
)
from outreach import audit, campaign_state, outbox, sequencing
from outreach.campaign_lookup import variables_of
from outreach.campaign_state import CampaignState
from outreach.errors import CampaignCannotStart, OutreachError, StartInterrupted
from outreach.outbox import step_key
from outreach.schedule import next_send_time
from outreach.sequencing import BUSY, window_of, zone_for
from outreach.start_claims import Claim
from outreach.start_problems import StartProblems, candidate_problems
from outreach.subjects import step_subject
from outreach.templates import (
    CompiledCampaign,
    RenderedEmail,
    Sender,
    StepTemplate,
    column_names,
    compile_steps,
    raise_if_unknown,
)

log = logging.getLogger(__name__)

PAGE = 500
INSERT_BYTES = 4_000_000

#: Called with ("staged", page number) after each page commits; tests hold a start there.
Checkpoint = Callable[[str, int], None]


@dataclass(frozen=True)
class StartReport:
    campaign_id: int
    enrolled: int
    skipped: list[tuple[str, str]]  # (email, why)
    first_send: datetime | None


Announce = Callable[[StartReport], str]
"""Posts a starting campaign's parent message; returns its id, the campaign's thread."""


@dataclass
class _Staged:
    enrolled: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    first_send: datetime | None = None


class Enroller:
    """Runs a claimed start: check, stage, go (see the module's docstring)."""

    def __init__(self, db: SessionFactory, clock: Clock) -> None:
        self._db = db
        self._clock = clock
        self.checkpoint: Checkpoint = lambda _stage, _page: None

    def run(self, claim: Claim, user_id: str, announce: Announce | None = None) -> StartReport:
        """Enroll the claimed campaign's shortlist; :class:`CampaignCannotStart` (its text
        already escaped for Slack) lists what stops it. On any failure nothing stays
        enrolled and the campaign is a draft again."""
        try:
            with self._db() as session:
                campaign = session.get_one(Campaign, claim.campaign_id)
                mailbox = session.get_one(Mailbox, campaign.mailbox_id)
                steps = list(
                    session.scalars(
                        select(CampaignStep)
                        .where(CampaignStep.campaign_id == campaign.id)
                        .order_by(CampaignStep.position)
                    )
                )
            compiled = compile_steps([StepTemplate(s.subject, s.body) for s in steps])
            sender = Sender(name=mailbox.sender_name, email=mailbox.email)
            problems = StartProblems()
            for page in self._pages(campaign.shortlist_id):
                for candidate in page:
                    row = variables_of(candidate)
                    problems.columns.update(column_names(row))
                    problems.add(candidate_problems(compiled, row, sender))
            raise_if_unknown(problems.missing_names, problems.columns, sender)
            if problems:
                raise CampaignCannotStart(problems.refusal(claim.name))
            staged = _Staged()
            for number, page in enumerate(self._pages(campaign.shortlist_id), 1):
                with transaction(self._db) as session:
                    self._stage(session, claim, campaign, steps, compiled, sender, page, staged)
                self.checkpoint("staged", number)
            return self._go(claim, user_id, staged, announce)
        except BaseException:
            try:
                self._abandon(claim)
            except Exception:  # the original failure is the one to report
                log.exception("campaign %s: could not undo a failed start", claim.campaign_id)
            raise

    def _pages(self, shortlist_id: int) -> Iterator[list[Candidate]]:
        """The shortlist, :data:`PAGE` candidates at a time, each page read and let go."""
        after = 0
        while True:
            with self._db() as session:
                page = list(
                    session.scalars(
                        select(Candidate)
                        .where(Candidate.shortlist_id == shortlist_id, Candidate.id > after)
                        .order_by(Candidate.id)
                        .limit(PAGE)
                    )
                )
            if not page:
                return
            yield page
            after = page[-1].id

    def _stage(
        self,
        session: Session,
        claim: Claim,
        campaign: Campaign,
        steps: list[CampaignStep],
        compiled: CompiledCampaign,
        sender: Sender,
        page: list[Candidate],
        staged: _Staged,
    ) -> None:
        """One page's enrollments and outbox rows, none of them sendable yet."""
        skipped = _skips(session, claim.team_id, claim.campaign_id, [c.email for c in page])
        chosen = [c for c in page if c.email not in skipped]
        staged.skipped += sorted(skipped.items())
        if not chosen:
            return
        enrollments = [
            sequencing.staged(
                campaign_id=claim.campaign_id,
                candidate_id=c.id,
                team_id=claim.team_id,
                email=c.email,
                enrolled_at=claim.at,
                updated_at=claim.at,
            )
            for c in chosen
        ]
        returned = session.execute(
            insert(Enrollment).returning(Enrollment.candidate_id, Enrollment.id), enrollments
        )
        ids = {candidate_id: enrollment_id for candidate_id, enrollment_id in returned}
        staged.enrolled += len(chosen)
        window, rows, size = window_of(campaign), [], 0
        for candidate in chosen:
            due = next_send_time(claim.at, window, zone_for(candidate, campaign), candidate.country)
            staged.first_send = due if staged.first_send is None else min(staged.first_send, due)
            variables, enrollment_id = variables_of(candidate), ids[candidate.id]
            first = ""
            for index, step in enumerate(steps):
                try:
                    email = compiled.render(index, variables, sender)
                    first = first or email.subject
                    subject = step_subject(email.subject, first, as_reply=step.as_reply)
                    email = replace(email, subject=subject)
                except OutreachError as exc:  # the shortlist changed since the check
                    raise StartInterrupted(
                        f"'{claim.name}' did not start: its shortlist changed while it was "
                        f"starting ({exc.message}) Nothing was enrolled; start it again."
                    ) from exc
                rows.append(
                    _outbox_row(claim, campaign, enrollment_id, step, candidate, email, due)
                )
                size += len(email.body) + len(email.subject)
                if size > INSERT_BYTES:
                    session.execute(insert(OutboxMessage), rows)
                    rows, size = [], 0
        if rows:
            session.execute(insert(OutboxMessage), rows)

    def _go(
        self, claim: Claim, user_id: str, staged: _Staged, announce: Announce | None
    ) -> StartReport:
        """Make the staged start live in one short transaction; ``announce`` posts the
        parent message inside it, so a failed post leaves nothing live."""
        with transaction(self._db) as session:
            campaign = session.scalars(
                select(Campaign).where(Campaign.id == claim.campaign_id).with_for_update()
            ).first()
            starting = CampaignState.STARTING
            if campaign is None or campaign.state != starting or campaign.started_at != claim.at:
                became = "deleted" if campaign is None else campaign.state
                raise StartInterrupted(
                    f"'{claim.name}' did not start: it became {became} while it was "
                    "starting. Nothing was enrolled."
                )
            ours = select(Enrollment.id).where(Enrollment.campaign_id == claim.campaign_id)
            outbox.go_live(session, ours)
            sequencing.go_live(session, claim.campaign_id)
            campaign_state.went_live(campaign)
            audit.record(
                session,
                claim.at,
                claim.team_id,
                "campaign.started",
                actor=user_id,
                campaign_id=claim.campaign_id,
                enrolled=staged.enrolled,
            )
            skipped = sorted(staged.skipped)
            report = StartReport(claim.campaign_id, staged.enrolled, skipped, staged.first_send)
            if announce is not None:
                campaign.thread_ts = announce(report)
        return report

    def _abandon(self, claim: Claim) -> None:
        """Delete what this start staged; a campaign still ours is a draft again."""
        with transaction(self._db) as session:
            campaign = session.scalars(
                select(Campaign).where(Campaign.id == claim.campaign_id).with_for_update()
            ).first()
            if campaign is None or campaign.state == CampaignState.ACTIVE:
                return
            starting = campaign.state == CampaignState.STARTING
            if starting and campaign.started_at != claim.at:
                return  # another start took it over and owns what is staged
            sequencing.delete_staged(session, claim.campaign_id)
            if starting:
                campaign_state.back_to_draft(campaign)


def _outbox_row(
    claim: Claim,
    campaign: Campaign,
    enrollment_id: int,
    step: CampaignStep,
    candidate: Candidate,
    email: RenderedEmail,
    due: datetime,
) -> dict[str, Any]:
    return outbox.staged_step(
        dedupe_key=step_key(enrollment_id, step.position),
        mailbox_id=campaign.mailbox_id,
        enrollment_id=enrollment_id,
        step_position=step.position,
        to_email=candidate.email,
        to_name=_full_name(candidate),
        subject=email.subject,
        body=email.body,
        body_html=email.html,
        reply_as_followup=step.as_reply,
        due_at=due,
        created_at=claim.at,
    )


def _full_name(candidate: Candidate) -> str | None:
    name = " ".join(p for p in (candidate.first_name, candidate.last_name) if p)
    return name or None


def _skips(session: Session, team_id: str, campaign_id: int, emails: list[str]) -> dict[str, str]:
    """Which of ``emails`` not to enroll, and why: suppressed, or in another campaign's
    sequence (running, paused or being started). A stopped campaign holds nobody: its
    unsent steps are cancelled, though its enrollments keep the state they had."""
    skipped: dict[str, str] = {}
    for email, kind in session.execute(
        select(Suppression.email, Suppression.kind).where(
            Suppression.team_id == team_id, Suppression.email.in_(emails)
        )
    ):
        skipped[email] = "on the do-not-contact list" if kind == "dnc" else "the address bounced"
    busy = session.execute(
        select(Enrollment.email, Campaign.name)
        .join(Campaign, Campaign.id == Enrollment.campaign_id)
        .where(
            Enrollment.team_id == team_id,
            Enrollment.email.in_(emails),
            Enrollment.state.in_(BUSY),
            Enrollment.campaign_id != campaign_id,
            Campaign.state.not_in(campaign_state.ENDED),
        )
    )
    for email, other in busy:
        skipped.setdefault(email, f"active in campaign '{other}'")
    return skipped
