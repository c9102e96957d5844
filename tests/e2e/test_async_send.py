"""Graph sends finish after the 202: the dispatcher never sends a step twice while it waits.

The sandbox holds each send for ``delay`` seconds of the test's clock (the draft stays in
Drafts, marked as submitted, then its Sent Items copy appears), or lets the draft leave
first and the copy appear later. The dispatcher's grace period is 10 minutes and its lease
5; every delay here is longer than both, and the worker dies in between.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from bot.sandbox import RECRUITER
from tests.conftest import RunningBot
from tests.e2e.campaign_helpers import dispatcher, outbox
from tests.e2e.test_dispatch import SimulatedCrash, inbox, sent_to, started_campaign
from tests.fakes import FakeClock

JANA = "jana@talent.example"
GRACE_MINUTES = 10  # DispatchConfig.send_grace


def on_clock(bot: RunningBot, clock: FakeClock, **delivery: float) -> None:
    """The sandbox's Exchange reads the test's clock and delivers with ``delivery``."""
    bot.sandbox.store.clock = clock.now
    bot.sandbox.store.configure_delivery(**delivery)


def crash_once(stage: str) -> Callable[[str, int], None]:
    done = {"crashed": False}

    def checkpoint(at: str, _row_id: int) -> None:
        if at == stage and not done["crashed"]:
            done["crashed"] = True
            raise SimulatedCrash(at)

    return checkpoint


def jana_step(bot: RunningBot, position: int) -> str:
    [row] = [r for r in outbox(bot) if r.to_email == JANA and r.step_position == position]
    return row.state


def run_for(bot: RunningBot, clock: FakeClock, minutes: int, worker: str = "survivor") -> None:
    """A worker ticking every minute for ``minutes`` minutes."""
    survivor = dispatcher(bot, worker)
    for _ in range(minutes):
        clock.advance(minutes=1)
        survivor.tick()


@pytest.mark.parametrize("stage", ["sent-unrecorded", "sending"])
def test_a_send_still_on_its_way_after_the_grace_period_is_not_sent_again(
    cbot: RunningBot, clock: FakeClock, stage: str
) -> None:
    """The worker dies after asking Graph to send (or just before); the draft then sits in
    Drafts for 45 minutes. The survivor waits for the copy rather than sending the draft
    again, or, when the send never reached Graph, sends it once."""
    started_campaign(cbot)
    on_clock(cbot, clock, delay=45 * 60)
    clock.set(datetime(2026, 3, 2, 8, 0, tzinfo=UTC))  # only Jana is due
    with pytest.raises(SimulatedCrash):
        dispatcher(cbot, "doomed", checkpoint=crash_once(stage)).tick()
    assert len(cbot.sandbox.store.drafts(RECRUITER.email)) == 1

    run_for(cbot, clock, 120)

    assert len(sent_to(cbot, JANA)) == 1
    assert len(inbox(cbot, JANA)) == 1
    assert cbot.sandbox.store.drafts(RECRUITER.email) == []
    assert jana_step(cbot, 1) == "sent"


def test_a_copy_that_appears_after_the_draft_left_is_found(
    cbot: RunningBot, clock: FakeClock
) -> None:
    """The draft leaves Drafts a minute after the send; its copy reaches Sent Items 8
    minutes later, within the grace period: the survivor records it as sent."""
    started_campaign(cbot)
    on_clock(cbot, clock, delay=9 * 60, draft_lingers=60)
    clock.set(datetime(2026, 3, 2, 8, 0, tzinfo=UTC))
    with pytest.raises(SimulatedCrash):
        dispatcher(cbot, "doomed", checkpoint=crash_once("sent-unrecorded")).tick()
    clock.advance(minutes=2)
    assert cbot.sandbox.store.drafts(RECRUITER.email) == []  # in neither folder now
    assert cbot.sandbox.store.sent_items(RECRUITER.email) == []

    run_for(cbot, clock, 60)

    assert len(sent_to(cbot, JANA)) == 1
    assert jana_step(cbot, 1) == "sent"


def test_a_copy_later_than_the_grace_period_leaves_the_step_unknown_never_resent(
    cbot: RunningBot, clock: FakeClock
) -> None:
    """Gone from Drafts and not in Sent Items for longer than the grace period: nobody can
    tell, so the step is ``unknown``; the copy arrives later, and only one."""
    started_campaign(cbot)
    on_clock(cbot, clock, delay=40 * 60, draft_lingers=60)
    clock.set(datetime(2026, 3, 2, 8, 0, tzinfo=UTC))
    with pytest.raises(SimulatedCrash):
        dispatcher(cbot, "doomed", checkpoint=crash_once("sent-unrecorded")).tick()

    run_for(cbot, clock, 24 * 60 // 10, worker="survivor")  # four hours, ticking every minute

    assert jana_step(cbot, 1) == "unknown"
    assert len(sent_to(cbot, JANA)) == 1
    assert len(inbox(cbot, JANA)) == 1


@pytest.mark.parametrize("stage", ["draft-unrecorded", "drafted"])
def test_a_stranded_draft_the_recruiter_sent_by_hand_is_not_sent_again(
    cbot: RunningBot, clock: FakeClock, stage: str
) -> None:
    """While the worker is down the recruiter opens Drafts and sends ScaleUp's draft
    themselves; Exchange takes 30 minutes. The survivor sees the send was requested."""
    started_campaign(cbot)
    on_clock(cbot, clock, delay=30 * 60)
    clock.set(datetime(2026, 3, 2, 8, 0, tzinfo=UTC))
    with pytest.raises(SimulatedCrash):
        dispatcher(cbot, "doomed", checkpoint=crash_once(stage)).tick()
    owner = cbot.sandbox.directory.find_user(RECRUITER.email)
    assert owner is not None
    [draft] = cbot.sandbox.store.drafts(RECRUITER.email)
    cbot.sandbox.store.send(owner, draft.id)

    run_for(cbot, clock, 90)

    assert len(sent_to(cbot, JANA)) == 1
    assert len(inbox(cbot, JANA)) == 1
    assert jana_step(cbot, 1) == "sent"


def test_every_step_goes_out_once_when_every_send_takes_a_while(
    cbot: RunningBot, clock: FakeClock
) -> None:
    """No crash, a 20-minute delivery delay on every send: three steps, each once, threaded."""
    started_campaign(cbot)
    on_clock(cbot, clock, delay=20 * 60)
    worker = dispatcher(cbot)
    for day in (2, 3, 4, 5, 6, 9, 10, 11, 12):
        for hour in (8, 14, 16):
            clock.set(datetime(2026, 3, day, hour, 0, tzinfo=UTC))
            worker.tick()
    clock.advance(hours=1)
    for address in (JANA, "omar@talent.example"):
        first, second, third = inbox(cbot, address)
        assert len(sent_to(cbot, address)) == 3
        assert second.in_reply_to == first.internet_message_id  # type: ignore[attr-defined]
        assert third.in_reply_to == second.internet_message_id  # type: ignore[attr-defined]
    assert {row.state for row in outbox(cbot)} == {"sent"}
