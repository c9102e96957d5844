"""The console's Outlook side and its clock: read what the bot sent, answer as a candidate,
bounce it, deliver an .eml, and fast-forward the bot and the sandbox together."""

from __future__ import annotations

import html
import re
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from apscheduler.events import EVENT_JOB_EXECUTED
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import select

from bot.clock import OffsetClock
from bot.models import OutboxMessage, Reply
from bot.sandbox import RECRUITER, Sandbox
from bot.sandbox.console import console_of, console_url
from bot.sandbox.console.candidate import PRESETS
from bot.sandbox.console.clock import next_business_morning, share_clock
from bot.sandbox.graph_mailbox import Message
from bot.worker import Waker, start_scheduler
from outreach import replytext
from tests.conftest import RunningBot, start_bot
from tests.e2e.replies_helpers import start_and_send, sync
from tests.e2e.test_make_run import _free_base, _url, scaleup_dev
from tests.fakes import MONDAY, FakeClock

JANA = ("jana@talent.example", "Jana", "Europe/Berlin", "DE")
MAILBOX = RECRUITER.email


class Outlook:
    """A browser on the console's Outlook pages."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.base = console_url(sandbox).rstrip("/")
        self.http = requests.Session()

    def get(self, path: str, **params: str) -> str:
        response = self.http.get(f"{self.base}{path}", params=params, timeout=10)
        assert response.status_code == 200, response.text
        return response.text

    def post(
        self, path: str, files: dict[str, Any] | None = None, **fields: str
    ) -> requests.Response:
        return self.http.post(
            f"{self.base}{path}", data={"mailbox": MAILBOX, **fields}, files=files, timeout=15
        )


def sent_message(sandbox: Sandbox) -> Message:
    [sent] = sandbox.store.sent_items(MAILBOX)
    return sent


def shown(page: str, value: str) -> bool:
    return html.escape(value, quote=True) in page or value in page


@pytest.fixture
def step1(cbot: RunningBot, clock: FakeClock) -> Message:
    """Riley's campaign sent step 1 to Jana; the Sent Items copy."""
    start_and_send(cbot, clock, [JANA])
    return sent_message(cbot.sandbox)


def test_the_outlook_view_lists_a_sent_campaign_message_with_its_headers(
    cbot: RunningBot, step1: Message
) -> None:
    outlook = Outlook(cbot.sandbox)
    assert 'href="/outlook"' in outlook.get("/", user=RECRUITER.slack_id)  # linked from Slack
    folder = outlook.get("/outlook", mailbox=MAILBOX, folder="sentitems")
    assert shown(folder, step1.subject) and step1.conversation_id in folder
    [link] = re.findall(r'href="(/outlook/message\?[^"]+)"', folder)
    page = outlook.get(html.unescape(link))
    for value in (
        step1.subject,
        step1.internet_message_id,
        step1.conversation_id,
        "jana@talent.example",
        RECRUITER.email,
    ):
        assert shown(page, value), value
    for header in ("In-Reply-To", "References", "Message-ID", "Date", "conversationId"):
        assert f"<th>{header}</th>" in page
    assert "Reply as candidate" in page and "Bounce this" in page


def test_reply_as_candidate_interested_threads_into_the_inbox_and_the_bot_reads_it(
    cbot: RunningBot, step1: Message
) -> None:
    outlook = Outlook(cbot.sandbox)
    state = outlook.http.get(f"{outlook.base}/outlook/state", params={"mailbox": MAILBOX}).json()
    answered = outlook.post("/outlook/reply", id=step1.id, preset="interested")
    # The page polls this and redraws itself when mail arrives.
    assert outlook.http.get(f"{outlook.base}/outlook/state").json() != state
    assert answered.status_code == 200 and "/outlook/message?" in answered.url
    [reply] = cbot.sandbox.store.inbox(MAILBOX)
    assert reply.in_reply_to == step1.internet_message_id
    assert reply.references[-1] == step1.internet_message_id
    assert reply.conversation_id == step1.conversation_id
    assert reply.from_ is not None and reply.from_.address == "jana@talent.example"
    assert PRESETS["interested"][1] in reply.body
    # The reply's page shows the whole conversation: what Riley sent, and the answer.
    assert shown(answered.text, step1.internet_message_id)
    assert answered.text.count('href="/outlook/message?') >= 2

    assert sync(cbot).replies == 1  # the bot finds it by its own Graph reply sync
    with cbot.db() as session:
        [row] = session.scalars(select(Reply)).all()
    assert (row.kind, row.interest) == ("reply", "interested")
    [labelled] = cbot.sandbox.store.inbox(MAILBOX)
    assert labelled.categories  # the bot labels a reply it matched: the page shows it
    page = Outlook(cbot.sandbox).get("/outlook/message", mailbox=MAILBOX, id=labelled.id)
    assert all(shown(page, c) for c in labelled.categories)


def test_out_of_office_until_a_date_and_own_words(cbot: RunningBot, step1: Message) -> None:
    outlook = Outlook(cbot.sandbox)
    outlook.post("/outlook/reply", id=step1.id, preset="out_of_office", until="2026-03-16")
    refused = outlook.post("/outlook/reply", id=step1.id, preset="text", text="  ")
    assert "Type the candidate&#39;s answer first." in refused.text
    outlook.post("/outlook/reply", id=step1.id, preset="text", text="Call me on Friday?")
    away, own = cbot.sandbox.store.inbox(MAILBOX)
    assert away.subject == f"Automatic reply: {step1.subject}"
    assert away.header("Auto-Submitted") == "auto-replied" and "16 March 2026" in away.body
    assert (
        own.body.startswith("Call me on Friday?") and own.in_reply_to == step1.internet_message_id
    )


@pytest.mark.parametrize(("kind", "status"), [("hard", "5.1.1"), ("soft", "4.2.2")])
def test_bounce_this_puts_an_ndr_naming_the_recipient_in_the_inbox(
    cbot: RunningBot, step1: Message, kind: str, status: str
) -> None:
    bounced = Outlook(cbot.sandbox).post("/outlook/bounce", id=step1.id, kind=kind)
    assert bounced.status_code == 200
    [ndr] = cbot.sandbox.store.inbox(MAILBOX)
    assert ndr.from_ is not None and ndr.from_.address.startswith("postmaster@")
    assert "jana@talent.example" in ndr.body and status in ndr.body
    assert step1.internet_message_id in (ndr.in_reply_to or "") + " ".join(ndr.references)


EML = (
    "From: Jana Novak <jana.private@mail.example>\r\n"
    "To: Riley Chen <riley.chen@acme.test>\r\n"
    "Subject: My CV, as promised\r\n"
    "Message-ID: <cv-1@mail.example>\r\n"
    "Date: Mon, 02 Mar 2026 10:00:00 +0000\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "\r\n"
    "Attached in spirit.\r\n"
)


def test_an_uploaded_eml_is_delivered_free_standing_or_as_an_answer(
    cbot: RunningBot, step1: Message
) -> None:
    outlook = Outlook(cbot.sandbox)
    alone = outlook.post("/outlook/eml", files={"eml": ("cv.eml", EML.encode())})
    assert alone.status_code == 200 and "My CV, as promised" in alone.text
    answer = EML.replace("cv-1@", "cv-2@")
    outlook.post("/outlook/eml", files={"eml": ("a.eml", answer.encode())}, in_reply_to=step1.id)
    empty = outlook.post("/outlook/eml", files={"eml": ("e.eml", b"")})
    assert "Choose an .eml file to deliver." in empty.text
    first, second = cbot.sandbox.store.inbox(MAILBOX)
    assert first.internet_message_id == "<cv-1@mail.example>" and first.in_reply_to is None
    assert second.in_reply_to == step1.internet_message_id
    assert second.conversation_id == step1.conversation_id


def test_posts_from_another_site_are_refused(cbot: RunningBot, step1: Message) -> None:
    sandbox = cbot.sandbox
    control = share_clock(sandbox, OffsetClock(FakeClock(MONDAY)))
    outlook = Outlook(sandbox)
    outlook.http.headers.update({"Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"})
    for path, fields in (
        ("/outlook/reply", {"id": step1.id, "preset": "interested"}),
        ("/outlook/bounce", {"id": step1.id, "kind": "hard"}),
        ("/outlook/eml", {}),
        ("/console/clock", {"step": "day"}),
    ):
        files = {"eml": ("cv.eml", EML.encode())} if path.endswith("eml") else None
        assert outlook.post(path, files=files, **fields).status_code == 403, path
    assert sandbox.store.inbox(MAILBOX) == []
    assert control.clock.offset == timedelta(0)


def test_offset_clock_moves_only_forward() -> None:
    base = FakeClock(MONDAY)
    clock = OffsetClock(base)
    assert clock.now() == MONDAY
    assert clock.advance(timedelta(hours=1)) == MONDAY + timedelta(hours=1)
    with pytest.raises(ValueError, match="only moves forward"):
        clock.advance(timedelta(seconds=-1))
    assert clock.advance_to(MONDAY) == MONDAY + timedelta(hours=1)  # the past: stays
    assert clock.advance_to(MONDAY + timedelta(days=2)) == MONDAY + timedelta(days=2)
    base.advance(minutes=5)  # the base keeps running underneath
    assert clock.now() == MONDAY + timedelta(days=2, minutes=5)
    assert clock.offset == timedelta(days=2)


@pytest.mark.parametrize(
    ("now", "morning"),
    [
        (datetime(2026, 3, 2, 6, 0, tzinfo=UTC), datetime(2026, 3, 2, 9, 0, tzinfo=UTC)),
        (datetime(2026, 3, 2, 9, 0, tzinfo=UTC), datetime(2026, 3, 3, 9, 0, tzinfo=UTC)),
        (datetime(2026, 3, 6, 10, 0, tzinfo=UTC), datetime(2026, 3, 9, 9, 0, tzinfo=UTC)),
        (datetime(2026, 3, 7, 8, 0, tzinfo=UTC), datetime(2026, 3, 9, 9, 0, tzinfo=UTC)),
    ],
)
def test_next_business_morning_skips_weekends(now: datetime, morning: datetime) -> None:
    assert next_business_morning(now, UTC) == morning


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_the_presets_read_as_their_label_to_the_bot(preset: str) -> None:
    text = PRESETS[preset][1]
    if preset == "unsubscribe":
        assert replytext.unsubscribe_phrase(text)
    else:
        assert replytext.unsubscribe_phrase(text) is None
        assert replytext.interest(text).label == preset


def test_without_a_shared_clock_the_page_shows_the_time_and_no_buttons(
    cbot: RunningBot, clock: FakeClock
) -> None:
    outlook = Outlook(cbot.sandbox)
    page = outlook.get("/", user=RECRUITER.slack_id)
    assert "Mon 02 Mar 2026, 06:00 UTC" in page and 'action="/console/clock"' not in page
    assert outlook.post("/console/clock", step="day").status_code == 409


# ---- scaleup dev's wiring: one clock, the console moves it, the worker ticks -------------


@pytest.fixture
def dev_bot(
    sandbox: Sandbox, database_url: str, tmp_path: Path
) -> Iterator[tuple[RunningBot, FakeClock]]:
    """The bot as ``scaleup dev`` wires it: an OffsetClock (over a fake base, so the send
    window is the same every run), the sandbox on it, the real scheduler waking on moves."""
    base = FakeClock(MONDAY)
    clock = OffsetClock(base)
    running, server = start_bot(
        sandbox,
        {"DATABASE_URL": database_url, "SCALEUP_DATA_DIR": str(tmp_path / "data")},
        clock=clock,
    )
    yield running, base
    server.stop()
    running.container.close()


def wait_for(seen: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not seen():
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_moving_the_console_clock_sends_the_follow_up_on_the_next_tick(
    dev_bot: tuple[RunningBot, FakeClock],
) -> None:
    bot, base = dev_bot
    start_and_send(bot, base, [JANA])  # step 1 on Monday 08:30 UTC
    ticked = threading.Event()
    scheduler = start_scheduler(bot.container)  # its first ticks run at once
    scheduler.add_listener(lambda e: e.job_id == "dispatch" and ticked.set(), EVENT_JOB_EXECUTED)
    try:
        # The next interval tick is 15 s away: the follow-up can only go out sooner (within
        # wait_for's 10 s) because moving the clock wakes the ticks.
        assert ticked.wait(10)
        assert isinstance(bot.container.clock, OffsetClock)
        control = share_clock(bot.sandbox, bot.container.clock, wake=Waker(scheduler), zone=UTC)
        assert console_of(bot.sandbox).clock is control
        with bot.db() as session:
            due = session.scalars(
                select(OutboxMessage.due_at).where(OutboxMessage.step_position == 2)
            ).one()
        console = Outlook(bot.sandbox)
        page = console.http.post(
            f"{console.base}/console/clock",
            data={"step": "day", "back": "/outlook?folder=sentitems"},
            timeout=10,
        )
        assert (
            page.url.endswith("/outlook?folder=sentitems") and "Tue 03 Mar 2026, 08:30" in page.text
        )
        assert due.replace(tzinfo=UTC) > control.clock.now()  # Wednesday: not yet
        for _ in range(2):  # Tuesday 09:00, then Wednesday 09:00
            console.http.post(f"{console.base}/console/clock", data={"step": "morning"}, timeout=10)
        assert control.clock.now() == datetime(2026, 3, 4, 9, 0, tzinfo=UTC)
        wait_for(lambda: len(bot.sandbox.store.sent_items(MAILBOX)) == 2)
        follow_up = bot.sandbox.store.sent_items(MAILBOX)[1]
        assert follow_up.subject == "Following up"
        assert follow_up.sent is not None and follow_up.sent.date() == date(2026, 3, 4)
    finally:
        scheduler.shutdown(wait=True)


def test_a_wake_during_a_running_tick_runs_it_again_when_it_ends() -> None:
    scheduler = BackgroundScheduler(timezone="UTC")
    release, runs = threading.Event(), []

    def dispatch() -> None:
        runs.append(time.monotonic())
        release.wait(10)

    for name in Waker.jobs:
        job = dispatch if name == "dispatch" else (lambda: None)
        start = datetime.now(UTC)
        scheduler.add_job(job, "interval", hours=1, id=name, max_instances=1, next_run_time=start)
    scheduler.start()
    try:
        wait_for(lambda: len(runs) == 1)  # the first tick is under way
        Waker(scheduler)()  # APScheduler skips this run: the tick is still going
        time.sleep(0.3)
        release.set()
        wait_for(lambda: len(runs) == 2)  # not an hour later: right after the first ended
    finally:
        scheduler.shutdown(wait=True)


def test_scaleup_dev_shares_its_clock_with_the_console(tmp_path: Path) -> None:
    with scaleup_dev(tmp_path, _free_base()) as (_dev, banner):
        console = _url(banner, "Slack console:").rstrip("/")
        before = requests.get(f"{console}/outlook", timeout=10).text
        assert 'action="/console/clock"' in before and "Riley Chen" in before
        moved = requests.post(
            f"{console}/console/clock", data={"step": "day", "back": "/outlook"}, timeout=10
        )
        assert moved.url == f"{console}/outlook"
        shown_at = [
            datetime.fromisoformat(t)
            for page in (before, moved.text)
            for t in re.findall(r'<time datetime="([^"]+)"', page)[:1]
        ]
        assert shown_at[1] - shown_at[0] >= timedelta(days=1)


@pytest.mark.parametrize("back", ["//evil.example/x", "https://evil.example/", "/\\evil.example"])
def test_the_clock_goes_back_only_to_a_console_page(bot: RunningBot, back: str) -> None:
    control = share_clock(bot.sandbox, OffsetClock())
    console = Outlook(bot.sandbox)
    moved = console.http.post(
        f"{console.base}/console/clock", data={"step": "hour", "back": back}, timeout=10
    )
    assert moved.url == f"{console.base}/" and control.clock.offset == timedelta(hours=1)
