"""The durable Slack queue, as the domain sees it: notices written with the change they report.

A notice is added to ``slack_posts`` in the caller's session, so it commits with the
change it reports or not at all (a rolled-back transaction leaves nothing queued); the
worker posts it later (``bot/slack_poster.py``), paced per channel, and retries a 429, a
5xx or a lost connection until Slack takes it.

The domain stays free of Slack: a notice is one of the typed dataclasses of
:mod:`outreach.notify`, stored as its class name and ``dataclasses.asdict`` (datetimes
as ISO 8601 strings); ``bot/`` turns it back into the dataclass and renders it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.models import Campaign, Mailbox, OutboxMessage, SlackPost
from outreach.notify import CampaignCounters, MessageOutcome, Notice

QUEUED, POSTING, POSTED, FAILED = "queued", "posting", "posted", "failed"

QueuedNotice = Notice | CampaignCounters | MessageOutcome
"""What may be queued: every notice, and the two that update an earlier message."""


@dataclass(frozen=True)
class Target:
    """Where a notice goes: a channel (in a thread, or updating message ``update_ts``), or
    a user's DM when ``channel`` is a user id. ``fallback_user_id`` hears of it by DM when
    the bot can no longer post in the channel."""

    team_id: str
    channel: str
    thread_ts: str | None = None
    update_ts: str | None = None
    fallback_user_id: str | None = None

    @classmethod
    def thread_of(cls, campaign: Campaign) -> Target:
        """The campaign's thread (the channel itself while it has none); its creator is
        told instead when the channel is gone."""
        return cls(
            campaign.team_id, campaign.channel_id, campaign.thread_ts, None, campaign.created_by
        )


def enqueue(
    session: Session,
    target: Target,
    notice: QueuedNotice,
    now: datetime,
    *,
    coalesce_key: str | None = None,
) -> SlackPost | None:
    """Add ``notice`` for ``target`` to the queue in ``session`` (the caller commits it).

    With ``coalesce_key``, a post with that key still waiting in the queue stands for this
    one too (its content is read when it is posted), and nothing is added: the returned
    value is then None.
    """
    if coalesce_key is not None:
        waiting = session.scalars(
            select(SlackPost.id).where(
                SlackPost.coalesce_key == coalesce_key, SlackPost.state == QUEUED
            )
        ).first()
        if waiting is not None:
            return None
    post = SlackPost(
        team_id=target.team_id,
        channel=target.channel,
        thread_ts=target.thread_ts,
        update_ts=target.update_ts,
        fallback_user_id=target.fallback_user_id,
        kind=type(notice).__name__,
        payload=_plain(dataclasses.asdict(notice)),
        coalesce_key=coalesce_key,
        state=QUEUED,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    session.add(post)
    return post


def campaign_counters_changed(session: Session, campaign: Campaign, now: datetime) -> None:
    """Queue one update of the campaign's parent message (coalesced: any number of sends
    before the worker gets to it make one ``chat.update``). Nothing without a parent."""
    if campaign.thread_ts is None:
        return
    target = Target(campaign.team_id, campaign.channel_id, None, campaign.thread_ts)
    enqueue(
        session,
        target,
        CampaignCounters(campaign.id),
        now,
        coalesce_key=f"counters:{campaign.id}",
    )


def outbox_outcome(session: Session, row: OutboxMessage, now: datetime) -> None:
    """A test or one-off email reached a final state: queue the update of the Slack
    message that queued it, if one was recorded (:func:`attach_message`)."""
    if row.slack_channel is None or row.slack_ts is None:
        return
    team_id = session.get_one(Mailbox, row.mailbox_id).team_id
    kind = row.dedupe_key.split(":", 1)[0]
    at = row.sent_at or now
    outcome = MessageOutcome(kind, row.to_email, row.state, at, row.last_error)
    enqueue(session, Target(team_id, row.slack_channel, None, row.slack_ts), outcome, now)


def _plain(value: Any) -> Any:
    """``value`` with dates and datetimes as ISO 8601 strings, so the JSON column can hold it."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value
