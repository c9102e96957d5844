"""A recruiter's whole flow in a real browser, against the bot and sandbox on loopback.

Chromium opens the sandbox console: Riley connects Outlook through the sandbox Microsoft
sign-in page, pastes a shortlist into the import modal, creates a 3-step campaign in the
campaign modal (channel from the picker) and starts it. The worker's jobs run in-process
on a fake clock; a candidate answers "out of office" through the sandbox's inbound HTTP
route; the reply card shows in the campaign's thread in the console, Riley clicks
"Pause candidate", and two weeks on, every other candidate got the follow-ups and the
paused one none. Screenshots: ``tests/artifacts/walkthrough-*.png``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from bot.sandbox import RECRUITER, Sandbox
from bot.sandbox.console import console_url
from bot.worker import ticks
from handlers import campaign_blocks as cb
from tests.browser.conftest import ARTIFACTS
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
    page.screenshot(path=str(ARTIFACTS / f"walkthrough-{name}.png"), full_page=True)
    # A full-page capture leaves the page scrolled where Playwright does not expect it;
    # the next click would land beside its target.
    page.evaluate("() => window.scrollTo(0, 0)")


def command(page: Any, text: str, channel: str | None = None) -> None:
    """Type ``/scaleup text`` in the console (in ``channel``, a label like ``#x``) and send."""
    compose = page.locator("section.compose form", has=page.locator("input[name=text]"))
    compose.locator("input[name=text]").fill(text)
    if channel:
        compose.locator("select[name=channel]").select_option(label=channel)
    with page.expect_navigation():
        compose.get_by_role("button", name="Send").click()


def modal(page: Any) -> Any:
    return page.locator("section.modal")


def reply_card(page: Any) -> Any:
    """Mei's reply card in the campaign's thread."""
    entries = page.locator(".entry").filter(has_text="#hiring-backend")
    return entries.filter(has_text=AWAY).filter(has_text="answered step 1").first


def inbox(bot: RunningBot, address: str) -> list[str]:
    """Subjects in the candidate's mailbox (the sandbox's Python API; TODO: the console's
    Outlook view once it lands)."""
    return [m.subject for m in bot.sandbox.store.inbox(address)]


def test_walkthrough_in_chromium(page: Any, running: RunningBot, clock: FakeClock) -> None:
    bot = running
    console = console_url(bot.sandbox) + f"?user={RECRUITER.slack_id}"
    page.goto(console)
    assert page.title().startswith("Sandbox Slack")
    shot(page, "01-console")

    # Connect: the sign-in button opens the sandbox Microsoft page in a new tab.
    command(page, f"connect {RECRUITER.email}")
    sign_in = page.get_by_role("link", name="Sign in with Microsoft").first
    with page.context.expect_page() as opened:
        sign_in.click()
    microsoft = opened.value
    microsoft.wait_for_load_state()
    assert microsoft.url.startswith("https://")
    assert microsoft.locator("input[name=username]").input_value() == RECRUITER.email
    shot(microsoft, "02-microsoft-consent")
    microsoft.get_by_role("button", name="Accept").click()
    microsoft.wait_for_url(f"{bot.url}/**")
    microsoft.get_by_text("Outlook connected").wait_for()
    shot(microsoft, "03-connected")
    microsoft.close()

    # Import a shortlist: paste the CSV in the modal.
    command(page, "shortlist create backend")
    modal(page).locator(f"textarea[name='f.{cb.CSV_BLOCK}']").fill(CSV)
    with page.expect_navigation():
        modal(page).get_by_role("button", name="Import").click()
    page.get_by_text("3 new").first.wait_for()
    shot(page, "04-imported")

    # Create the campaign in the modal, the channel from the picker, and start it.
    command(page, "campaign create", channel="#hiring-backend")
    form = modal(page)
    fields = {
        cb.NAME: "Backend Q4",
        cb.step_block(1, "subject"): "{{ first_name }}, a backend role at Acme?",
        cb.step_block(1, "body"): "Hi {{ first_name }}, I loved your work at {{ company }}.",
        cb.step_block(2, "wait"): "2",
        cb.step_block(2, "body"): "Hi {{ first_name }}, any thoughts?",
        cb.step_block(3, "wait"): "3",
        cb.step_block(3, "body"): "Hi {{ first_name }}, last note from me.",
        cb.MIN_GAP: "0",
    }
    for block_id, value in fields.items():
        form.locator(f"[name='f.{block_id}']").fill(value)
    form.locator(f"select[name='f.{cb.CHANNEL}']").select_option(label="#hiring-backend")
    shot(page, "05-campaign-modal")
    with page.expect_navigation():
        form.get_by_role("button", name="Create draft").click()
    assert modal(page).count() == 0, "the campaign modal stayed open"
    command(page, "campaign start Backend Q4", channel="#hiring-backend")
    page.get_by_text("Campaign Backend Q4 started by").first.wait_for()
    shot(page, "06-started")

    # Step 1 goes out inside Berlin's window (Monday 06:00 UTC: 07:00 there).
    fast_forward(bot, clock, MONDAY + timedelta(hours=4), timedelta(minutes=15))
    for address in ("ana@talent.example", "ben@talent.example", AWAY):
        assert inbox(bot, address) == [f"{address.split('@')[0].title()}, a backend role at Acme?"]

    # Mei's mail system answers through the sandbox's inbound HTTP route.
    [sent] = [m for m in bot.sandbox.store.sent_items(RECRUITER.email) if m.to[0].address == AWAY]
    answer = requests.post(
        f"{bot.sandbox.graph_server.url}/sandbox/inbound/out-of-office",
        json={
            "to": RECRUITER.email,
            "in_reply_to": sent.internet_message_id,
            "until": "2026-03-03",
        },
        timeout=10,
    )
    assert answer.status_code == 201, answer.text
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
