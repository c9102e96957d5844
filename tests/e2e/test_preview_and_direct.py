"""Campaign preview and test sends, and direct messages, end to end: slash commands and
modals through the sandbox's Slack, the outbox, the dispatcher and the sandbox's Outlook."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy import select

from bot.db import transaction
from bot.models import AuditEntry, OutboxMessage, Suppression
from bot.sandbox import COLLEAGUE, RECRUITER
from handlers import direct_views as dv
from handlers import preview_blocks
from outreach.campaigns import StepSpec
from outreach.previews import Preview, PreviewStep
from tests.conftest import RunningBot
from tests.e2e.campaign_helpers import (
    THREE_STEPS,
    connect,
    create_campaign,
    dispatcher,
    outbox,
    seed_shortlist,
)
from tests.e2e.test_campaign_slack import command, shown
from tests.e2e.test_connect import TEAM
from tests.fakes import MONDAY, FakeClock

# Monday 2 March 2026, 06:00 UTC: 07:00 in Berlin, 01:00 in New York. The US moves its
# clocks forward on Sunday 8 March, so Omar's third step is at 09:00 EDT, not EST.
CANDIDATES = [
    ("jana@talent.example", "Jana", "Europe/Berlin", "DE"),
    ("omar@talent.example", "Omar", "America/New_York", "US"),
]


def draft_campaign(bot: RunningBot, steps: list[StepSpec] = THREE_STEPS) -> int:
    """Riley connected, two candidates, "Backend Q4" in draft; the mailbox id."""
    mailbox_id = connect(bot, RECRUITER)
    shortlist_id = seed_shortlist(bot, "backend", CANDIDATES)
    channel = bot.sandbox.slack.add_channel(TEAM, "recruiting")
    create_campaign(bot, mailbox_id, shortlist_id, steps=steps, channel_id=channel)
    return mailbox_id


def subjects(bot: RunningBot, address: str) -> list[str]:
    return [m.subject for m in bot.sandbox.store.inbox(address)]


# -- preview --------------------------------------------------------------------------------


def test_preview_shows_each_step_at_the_candidates_local_time(
    cbot: RunningBot, clock: FakeClock
) -> None:
    draft_campaign(cbot)

    jana = command(cbot, "campaign preview Backend Q4")  # the shortlist's first candidate
    assert len(jana["blocks"]) < 50
    text = shown(jana)
    assert "*Preview of Backend Q4* for jana@talent.example (:white_circle: draft" in text
    assert "times on the candidate's clock (Europe/Berlin)" in text
    assert "*Step 1* · Mon 2 Mar 2026, 09:00 CET\n*Subject:* Role at Acme, Jana?" in text
    assert "Hi Jana,\nwould you talk?\nRiley Chen" in text
    assert (
        "*Step 2* · Wed 4 Mar 2026, 09:00 CET (2 business days after step 1 if there is no "
        "reply)\n*Subject:* Following up"
    ) in text
    assert "*Step 3* · Mon 9 Mar 2026, 09:00 CET (3 business days after step 2" in text
    bodies = [
        b for b in jana["blocks"] if b["type"] == "section" and b["text"]["type"] == "plain_text"
    ]
    assert len(bodies) == 3

    omar = shown(command(cbot, "campaign preview backend q4 Omar@Talent.example"))
    assert "for omar@talent.example" in omar
    assert "*Step 1* · Mon 2 Mar 2026, 09:00 EST" in omar
    assert "*Step 2* · Wed 4 Mar 2026, 09:00 EST" in omar
    assert "*Step 3* · Mon 9 Mar 2026, 09:00 EDT" in omar

    # Running: what was sent shows when it went; the rest is planned from it.
    cbot.container.campaigns.start(TEAM, RECRUITER.slack_id, "Backend Q4")
    clock.set(datetime(2026, 3, 2, 10, 30, tzinfo=UTC))  # 11:30 in Berlin
    assert dispatcher(cbot).tick().sent == 1
    running = shown(command(cbot, "campaign preview Backend Q4 jana@talent.example"))
    assert ":large_green_circle: running" in running
    assert "*Step 1* · sent Mon 2 Mar 2026, 11:30 CET" in running
    assert "*Step 2* · Wed 4 Mar 2026, 09:00 CET" in running
    assert "*Step 3* · Mon 9 Mar 2026, 09:00 CET" in running


def test_preview_says_what_is_missing_as_a_sentence(cbot: RunningBot) -> None:
    steps = [StepSpec("Hi {{ first_name }}", "{{ company }} is hiring, {{ first_name }}.")]
    draft_campaign(cbot, steps)
    assert shown(command(cbot, "campaign preview Backend Q4")).startswith(
        "The templates use {{ company }}, but the shortlist has no such column. It has: "
        "country, email, first_name, last_name, timezone (and every template has sender_name, "
        "sender_email and sender_first_name)."
    )
    nobody = shown(command(cbot, "campaign preview Backend Q4 nobody@talent.example"))
    assert nobody.startswith("nobody@talent.example is not on the shortlist of 'Backend Q4'.")
    missing = shown(command(cbot, "campaign preview Nope"))
    assert missing.startswith("There is no campaign called 'Nope'.")
    assert command(cbot, "campaign preview")["text"] == (
        "Name the campaign: `/scaleup campaign preview NAME`."
    )


def test_a_long_body_is_cut_with_a_note_and_user_text_stays_inert(cbot: RunningBot) -> None:
    long = "<!channel> *bold* " + "word " * 1000
    draft_campaign(cbot, [StepSpec("<@U0BOSS> & co", long)])
    blocks = command(cbot, "campaign preview Backend Q4")["blocks"]
    assert all(len(b.get("text", {}).get("text", "")) <= 3000 for b in blocks)
    assert "*Subject:* &lt;@U0BOSS&gt; &amp; co" in blocks[2]["text"]["text"]
    body = blocks[3]["text"]
    assert body["type"] == "plain_text"  # never read as mrkdwn: no mention, no bold
    assert body["text"].startswith("<!channel> *bold* word")
    assert body["text"].endswith(
        "… (2,218 more characters not shown here; the email goes out in full)"
    )


# -- test sends -----------------------------------------------------------------------------


def test_a_test_send_reaches_the_recruiters_own_inbox_exactly_once(cbot: RunningBot) -> None:
    mailbox_id = draft_campaign(cbot)
    slack = cbot.sandbox.slack
    seen = len(slack.dm_messages(TEAM, RECRUITER.slack_id))
    cbot.slack.slash(RECRUITER.slack_id, "campaign test Backend Q4")  # the answer is a DM
    [reply] = slack.wait_for(lambda: slack.dm_messages(TEAM, RECRUITER.slack_id)[seen:])
    assert "A test of step 1 is on its way to riley.chen@acme.test." in shown(reply)
    slack.wait_for(lambda: outbox(cbot)[0].slack_ts)  # the handler has recorded the DM

    [row] = outbox(cbot)
    assert row.dedupe_key.startswith("test:") and row.enrollment_id is None
    assert (row.mailbox_id, row.to_email, row.state) == (mailbox_id, RECRUITER.email, "pending")

    worker = dispatcher(cbot)
    assert worker.tick().sent == 1  # due at once: a test ignores the send window
    worker.tick()
    assert subjects(cbot, RECRUITER.email) == ["[Test] Role at Acme, Jana?"]
    [received] = cbot.sandbox.store.inbox(RECRUITER.email)
    assert "Hi Jana," in received.body
    for address, *_ in CANDIDATES:
        assert cbot.sandbox.store.inbox(address) == []
    with cbot.db() as session:
        actions = list(session.scalars(select(AuditEntry.action)))
    assert "campaign.test_queued" in actions


def test_a_test_send_fills_what_the_shortlist_lacks_with_placeholders(cbot: RunningBot) -> None:
    mailbox_id = connect(cbot, RECRUITER)
    empty = seed_shortlist(cbot, "empty", [])
    create_campaign(cbot, mailbox_id, empty, "Empty")
    cbot.container.campaigns.send_test(TEAM, RECRUITER.slack_id, "Empty")
    dispatcher(cbot).tick()
    [received] = cbot.sandbox.store.inbox(RECRUITER.email)
    assert received.subject == "[Test] Role at Acme, [first_name]?"


def test_only_people_who_may_send_from_the_mailbox_can_send_a_test(cbot: RunningBot) -> None:
    draft_campaign(cbot)
    refused = shown(command(cbot, "campaign test Backend Q4", user=COLLEAGUE.slack_id))
    assert (
        "You can't send a test of 'Backend Q4': only the owner of riley.chen@acme.test and "
        "the recruiters they delegated it to can."
    ) in refused
    assert outbox(cbot) == []


def test_only_people_who_may_send_from_the_mailbox_can_preview(cbot: RunningBot) -> None:
    draft_campaign(cbot)
    refused = shown(command(cbot, "campaign preview Backend Q4", user=COLLEAGUE.slack_id))
    assert (
        "You can't preview 'Backend Q4': only the owner of riley.chen@acme.test and the "
        "recruiters they delegated it to can."
    ) in refused
    assert "Jana" not in refused  # nothing of the candidates' emails shows


# -- direct messages ------------------------------------------------------------------------


def test_a_direct_message_goes_through_the_modal_and_out_exactly_once(cbot: RunningBot) -> None:
    slack = cbot.sandbox.slack
    mailbox_id = connect(cbot, RECRUITER)
    channel = slack.add_channel(TEAM, "recruiting")

    assert cbot.slack.slash(
        RECRUITER.slack_id, "message <mailto:Jana@Talent.example|Jana@Talent.example>",
        channel_id=channel,
    ).status_code == 200  # fmt: skip
    view = slack.wait_for(lambda: slack.last_view(RECRUITER.slack_id))
    assert view["callback_id"] == dv.DIRECT_MODAL
    assert json.loads(view["private_metadata"])["email"] == "jana@talent.example"
    assert (
        "To *jana@talent.example*, from your mailbox riley.chen@acme.test."
        in (view["blocks"][0]["text"]["text"])
    )

    blank = cbot.slack.submit_view(RECRUITER.slack_id, view, {dv.SUBJECT: " ", dv.BODY: "\n  "})
    assert blank.json() == {
        "response_action": "errors",
        "errors": {dv.SUBJECT: "Give the email a subject.", dv.BODY: "Write the message."},
    }
    assert outbox(cbot) == []

    sent = cbot.slack.submit_view(
        RECRUITER.slack_id,
        view,
        {dv.SUBJECT: "Coffee next week?", dv.BODY: "Hi Jana,\nfree for a chat?\nRiley"},
    )
    assert sent.status_code == 200 and not sent.content  # the modal closes
    # The "Connected as …" DM may still be on its way: wait for the confirmation itself.
    confirmation = slack.wait_for(
        lambda: [m for m in slack.dm_messages(TEAM, RECRUITER.slack_id) if "queued" in m["text"]]
    )[-1]
    assert confirmation["text"] == (
        "Your email to jana@talent.example is queued and will go out from "
        "riley.chen@acme.test within a minute."
    )  # in the DM, where the worker updates it (tests/e2e/test_sent_updates.py)
    slack.wait_for(lambda: outbox(cbot)[0].slack_ts)  # the handler has recorded the DM
    pointer = slack.wait_for(lambda: slack.ephemeral_messages(RECRUITER.slack_id))[-1]
    assert pointer["channel"] == channel

    [row] = outbox(cbot)
    assert row.dedupe_key.startswith("direct:") and row.enrollment_id is None
    assert (row.mailbox_id, row.state, row.due_at) == (mailbox_id, "pending", MONDAY)

    worker = dispatcher(cbot)
    assert worker.tick().sent == 1
    worker.tick()
    [received] = cbot.sandbox.store.inbox("jana@talent.example")
    assert received.subject == "Coffee next week?"
    assert "free for a chat?" in received.body
    assert len(cbot.sandbox.store.sent_items(RECRUITER.email)) == 1


def test_a_direct_message_that_cannot_go_out_is_a_sentence_and_no_modal(
    cbot: RunningBot,
) -> None:
    slack = cbot.sandbox.slack
    assert command(cbot, "message jane@")["text"] == "'jane@' is not an email address."
    assert command(cbot, "message")["text"] == (
        "Give one address: `/scaleup message jane@example.com`."
    )
    assert command(cbot, "message jana@talent.example")["text"] == (
        "You have not connected an Outlook mailbox yet. Run `/scaleup connect` first."
    )

    connect(cbot, RECRUITER)
    now = cbot.container.clock.now()
    with transaction(cbot.db) as session:
        for email, kind in (("dnc@talent.example", "dnc"), ("gone@talent.example", "bounced")):
            session.add(Suppression(team_id=TEAM, email=email, kind=kind, added_at=now))
    assert command(cbot, "message DNC@talent.example")["text"] == (
        "ScaleUp won't email dnc@talent.example: it is on the do-not-contact list."
    )
    assert command(cbot, "message gone@talent.example")["text"] == (
        "ScaleUp won't email gone@talent.example: the address bounced before."
    )
    assert slack.calls("views.open") == []
    assert outbox(cbot) == []


def test_an_address_suppressed_while_the_modal_is_open_is_refused_on_submit(
    cbot: RunningBot,
) -> None:
    slack = cbot.sandbox.slack
    connect(cbot, RECRUITER)
    cbot.slack.slash(RECRUITER.slack_id, "message omar@talent.example")
    view = slack.wait_for(lambda: slack.last_view(RECRUITER.slack_id))
    with transaction(cbot.db) as session:
        session.add(
            Suppression(
                team_id=TEAM,
                email="omar@talent.example",
                kind="dnc",
                added_at=cbot.container.clock.now(),
            )
        )
    answer = cbot.slack.submit_view(RECRUITER.slack_id, view, {dv.SUBJECT: "Hi", dv.BODY: "Hello"})
    assert answer.json()["errors"] == {
        dv.SUBJECT: "ScaleUp won't email omar@talent.example: it is on the do-not-contact list."
    }
    with cbot.db() as session:
        assert session.scalars(select(OutboxMessage)).all() == []


def test_preview_blocks_stay_within_slacks_limits_for_many_steps() -> None:
    steps = [
        PreviewStep(n, "s" * 255, "b" * 5000, False, 1, None, None, "planned") for n in range(1, 21)
    ]
    preview = Preview("Big", "draft", "r@x.test", "c@x.test", "UTC", "Mon-Fri", False, steps)
    blocks = preview_blocks.campaign_preview(preview)
    assert len(blocks) <= 50
    assert all(len(b.get("text", {}).get("text", "")) <= 3000 for b in blocks)
    assert "…and 5 more steps not shown." in blocks[-2]["elements"][0]["text"]
