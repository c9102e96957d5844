"""Finding a campaign by name or id and a candidate's template variables; shared by the
campaign service and previews."""

from __future__ import annotations

import unicodedata

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.models import Campaign, Candidate
from outreach.errors import CampaignNotFound, InvalidCampaignName
from outreach.keys import CampaignKey

#: A campaign as a person names it (its name, any case) or as a button carries it (its key).
CampaignRef = str | CampaignKey


#: The longest campaign name, in characters (``campaigns.name`` is ``String(80)``).
MAX_NAME = 80
#: Format characters a name may hold: the joiner inside emoji such as 👩‍💻.
_JOINERS = {"\u200d"}


def collapse(name: str) -> str:
    """``name`` with each run of whitespace (spaces, tabs, newlines, no-break spaces) made
    one space, and trimmed: what commands see after splitting on whitespace."""
    return " ".join(name.split())


def campaign_name(raw: str) -> str:
    """The name a campaign is stored under: ``raw`` :func:`collapse`-d.

    Raises :class:`~outreach.errors.InvalidCampaignName` when ``/scaleup campaign … NAME``
    could not reach it: empty, over :data:`MAX_NAME` characters, a control or invisible
    format character (e.g. a zero-width space), or a word with "@" (the command syntax
    reads ``NAME EMAIL``: see handlers/campaign_commands.py).
    """
    name = collapse(raw)
    if not name:
        raise InvalidCampaignName("Give the campaign a name.")
    if len(name) > MAX_NAME:
        raise InvalidCampaignName(f"That name has {len(name):,} characters.")
    hidden = [c for c in name if unicodedata.category(c) in ("Cc", "Cf") and c not in _JOINERS]
    if hidden:
        raise InvalidCampaignName(
            f"That name holds an invisible character (U+{ord(hidden[0]):04X})."
        )
    at_word = next((word for word in name.split(" ") if "@" in word), None)
    if at_word is not None:
        raise InvalidCampaignName(f"'{at_word}' looks like an email address.")
    return name


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


def find_campaign(session: Session, team_id: str, ref: CampaignRef) -> Campaign | None:
    """The workspace's campaign with that key, or that name in any case (whitespace
    :func:`collapse`-d, as names are stored); else None.

    A key finds only the campaign it was taken from (see :mod:`outreach.keys`), and only
    in ``team_id``: a forged key of another team's campaign finds nothing.
    """
    if isinstance(ref, CampaignKey):
        campaign = session.get(Campaign, ref.id)
        if campaign is None or campaign.team_id != team_id:
            return None
        return campaign if campaign.created_at == ref.created_at else None
    return session.scalars(
        select(Campaign).where(
            Campaign.team_id == team_id, func.lower(Campaign.name) == collapse(ref).lower()
        )
    ).first()


def get_campaign(session: Session, team_id: str, ref: CampaignRef) -> Campaign:
    """:func:`find_campaign`, raising :class:`CampaignNotFound` when there is none."""
    campaign = find_campaign(session, team_id, ref)
    if campaign is None:
        raise CampaignNotFound(ref)
    return campaign
