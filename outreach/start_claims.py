"""The claim a campaign start holds while it runs, so two starts never interleave, and
what a start that did not finish leaves behind.

A start moves the campaign ``draft → starting`` and keeps the moment as its
``started_at``: that pair is its claim. Everything it stages is an enrollment in state
``starting`` (and its outbox rows), which nothing sends. A start whose process died leaves
such rows; after :data:`ABANDONED_AFTER` the next start may claim the campaign and delete
them. Fifteen minutes is many times the longest start measured (a 10,000 x 5 start takes
about 5 s, see ``benchmarks/start_memory.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from bot.models import Campaign
from outreach import campaign_state, sequencing
from outreach.campaign_state import DRAFT, STARTING

ABANDONED_AFTER = timedelta(minutes=15)


@dataclass(frozen=True)
class Claim:
    """The right to start one campaign, held since ``at`` (its ``started_at``)."""

    campaign_id: int
    name: str
    team_id: str
    at: datetime


def claimable(campaign: Campaign, now: datetime) -> bool:
    """Whether a start may begin: a draft, or a start abandoned :data:`ABANDONED_AFTER` ago."""
    if campaign.state == DRAFT:
        return True
    since = campaign.started_at
    return campaign.state == STARTING and since is not None and now - since > ABANDONED_AFTER


def claim(session: Session, campaign: Campaign, now: datetime) -> Claim | None:
    """Mark ``campaign`` as starting, deleting what an abandoned start left; None when
    another start claimed it first. The caller checked :func:`claimable`."""
    if not campaign_state.claim_start(session, campaign, now):
        return None
    sequencing.delete_staged(session, campaign.id)
    return Claim(campaign.id, campaign.name, campaign.team_id, now)
