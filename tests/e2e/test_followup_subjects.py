"""Follow-ups read like replies: no subject of their own means ``RE: <step 1 subject>``."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from bot.sandbox import RECRUITER
from outreach.campaigns import StepSpec
from tests.conftest import RunningBot
from tests.e2e.campaign_helpers import connect, create_campaign, dispatcher, seed_shortlist
from tests.e2e.test_connect import TEAM
from tests.fakes import FakeClock

FIXTURE = Path(__file__).parents[1] / "inputs" / "followup-subject.txt"


def first_subject() -> str:
    """Step 1's subject as the fixture writes it."""
    line = FIXTURE.read_text(encoding="utf-8").splitlines()[0]
    return line.split(": ", 1)[1]


def run_campaign(bot: RunningBot, clock: FakeClock, steps: list[StepSpec]) -> list[object]:
    """Start a campaign to Jana with ``steps``, run the worker for two weeks; her inbox."""
    mailbox_id = connect(bot, RECRUITER)
    shortlist_id = seed_shortlist(
        bot, "backend", [("jana@talent.example", "Jana", "Europe/Berlin", "DE")]
    )
    create_campaign(bot, mailbox_id, shortlist_id, steps=steps)
    bot.container.campaigns.start(TEAM, RECRUITER.slack_id, "Backend Q4")
    worker = dispatcher(bot)
    end = clock.now() + timedelta(days=14)
    while clock.now() < end:
        worker.tick()
        clock.advance(hours=1)
    return list(bot.sandbox.store.inbox("jana@talent.example"))


def test_follow_ups_without_a_subject_go_as_re_step_one_threaded(
    cbot: RunningBot, clock: FakeClock
) -> None:
    steps = [
        StepSpec(first_subject(), "Hi {{ first_name }}, would you talk?"),
        StepSpec("", "Hi {{ first_name }}, following up.", wait_business_days=1),
        StepSpec("", "Hi {{ first_name }}, a last note.", wait_business_days=1),
    ]
    inbox = run_campaign(cbot, clock, steps)
    assert [m.subject for m in inbox] == [  # type: ignore[attr-defined]
        "Rôle chez Acme — Jana",
        "RE: Rôle chez Acme — Jana",
        "RE: Rôle chez Acme — Jana",
    ]
    first, second, third = inbox
    assert second.in_reply_to == first.internet_message_id  # type: ignore[attr-defined]
    assert third.in_reply_to == second.internet_message_id  # type: ignore[attr-defined]
    preview = cbot.container.campaigns.preview(TEAM, RECRUITER.slack_id, "Backend Q4")
    assert [s.subject for s in preview.steps] == [m.subject for m in inbox]  # type: ignore[attr-defined]


def test_an_overridden_follow_up_subject_is_kept(cbot: RunningBot, clock: FakeClock) -> None:
    steps = [
        StepSpec(first_subject(), "Hi {{ first_name }}, would you talk?"),
        StepSpec("A quick question, {{ first_name }}", "Following up.", wait_business_days=1),
        StepSpec("", "A last note.", wait_business_days=1),
    ]
    inbox = run_campaign(cbot, clock, steps)
    assert [m.subject for m in inbox] == [  # type: ignore[attr-defined]
        "Rôle chez Acme — Jana",
        "A quick question, Jana",
        "RE: Rôle chez Acme — Jana",
    ]
    first, second, third = inbox
    assert second.in_reply_to == first.internet_message_id  # type: ignore[attr-defined]
    assert third.in_reply_to == second.internet_message_id  # type: ignore[attr-defined]
