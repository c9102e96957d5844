"""Issue 7's first run, in a real browser: a new user sees the whole campaign work.

Riley, new to ScaleUp, connects Outlook, drops LinkedIn's ``Connections.csv`` export into
the DM with ScaleUp (the console's file upload), creates a 2-step campaign with the reply
channel from the picker, starts it, and presses the clock control's "next business
morning": step 1 goes out, the campaign's parent message in #recruiting shows the live
counters, and Riley's Sent Items in the console's Outlook side hold the emails, each with
its headers. No id is typed by hand.

The bot is wired as ``scaleup dev`` wires it: one :class:`~bot.clock.OffsetClock` for the
bot and the sandbox, and the real worker scheduler, which the clock control wakes. Its
base runs at the machine's pace from Monday 06:00 UTC, so every run sends at the same
sandbox times while the Slack poster's one-a-second pacing still passes.
Screenshots: ``tests/artifacts/first-run-*.png``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from bot.clock import OffsetClock
from bot.sandbox import RECRUITER, Sandbox
from bot.sandbox.console import console_url
from bot.sandbox.console.clock import share_clock
from bot.worker import Waker, start_scheduler
from handlers import campaign_form
from tests.browser.steps import command, connect_outlook, modal, move_clock, shot
from tests.conftest import RunningBot, start_bot
from tests.fakes import MONDAY

LINKEDIN = Path(__file__).parents[1] / "inputs" / "linkedin-connections.csv"
#: The export's connections that have an address (Omar's row has none).
REACHABLE = {"jana.novak@talent.example": "Jana", "mei.tanaka@talent.example": "Mei"}


class FromMonday:
    """The machine's time as if the test had started on :data:`MONDAY` (06:00 UTC)."""

    def __init__(self) -> None:
        self._started = time.monotonic()

    def now(self) -> datetime:
        return MONDAY + timedelta(seconds=time.monotonic() - self._started)


@pytest.fixture
def dev_bot(sandbox: Sandbox, tmp_path: Path) -> Iterator[RunningBot]:
    """The bot, sandbox, clock control and worker as ``scaleup dev`` runs them (SQLite)."""
    clock = OffsetClock(FromMonday())
    env = {"DATABASE_URL": f"sqlite:///{tmp_path}/scaleup.db", "SCALEUP_DATA_DIR": str(tmp_path)}
    bot, server = start_bot(sandbox, env, clock=clock)
    scheduler = start_scheduler(bot.container)
    share_clock(sandbox, clock, wake=Waker(scheduler), zone=UTC)
    yield bot
    scheduler.shutdown(wait=True)
    server.stop()
    bot.container.close()


def parent_message(page: Any) -> Any:
    """The campaign's parent message in #recruiting, as the console shows it."""
    entries = page.locator(".entry").filter(has_text="#recruiting")
    return entries.filter(has_text="Campaign Backend Q4 started by").first


def test_a_new_user_imports_linkedin_and_sees_step_1_go_out(page: Any, dev_bot: RunningBot) -> None:
    bot = dev_bot
    console = console_url(bot.sandbox) + f"?user={RECRUITER.slack_id}"
    page.goto(console)
    connect_outlook(page, bot, "first-run-01")

    # LinkedIn's export, dropped into the DM as it comes (a Notes: preamble, then the header).
    page.goto(console)
    page.locator("section.upload input[name=file]").set_input_files(str(LINKEDIN))
    with page.expect_navigation():
        page.locator("section.upload").get_by_role("button", name="Share file").click()
    page.get_by_text("Shortlist linkedin-connections: 2 new, 0 updated candidates.").wait_for()
    page.get_by_text("Row 6: has no email address").first.wait_for()
    shot(page, "first-run-02-linkedin-imported")

    # A 2-step campaign; the reply channel comes from the picker.
    command(page, "campaign create")
    form = modal(page)
    fields = {
        campaign_form.NAME: "Backend Q4",
        campaign_form.step_block(1, "subject"): "{{ first_name }}, a backend role at Acme?",
        campaign_form.step_block(1, "body"): "Hi {{ FirstName }}, I loved your work at {{ Company }}.",
        campaign_form.step_block(2, "body"): "Hi {{ first_name }}, any thoughts?",
    }
    for block_id, value in fields.items():
        form.locator(f"[name='f.{block_id}']").fill(value)
    picker = form.locator(f"select[name='f.{campaign_form.CHANNEL}']")
    assert "#recruiting" in picker.locator("option").all_inner_texts()
    picker.select_option(label="#recruiting")
    shot(page, "first-run-03-campaign-modal")
    with page.expect_navigation():
        form.get_by_role("button", name="Create draft").click()
    assert modal(page).count() == 0, page.locator("p.error").all_inner_texts()
    command(page, "campaign start Backend Q4")
    parent = parent_message(page)
    parent.get_by_text("Nothing sent yet.").wait_for()
    shot(page, "first-run-04-started")

    # The next business morning (Monday 09:00 UTC, 10:00 in Riley's Berlin): step 1 goes
    # out, one email a minute (the modal's default spacing); an hour on, both are sent.
    move_clock(page, "next business morning")
    parent_message(page).get_by_text("Sent: step 1 1").wait_for(timeout=20_000)
    move_clock(page, "+1 hour")
    parent = parent_message(page)
    parent.get_by_text("Sent: step 1 2 ·").wait_for(timeout=20_000)
    assert "failed 0 · pending 2" in parent.inner_text()  # step 2 waits 3 business days
    shot(page, "first-run-05-counters")

    # Riley's Sent Items in the console's Outlook side: both emails, with their headers.
    mailbox = {"mailbox": RECRUITER.email}
    page.goto(console_url(bot.sandbox) + "outlook?" + urlencode({**mailbox, "folder": "sentitems"}))
    conversations = page.locator(".conversation")
    for address, first in REACHABLE.items():
        sent = conversations.filter(has_text=f"{first}, a backend role at Acme?")
        assert address in sent.inner_text()
    shot(page, "first-run-06-sent-items")
    conversations.filter(has_text="Jana, a backend role at Acme?").get_by_role("link").click()
    headers = page.locator("table.headers")
    headers.get_by_text("jana.novak@talent.example").first.wait_for()
    assert "Message-ID" in headers.inner_text()
    assert "Mon 02 Mar 2026" in headers.inner_text()  # sent on the sandbox's clock
    assert "Hi Jana, I loved your work at Initech." in page.locator(".body").first.inner_text()
    shot(page, "first-run-07-sent-message")
