"""The campaigns part of the App Home: the user's campaigns with their state and numbers.

A pure function of :class:`outreach.metrics.UserCampaigns`, like :mod:`handlers.blocks`.
Slack allows 100 blocks in a home view: the domain returns at most
:data:`outreach.metrics.HOME_CAMPAIGNS` campaigns, one section each, and the rest are
counted with a pointer to ``/scaleup campaign list``.
"""

from __future__ import annotations

from handlers.blocks import Block, context, esc, text
from handlers.campaign_blocks import _STATES as STATES
from handlers.campaign_blocks import campaign_numbers_line
from handlers.limits import clip
from outreach.metrics import CampaignSummary, UserCampaigns

#: Slack's limit of blocks in a home view, and what this part may use of it.
HOME_BLOCKS = 100
CAMPAIGN_BLOCKS = 30
NAME_CHARS = 200


def campaign_line(summary: CampaignSummary) -> str:
    """One campaign: name, state and sender, then its numbers (issue 10 item 5)."""
    return (
        f"*{esc(clip(summary.name, NAME_CHARS))}*: {STATES.get(summary.state, summary.state)} "
        f"· from {esc(summary.sender)}\n{campaign_numbers_line(summary.numbers)}"
    )


def campaigns_section(mine: UserCampaigns) -> list[Block]:
    """The "Your campaigns" part, newest first: at most ``CAMPAIGN_BLOCKS`` blocks."""
    blocks: list[Block] = [{"type": "divider"}, text("*Your campaigns*")]
    if not mine.shown:
        blocks.append(
            text(
                "None yet: campaigns you create, that send from your mailbox or that you "
                "are delegated for show here. Set one up with `/scaleup campaign create`."
            )
        )
        return blocks
    blocks += [text(campaign_line(summary)) for summary in mine.shown[: CAMPAIGN_BLOCKS - 3]]
    hidden = mine.total - min(len(mine.shown), CAMPAIGN_BLOCKS - 3)
    if hidden > 0:
        blocks.append(context(f"and {hidden:,} more — `/scaleup campaign list`"))
    return blocks
