"""Who may do what: ScaleUp's one permission rule.

Every change to a campaign, a do-not-contact entry or a delegation is decided here, by
:func:`decide`, in the same session (and transaction) that then makes the change, so a
delegation revoked a moment earlier is seen. Reading (campaign status and list, the
do-not-contact list) is open to everyone in the workspace and is not decided here.

The rule
--------
**Campaigns** (create, start, pause, resume, stop, preview, test, pause or resume one of
its candidates, mark one of its replies interested, not interested or "not a reply") belong to the people who may send from the campaign's mailbox:

- the mailbox's owner (the Slack user who connected it);
- a recruiter the owner delegated the mailbox to, for every campaign or for this
  campaign by name (compared without case), with ``/scaleup delegate``;
- nobody else: a delegation for campaign "alpha" gives nothing on campaign "beta".

Workspace admins and owners (Slack's ``is_admin``/``is_owner`` from ``users.info``,
looked up by the handlers) may also **pause** and **stop** any campaign and pause one
of its candidates: stopping harm is an admin's power. They may not create, start,
resume, preview or test someone else's campaign, because those send mail as the
mailbox's owner or show what the candidates receive.

**Do-not-contact**: anyone in the workspace may add an address (it only prevents mail).
Removing one is for workspace admins and for whoever added it; an entry nobody added
by hand (``added_by`` empty) only an admin may remove.

**Delegations**: the mailbox's owner may take a delegation back, and the delegate may
give it up.

Every refusal is :class:`~outreach.errors.NotAllowed` with a sentence that names the
object and who may act on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.models import Campaign, Delegation, Mailbox
from outreach.errors import NotAllowed
from outreach.sentences import Code, Sentence


@dataclass(frozen=True)
class Actor:
    """Who is acting: a Slack user of a workspace, and whether Slack calls them a
    workspace admin or owner (``is_admin or is_owner`` in ``users.info``)."""

    team_id: str
    user_id: str
    is_admin: bool = False


class Action(Enum):
    """What an actor wants to do; the value is the verb a refusal uses."""

    CREATE = "create"
    START = "start"
    PAUSE = "pause"
    RESUME = "resume"
    STOP = "stop"
    PREVIEW = "preview"
    TEST = "send a test of"
    PAUSE_CANDIDATE = "pause a candidate of"
    RESUME_CANDIDATE = "resume a candidate of"
    TRIAGE_REPLY = "mark a reply in"
    ADD_DNC = "add to the do-not-contact list"
    REMOVE_DNC = "take off the do-not-contact list"
    REVOKE_DELEGATION = "take back"


CAMPAIGN_ACTIONS = frozenset(
    {
        Action.CREATE,
        Action.START,
        Action.PAUSE,
        Action.RESUME,
        Action.STOP,
        Action.PREVIEW,
        Action.TEST,
        Action.PAUSE_CANDIDATE,
        Action.RESUME_CANDIDATE,
        Action.TRIAGE_REPLY,
    }
)
#: What a workspace admin may do to any campaign: stop harm, never send.
ADMIN_CAMPAIGN_ACTIONS = frozenset({Action.PAUSE, Action.STOP, Action.PAUSE_CANDIDATE})


@dataclass(frozen=True)
class CampaignTarget:
    """A campaign, or the one about to be created: its workspace, mailbox and name."""

    team_id: str
    mailbox_id: int
    name: str

    @classmethod
    def of(cls, campaign: Campaign) -> CampaignTarget:
        return cls(campaign.team_id, campaign.mailbox_id, campaign.name)


@dataclass(frozen=True)
class DncTarget:
    """A do-not-contact entry: its workspace, address and who added it (None: nobody by hand)."""

    team_id: str
    email: str
    added_by: str | None = None


@dataclass(frozen=True)
class DelegationTarget:
    """Every delegation of one mailbox to one user."""

    mailbox_id: int
    delegate_user_id: str


Target = CampaignTarget | DncTarget | DelegationTarget


def decide(session: Session, actor: Actor, action: Action, target: Target) -> None:
    """Return if ``actor`` may do ``action`` to ``target``, else raise
    :class:`~outreach.errors.NotAllowed` with the sentence to show them.

    The rule is in this module's docstring. Raises :class:`ValueError` for an action that
    does not apply to the target's kind (a programming error, not a user's).
    """
    if isinstance(target, CampaignTarget) and action in CAMPAIGN_ACTIONS:
        _campaign(session, actor, action, target)
    elif isinstance(target, DncTarget) and action in (Action.ADD_DNC, Action.REMOVE_DNC):
        _dnc(actor, action, target)
    elif isinstance(target, DelegationTarget) and action is Action.REVOKE_DELEGATION:
        _delegation(session, actor, target)
    else:
        raise ValueError(f"{action} does not apply to {type(target).__name__}")


def allowed(session: Session, actor: Actor, action: Action, target: Target) -> bool:
    """Whether :func:`decide` lets ``actor`` do ``action`` to ``target``."""
    try:
        decide(session, actor, action, target)
    except NotAllowed:
        return False
    return True


def _campaign(session: Session, actor: Actor, action: Action, target: CampaignTarget) -> None:
    mailbox = session.get(Mailbox, target.mailbox_id)
    if mailbox is None or actor.team_id != mailbox.team_id or actor.team_id != target.team_id:
        raise NotAllowed("That mailbox is not connected in this workspace any more.")
    if mailbox.owner_user_id == actor.user_id:
        return
    scopes = set(
        session.scalars(
            select(func.lower(Delegation.campaign_name)).where(
                Delegation.mailbox_id == mailbox.id,
                Delegation.delegate_user_id == actor.user_id,
            )
        )
    )
    if "" in scopes or target.name.lower() in scopes:
        return
    if actor.is_admin and action in ADMIN_CAMPAIGN_ACTIONS:
        return
    what = f"You can't {action.value} '{target.name}'"
    if action is Action.CREATE:
        what += f" from {mailbox.email}"
    if scopes:
        mailbox_is = "it" if action is Action.CREATE else mailbox.email  # named just before
        raise NotAllowed(
            Sentence(
                f"{what}: {mailbox_is} was delegated to you for other campaigns only. "
                "Ask its owner to run ",
                Code("/scaleup delegate"),
                f" for '{target.name}'.",
            )
        )
    who = f"the owner of {mailbox.email} and the recruiters they delegated it to"
    if action in ADMIN_CAMPAIGN_ACTIONS:
        who = f"the owner of {mailbox.email}, the recruiters they delegated it to and workspace admins"
    raise NotAllowed(f"{what}: only {who} can.")


def _dnc(actor: Actor, action: Action, target: DncTarget) -> None:
    if actor.team_id != target.team_id:
        raise NotAllowed(f"{target.email} is on another workspace's do-not-contact list.")
    if action is Action.ADD_DNC or actor.is_admin:
        return
    if target.added_by is not None and target.added_by == actor.user_id:
        return
    raise NotAllowed(
        f"You can't take {target.email} off the do-not-contact list: only workspace admins "
        "and the person who added it can."
    )


def _delegation(session: Session, actor: Actor, target: DelegationTarget) -> None:
    mailbox = session.get(Mailbox, target.mailbox_id)
    if mailbox is None or mailbox.team_id != actor.team_id:
        raise NotAllowed("That mailbox is not connected in this workspace any more.")
    if actor.user_id in (mailbox.owner_user_id, target.delegate_user_id):
        return
    raise NotAllowed(
        f"You can't take back someone's access to {mailbox.email}: only its owner can, "
        "or the person it was delegated to can give it up."
    )
