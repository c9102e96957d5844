"""A campaign's state, and the one place that changes it.

``draft → starting → active ⇄ paused → stopped | completed``. :mod:`outreach.campaigns`
is the service the commands and buttons call; it asks this module for each change, as do
the start (:mod:`outreach.start_claims`, :mod:`outreach.enrollment`), the dispatcher's
rules (a mailbox that can no longer send) and a revoked delegation. It sits below all of
them (it imports only the models and the outbox), so every one can ask it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.models import Campaign, Enrollment
from outreach import outbox
from outreach.states import CampaignState as CampaignState  # re-exported

DRAFT, STARTING = CampaignState.DRAFT, CampaignState.STARTING
ACTIVE, PAUSED = CampaignState.ACTIVE, CampaignState.PAUSED
STOPPED, COMPLETED = CampaignState.STOPPED, CampaignState.COMPLETED

#: Started and not ended: its candidates may still get email.
UNDER_WAY = (ACTIVE, PAUSED)
#: Nothing more will be sent, whatever anyone does.
ENDED = (STOPPED, COMPLETED)


def new_campaign(**fields: Any) -> Campaign:
    """A campaign in ``draft`` with ``fields`` (name, mailbox, window…)."""
    return Campaign(**fields, state=DRAFT)


def claim_start(session: Session, campaign: Campaign, now: datetime) -> bool:
    """``draft`` (or an abandoned ``starting``) → ``starting`` since ``now``, if the
    campaign is still in the state and ``started_at`` it was read with: False when another
    start claimed it first (a compare-and-set, so two starts never both win)."""
    seen = (
        Campaign.started_at.is_(None)
        if campaign.started_at is None
        else Campaign.started_at == campaign.started_at
    )
    won = session.execute(
        update(Campaign)
        .where(Campaign.id == campaign.id, Campaign.state == campaign.state, seen)
        .values(state=STARTING, started_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(won.rowcount == 1)  # type: ignore[attr-defined]


def went_live(campaign: Campaign) -> None:
    """The start finished: ``starting → active``."""
    campaign.state = ACTIVE


def back_to_draft(campaign: Campaign) -> None:
    """A start that failed gives the campaign back: ``starting → draft``."""
    campaign.state, campaign.started_at = DRAFT, None


def pause(session: Session, campaign: Campaign) -> None:
    """``active → paused``; its due steps wait (``paused``) until :func:`resume`."""
    campaign.state = PAUSED
    outbox.hold(session, select(Enrollment.id).where(Enrollment.campaign_id == campaign.id))


def resume(campaign: Campaign) -> None:
    """``paused → active``; the caller makes its paused steps due again."""
    campaign.state = ACTIVE


def stop(session: Session, campaign: Campaign) -> int:
    """End the campaign; every unsent step is cancelled. Returns how many."""
    campaign.state = STOPPED
    ids = select(Enrollment.id).where(Enrollment.campaign_id == campaign.id)
    return outbox.cancel_unsent(session, ids, "campaign stopped")
