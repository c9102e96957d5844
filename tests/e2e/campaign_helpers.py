"""Building blocks for campaign tests: a connected mailbox, a shortlist, a campaign.

They live in :mod:`bot.sandbox.testing`, which benchmarks use too.
"""

from __future__ import annotations

from bot.sandbox.testing import (
    THREE_STEPS,
    connect,
    create_campaign,
    dispatcher,
    outbox,
    post_slack,
    seed_shortlist,
)

__all__ = [
    "THREE_STEPS",
    "connect",
    "create_campaign",
    "dispatcher",
    "outbox",
    "post_slack",
    "seed_shortlist",
]
