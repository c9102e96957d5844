"""A campaign's numbers: what ``/scaleup campaign status`` and the App Home show.

Counted in the database at read time, per campaign: candidates (enrollments) by outcome,
emails sent per step, and the answers of :mod:`outreach.replies` (a reply someone marked
"Not a reply" does not count; the recruiter's Interested/Not interested overrides the
classifier's reading).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import exists, func, or_, select
from sqlalchemy.orm import Session

from bot.models import Campaign, Delegation, Enrollment, Mailbox, OutboxMessage, Reply
from outreach.states import EnrollmentState, OutboxState

#: How many campaigns the App Home shows (Slack allows 100 blocks in a home view).
HOME_CAMPAIGNS = 20


@dataclass(frozen=True)
class CampaignNumbers:
    """Counts of candidates, except ``sent_per_step`` (emails sent, by step position)."""

    enrolled: int = 0
    sent_per_step: dict[int, int] = field(default_factory=dict)
    replied: int = 0
    interested: int = 0
    not_interested: int = 0
    bounced: int = 0
    unsubscribed: int = 0
    out_of_office: int = 0
    paused: int = 0
    failed: int = 0

    @staticmethod
    def percent(part: int, whole: int) -> int | None:
        """``part`` as a whole percentage of ``whole`` (None when ``whole`` is 0)."""
        return round(100 * part / whole) if whole else None


def campaign_numbers(session: Session, campaign_id: int) -> CampaignNumbers:
    """Every number of one campaign, in five grouped queries."""
    by_state = dict(
        session.execute(
            select(Enrollment.state, func.count())
            .where(Enrollment.campaign_id == campaign_id)
            .group_by(Enrollment.state)
        ).all()
    )
    ids = select(Enrollment.id).where(Enrollment.campaign_id == campaign_id)
    sent = dict(
        session.execute(
            select(
                OutboxMessage.step_position, func.count(func.distinct(OutboxMessage.enrollment_id))
            )
            .where(OutboxMessage.enrollment_id.in_(ids), OutboxMessage.state == OutboxState.SENT)
            .group_by(OutboxMessage.step_position)
        ).all()
    )
    answers = session.execute(
        select(Reply.enrollment_id, Reply.kind, func.coalesce(Reply.label, Reply.interest))
        .where(Reply.enrollment_id.in_(ids), Reply.undone_at.is_(None))
        .order_by(Reply.id)
    ).all()
    replied: dict[int, str | None] = {}
    away: set[int] = set()
    for enrollment_id, kind, interest in answers:
        if kind == "reply":
            replied[enrollment_id] = interest  # the latest answer's reading counts
        elif kind == "auto_reply":
            away.add(enrollment_id)
    readings = list(replied.values())
    return CampaignNumbers(
        enrolled=sum(by_state.values()),
        sent_per_step={int(k): int(v) for k, v in sent.items() if k is not None},
        replied=len(replied),
        interested=readings.count("interested"),
        not_interested=readings.count("not_interested"),
        bounced=by_state.get(EnrollmentState.BOUNCED, 0),
        unsubscribed=by_state.get(EnrollmentState.UNSUBSCRIBED, 0),
        out_of_office=len(away),
        paused=by_state.get(EnrollmentState.PAUSED, 0),
        failed=by_state.get(EnrollmentState.FAILED, 0),
    )


@dataclass(frozen=True)
class CampaignSummary:
    """One line of the App Home: a campaign, its state, sender and numbers."""

    name: str
    state: str
    sender: str
    created_at: datetime
    numbers: CampaignNumbers


@dataclass(frozen=True)
class UserCampaigns:
    """The most recent of a user's campaigns (newest first) and how many there are in all."""

    shown: list[CampaignSummary]
    total: int


def user_campaigns(
    session: Session, team_id: str, user_id: str, most: int = HOME_CAMPAIGNS
) -> UserCampaigns:
    """The campaigns ``user_id`` has to do with in ``team_id``, newest first, at most
    ``most`` of them with their numbers: those they created, those sending from their
    mailbox, and those they are delegated for (a delegation for every campaign of a
    mailbox, or for this campaign's name, compared without case as in
    :mod:`outreach.permissions`)."""
    delegated = exists().where(
        Delegation.mailbox_id == Campaign.mailbox_id,
        Delegation.delegate_user_id == user_id,
        or_(
            Delegation.campaign_name == "",
            func.lower(Delegation.campaign_name) == func.lower(Campaign.name),
        ),
    )
    mine = (
        select(Campaign, Mailbox.email)
        .join(Mailbox, Mailbox.id == Campaign.mailbox_id)
        .where(
            Campaign.team_id == team_id,
            or_(Campaign.created_by == user_id, Mailbox.owner_user_id == user_id, delegated),
        )
    )
    total = session.scalar(select(func.count()).select_from(mine.subquery())) or 0
    rows = session.execute(
        mine.order_by(Campaign.created_at.desc(), Campaign.id.desc()).limit(most)
    ).all()
    return UserCampaigns(
        [
            CampaignSummary(c.name, c.state, email, c.created_at, campaign_numbers(session, c.id))
            for c, email in rows
        ],
        int(total),
    )
