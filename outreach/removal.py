"""What removing a mailbox deletes: named first, and deleted only as it was named.

A Disconnect (or Replace) confirmation names the campaigns, stored messages, stored
replies and delegations that go.
Its button carries the mailbox's :class:`~outreach.keys.MailboxKey` and a
:func:`fingerprint` of what it named; the click deletes only when both still hold, so a
campaign created after the confirmation, or a mailbox connected again since, is never
deleted by a button that did not name it. Campaigns that other people (delegates) run
from the mailbox are named with their creator, and each creator gets a DM, queued in
the transaction that deletes them (:mod:`outreach.slack_queue`); so does each delegate,
whose access goes, and the person who connected the mailbox when someone else removes it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.models import Campaign, Delegation, Mailbox, OutboxMessage, Reply
from outreach.keys import MailboxKey
from outreach.notify import CampaignDeletedWithMailbox, DelegationGoneWithMailbox, MailboxRemoved
from outreach.slack_queue import Target, enqueue

_NEVER = datetime(1970, 1, 1, tzinfo=UTC)


def fingerprint(
    campaign_ids: list[int] | tuple[int, ...],
    messages: int,
    replies: int = 0,
    delegations: tuple[tuple[str, str], ...] = (),
) -> str:
    """A short digest of what a removal deletes: the campaign ids, the message and reply
    counts, and the delegations as (delegate's Slack user id, campaign name or "").

    Two confirmations with equal fingerprints named the same campaigns, as many stored
    messages and replies, and the same delegations. 16 hex characters (64 bits of SHA-256).
    """
    text = ",".join(str(i) for i in sorted(campaign_ids)) + f"|{messages}|{replies}|"
    text += ",".join(f"{who}:{name}" for who, name in sorted(delegations))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class RemovalPreview:
    """What disconnecting a mailbox would delete, for the confirmation that names it."""

    mailbox_id: int
    email: str
    campaigns: list[tuple[str, str]]  # (name, state), by name
    messages: int  # stored outgoing messages (the outbox) of the mailbox
    connected_at: datetime = _NEVER
    #: (campaign name, creator's Slack user id) of the campaigns other people run from it.
    others: list[tuple[str, str]] = field(default_factory=list)
    campaign_ids: tuple[int, ...] = ()
    replies: int = 0  # stored candidate replies (``Reply`` rows) of the mailbox
    #: (delegate's Slack user id, campaign name or "" for every campaign), sorted.
    delegations: tuple[tuple[str, str], ...] = ()

    @property
    def delegates(self) -> list[str]:
        """The people who may send from the mailbox (its delegations), each once, sorted."""
        return sorted({who for who, _ in self.delegations})

    @property
    def key(self) -> MailboxKey:
        return MailboxKey(self.mailbox_id, self.connected_at)

    @property
    def named(self) -> str:
        """The :func:`fingerprint` of what this preview names."""
        return fingerprint(self.campaign_ids, self.messages, self.replies, self.delegations)


def preview_of(session: Session, mailbox: Mailbox) -> RemovalPreview:
    """What removing ``mailbox`` deletes now, read in ``session``."""
    rows = session.execute(
        select(Campaign.id, Campaign.name, Campaign.state, Campaign.created_by)
        .where(Campaign.mailbox_id == mailbox.id)
        .order_by(Campaign.name)
    ).all()
    messages = session.scalar(
        select(func.count())
        .select_from(OutboxMessage)
        .where(OutboxMessage.mailbox_id == mailbox.id)
    )
    replies = session.scalar(
        select(func.count()).select_from(Reply).where(Reply.mailbox_id == mailbox.id)
    )
    delegations = session.execute(
        select(Delegation.delegate_user_id, Delegation.campaign_name).where(
            Delegation.mailbox_id == mailbox.id
        )
    ).all()
    return RemovalPreview(
        mailbox.id,
        mailbox.email,
        [(name, state) for _, name, state, _ in rows],
        int(messages or 0),
        connected_at=mailbox.connected_at,
        others=[(name, by) for _, name, _, by in rows if by != mailbox.owner_user_id],
        campaign_ids=tuple(sorted(cid for cid, _, _, _ in rows)),
        replies=int(replies or 0),
        delegations=tuple(sorted((who, name) for who, name in delegations)),
    )


def tell_other_creators(
    session: Session, preview: RemovalPreview, team_id: str, by_user_id: str, now: datetime
) -> None:
    """Queue a DM to each person whose campaign goes with the mailbox (not the owner),
    and one to each delegate (but ``by_user_id``) saying their access to it is gone, in
    ``session``: it commits with the deletion or not at all. A delegate who also had
    campaigns gets both: one per campaign, and one for the access."""
    for name, creator in preview.others:
        notice = CampaignDeletedWithMailbox(name, preview.email, by_user_id)
        enqueue(session, Target(team_id, creator), notice, now)
    for delegate in preview.delegates:
        if delegate != by_user_id:
            gone = DelegationGoneWithMailbox(preview.email, by_user_id)
            enqueue(session, Target(team_id, delegate), gone, now)


def tell_connector(
    session: Session,
    preview: RemovalPreview,
    team_id: str,
    connector: str,
    by_user_id: str,
    now: datetime,
) -> None:
    """Queue a DM to ``connector``, who connected the mailbox, that ``by_user_id`` (the
    member whose Slack email it is) removed it, with the counts of what was deleted;
    nothing when they are the same person. In ``session``, as :func:`tell_other_creators`."""
    if connector == by_user_id:
        return
    notice = MailboxRemoved(
        preview.email, by_user_id, len(preview.campaigns), preview.messages, preview.replies
    )
    enqueue(session, Target(team_id, connector), notice, now)
