"""A recruiter's whole flow in a real browser, against the bot and sandbox on loopback.

Chromium opens the sandbox console: Riley connects Outlook through the sandbox Microsoft
sign-in page, pastes a shortlist into the import modal, creates a 3-step campaign in the
campaign modal (channel from the picker) and starts it. The worker's jobs run in-process
on a fake clock; step 1 shows in Riley's Sent Items in the console's Outlook side, where
Riley, playing a candidate, answers one with "Out of office" ("Reply as candidate"); the
reply card shows in the campaign's thread in the console, Riley clicks "Pause candidate",
and two weeks on, every other candidate got the follow-ups and the paused one none.
Screenshots: ``tests/artifacts/walkthrough-*.png``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from bot.sandbox import RECRUITER, Sandbox
from bot.sandbox.console import console_url
from bot.worker import ticks
from handlers import campaign_form, shortlist_blocks
from tests.browser.steps import command, connect_outlook, modal
from tests.browser.steps import shot as screenshot
from tests.conftest import RunningBot, start_bot
from tests.fakes import MONDAY, FakeClock

CSV = """email,first_name,company
ana@talent.example,Ana,Initech
ben@talent.example,Ben,Hooli
mei@talent.example,Mei,Globex
"""
AWAY = "mei@talent.example"


@pytest.fixture
def running(sandbox: Sandbox, tmp_path: Path, clock: FakeClock) -> Iterator[RunningBot]:
    """The bot on loopback (SQLite), on the test's clock; the sandbox serves the console."""
    env = {"DATABASE_URL": f"sqlite:///{tmp_path}/scaleup.db", "SCALEUP_DATA_DIR": str(tmp_path)}
    bot, server = start_bot(sandbox, env, clock=clock)
    yield bot
    server.stop()
    bot.container.close()


def fast_forward(bot: RunningBot, clock: FakeClock, until: datetime, step: timedelta) -> None:
    """Run every worker job, then move the clock by ``step``, until ``until``."""
    jobs = [job for job, _ in ticks(bot.container).values()]
    while clock.now() < until:
        for job in jobs:
            job()
        clock.advance(seconds=step.total_seconds())
    for job in jobs:
        job()


def shot(page: Any, name: str) -> None:
    screenshot(page, f"walkthrough-{name}")


def reply_card(page: Any) -> Any:
    """Mei's reply card in the campaign's thread."""
    entries = page.locator(".entry").filter(has_text="#hiring-backend")
    return entries.filter(has_text=AWAY).filter(has_text="answered step 1").first


def inbox(bot: RunningBot, address: str) -> list[str]:
    """Subjects in the candidate's mailbox (the sandbox's Python API: the console's Outlook
    side shows the sandbox people's mailboxes, not the candidates')."""
    return [m.subject for m in bot.sandbox.store.inbox(address)]


def sent_items(page: Any, bot: RunningBot) -> Any:
    """Open Riley's Sent Items in the console's Outlook side; its conversations."""
    query = urlencode({"mailbox": RECRUITER.email, "folder": "sentitems"})
    page.goto(console_url(bot.sandbox) + "outlook?" + query)
    return page.locator(".conversation")


def test_walkthrough_in_chromium(page: Any, running: RunningBot, clock: FakeClock) -> None:
    bot = running
    console = console_url(bot.sandbox) + f"?user={RECRUITER.slack_id}"
    page.goto(console)
    assert page.title().startswith("Sandbox Slack")
    shot(page, "01-console")

    # Connect: the sign-in button opens the sandbox Microsoft page in a new tab.
    connect_outlook(page, bot, "walkthrough-02")

    # Import a shortlist: paste the CSV in the modal.
    command(page, "shortlist create backend")
    modal(page).locator(f"textarea[name='f.{shortlist_blocks.CSV_BLOCK}']").fill(CSV)
    with page.expect_navigation():
        modal(page).get_by_role("button", name="Import").click()
    page.get_by_text("3 new").first.wait_for()
    shot(page, "04-imported")

    # Create the campaign in the modal, the channel from the picker, and start it.
    command(page, "campaign create", channel="#hiring-backend")
    form = modal(page)
    fields = {
        campaign_form.NAME: "Backend Q4",
        campaign_form.step_block(1, "subject"): "{{ first_name }}, a backend role at Acme?",
        campaign_form.step_block(1, "body"): "Hi {{ first_name }}, I loved your work at {{ company }}.",
        campaign_form.step_block(2, "wait"): "2",
        campaign_form.step_block(2, "body"): "Hi {{ first_name }}, any thoughts?",
        campaign_form.step_block(3, "wait"): "3",
        campaign_form.step_block(3, "body"): "Hi {{ first_name }}, last note from me.",
        campaign_form.MIN_GAP: "0",
    }
    for block_id, value in fields.items():
        form.locator(f"[name='f.{block_id}']").fill(value)
    form.locator(f"select[name='f.{campaign_form.CHANNEL}']").select_option(label="#hiring-backend")
    shot(page, "05-campaign-modal")
    with page.expect_navigation():
        form.get_by_role("button", name="Create draft").click()
    assert modal(page).count() == 0, "the campaign modal stayed open"
    command(page, "campaign start Backend Q4", channel="#hiring-backend")
    page.get_by_text("Campaign Backend Q4 started by").first.wait_for()
    shot(page, "06-started")

    # Step 1 goes out inside Berlin's window (Monday 06:00 UTC: 07:00 there); it shows in
    # Riley's Sent Items, one conversation per candidate, each message with its headers.
    fast_forward(bot, clock, MONDAY + timedelta(hours=4), timedelta(minutes=15))
    conversations = sent_items(page, bot)
    for address in ("ana@talent.example", "ben@talent.example", AWAY):
        subject = f"{address.split('@')[0].title()}, a backend role at Acme?"
        assert address in conversations.filter(has_text=subject).inner_text()
    shot(page, "06b-sent-items")
    with page.expect_navigation():
        conversations.filter(has_text="Mei, a backend role at Acme?").get_by_role("link").click()
    table = page.locator("table.headers").first
    assert AWAY in table.inner_text()
    sent_id = table.locator("tr", has_text="Message-ID").locator("td").inner_text()
    assert sent_id.startswith("<") and sent_id.endswith(">")

    # Riley plays Mei: her "Out of office" answers the email, threaded under it.
    answer = page.locator("form[action='/outlook/reply']")
    answer.locator("input[name=until]").fill("2026-03-03")
    with page.expect_navigation():
        answer.get_by_role("button", name="Out of office").click()
    page.get_by_role("cell", name="inbox", exact=True).wait_for()  # the answer, in the Inbox
    replied = page.locator("table.headers").first.locator("tr", has_text="In-Reply-To")
    assert replied.locator("td").inner_text() == sent_id
    shot(page, "06c-out-of-office")
    fast_forward(bot, clock, clock.now() + timedelta(minutes=5), timedelta(minutes=1))

    # The card is in the campaign's thread; Riley pauses Mei from it.
    page.goto(console)
    card = reply_card(page)
    card.get_by_text("Out of office").wait_for()
    shot(page, "07-reply-card")
    with page.expect_navigation():
        card.get_by_role("button", name="Pause candidate").click()
    page.goto(console)
    card = reply_card(page)
    card.get_by_role("button", name="Resume candidate").wait_for()
    shot(page, "08-paused")

    # Two weeks on: the others got all three steps, Mei nothing more.
    fast_forward(bot, clock, MONDAY + timedelta(days=14), timedelta(hours=2))
    assert len(inbox(bot, "ana@talent.example")) == 3
    assert len(inbox(bot, "ben@talent.example")) == 3
    assert len(inbox(bot, AWAY)) == 1
    page.goto(console)
    shot(page, "09-two-weeks-on")
