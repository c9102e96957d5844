"""Sending campaigns exactly once: schedules, threading, crashes at every state, faults."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.models import (
    AuditEntry,
    Campaign,
    CampaignStep,
    Candidate,
    Enrollment,
    Mailbox,
    OutboxMessage,
    Shortlist,
)
from bot.sandbox import RECRUITER, Sandbox
from bot.sandbox.testing import EVERYDAY
from outreach.dispatch import Checkpoint
from outreach.graph import MARKER_PROPERTY
from tests.conftest import RunningBot, start_bot
from tests.e2e.campaign_helpers import (
    THREE_STEPS,
    connect,
    create_campaign,
    dispatcher,
    outbox,
    post_slack,
    seed_shortlist,
)
from tests.e2e.test_connect import TEAM
from tests.fakes import FakeClock

# Monday 2 March 2026, 06:00 UTC: 07:00 in Berlin, 01:00 in New York.
CANDIDATES = [
    ("jana@talent.example", "Jana", "Europe/Berlin", "DE"),
    ("omar@talent.example", "Omar", "America/New_York", "US"),
]


class SimulatedCrash(BaseException):
    """The worker process dies here (BaseException: nothing in the bot catches it)."""


def crash_at(stage: str) -> Checkpoint:
    """A dispatcher checkpoint that kills the worker each time it reaches ``stage``."""

    def crash(at: str, _row_id: int) -> None:
        if at == stage:
            raise SimulatedCrash(at)

    return crash


def started_campaign(bot: RunningBot) -> int:
    mailbox_id = connect(bot, RECRUITER)
    shortlist_id = seed_shortlist(bot, "backend", CANDIDATES)
    channel = bot.sandbox.slack.add_channel(TEAM, "recruiting")
    create_campaign(bot, mailbox_id, shortlist_id, channel_id=channel)
    report = bot.container.campaigns.start(TEAM, RECRUITER.slack_id, "Backend Q4")
    assert report.enrolled == 2 and report.skipped == []
    return mailbox_id


def inbox(bot: RunningBot, address: str) -> list[object]:
    return [m for m in bot.sandbox.store.inbox(address)]


def sent_to(bot: RunningBot, address: str) -> list[object]:
    return [
        m
        for m in bot.sandbox.store.sent_items(RECRUITER.email)
        if any(r.address == address for r in m.to)  # type: ignore[attr-defined]
    ]


def test_each_step_goes_out_once_at_local_times_and_threaded(
    cbot: RunningBot, clock: FakeClock
) -> None:
    started_campaign(cbot)
    worker = dispatcher(cbot)

    worker.tick()  # 07:00 Berlin: before the window
    assert cbot.sandbox.store.sent_items(RECRUITER.email) == []

    clock.set(datetime(2026, 3, 2, 8, 0, tzinfo=UTC))  # 09:00 Berlin, 03:00 New York
    assert worker.tick().sent == 1
    [first] = inbox(cbot, "jana@talent.example")
    assert first.subject == "Role at Acme, Jana?"  # type: ignore[attr-defined]
    assert inbox(cbot, "omar@talent.example") == []

    clock.set(datetime(2026, 3, 2, 14, 0, tzinfo=UTC))  # 09:00 New York
    assert worker.tick().sent == 1
    assert len(inbox(cbot, "omar@talent.example")) == 1

    # Step 2 waits two business days: Wednesday at the window's opening.
    clock.set(datetime(2026, 3, 3, 12, 0, tzinfo=UTC))
    assert worker.tick().sent == 0
    clock.set(datetime(2026, 3, 4, 8, 0, tzinfo=UTC))
    assert worker.tick().sent == 1
    jana = inbox(cbot, "jana@talent.example")
    assert len(jana) == 2
    follow_up = jana[1]
    assert follow_up.conversation_id == first.conversation_id  # type: ignore[attr-defined]
    assert follow_up.in_reply_to == first.internet_message_id  # type: ignore[attr-defined]

    for day in (4, 5, 6, 9, 10, 11, 12):
        for hour in (8, 14, 16):
            clock.set(datetime(2026, 3, day, hour, 0, tzinfo=UTC))
            worker.tick()
    for address in ("jana@talent.example", "omar@talent.example"):
        assert len(inbox(cbot, address)) == 3
        assert len(sent_to(cbot, address)) == 3
    assert {row.state for row in outbox(cbot)} == {"sent"}


@pytest.mark.parametrize("stage", ["claimed", "draft-unrecorded", "drafted", "sent-unrecorded"])
def test_a_worker_killed_at_each_state_recovers_without_duplicates(
    cbot: RunningBot, clock: FakeClock, stage: str
) -> None:
    started_campaign(cbot)
    crashed = {"done": False}

    def crash(at: str, _row_id: int) -> None:
        if at == stage and not crashed["done"]:
            crashed["done"] = True
            raise SimulatedCrash(at)

    clock.set(datetime(2026, 3, 2, 14, 0, tzinfo=UTC))  # both candidates inside the window
    with pytest.raises(SimulatedCrash):
        dispatcher(cbot, "doomed", checkpoint=crash).tick()

    survivor = dispatcher(cbot, "survivor")
    before = [(r.state, r.claimed_by) for r in outbox(cbot)]
    assert survivor.tick().mailboxes == []  # the dead worker's leases still hold
    assert [(r.state, r.claimed_by) for r in outbox(cbot)] == before
    clock.advance(minutes=6)  # past the 5-minute lease
    survivor.tick()
    for address in ("jana@talent.example", "omar@talent.example"):
        assert len(sent_to(cbot, address)) == 1, address
        assert len(inbox(cbot, address)) == 1, address
    # The follow-up still threads after the recovery.
    clock.set(datetime(2026, 3, 4, 14, 0, tzinfo=UTC))
    survivor.tick()
    for address in ("jana@talent.example", "omar@talent.example"):
        first, second = inbox(cbot, address)
        assert second.in_reply_to == first.internet_message_id  # type: ignore[attr-defined]
    assert len(cbot.sandbox.store.drafts(RECRUITER.email)) == 0


@pytest.fixture
def stormy_bot(
    sandbox: Sandbox, database_url: str, tmp_path: Path, clock: FakeClock
) -> Iterator[RunningBot]:
    running, server = start_bot(
        sandbox,
        {
            "DATABASE_URL": database_url,
            "SCALEUP_DATA_DIR": str(tmp_path / "data"),
            "GRAPH_TIMEOUT_SECONDS": "0.4",
        },
        clock=clock,
    )
    yield running
    server.stop()
    running.container.close()


def test_a_graph_fault_storm_loses_nothing_and_duplicates_nothing(
    stormy_bot: RunningBot, clock: FakeClock
) -> None:
    bot = stormy_bot
    mailbox_id = connect(bot, RECRUITER)
    people = [(f"c{n:02d}@talent.example", f"C{n}", "Europe/Berlin", "DE") for n in range(16)]
    shortlist_id = seed_shortlist(bot, "storm", people)
    create_campaign(bot, mailbox_id, shortlist_id, steps=THREE_STEPS[:2], window=EVERYDAY)
    bot.container.campaigns.start(TEAM, RECRUITER.slack_id, "Backend Q4")

    faults = bot.sandbox.graph.faults
    faults.clock = clock.monotonic  # Retry-After is judged on the same clock the bot reads
    faults.reseed(7)
    faults.configure(
        throttle_rate=0.2,
        retry_after=7,  # longer than a round (3 s): only the bot's own hold-off keeps it out
        unavailable_rate=0.05,
        timeout_after_effect_rate=0.02,
        timeout_stall=1.0,
    )
    faults.clear_log()
    # The random draws depend on the order concurrent requests arrive in, so make sure at
    # least one send really times out after its effect, whatever that order.
    faults.stall_next("POST", r"/send$", 1.0)
    worker = dispatcher(bot)
    for round_ in range(400):
        worker.tick()
        if all(row.state in ("sent", "failed", "unknown") for row in outbox(bot)):
            break
        clock.advance(seconds=3 if round_ % 10 else 3 * 3600)  # retries; now and then hours
    faults.configure(throttle_rate=0, unavailable_rate=0, timeout_after_effect_rate=0)

    states = [row.state for row in outbox(bot)]
    assert states.count("sent") == 32, states  # nothing lost
    for email, *_ in people:
        assert len(sent_to(bot, email)) == 2, email  # nothing duplicated
        first, second = inbox(bot, email)
        assert second.in_reply_to == first.internet_message_id  # type: ignore[attr-defined]
    log = faults.log()
    assert sum(1 for entry in log if entry.status == 429) > 5, "the storm really happened"
    assert any(entry.fault == "timeout-after-effect" for entry in log), "and some sends timed out"
    assert faults.early_retries() == 0
    assert faults.peak_concurrency(RECRUITER.email) <= 4


def test_disconnect_and_uninstall_delete_campaign_data(cbot: RunningBot, clock: FakeClock) -> None:
    started_campaign(cbot)
    clock.set(datetime(2026, 3, 2, 14, 0, tzinfo=UTC))
    assert dispatcher(cbot).tick().sent == 2
    report = cbot.container.erasure.disconnect(TEAM, RECRUITER.slack_id)
    assert (report.campaigns, report.messages) == (1, 6)
    with cbot.db() as session:
        for model in (Campaign, CampaignStep, Enrollment, OutboxMessage, Mailbox):
            assert session.scalars(select(model)).all() == [], model.__name__
        assert len(session.scalars(select(Candidate)).all()) == 2  # the workspace's shortlist stays

    cbot.container.erasure.wipe_workspace(TEAM)
    with cbot.db() as session:
        for model in (Shortlist, Candidate, AuditEntry):
            assert session.scalars(select(model)).all() == [], model.__name__


def thread_notes(bot: RunningBot) -> list[str]:
    with bot.db() as session:
        channel = session.scalars(select(Campaign.channel_id)).one()
    return [m.get("text", "") for m in bot.sandbox.slack.messages(channel)]


def test_a_refused_message_fails_that_candidate_and_says_so_in_the_thread(
    cbot: RunningBot, clock: FakeClock
) -> None:
    started_campaign(cbot)
    body = {"error": {"code": "ErrorInvalidRecipients", "message": "The recipient is invalid."}}
    cbot.sandbox.graph.faults.fail_next("POST", r"/messages$", 400, body)
    clock.set(datetime(2026, 3, 2, 8, 0, tzinfo=UTC))  # only Jana is due
    report = dispatcher(cbot).tick()
    assert (report.failed, report.sent) == (1, 0)
    post_slack(cbot)  # the worker posts what the dispatcher queued
    [note] = cbot.sandbox.slack.wait_for(lambda: thread_notes(cbot))
    assert (
        "Step 1 to jana@talent.example failed: Outlook refused the message: The recipient is invalid."
        in note
    )
    states = {r.dedupe_key: r.state for r in outbox(cbot)}
    assert sorted(states.values()) == [
        "cancelled",
        "cancelled",
        "failed",
        "pending",
        "waiting",
        "waiting",
    ]


def test_a_send_that_vanished_is_unknown_never_resent(cbot: RunningBot, clock: FakeClock) -> None:
    started_campaign(cbot)
    clock.set(datetime(2026, 3, 2, 8, 0, tzinfo=UTC))

    crash = crash_at("drafted")
    with pytest.raises(SimulatedCrash):
        dispatcher(cbot, "doomed", checkpoint=crash).tick()
    # The recruiter deletes the draft by hand while the worker is down.
    owner = cbot.sandbox.directory.find_user(RECRUITER.email)
    assert owner is not None
    [draft] = cbot.sandbox.store.drafts(RECRUITER.email)
    cbot.sandbox.store.delete(owner, draft.id)

    clock.advance(minutes=6)
    survivor = dispatcher(cbot, "survivor")
    survivor.tick()  # the draft is gone: maybe sent and on its way to Sent Items; wait
    assert [r.state for r in outbox(cbot) if r.step_position == 1].count("sending") == 1
    clock.advance(minutes=11)  # past the grace period, still nowhere
    survivor.tick()
    [row] = [
        r for r in outbox(cbot) if r.to_email == "jana@talent.example" and r.step_position == 1
    ]
    assert row.state == "unknown"
    assert sent_to(cbot, "jana@talent.example") == []
    post_slack(cbot)  # the worker posts what the dispatcher queued
    note = cbot.sandbox.slack.wait_for(lambda: thread_notes(cbot))[-1]
    assert "may or may not have gone out" in note and "will not resend" in note
    clock.advance(days=1)
    dispatcher(cbot, "later").tick()
    assert sent_to(cbot, "jana@talent.example") == []  # never retried automatically

    # The recruiter checks the mailbox and resumes Jana: the sequence goes on from step 2.
    cbot.container.campaigns.resume_candidate(
        TEAM, RECRUITER.slack_id, "Backend Q4", "jana@talent.example"
    )
    clock.advance(days=3)
    dispatcher(cbot, "later").tick()
    assert [m.subject for m in inbox(cbot, "jana@talent.example")] == ["Following up"]  # type: ignore[attr-defined]


def test_a_revoked_mailbox_pauses_its_campaigns(cbot: RunningBot, clock: FakeClock) -> None:
    cbot.sandbox.directory.access_token_lifetime = 60  # MSAL refreshes before every call
    started_campaign(cbot)
    owner = cbot.sandbox.directory.find_user(RECRUITER.email)
    assert owner is not None
    cbot.sandbox.directory.revoke_grant(owner.id)
    clock.set(datetime(2026, 3, 2, 8, 0, tzinfo=UTC))
    assert dispatcher(cbot).tick().sent == 0
    with cbot.db() as session:
        assert session.scalars(select(Campaign.state)).one() == "paused"
        assert session.scalars(select(Mailbox.state)).one() == "needs_reconnect"
    post_slack(cbot)  # the worker posts what the dispatcher queued
    note = cbot.sandbox.slack.wait_for(lambda: thread_notes(cbot))[-1]
    assert "Paused" in note
    dms = cbot.sandbox.slack.dm_messages(TEAM, RECRUITER.slack_id)
    assert any("Reconnect" in m.get("text", "") for m in dms)
    assert {r.state for r in outbox(cbot)} == {"paused", "waiting"}


def test_a_draft_left_by_a_dead_worker_respects_a_later_pause_or_stop(
    cbot: RunningBot, clock: FakeClock
) -> None:
    started_campaign(cbot)

    crash = crash_at("drafted")
    clock.set(datetime(2026, 3, 2, 14, 0, tzinfo=UTC))  # both candidates due
    with pytest.raises(SimulatedCrash):
        dispatcher(cbot, "doomed", checkpoint=crash).tick()
    [draft] = cbot.sandbox.store.drafts(RECRUITER.email)
    drafted_to = draft.to[0].address  # type: ignore[attr-defined]
    other = next(e for e, *_ in CANDIDATES if e != drafted_to)
    campaigns = cbot.container.campaigns
    campaigns.pause_candidate(TEAM, RECRUITER.slack_id, "Backend Q4", drafted_to)
    campaigns.stop(
        TEAM, RECRUITER.slack_id, "Backend Q4"
    )  # stopping also cancels the other's pending step
    clock.advance(minutes=6)
    dispatcher(cbot, "survivor").tick()
    assert cbot.sandbox.store.sent_items(RECRUITER.email) == []
    states = {(r.to_email, r.step_position): r.state for r in outbox(cbot)}
    assert states[(drafted_to, 1)] == "cancelled"  # the campaign stopped: the draft goes
    assert states[(other, 1)] == "cancelled"
    assert cbot.sandbox.store.drafts(RECRUITER.email) == []


def test_a_paused_candidate_with_a_stranded_draft_gets_that_draft_on_resume(
    cbot: RunningBot, clock: FakeClock
) -> None:
    started_campaign(cbot)

    crash = crash_at("drafted")
    clock.set(datetime(2026, 3, 2, 8, 0, tzinfo=UTC))  # only Jana is due
    with pytest.raises(SimulatedCrash):
        dispatcher(cbot, "doomed", checkpoint=crash).tick()
    cbot.container.campaigns.pause_candidate(
        TEAM, RECRUITER.slack_id, "Backend Q4", "jana@talent.example"
    )
    clock.advance(minutes=6)
    worker = dispatcher(cbot, "survivor")
    worker.tick()
    assert sent_to(cbot, "jana@talent.example") == []
    assert len(cbot.sandbox.store.drafts(RECRUITER.email)) == 1  # kept for the resume
    cbot.container.campaigns.resume_candidate(
        TEAM, RECRUITER.slack_id, "Backend Q4", "jana@talent.example"
    )
    worker.tick()
    assert len(sent_to(cbot, "jana@talent.example")) == 1
    assert cbot.sandbox.store.drafts(RECRUITER.email) == []


@pytest.mark.parametrize("stage", ["claimed", "draft-unrecorded"])
def test_a_worker_that_stalls_past_its_lease_is_fenced_off(
    cbot: RunningBot, clock: FakeClock, stage: str
) -> None:
    """A pauses after claiming (GC, swap, slow Graph) for longer than its lease; B takes the
    row over and sends it; A wakes up, and its late draft is neither recorded nor sent."""
    started_campaign(cbot)
    clock.set(datetime(2026, 3, 2, 8, 0, tzinfo=UTC))  # only Jana is due
    other = dispatcher(cbot, "B")
    stalled = {"done": False}

    def stall(at: str, _row_id: int) -> None:
        if at == stage and not stalled["done"]:
            stalled["done"] = True
            clock.advance(minutes=6)
            assert other.tick().sent == 1  # B sees A's lapsed leases and does the work

    report = dispatcher(cbot, "A", checkpoint=stall).tick()
    assert report.sent == 0
    assert len(sent_to(cbot, "jana@talent.example")) == 1
    assert len(inbox(cbot, "jana@talent.example")) == 1
    # After a stall at "draft-unrecorded", B found A's draft by its marker and sent it.
    assert cbot.sandbox.store.drafts(RECRUITER.email) == []
    [row] = [r for r in outbox(cbot) if r.step_position == 1 and r.to_email.startswith("jana")]
    assert (row.state, row.claimed_by) == ("sent", "B")


def test_the_gap_and_the_daily_cap_pace_a_mailbox(cbot: RunningBot, clock: FakeClock) -> None:
    mailbox_id = connect(cbot, RECRUITER)
    people = [(f"g{n}@talent.example", f"G{n}", "UTC", None) for n in range(4)]
    shortlist_id = seed_shortlist(cbot, "paced", people)
    create_campaign(
        cbot,
        mailbox_id,
        shortlist_id,
        steps=THREE_STEPS[:1],
        window=EVERYDAY,
        daily_cap=3,
        min_gap_seconds=120,
    )
    cbot.container.campaigns.start(TEAM, RECRUITER.slack_id, "Backend Q4")
    worker = dispatcher(cbot)
    assert worker.tick().sent == 1
    assert worker.tick().sent == 0  # the 2-minute gap
    clock.advance(seconds=119)
    assert worker.tick().sent == 0
    clock.advance(seconds=1)
    assert worker.tick().sent == 1
    clock.advance(minutes=2)
    assert worker.tick().sent == 1
    clock.advance(minutes=2)
    assert worker.tick().sent == 0  # three in 24 hours: the cap
    clock.advance(hours=23, minutes=53)  # 23:59 after the first send
    assert worker.tick().sent == 0
    clock.advance(minutes=1)  # the first send leaves the rolling 24 hours
    assert worker.tick().sent == 1
    assert [r.state for r in outbox(cbot)] == ["sent"] * 4


def test_ambiguous_failures_back_off_and_never_duplicate(
    cbot: RunningBot, clock: FakeClock
) -> None:
    started_campaign(cbot)
    faults = cbot.sandbox.graph.faults
    for _ in range(3):  # three 500s in a row on creating the draft, after it was created
        faults.fail_next("POST", r"/messages$", 500, after_effect=True)
    clock.set(datetime(2026, 3, 2, 8, 0, tzinfo=UTC))  # only Jana is due
    worker = dispatcher(cbot)
    faults.clear_log()

    def creates() -> int:
        return sum(1 for e in faults.log() if e.method == "POST" and e.path.endswith("/messages"))

    worker.tick()  # try 1 fails; back in 1 minute
    clock.advance(minutes=1)
    worker.tick()  # try 2 finds try 1's draft by its marker, so it creates nothing
    assert creates() == 1
    assert len(sent_to(cbot, "jana@talent.example")) == 1
    assert len(cbot.sandbox.store.drafts(RECRUITER.email)) == 0


def test_repeated_ambiguous_failures_wait_longer_each_time(
    cbot: RunningBot, clock: FakeClock
) -> None:
    started_campaign(cbot)
    faults = cbot.sandbox.graph.faults
    for _ in range(3):
        faults.fail_next("POST", r"/messages$", 500)
    clock.set(datetime(2026, 3, 2, 8, 0, tzinfo=UTC))  # only Jana is due
    worker = dispatcher(cbot)
    faults.clear_log()

    def creates() -> int:
        return sum(1 for e in faults.log() if e.method == "POST" and e.path.endswith("/messages"))

    tries = []
    for _ in range(8):  # waits of 1, 2, then 4 minutes between tries
        worker.tick()
        tries.append(creates())
        clock.advance(minutes=1)
    assert tries == [1, 2, 2, 3, 3, 3, 3, 4]
    assert len(sent_to(cbot, "jana@talent.example")) == 1


def test_access_denied_pauses_the_mailbox_not_the_candidate(
    cbot: RunningBot, clock: FakeClock
) -> None:
    started_campaign(cbot)
    body = {
        "error": {
            "code": "ErrorSendAsDenied",
            "message": "The user account which was "
            "used to submit this request does not have the right to send mail.",
        }
    }
    cbot.sandbox.graph.faults.fail_next("POST", r"/messages$", 403, body)
    clock.set(datetime(2026, 3, 2, 14, 0, tzinfo=UTC))  # both due
    report = dispatcher(cbot).tick()
    assert (report.sent, report.failed) == (0, 0)
    with cbot.db() as session:
        assert session.scalars(select(Campaign.state)).one() == "paused"
        assert session.scalars(select(Enrollment.state)).all() == ["active", "active"]
    assert {r.state for r in outbox(cbot) if r.step_position == 1} == {"paused"}
    post_slack(cbot)  # the worker posts what the dispatcher queued
    note = cbot.sandbox.slack.wait_for(lambda: thread_notes(cbot))[-1]
    assert "Outlook refused to send from this mailbox" in note
    # Once fixed, resuming sends both, once each.
    cbot.container.campaigns.resume(TEAM, RECRUITER.slack_id, "Backend Q4")
    assert dispatcher(cbot).tick().sent == 2


# -- when Graph does not do what docs/assumptions.md assumes ---------------------------------------
def jana_row(bot: RunningBot, position: int) -> OutboxMessage:
    [row] = [
        r
        for r in outbox(bot)
        if r.to_email == "jana@talent.example" and r.step_position == position
    ]
    return row


@pytest.mark.parametrize("stage", [None, "draft-unrecorded", "drafted", "sent-unrecorded"])
def test_a_follow_up_goes_out_once_when_create_reply_refuses_the_marker(
    cbot: RunningBot, clock: FakeClock, stage: str | None
) -> None:
    """A1 false: createReply answers 400 to singleValueExtendedProperties. The follow-up is
    created without it, the marker is PATCHed on, and a crash anywhere still sends once."""
    started_campaign(cbot)
    faults = cbot.sandbox.graph.faults
    faults.configure(reject_extended_in_create_reply=True)
    clock.set(datetime(2026, 3, 2, 8, 0, tzinfo=UTC))  # only Jana is due
    assert dispatcher(cbot).tick().sent == 1
    step_two = jana_row(cbot, 2).id

    def crash(at: str, row_id: int) -> None:
        if at == stage and row_id == step_two:
            raise SimulatedCrash(at)

    faults.clear_log()
    clock.set(datetime(2026, 3, 4, 8, 0, tzinfo=UTC))  # step 2 is due
    if stage is None:
        dispatcher(cbot, checkpoint=crash).tick()
    else:
        with pytest.raises(SimulatedCrash):
            dispatcher(cbot, "doomed", checkpoint=crash).tick()
        clock.advance(minutes=6)
        dispatcher(cbot, "survivor").tick()

    first, second = inbox(cbot, "jana@talent.example")
    assert second.in_reply_to == first.internet_message_id  # type: ignore[attr-defined]
    assert len(sent_to(cbot, "jana@talent.example")) == 2
    copy = sent_to(cbot, "jana@talent.example")[1]
    assert copy.extended_value(MARKER_PROPERTY) == f"step:{jana_row(cbot, 2).enrollment_id}:2"  # type: ignore[attr-defined]
    assert jana_row(cbot, 2).state == "sent"
    assert cbot.sandbox.store.drafts(RECRUITER.email) == []
    refused = [e for e in faults.log() if e.path.endswith("/createReply") and e.status == 400]
    assert len(refused) == 1


def test_a_sent_copy_without_the_marker_is_found_by_its_message_id(
    cbot: RunningBot, clock: FakeClock
) -> None:
    """A2 false: the Sent Items copy loses the marker. After a crash right after the send,
    the survivor finds the copy by internetMessageId and records the step as sent."""
    started_campaign(cbot)
    cbot.sandbox.store.configure_delivery(keep_extended_on_sent=False)
    clock.set(datetime(2026, 3, 2, 8, 0, tzinfo=UTC))

    crash = crash_at("sent-unrecorded")
    with pytest.raises(SimulatedCrash):
        dispatcher(cbot, "doomed", checkpoint=crash).tick()
    clock.advance(minutes=6)
    dispatcher(cbot, "survivor").tick()

    assert jana_row(cbot, 1).state == "sent"
    assert len(sent_to(cbot, "jana@talent.example")) == 1


def test_a_refused_marker_filter_falls_back_to_the_message_id(
    cbot: RunningBot, clock: FakeClock
) -> None:
    """A2 false the other way: Graph answers 400 to $filter on the marker. Looking for the
    copy after a crash falls back to internetMessageId instead of failing the candidate."""
    started_campaign(cbot)
    clock.set(datetime(2026, 3, 2, 8, 0, tzinfo=UTC))

    crash = crash_at("sent-unrecorded")
    with pytest.raises(SimulatedCrash):
        dispatcher(cbot, "doomed", checkpoint=crash).tick()
    body = {"error": {"code": "ErrorInvalidProperty", "message": "The property is not valid."}}
    cbot.sandbox.graph.faults.fail_next("GET", r"/mailFolders/sentitems/messages$", 400, body)
    clock.advance(minutes=6)
    dispatcher(cbot, "survivor").tick()

    assert jana_row(cbot, 1).state == "sent"
    assert len(sent_to(cbot, "jana@talent.example")) == 1
