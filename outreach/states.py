"""The states of the outbox, the enrollments and the campaigns, spelled once.

Each is a :class:`~enum.StrEnum` stored as its value (``bot/models.py``), so a loaded row
holds a member and ``row.state == "sent"`` still holds. This module imports nothing of
ours: the models import it, and so do the owners of the transitions, which re-export
their enum:

* :class:`OutboxState`: :mod:`outreach.outbox` (every write of ``OutboxMessage.state``);
* :class:`EnrollmentState`: :mod:`outreach.sequencing`;
* :class:`CampaignState`: :mod:`outreach.campaign_state`.
"""

from __future__ import annotations

from enum import StrEnum


class OutboxState(StrEnum):
    """Where one email stands; see :mod:`outreach.outbox` for what each state promises."""

    #: A later step, stored at the start; it becomes ``pending`` when the one before is sent.
    WAITING = "waiting"
    #: Due at ``due_at``: a worker may claim it.
    PENDING = "pending"
    #: Held by a paused campaign or candidate (or an unconfirmed send) until resumed.
    PAUSED = "paused"
    CLAIMED = "claimed"
    DRAFTED = "drafted"
    SENDING = "sending"
    SENT = "sent"
    #: Outlook refused the message.
    FAILED = "failed"
    #: The send may or may not have happened; a person checks Sent Items.
    UNKNOWN = "unknown"
    #: Never to go out: the candidate replied, was stopped, or the campaign stopped.
    CANCELLED = "cancelled"


class EnrollmentState(StrEnum):
    """Where one candidate's sequence stands in one campaign."""

    #: Staged by a start that has not gone live; nothing sends it.
    STARTING = "starting"
    ACTIVE = "active"
    PAUSED = "paused"
    REPLIED = "replied"
    BOUNCED = "bounced"
    UNSUBSCRIBED = "unsubscribed"
    FAILED = "failed"
    COMPLETED = "completed"
    STOPPED = "stopped"


class CampaignState(StrEnum):
    """``draft → starting → active ⇄ paused → stopped | completed``."""

    DRAFT = "draft"
    #: A start holds the campaign (see :mod:`outreach.start_claims`).
    STARTING = "starting"
    ACTIVE = "active"
    PAUSED = "paused"
    STOPPED = "stopped"
    #: Reserved: nothing marks a campaign completed yet (each candidate's sequence ends
    #: on its own, as ``EnrollmentState.COMPLETED``); the CHECK and the labels allow it.
    COMPLETED = "completed"
