"""The issue's "done means", through the sandbox's Slack client: import a shortlist with
bad rows, create and start a 3-step campaign, advance the clock, and see every step in
Sent Items exactly once, threaded, inside each candidate's local send window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.models import Campaign, OutboxMessage
from bot.sandbox import RECRUITER
from handlers import campaign_form, shortlist_blocks
from tests.conftest import RunningBot
from tests.e2e.campaign_helpers import connect, dispatcher
from tests.e2e.test_connect import TEAM
from tests.fakes import MONDAY, FakeClock

CSV = """email;first_name;timezone;country;company
jana@talent.example;Jana;Europe/Berlin;DE;Initech
omar@talent.example;Omar;America/New_York;US;Hooli
mei@talent.example;Mei;Asia/Tokyo;JP;Globex
not-an-address;Bad;Europe/Berlin;DE;X
jana@talent.example;Jana again;Europe/Berlin;DE;Initech
zoe@;Zoë;Europe/Paris;FR;Y
"""


def utc(day: int, hour: int) -> datetime:
    return datetime(2026, 3, day, hour, tzinfo=UTC)


# Step 1 at the first window slot; step 2 two business days later and step 3 three after
# that, at the window's opening (09:00 local). New York moves to summer time on 8 March,
# so its third step is at 13:00 UTC, not 14:00.
EXPECTED = {
    "jana@talent.example": [utc(2, 8), utc(4, 8), utc(9, 8)],
    "omar@talent.example": [utc(2, 14), utc(4, 14), utc(9, 13)],
    "mei@talent.example": [utc(2, 6), utc(4, 0), utc(9, 0)],
}
ZONES = {
    "jana@talent.example": ZoneInfo("Europe/Berlin"),
    "omar@talent.example": ZoneInfo("America/New_York"),
    "mei@talent.example": ZoneInfo("Asia/Tokyo"),
}


def last_dm_text(bot: RunningBot) -> str:
    messages = bot.sandbox.slack.dm_messages(TEAM, RECRUITER.slack_id)
    return messages[-1].get("text", "") if messages else ""


def test_walkthrough(cbot: RunningBot, clock: FakeClock) -> None:
    bot, slack = cbot, cbot.sandbox.slack
    connect(bot, RECRUITER)

    # 1. A shortlist with bad rows: the good ones are kept, each bad one is named.
    bot.slack.slash(RECRUITER.slack_id, "shortlist create backend")
    view = slack.wait_for(lambda: slack.last_view(RECRUITER.slack_id))
    assert bot.slack.submit_view(RECRUITER.slack_id, view, {shortlist_blocks.CSV_BLOCK: CSV}).status_code == 200
    report = slack.wait_for(
        lambda: (t := last_dm_text(bot)) and "rows were not imported" in t and t
    )
    assert "3 new" in report
    assert "Row 5: 'not-an-address' is not an email address" in report
    assert "Row 6: duplicate of row 2" in report
    assert "Row 7: 'zoe@' is not an email address" in report

    # 2. A 3-step campaign through the modal.
    channel = slack.add_channel(TEAM, "recruiting")
    bot.slack.slash(RECRUITER.slack_id, "campaign create", channel_id=channel)
    view = slack.wait_for(lambda: slack.last_view(RECRUITER.slack_id))
    shortlist_option = next(b for b in view["blocks"] if b.get("block_id") == campaign_form.SHORTLIST)[
        "element"
    ]["options"][0]["value"]
    form: dict[str, Any] = {
        campaign_form.NAME: "Backend Q4",
        campaign_form.SHORTLIST: shortlist_option,
        campaign_form.CHANNEL: channel,
        campaign_form.step_block(1, "subject"): "{{ first_name }}, a backend role at Acme?",
        campaign_form.step_block(1, "body"): "Hi {{ first_name }}, I loved your work at {{ company }}.",
        campaign_form.step_block(2, "subject"): "Following up",
        campaign_form.step_block(2, "body"): "Hi {{ first_name }}, any thoughts?",
        campaign_form.step_block(2, "wait"): "2",
        campaign_form.step_block(3, "subject"): "Last note",
        campaign_form.step_block(3, "body"): "Hi {{ first_name }}, last note from me.",
        campaign_form.step_block(3, "wait"): "3",
    }
    answer = bot.slack.submit_view(RECRUITER.slack_id, view, form)
    assert answer.status_code == 200 and not answer.content, answer.text

    # 3. Start it: the parent message opens the thread.
    bot.slack.slash(RECRUITER.slack_id, "campaign start Backend Q4")
    [parent] = slack.wait_for(lambda: slack.messages(channel))
    assert "3 candidates" in parent["text"]
    # The parent is posted just before the start commits; the reply comes after it.
    slack.wait_for(lambda: any("started" in r.get("text", "") for r in slack.responses()))

    # 4. The worker runs every 10 minutes for two weeks.
    worker = dispatcher(bot)
    end = MONDAY + timedelta(days=14)
    while clock.now() < end:
        worker.tick()
        clock.advance(minutes=10)

    # 5. Exactly once each, threaded, inside the local window on local business days.
    with bot.db() as session:
        rows = session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
        campaign = session.scalars(select(Campaign)).one()
    assert campaign.thread_ts == parent["ts"]
    assert [r.state for r in rows] == ["sent"] * 9
    for address, zone in ZONES.items():
        sent = [
            m
            for m in bot.sandbox.store.sent_items(RECRUITER.email)
            if [r.address for r in m.to] == [address]
        ]
        assert len(sent) == 3, address
        received = bot.sandbox.store.inbox(address)
        assert received[0].subject.endswith("a backend role at Acme?")
        assert received[1].in_reply_to == received[0].internet_message_id
        assert received[2].in_reply_to == received[1].internet_message_id
        assert len({m.conversation_id for m in received}) == 1
        times = [r.sent_at for r in rows if r.to_email == address]
        for when in times:
            assert when is not None
            local = when.astimezone(zone)
            assert local.isoweekday() <= 5 and 9 <= local.hour < 17, (address, local)
        assert times == EXPECTED[address], address
