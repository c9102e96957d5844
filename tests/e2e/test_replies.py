"""Replies end to end: candidates answer through the sandbox's Exchange, one sync finds
each answer, stops the sequence and posts a card in the campaign's thread; the card's
buttons work for the recruiter and are refused to a stranger."""

from __future__ import annotations

from typing import Any

from bot.sandbox import COLLEAGUE, HIRING_MANAGER, RECRUITER
from bot.sandbox.testing import post_slack
from bot.worker import reply_sync, slack_poster
from handlers import reply_blocks as rb
from tests.conftest import RunningBot
from tests.e2e.replies_helpers import (
    cards,
    inbound,
    outbox,
    replies,
    sent_id,
    start_and_send,
    states,
    sync,
)
from tests.e2e.test_campaign_slack import command, reply, shown
from tests.e2e.test_connect import TEAM
from tests.fakes import FakeClock

PEOPLE = [
    ("jana@talent.example", "Jana", "Europe/Berlin", "DE"),
    ("omar@talent.example", "Omar", "Europe/Berlin", "DE"),
    ("mei@talent.example", "Mei", "Europe/Berlin", "DE"),
    ("li@talent.example", "Li", "Europe/Berlin", "DE"),
]


def card_of(bot: RunningBot, channel: str, email: str) -> dict[str, Any]:
    [found] = [c for c in cards(bot, channel) if email in c["text"]]
    return found


def test_answers_in_the_thread_with_a_new_subject_and_from_another_address(
    cbot: RunningBot, clock: FakeClock
) -> None:
    bot = cbot
    channel = start_and_send(bot, clock, PEOPLE)
    mail = inbound(bot)
    mail.reply(
        RECRUITER.email,
        sent_id(bot, "jana@talent.example"),
        text="Yes, I'm interested! Let's talk.\n\nOn Monday Riley wrote:\n> would you talk?",
    )
    mail.reply(
        RECRUITER.email,
        sent_id(bot, "omar@talent.example"),
        subject="Backend role: two questions <!channel>",
        text="Sounds good, when can we talk? <https://evil.example|click>",
    )
    mail.reply(
        RECRUITER.email,
        sent_id(bot, "mei@talent.example"),
        from_address="mei.private@home.example",
        references_only=True,
        text="This is Mei from my private address: yes, I'd love to hear more.",
    )

    report = sync(bot)
    assert report.replies == 3

    assert states(bot) == {
        "jana@talent.example": "replied",
        "omar@talent.example": "replied",
        "mei@talent.example": "replied",
        "li@talent.example": "active",
    }
    for email in ("jana@talent.example", "omar@talent.example", "mei@talent.example"):
        assert [r.state for r in outbox(bot, email)] == ["sent", "cancelled", "cancelled"]
    assert [r.state for r in outbox(bot, "li@talent.example")] == ["sent", "pending", "waiting"]
    assert {r.from_email: (r.kind, r.interest, r.signal) for r in replies(bot)} == {
        "jana@talent.example": ("reply", "interested", "in-reply-to"),
        "omar@talent.example": ("reply", "interested", "in-reply-to"),
        "mei.private@home.example": ("reply", "interested", "references"),
    }
    # Each answer carries the "ScaleUp" category in Outlook.
    labelled = [m for m in bot.sandbox.store.inbox(RECRUITER.email) if "ScaleUp" in m.categories]
    assert len(labelled) == 3

    # One card each, in the campaign's thread, the candidate's text escaped.
    slack = bot.sandbox.slack
    parent = slack.messages(channel)[0]
    posted = cards(bot, channel)
    assert len(posted) == 3 and {c["thread_ts"] for c in posted} == {parent["ts"]}
    omar = shown(card_of(bot, channel, "omar@talent.example"))
    assert "&lt;https://evil.example|click&gt;" in omar and "<https://evil" not in omar
    assert "<!date^" in omar and "step 1" in omar
    jana = shown(card_of(bot, channel, "jana@talent.example"))
    assert ">Yes, I'm interested! Let's talk." in jana and "would you talk?" not in jana
    mei = shown(card_of(bot, channel, "mei@talent.example"))
    assert "from mei.private@home.example" in mei and "References header" in mei

    # A second sync finds nothing new; nothing is posted twice.
    assert sync(bot).replies == 0
    assert len(cards(bot, channel)) == 3


def click(bot: RunningBot, user: str, action_id: str, message: dict[str, Any]) -> dict[str, Any]:
    before = len(bot.sandbox.slack.responses())
    bot.slack.click(user, action_id, message=message)
    return reply(bot, before)


def test_card_buttons_work_for_the_recruiter_and_are_refused_to_a_stranger(
    cbot: RunningBot, clock: FakeClock
) -> None:
    bot = cbot
    channel = start_and_send(bot, clock, PEOPLE[:2])
    inbound(bot).reply(
        RECRUITER.email, sent_id(bot, "jana@talent.example"), text="Sure, happy to talk."
    )
    sync(bot)
    card = card_of(bot, channel, "jana@talent.example")

    refused = click(bot, COLLEAGUE.slack_id, rb.REPLY_INTERESTED, card)
    assert refused["replace_original"] is False
    assert "You can't mark a reply in 'Backend Q4'" in refused["text"]
    assert replies(bot)[0].label is None

    done = click(bot, RECRUITER.slack_id, rb.REPLY_INTERESTED, card)
    assert done["replace_original"] is True
    assert replies(bot)[0].label == "interested"
    card = card_of(bot, channel, "jana@talent.example")
    assert "Marked interested" in shown(card)

    # "Not a reply" undoes the stop: the sequence is where it was, the label gone.
    assert click(bot, COLLEAGUE.slack_id, rb.REPLY_NOT_A_REPLY, card)["replace_original"] is False
    assert states(bot)["jana@talent.example"] == "replied"
    click(bot, RECRUITER.slack_id, rb.REPLY_NOT_A_REPLY, card)
    assert states(bot)["jana@talent.example"] == "active"
    assert [r.state for r in outbox(bot, "jana@talent.example")] == ["sent", "pending", "waiting"]
    [stored] = replies(bot)
    assert stored.undone_at is not None and stored.label is None
    [message] = [m for m in bot.sandbox.store.inbox(RECRUITER.email) if m.subject.startswith("RE:")]
    assert "ScaleUp" not in message.categories
    card = card_of(bot, channel, "jana@talent.example")
    assert "not a reply" in shown(card)

    # Pause and Resume the candidate from the card.
    assert click(bot, COLLEAGUE.slack_id, rb.REPLY_PAUSE, card)["replace_original"] is False
    click(bot, RECRUITER.slack_id, rb.REPLY_PAUSE, card)
    assert states(bot)["jana@talent.example"] == "paused"
    card = card_of(bot, channel, "jana@talent.example")
    click(bot, RECRUITER.slack_id, rb.REPLY_RESUME, card)
    assert states(bot)["jana@talent.example"] == "active"


def test_a_reply_to_the_hiring_managers_mailbox_stops_the_recruiters_campaign(
    cbot: RunningBot, clock: FakeClock
) -> None:
    bot = cbot
    from tests.e2e.campaign_helpers import connect

    connect(bot, bot.sandbox.hiring_manager)
    command(bot, "delegate <@U0RECRUIT1|riley>", user=HIRING_MANAGER.slack_id)
    channel = start_and_send(bot, clock, PEOPLE[:2], sender=HIRING_MANAGER, connect_sender=False)
    inbound(bot).reply(
        HIRING_MANAGER.email, sent_id(bot, "omar@talent.example"), text="Yes, let's talk."
    )
    assert sync(bot).replies == 1
    assert states(bot) == {"jana@talent.example": "active", "omar@talent.example": "replied"}
    assert [r.state for r in outbox(bot, "omar@talent.example")] == [
        "sent",
        "cancelled",
        "cancelled",
    ]
    assert len(cards(bot, channel)) == 1
    assert TEAM


def test_cards_found_while_slack_is_down_are_each_posted_once_when_it_is_back(
    cbot: RunningBot, clock: FakeClock
) -> None:
    """Replies arrive during a Slack outage (5xx), then a 429 with Retry-After: the sync
    still stops each sequence at once, and every card reaches the thread exactly once."""
    bot = cbot
    channel = start_and_send(bot, clock, PEOPLE)
    slack = bot.sandbox.slack
    mail, box = inbound(bot), RECRUITER.email
    for email in ("jana@talent.example", "omar@talent.example", "mei@talent.example"):
        mail.reply(box, sent_id(bot, email), text="Yes, I'm interested! Let's talk.")

    slack.faults.outage(503)
    report = reply_sync(bot.container, "w1").tick()
    assert report.replies == 3
    assert [s for e, s in states(bot).items() if e != "li@talent.example"] == ["replied"] * 3
    poster = slack_poster(bot.container, "p1")
    for _ in range(4):  # Slack is down: every try fails, nothing is dropped
        assert poster.tick().posted == 0
        clock.advance(minutes=5)
    assert cards(bot, channel) == []

    slack.faults.restore()
    slack.faults.throttle(retry_after=7, calls=1)
    assert poster.tick().posted == 0  # the 429: its Retry-After is waited out
    clock.advance(seconds=8)
    post_slack(bot)
    posted = cards(bot, channel)
    assert sorted(c["text"].split(" answered")[0].split()[-1] for c in posted) == [
        "jana@talent.example",
        "mei@talent.example",
        "omar@talent.example",
    ]
    ok = [
        c
        for c in slack.calls("chat.postMessage")
        if c.response.get("ok") and "answered" in str(c.params.get("text", ""))
    ]
    assert len(ok) == 3  # each card exactly once, though each was tried while Slack was down
    assert reply_sync(bot.container, "w1").tick().replies == 0  # and never found twice
