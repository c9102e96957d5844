"""The live numbers a campaign's parent message shows in its channel.

Read when the worker posts the update (:class:`outreach.notify.CampaignCounters`), so any
number of sends between two updates cost one read and one ``chat.update``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.models import AuditEntry, Campaign, Enrollment, Mailbox, OutboxMessage
from outreach.outbox import NOT_DELIVERED, STILL_TO_GO, OutboxState


@dataclass(frozen=True)
class ParentCounters:
    """A campaign's numbers: emails sent per step (position → count), failed (refused or
    unconfirmed) and still to go; replies once reply sync counts them (None until then)."""

    campaign_id: int
    name: str
    state: str
    sender: str
    started_by: str | None
    channel_id: str
    thread_ts: str | None
    enrolled: int
    steps: int
    sent_by_step: dict[int, int] = field(default_factory=dict)
    failed: int = 0
    pending: int = 0
    replied: int | None = None
    interested: int | None = None


def parent_counters(session: Session, campaign_id: int) -> ParentCounters | None:
    """The campaign's numbers now, or None if it was deleted."""
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        return None
    mailbox = session.get(Mailbox, campaign.mailbox_id)
    ids = select(Enrollment.id).where(Enrollment.campaign_id == campaign_id)
    enrolled = session.scalar(select(func.count()).select_from(ids.subquery())) or 0
    tally: Counter[tuple[int | None, str]] = Counter()
    for position, state, count in session.execute(
        select(OutboxMessage.step_position, OutboxMessage.state, func.count())
        .where(OutboxMessage.enrollment_id.in_(ids))
        .group_by(OutboxMessage.step_position, OutboxMessage.state)
    ):
        tally[(position, state)] += count
    positions = sorted({p for p, _ in tally if p is not None})
    return ParentCounters(
        campaign_id=campaign.id,
        name=campaign.name,
        state=campaign.state,
        sender=mailbox.email if mailbox else "",
        started_by=_starter(session, campaign),
        channel_id=campaign.channel_id,
        thread_ts=campaign.thread_ts,
        enrolled=enrolled,
        steps=len(positions),
        sent_by_step={p: tally[(p, OutboxState.SENT)] for p in positions},
        failed=sum(n for (_, s), n in tally.items() if s in NOT_DELIVERED),
        pending=sum(n for (_, s), n in tally.items() if s in STILL_TO_GO),
    )


def _starter(session: Session, campaign: Campaign) -> str | None:
    """Who started the campaign, from the audit log (the start is recorded at its instant)."""
    if campaign.started_at is None:
        return None
    for actor, detail in session.execute(
        select(AuditEntry.actor, AuditEntry.detail).where(
            AuditEntry.team_id == campaign.team_id,
            AuditEntry.action == "campaign.started",
            AuditEntry.at == campaign.started_at,
        )
    ):
        if (detail or {}).get("campaign_id") == campaign.id:
            return str(actor) if actor else None
    return None
