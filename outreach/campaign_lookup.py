"""Finding a campaign by name and a candidate's template variables; shared by the
campaign service and previews."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.models import Campaign, Candidate
from outreach.errors import OutreachError


class CampaignNotFound(OutreachError):
    """There is no campaign by that name in this workspace. `/scaleup campaign list` shows them."""

    def __init__(self, name: str) -> None:
        super().__init__(
            f"There is no campaign called '{name}'. `/scaleup campaign list` shows them."
        )


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


def find_campaign(session: Session, team_id: str, name: str) -> Campaign | None:
    return session.scalars(
        select(Campaign).where(
            Campaign.team_id == team_id, func.lower(Campaign.name) == name.lower()
        )
    ).first()


def get_campaign(session: Session, team_id: str, name: str) -> Campaign:
    campaign = find_campaign(session, team_id, name)
    if campaign is None:
        raise CampaignNotFound(name)
    return campaign
