"""Delegation: a mailbox owner (a hiring manager) lets a recruiter send campaigns from it.

The owner delegates for every campaign or for one campaign name, and can take it all
back at once; taking it back pauses the recruiter's running campaigns from the mailbox.
When a recruiter starts a campaign from someone else's mailbox, the owner is told, with
a way to revoke (:class:`~outreach.notify.SendingFromYourMailbox`).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.clock import Clock
from bot.db import SessionFactory, transaction
from bot.models import Campaign, Delegation, Mailbox
from outreach import audit, campaign_state, slack_queue
from outreach.errors import (
    CampaignNameTooLong,
    CannotDelegateToSelf,
    MailboxGone,
    NothingToDelegate,
)
from outreach.keys import MailboxKey
from outreach.notify import DelegationRevoked, Notifier, SendingFromYourMailbox
from outreach.permissions import Action, Actor, DelegationTarget, decide
from outreach.slack_queue import Target

CAMPAIGN_NAME_MAX = 80  # Campaign.name and Delegation.campaign_name


@dataclass(frozen=True)
class Delegated:
    """The outcome of a delegation."""

    mailbox_email: str
    delegate_user_id: str
    #: The one campaign the delegate may send, or "" for every campaign.
    campaign_name: str
    #: False when exactly this delegation already existed (nothing changed).
    created: bool


@dataclass(frozen=True)
class PausedCampaign:
    name: str
    channel_id: str
    thread_ts: str | None


@dataclass(frozen=True)
class Revoked:
    """What taking back a recruiter's access did."""

    mailbox_email: str
    delegate_user_id: str
    #: How many delegations were removed (every campaign and named ones count apart).
    removed: int
    paused: list[PausedCampaign]


class Delegations:
    """The delegation service; it reports to people through ``notifier``, never Slack itself."""

    def __init__(self, db: SessionFactory, clock: Clock, notifier: Notifier) -> None:
        self._db = db
        self._clock = clock
        self._notifier = notifier

    def delegate(
        self, team_id: str, owner_user_id: str, delegate_user_id: str, campaign_name: str = ""
    ) -> Delegated:
        """Let ``delegate_user_id`` send from the owner's mailbox: every campaign when
        ``campaign_name`` is empty, else only that one. Idempotent.

        Raises :class:`NothingToDelegate` when the owner has connected no mailbox and
        :class:`CannotDelegateToSelf` when both users are the same.
        """
        campaign_name = " ".join(campaign_name.split())
        if len(campaign_name) > CAMPAIGN_NAME_MAX:
            raise CampaignNameTooLong()
        now = self._clock.now()
        with transaction(self._db) as session:
            mailbox = _own_mailbox(session, team_id, owner_user_id)
            if delegate_user_id == owner_user_id:
                raise CannotDelegateToSelf()
            result = Delegated(mailbox.email, delegate_user_id, campaign_name, created=False)
            if _existing(session, mailbox.id, delegate_user_id, campaign_name) is not None:
                return result
            try:
                with session.begin_nested():  # a concurrent identical delegation wins
                    session.add(
                        Delegation(
                            mailbox_id=mailbox.id,
                            delegate_user_id=delegate_user_id,
                            campaign_name=campaign_name,
                            created_at=now,
                        )
                    )
            except IntegrityError:
                return result
            audit.record(
                session,
                now,
                team_id,
                "delegation.created",
                actor=owner_user_id,
                mailbox_id=mailbox.id,
                delegate=delegate_user_id,
                campaign=campaign_name,
            )
            return Delegated(mailbox.email, delegate_user_id, campaign_name, created=True)

    def revoke(
        self, team_id: str, user_id: str, delegate_user_id: str, mailbox: MailboxKey | None = None
    ) -> Revoked:
        """Remove every delegation of a mailbox to ``delegate_user_id`` and pause the
        running campaigns that user created from that mailbox.

        ``mailbox`` None means the user's own mailbox (``/scaleup undelegate``), raising
        :class:`NothingToDelegate` when they have none; a key (a Revoke button) means that
        mailbox, raising :class:`MailboxGone` when that connection of it is gone from the
        workspace (see :mod:`outreach.keys`). Its owner may revoke and the delegate may give the access up; anyone
        else gets :class:`~outreach.errors.NotAllowed` (:mod:`outreach.permissions`).
        Each paused campaign's thread is told why. Nothing removed is not an error:
        ``removed`` is 0.
        """
        now = self._clock.now()
        with transaction(self._db) as session:
            if mailbox is None:
                box = _own_mailbox(session, team_id, user_id)
            else:
                found = session.get(Mailbox, mailbox.id)
                if found is None or (found.team_id, found.connected_at) != (
                    team_id,
                    mailbox.connected_at,
                ):
                    raise MailboxGone()
                box = found
            actor = Actor(team_id, user_id)
            target = DelegationTarget(box.id, delegate_user_id)
            decide(session, actor, Action.REVOKE_DELEGATION, target)
            removed = session.execute(
                delete(Delegation)
                .where(
                    Delegation.mailbox_id == box.id,
                    Delegation.delegate_user_id == delegate_user_id,
                )
                .returning(Delegation.id)
            ).all()
            running = session.scalars(
                select(Campaign)
                .where(
                    Campaign.team_id == team_id,
                    Campaign.mailbox_id == box.id,
                    Campaign.created_by == delegate_user_id,
                    Campaign.state == campaign_state.ACTIVE,
                )
                .order_by(Campaign.created_at)
            ).all()
            paused: list[PausedCampaign] = []
            email, owner = box.email, box.owner_user_id
            by_delegate = user_id == delegate_user_id != owner
            for campaign in running:
                campaign_state.pause(session, campaign)
                paused.append(
                    PausedCampaign(campaign.name, campaign.channel_id, campaign.thread_ts)
                )
                # Queued with the change, so the thread hears of it exactly when it commits.
                notice = DelegationRevoked(campaign.name, email, delegate_user_id, by_delegate)
                slack_queue.enqueue(session, Target.thread_of(campaign), notice, now)
            audit.record(
                session,
                now,
                team_id,
                "delegation.revoked",
                actor=user_id,
                mailbox_id=box.id,
                delegate=delegate_user_id,
                removed=len(removed),
                paused=[c.name for c in paused],
            )
        return Revoked(email, delegate_user_id, len(removed), paused)

    def started(self, team_id: str, user_id: str, campaign_id: int, enrolled: int) -> bool:
        """``user_id`` started the campaign: DM its mailbox's owner if that is someone
        else, so they know who sends as them and can revoke. True when a notice went out."""
        with self._db() as session:
            campaign = session.get(Campaign, campaign_id)
            mailbox = session.get(Mailbox, campaign.mailbox_id) if campaign else None
            if campaign is None or mailbox is None or mailbox.owner_user_id == user_id:
                return False
            notice = SendingFromYourMailbox(
                campaign.name,
                user_id,
                mailbox.email,
                enrolled,
                mailbox=MailboxKey(mailbox.id, mailbox.connected_at),
            )
            owner = mailbox.owner_user_id
        self._notifier.notify_user(team_id, owner, notice)
        return True


def _own_mailbox(session: Session, team_id: str, user_id: str) -> Mailbox:
    mailbox = session.scalars(
        select(Mailbox).where(Mailbox.team_id == team_id, Mailbox.owner_user_id == user_id)
    ).first()
    if mailbox is None:
        raise NothingToDelegate()
    return mailbox


def _existing(
    session: Session, mailbox_id: int, delegate_user_id: str, campaign_name: str
) -> Delegation | None:
    return session.scalars(
        select(Delegation).where(
            Delegation.mailbox_id == mailbox_id,
            Delegation.delegate_user_id == delegate_user_id,
            func.lower(Delegation.campaign_name) == campaign_name.lower(),
        )
    ).first()
