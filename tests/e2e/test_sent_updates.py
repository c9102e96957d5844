"""A test send and a one-off message are confirmed in the bot's DM, and that message says
what became of the email once the worker has sent it, or why not (issue 7 item 7)."""

from __future__ import annotations

from typing import Any

from slack_sdk import WebClient

from bot.sandbox import RECRUITER
from bot.sandbox.testing import post_slack
from handlers import direct_views as dv
from tests.conftest import RunningBot
from tests.e2e.campaign_helpers import connect, dispatcher, outbox
from tests.e2e.test_campaign_slack import shown
from tests.e2e.test_connect import TEAM
from tests.e2e.test_preview_and_direct import draft_campaign
from tests.fakes import MONDAY

REFUSED = {"error": {"code": "ErrorInvalidRecipients", "message": "The recipient is invalid."}}
#: MONDAY as Slack's date formatting writes it, with its UTC fallback.
SENT_AT = f"<!date^{int(MONDAY.timestamp())}^{{date_short_pretty}} at {{time}}|2026-03-02 06:00 UTC>"


def dm(bot: RunningBot, after: int = 0) -> list[dict[str, Any]]:
    """The bot's DM with the recruiter, past its first ``after`` messages."""
    return bot.sandbox.slack.dm_messages(TEAM, RECRUITER.slack_id)[after:]


def send_and_post(bot: RunningBot) -> None:
    """The worker: the dispatcher sends what is due, then the Slack poster posts. The
    handler records the DM's ts just after posting it: wait for that, or the row is
    locked (PostgreSQL skips it) or not yet recorded."""
    bot.sandbox.slack.wait_for(lambda: all(r.slack_ts for r in outbox(bot)))
    worker = dispatcher(bot)
    worker.tick()
    worker.tick()
    post_slack(bot)


def compose(bot: RunningBot, channel_id: str | None = None) -> None:
    slack = bot.sandbox.slack
    bot.slack.slash(RECRUITER.slack_id, "message jana@talent.example", channel_id=channel_id)
    view = slack.wait_for(lambda: slack.last_view(RECRUITER.slack_id))
    answer = bot.slack.submit_view(
        RECRUITER.slack_id, view, {dv.SUBJECT: "Coffee next week?", dv.BODY: "Hi Jana"}
    )
    assert answer.status_code == 200 and not answer.content


def test_a_one_off_message_is_confirmed_in_the_dm_and_then_says_it_was_sent(
    cbot: RunningBot,
) -> None:
    slack = cbot.sandbox.slack
    connect(cbot, RECRUITER)
    channel = slack.add_channel(TEAM, "recruiting")
    seen = len(dm(cbot))
    compose(cbot, channel)

    [queued] = slack.wait_for(lambda: dm(cbot, seen))
    assert queued["text"] == (
        "Your email to jana@talent.example is queued and will go out from "
        "riley.chen@acme.test within a minute."
    )
    assert dv.UPDATED_WHEN_SENT in shown(queued)
    [row] = slack.wait_for(lambda: [r for r in outbox(cbot) if r.slack_ts])
    assert (row.slack_channel, row.slack_ts) == (slack.dm_channel(TEAM, RECRUITER.slack_id), queued["ts"])
    # Typed in a channel: a pointer there, the confirmation itself in the DM.
    [pointer] = slack.wait_for(lambda: slack.ephemeral_messages(RECRUITER.slack_id))
    assert pointer["channel"] == channel
    assert pointer["text"] == (
        "Your email to jana@talent.example is queued. ScaleUp's DM with you says when it has gone."
    )

    send_and_post(cbot)
    [updated] = dm(cbot, seen)
    assert updated["ts"] == queued["ts"]  # the same message, updated in place
    assert updated["text"] == (
        f":white_check_mark: Sent {SENT_AT} to jana@talent.example: your email."
    )
    assert [m.subject for m in cbot.sandbox.store.inbox("jana@talent.example")] == [
        "Coffee next week?"
    ]


def test_a_refused_message_says_why_in_the_dm(cbot: RunningBot) -> None:
    connect(cbot, RECRUITER)
    seen = len(dm(cbot))
    compose(cbot)  # typed in the DM: the DM message is the only answer
    cbot.sandbox.slack.wait_for(lambda: dm(cbot, seen))
    assert cbot.sandbox.slack.ephemeral_messages(RECRUITER.slack_id) == []

    cbot.sandbox.graph.faults.fail_next("POST", r"/messages$", 400, REFUSED)
    send_and_post(cbot)
    [updated] = dm(cbot, seen)
    assert updated["text"] == (
        ":x: Your email to jana@talent.example was not sent: Outlook refused the message: "
        "The recipient is invalid."
    )
    assert [r.state for r in outbox(cbot)] == ["failed"]


def test_a_test_send_is_confirmed_in_the_dm_and_then_says_it_was_sent(cbot: RunningBot) -> None:
    slack = cbot.sandbox.slack
    draft_campaign(cbot)
    channel = slack.channel_id(TEAM, "recruiting")
    seen = len(dm(cbot))
    before = len(slack.responses())
    cbot.slack.slash(RECRUITER.slack_id, "campaign test Backend Q4", channel_id=channel)
    answer = slack.wait_for(lambda: slack.responses()[before:])[-1]
    assert answer["text"] == (
        "A test of step 1 is on its way to riley.chen@acme.test. "
        "ScaleUp's DM with you says when it has gone."
    )
    [queued] = dm(cbot, seen)
    assert "A test of step 1 is on its way to riley.chen@acme.test." in shown(queued)

    send_and_post(cbot)
    [updated] = dm(cbot, seen)
    assert updated["ts"] == queued["ts"]
    assert updated["text"] == (
        f":white_check_mark: Sent {SENT_AT} to riley.chen@acme.test: the test of step 1."
    )


def test_a_refused_test_send_says_why_in_the_dm(cbot: RunningBot) -> None:
    draft_campaign(cbot)
    seen = len(dm(cbot))
    before = len(cbot.sandbox.slack.calls("chat.postMessage"))
    cbot.slack.slash(RECRUITER.slack_id, "campaign test Backend Q4")  # in the DM
    cbot.sandbox.slack.wait_for(lambda: dm(cbot, seen))
    assert len(cbot.sandbox.slack.calls("chat.postMessage")) == before + 1

    cbot.sandbox.graph.faults.fail_next("POST", r"/messages$", 400, REFUSED)
    send_and_post(cbot)
    [updated] = dm(cbot, seen)
    assert updated["text"] == (
        ":x: The test of step 1 to riley.chen@acme.test was not sent: Outlook refused the "
        "message: The recipient is invalid."
    )


def test_an_email_sent_before_its_confirmation_was_recorded_still_updates_it(
    cbot: RunningBot,
) -> None:
    connect(cbot, RECRUITER)
    outbox_id = cbot.container.campaigns.queue_direct(
        TEAM, RECRUITER.slack_id, "jana@talent.example", "Hi", "Hello"
    )
    seen = len(dm(cbot))
    dispatcher(cbot).tick()  # gone before the handler recorded its Slack message
    channel = cbot.sandbox.slack.dm_channel(TEAM, RECRUITER.slack_id)
    web = WebClient(token=cbot.sandbox.workspace.bot_token, base_url=cbot.sandbox.slack.api_url)
    queued = web.chat_postMessage(channel=channel, text="Queued")
    cbot.container.campaigns.attach_message(outbox_id, channel, str(queued["ts"]))
    post_slack(cbot)
    [updated] = dm(cbot, seen)
    assert updated["ts"] == queued["ts"]
    assert updated["text"].startswith(":white_check_mark: Sent ")
