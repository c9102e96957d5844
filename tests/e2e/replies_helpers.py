"""Building blocks for reply tests: a started campaign whose step 1 went out, and a sync."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select

from bot.models import Enrollment, OutboxMessage, Reply
from bot.sandbox import RECRUITER, Person
from bot.sandbox.inbound import Inbound
from bot.sandbox.testing import post_slack
from bot.worker import reply_sync
from outreach.sync import SyncReport
from tests.conftest import RunningBot
from tests.e2e.campaign_helpers import connect, create_campaign, dispatcher, seed_shortlist
from tests.e2e.test_campaign_slack import command, shown
from tests.e2e.test_connect import TEAM
from tests.fakes import FakeClock


def start_and_send(
    bot: RunningBot,
    clock: FakeClock,
    rows: Sequence[tuple[str, str, str | None, str | None]],
    *,
    sender: Person = RECRUITER,
    user: str = RECRUITER.slack_id,
    connect_sender: bool = True,
) -> str:
    """Connect ``sender``, start "Backend Q4" to ``rows`` through Slack and send step 1
    to everyone (the clock moves into the window); the campaign's channel."""
    mailbox_id = connect(bot, sender) if connect_sender else _mailbox(bot, sender)
    channel = bot.sandbox.slack.add_channel(TEAM, "recruiting")
    create_campaign(
        bot, mailbox_id, seed_shortlist(bot, "backend", rows), channel_id=channel, user_id=user
    )
    assert "started" in shown(command(bot, "campaign start Backend Q4", user=user))
    bot.sandbox.slack.wait_for(lambda: bot.sandbox.slack.messages(channel))
    clock.advance(hours=2, minutes=30)  # Monday 08:30 UTC: inside Berlin's 9-17 window
    worker = dispatcher(bot)
    for _ in range(20):
        worker.tick()
        if not worker.has_work():
            break
        clock.advance(minutes=1)
    assert all(r.state == "sent" for r in outbox(bot) if r.step_position == 1)
    return channel


def _mailbox(bot: RunningBot, person: Person) -> int:
    from bot.models import Mailbox

    with bot.db() as session:
        return session.scalars(select(Mailbox.id).where(Mailbox.email == person.email)).one()


def outbox(bot: RunningBot, to: str | None = None) -> list[OutboxMessage]:
    with bot.db() as session:
        query = select(OutboxMessage).order_by(OutboxMessage.id)
        if to is not None:
            query = query.where(OutboxMessage.to_email == to)
        return list(session.scalars(query))


def sent_id(bot: RunningBot, to: str, step: int = 1) -> str:
    """The Message-ID of step ``step`` as sent to ``to``."""
    [row] = [r for r in outbox(bot, to) if r.step_position == step and r.state == "sent"]
    assert row.internet_message_id
    return row.internet_message_id


def inbound(bot: RunningBot) -> Inbound:
    return Inbound(bot.sandbox.store)


def sync(bot: RunningBot, worker_id: str = "w1") -> SyncReport:
    """One sync round, then the worker's Slack poster, as the worker runs them."""
    report = reply_sync(bot.container, worker_id).tick()
    post_slack(bot)
    return report


def states(bot: RunningBot) -> dict[str, str]:
    with bot.db() as session:
        return {e.email: e.state for e in session.scalars(select(Enrollment))}


def replies(bot: RunningBot) -> list[Reply]:
    with bot.db() as session:
        return list(session.scalars(select(Reply).order_by(Reply.id)))


def cards(bot: RunningBot, channel: str) -> list[dict[str, Any]]:
    """The reply cards posted in the channel's threads."""
    return [
        m
        for m in bot.sandbox.slack.messages(channel)
        if m.get("thread_ts") and "answered" in m.get("text", "")
    ]
