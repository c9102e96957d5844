"""Nothing to Slack is lost: notices are queued with their change and the worker posts them,
paced per channel, through outages and rate limits, never twice."""

from __future__ import annotations

import threading
from datetime import timedelta
from itertools import pairwise

import pytest
from sqlalchemy import select

from bot.db import transaction
from bot.models import SlackPost
from bot.sandbox import RECRUITER
from bot.slack_poster import SlackPoster
from bot.worker import drain
from outreach.notify import SendFailed
from outreach.slack_queue import Target, enqueue
from tests.conftest import RunningBot
from tests.e2e.campaign_helpers import post_slack
from tests.e2e.test_connect import TEAM
from tests.fakes import FakeClock


def queue(bot: RunningBot, channel: str, emails: list[str], **target: str) -> None:
    """One SendFailed notice per address for ``channel``, in one transaction."""
    with transaction(bot.db) as session:
        for email in emails:
            notice = SendFailed(1, email, "Outlook refused the message.")
            enqueue(session, Target(TEAM, channel, **target), notice, bot.container.clock.now())


def posts(bot: RunningBot) -> list[SlackPost]:
    with bot.db() as session:
        return list(session.scalars(select(SlackPost).order_by(SlackPost.id)))


def texts(bot: RunningBot, channel: str) -> list[str]:
    return [m["text"] for m in bot.sandbox.slack.messages(channel)]


def poster(bot: RunningBot, worker_id: str = "w1") -> SlackPoster:
    return SlackPoster(
        bot.db, bot.container.slack_clients, bot.container.clock, worker_id=worker_id
    )


def addresses(n: int) -> list[str]:
    return [f"c{i}@talent.example" for i in range(n)]


def test_an_outage_then_a_429_delay_notices_never_lose_or_double_them(
    cbot: RunningBot, clock: FakeClock
) -> None:
    slack = cbot.sandbox.slack
    channel = slack.add_channel(TEAM, "recruiting")
    queue(cbot, channel, addresses(4))
    worker = poster(cbot)

    slack.faults.outage(503)
    for _ in range(5):  # Slack is down for a while: every try fails, nothing is dropped
        assert worker.tick().posted == 0
        clock.advance(minutes=10)
    assert texts(cbot, channel) == []
    assert {p.state for p in posts(cbot)} == {"queued"}
    assert posts(cbot)[0].attempts == 5 and posts(cbot)[1].attempts == 0  # in order

    slack.faults.restore()
    slack.faults.throttle(retry_after=7, calls=1)
    before = len(slack.calls("chat.postMessage"))
    assert worker.tick().posted == 0  # 429: wait the Retry-After it gave
    assert len(slack.calls("chat.postMessage")) == before + 1
    clock.advance(seconds=5)
    assert worker.tick().posted == 0
    assert len(slack.calls("chat.postMessage")) == before + 1  # not asked again yet
    clock.advance(seconds=2)

    assert post_slack(cbot) == 4
    shown = texts(cbot, channel)
    assert [t.split(" to ")[1].split(" failed")[0] for t in shown] == addresses(4)
    ok = [c for c in slack.calls("chat.postMessage") if c.response.get("ok")]
    assert len(ok) == 4  # each exactly once
    assert {p.state for p in posts(cbot)} == {"posted"}


def test_a_rolled_back_transaction_queues_nothing(cbot: RunningBot) -> None:
    channel = cbot.sandbox.slack.add_channel(TEAM, "recruiting")
    with pytest.raises(RuntimeError), transaction(cbot.db) as session:
        enqueue(
            session,
            Target(TEAM, channel),
            SendFailed(1, "a@b.example", "x"),
            cbot.container.clock.now(),
        )
        raise RuntimeError("the change failed")
    assert posts(cbot) == []
    assert post_slack(cbot) == 0
    assert texts(cbot, channel) == []


def test_one_channel_gets_about_one_message_a_second_others_are_not_held_up(
    cbot: RunningBot, clock: FakeClock
) -> None:
    slack = cbot.sandbox.slack
    busy, quiet = slack.add_channel(TEAM, "recruiting"), slack.add_channel(TEAM, "hiring-backend")
    queue(cbot, busy, addresses(5))
    queue(cbot, quiet, ["q@talent.example"])
    worker = poster(cbot)
    while worker.waiting():
        worker.tick()
        clock.advance(seconds=0.25)  # the worker wakes four times a second
    rows = posts(cbot)
    times = [p.posted_at for p in rows if p.channel == busy]
    assert all(t is not None for t in times)
    gaps = [b - a for a, b in pairwise(times)]  # type: ignore[operator]
    assert len(gaps) == 4 and min(gaps) >= timedelta(seconds=1)
    assert [p.posted_at for p in rows if p.channel == quiet] == [times[0]]  # not queued behind
    assert len(texts(cbot, busy)) == 5


def test_a_channel_the_bot_cannot_post_in_goes_to_the_owners_dm(cbot: RunningBot) -> None:
    slack = cbot.sandbox.slack
    queue(cbot, "C0GONE0001", ["a@talent.example"], fallback_user_id=RECRUITER.slack_id)
    assert post_slack(cbot) == 0  # not in the channel: moved, not posted there
    [dm] = slack.dm_messages(TEAM, RECRUITER.slack_id)
    assert "a@talent.example failed" in dm["text"]
    assert "I could not post this in the campaign's thread in <#C0GONE0001>" in str(dm["blocks"])
    [row] = posts(cbot)
    assert (row.state, row.posted_ts) == ("posted", dm["ts"])


def test_two_workers_never_post_the_same_row(
    cbot: RunningBot, clock: FakeClock, database_url: str
) -> None:
    if database_url.startswith("sqlite"):
        pytest.skip("several workers need PostgreSQL (SQLite runs one worker)")
    slack = cbot.sandbox.slack
    channels = [slack.add_channel(TEAM, f"team-{i}") for i in range(4)]
    for channel in channels:
        queue(cbot, channel, addresses(5))
    workers = [poster(cbot, "w1"), poster(cbot, "w2")]
    start = threading.Barrier(2)

    def run(worker: SlackPoster) -> None:
        start.wait()
        for _ in range(40):
            worker.tick()

    for _ in range(10):
        threads = [threading.Thread(target=run, args=(w,)) for w in workers]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        clock.advance(seconds=1)
        if not workers[0].waiting():
            break
    assert {p.state for p in posts(cbot)} == {"posted"}
    for channel in channels:
        assert len(texts(cbot, channel)) == 5
    ok = [c for c in slack.calls("chat.postMessage") if c.response.get("ok")]
    assert len(ok) == 20


def test_worker_drain_posts_what_slack_should_hear(cbot: RunningBot) -> None:
    channel = cbot.sandbox.slack.add_channel(TEAM, "recruiting")
    queue(cbot, channel, ["a@talent.example"])
    drain(cbot.container, 5)
    assert [p.state for p in posts(cbot)] == ["posted"]
    assert len(texts(cbot, channel)) == 1
