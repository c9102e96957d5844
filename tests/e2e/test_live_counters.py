"""The campaign's parent message keeps live counters, updated by the worker, coalesced."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.sandbox import RECRUITER
from tests.conftest import RunningBot
from tests.e2e.campaign_helpers import (
    THREE_STEPS,
    connect,
    create_campaign,
    dispatcher,
    post_slack,
    seed_shortlist,
)
from tests.e2e.test_campaign_slack import command
from tests.e2e.test_connect import TEAM
from tests.fakes import FakeClock


def test_the_parent_message_counts_sends_and_failures_in_few_updates(
    cbot: RunningBot, clock: FakeClock
) -> None:
    slack = cbot.sandbox.slack
    people = [(f"c{i:02}@talent.example", f"C{i}", "Europe/Berlin", "DE") for i in range(12)]
    mailbox_id = connect(cbot, RECRUITER)
    shortlist_id = seed_shortlist(cbot, "backend", people)
    channel = slack.add_channel(TEAM, "recruiting")
    create_campaign(cbot, mailbox_id, shortlist_id, channel_id=channel, steps=THREE_STEPS)
    command(cbot, "campaign start Backend Q4")
    [parent] = slack.messages(channel)
    assert parent["blocks"][-1]["elements"][0]["text"] == "Nothing sent yet."

    body = {"error": {"code": "ErrorInvalidRecipients", "message": "The recipient is invalid."}}
    cbot.sandbox.graph.faults.fail_next("POST", r"/messages$", 400, body)
    clock.set(datetime(2026, 3, 2, 13, 0, tzinfo=UTC))  # 14:00 in Berlin: all due
    report = dispatcher(cbot).tick()
    assert (report.sent, report.failed) == (11, 1)
    assert slack.calls("chat.update") == []  # queued with the sends, posted by the worker

    post_slack(cbot)
    updates = slack.calls("chat.update")
    assert len(updates) == 1  # twelve outcomes, one update
    [parent, failure] = slack.messages(channel)
    assert failure["thread_ts"] == parent["ts"]
    counters = parent["blocks"][-1]["elements"][0]["text"]
    assert counters == "Sent: step 1 11 · step 2 0 · step 3 0 · failed 1 · pending 22"
    assert parent["text"].startswith(
        ":mega: Campaign *Backend Q4* started by <@U0RECRUIT1> from riley.chen@acme.test: "
        "12 candidates"
    )


def test_campaign_names_may_come_quoted_bold_or_in_backticks(bot: RunningBot) -> None:
    mailbox_id = connect(bot, RECRUITER)
    shortlist_id = seed_shortlist(bot, "backend", [("a@talent.example", "A", None, None)])
    create_campaign(bot, mailbox_id, shortlist_id)
    for typed in ("“Backend Q4”", "'Backend Q4'", '"Backend Q4"', "*Backend Q4*", "`Backend Q4`"):
        answer = command(bot, f"campaign status {typed}")
        assert answer["text"] == "Campaign Backend Q4: draft", typed
