"""``scaleup demo``: the whole product in one process, on a fresh database and sandbox.

A scripted recruiter (Riley, in the sandbox Slack) connects Outlook through the sandbox
sign-in page, imports 20 sample candidates by pasting a CSV into the import modal,
creates a 3-step campaign in the campaign modal and starts it. The worker's own jobs
(:func:`bot.worker.ticks`) then run while a clock the demo owns moves on two weeks; along
the way candidates answer through the sandbox's inbound mail (interested, not interested,
out of office, a hard bounce, an unsubscribe request). At the end it prints the
campaign's Slack thread as text and ``/scaleup campaign status``.

Every step goes through the same signed Slack requests, HTTP servers and worker code as a
real deployment; only the clock and the servers behind Slack and Microsoft are the
sandbox's. Nothing is kept: the database and sandbox live in a temporary directory.
"""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any, TextIO

from cryptography.fernet import Fernet

from bot.container import Container, build
from bot.db import make_engine, upgrade
from bot.demo_transcript import message_lines, thread_transcript
from bot.sandbox import RECRUITER, Sandbox
from bot.sandbox.browser import ConsentBrowser
from bot.sandbox.inbound import Inbound
from bot.sandbox.server import RunningServer, serve
from bot.sandbox.slack import JSON
from bot.sandbox.slack_driver import SlackDriver
from bot.sandbox.testing import find_button_url
from bot.settings import Settings
from bot.worker import ticks
from handlers import campaign_form, shortlist_blocks
from outreach.htmltext import html_to_text

#: Monday 2 March 2026, 07:00 UTC: the demo's "now" when it starts.
START = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)
CAMPAIGN, CHANNEL = "Backend Q4", "hiring-backend"
STEPS = [
    (
        "{{ first_name }}, a backend role at Acme?",
        "Hi {{ first_name }},\nI enjoyed reading about your work at {{ company }}. We are hiring a senior backend engineer; would you be open to a short call?\n{{ sender_name }}",
        "",
    ),
    ("", "Hi {{ first_name }}, just checking in on my note from Monday.\n{{ sender_name }}", "2"),
    ("", "Hi {{ first_name }}, last note from me: the door stays open.\n{{ sender_name }}", "3"),
]


class ManualClock:
    """A :class:`bot.clock.Clock` that moves only when :meth:`advance` is called."""

    def __init__(self, start: datetime) -> None:
        self._now, self._lock = start, threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, step: timedelta) -> None:
        with self._lock:
            self._now += step


class _LateApp:
    """The bot's WSGI app, set once the server knows its URL."""

    app: Any = None

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        return self.app(environ, start_response)


class Demo:
    """The sandbox, the bot on loopback and the scripted recruiter."""

    def __init__(self, workdir: Path, out: TextIO) -> None:
        self.out, self.clock = out, ManualClock(START)
        self.sandbox = Sandbox.start(workdir / "sandbox")
        self.sandbox.identity_clock.follow(self.clock)
        self.sandbox.store.clock = self.clock.now
        late = _LateApp()
        self.server: RunningServer = serve(late, name="demo-web")
        env = {
            "DATABASE_URL": f"sqlite:///{workdir}/scaleup.db",
            "SCALEUP_DATA_DIR": str(workdir / "data"),
            "PUBLIC_URL": self.server.url,
            "TOKEN_ENCRYPTION_KEYS": Fernet.generate_key().decode(),  # no key file to warn of
        }
        settings = self.sandbox.configure(Settings.from_env(env))
        engine = make_engine(settings.database_url)
        upgrade(engine)
        engine.dispose()
        self.container: Container = build(settings, clock=self.clock)
        late.app = self.container.web
        self.slack: SlackDriver = self.sandbox.attach_bot(self.server.url + "/slack/events")
        self.browser = ConsentBrowser(str(self.sandbox.certs.ca_path))
        self.mail = Inbound(self.sandbox.store)
        self.jobs = [job for job, _ in ticks(self.container).values()]
        self.team = self.sandbox.workspace.team_id

    def stop(self) -> None:
        self.server.stop()
        self.container.close()
        self.sandbox.stop()

    # -- what the recruiter does ---------------------------------------------------------
    def say(self, line: str) -> None:
        print(line, file=self.out, flush=True)

    def wait(self, found: Callable[[], Any], timeout: float = 10.0) -> Any:
        return self.sandbox.slack.wait_for(found, timeout)

    def dms_after(self, count: int) -> list[JSON]:
        return self.sandbox.slack.dm_messages(self.team, RECRUITER.slack_id)[count:]

    def command(self, text: str, channel: str | None = None) -> JSON:
        """``/scaleup text`` as Riley, and what Slack shows her: the ack, else the response."""
        before = len(self.sandbox.slack.responses())
        answer = self.slack.slash(RECRUITER.slack_id, text, channel_id=channel)
        if answer.headers.get("content-type", "").startswith("application/json"):
            return dict(answer.json())
        if answer.text:
            return {"text": answer.text}
        return dict(self.wait(lambda: self.sandbox.slack.responses()[before:])[-1])

    def connect(self) -> None:
        before = len(self.sandbox.slack.responses())
        self.slack.slash(RECRUITER.slack_id, f"connect {RECRUITER.email}")
        url = self.wait(lambda: find_button_url(self.sandbox.slack.responses()[before:]))
        answer = self.browser.open(url).accept(RECRUITER.email).follow()
        if answer.status_code != 200:
            raise RuntimeError(f"the sign-in ended with HTTP {answer.status_code}")
        self.say(f"1. Riley connects Outlook ({RECRUITER.email}) through the sign-in page.")

    def import_shortlist(self) -> None:
        csv = resources.files("bot").joinpath("demo_candidates.csv").read_text("utf-8")
        before = len(self.sandbox.slack.dm_messages(self.team, RECRUITER.slack_id))
        self.slack.slash(RECRUITER.slack_id, "shortlist create backend")
        view = self.wait(lambda: self.sandbox.slack.last_view(RECRUITER.slack_id))
        self.slack.submit_view(RECRUITER.slack_id, view, {shortlist_blocks.CSV_BLOCK: csv})
        report = self.wait(
            lambda: [m for m in self.dms_after(before) if "Importing" not in m.get("text", "")]
        )[-1]
        self.say("2. She pastes 20 candidates into the import modal: " + report["text"])

    def create_and_start(self) -> str:
        channel = self.sandbox.slack.channel_id(self.team, CHANNEL)
        self.slack.slash(RECRUITER.slack_id, "campaign create", channel_id=channel)
        view = self.wait(lambda: self.sandbox.slack.last_view(RECRUITER.slack_id))
        form: dict[str, Any] = {campaign_form.NAME: CAMPAIGN, campaign_form.CHANNEL: channel, campaign_form.MIN_GAP: "0"}
        for number, (subject, body, wait) in enumerate(STEPS, start=1):
            form[campaign_form.step_block(number, "body")] = body
            if subject:
                form[campaign_form.step_block(number, "subject")] = subject
            if wait:
                form[campaign_form.step_block(number, "wait")] = wait
        answer = self.slack.submit_view(RECRUITER.slack_id, view, form)
        if answer.content:
            raise RuntimeError(f"the campaign modal was refused: {answer.text}")
        started = self.command(f"campaign start {CAMPAIGN}", channel)
        [parent] = self.wait(lambda: self.sandbox.slack.messages(channel))
        self.say(
            f"3. She creates a 3-step campaign in the modal and starts it in #{CHANNEL}: "
            + " ".join(message_lines(started, self._name))
        )
        return str(parent["ts"])

    # -- time and the candidates -----------------------------------------------------------
    def run_until(self, end: datetime, step: timedelta = timedelta(minutes=30)) -> None:
        """Run every worker job, move the clock by ``step``, until it reaches ``end``."""
        while self.clock.now() < end:
            for job in self.jobs:
                job()
            self.clock.advance(step)
        for job in self.jobs:
            job()

    def sent_id(self, to: str, step: int = 1) -> str:
        sent = [m for m in self.sandbox.store.sent_items(RECRUITER.email) if m.to[0].address == to]
        return sent[step - 1].internet_message_id

    def answers(self) -> None:
        box, mail = RECRUITER.email, self.mail
        mail.reply(
            box,
            self.sent_id("jana.novak@talent.example"),
            text="Yes, I'm interested! I'm free on Thursday afternoon.",
        )
        mail.reply(
            box,
            self.sent_id("omar.haddad@talent.example"),
            text="Thanks for reaching out, but I'm not interested. I'm happy where I am.",
        )
        mail.out_of_office(box, self.sent_id("mei.tanaka@talent.example"), until=date(2026, 3, 6))
        mail.bounce(box, self.sent_id("lars.berg@talent.example"), hard=True)
        mail.reply(
            box,
            self.sent_id("priya.rao@talent.example"),
            text="Please remove me from your mailing list.",
        )
        self.say(
            "5. Five candidates answer: interested, not interested, out of office, a bounce, unsubscribe."
        )

    def _name(self, slack_id: str) -> str:
        """A person's real name or a channel's name, as Slack shows a mention."""
        person = self.sandbox.people.get(slack_id)
        if person is not None:
            return person.real_name
        return self.sandbox.slack.channel_name(self.team, slack_id) or slack_id

    def show_email(self, to: str) -> None:
        """Step 1 as the candidate's mail client shows it."""
        got = self.sandbox.store.inbox(to)[0]
        body = html_to_text(got.body) if got.body_type == "html" else got.body
        sender = got.from_.address if got.from_ else ""
        self.say(f"── Step 1 in {to}'s inbox ──")
        self.say(f"From: {sender}\nTo: {to}\nSubject: {got.subject}\n\n{body.strip()}\n")

    # -- the scenario ----------------------------------------------------------------------
    def play(self) -> None:
        self.say(
            f"ScaleUp demo: a fresh sandbox, the clock starts on {START:%A %d %B %Y, %H:%M} UTC.\n"
        )
        self.connect()
        self.import_shortlist()
        parent_ts = self.create_and_start()
        self.run_until(START + timedelta(hours=8))
        self.say("4. The worker sends step 1 inside each candidate's 9-17 window.\n")
        self.show_email("jana.novak@talent.example")
        self.answers()
        self.run_until(START + timedelta(days=2, hours=6))
        self.mail.reply(
            RECRUITER.email,
            self.sent_id("kofi.mensah@talent.example", 2),
            text="Sounds interesting, happy to chat next week.",
        )
        self.say("6. Two days on, step 2 goes out; Kofi answers it with interest.")
        self.run_until(START + timedelta(days=14), step=timedelta(hours=1))
        self.say("7. The clock runs two weeks on: step 3 goes out to those who never answered.\n")
        channel = self.sandbox.slack.channel_id(self.team, CHANNEL)
        self.say(f"── The campaign's thread in #{CHANNEL} ──")
        for line in thread_transcript(self.sandbox.slack.messages(channel), parent_ts, self._name):
            self.say(line)
        status = self.command(f"campaign status {CAMPAIGN}")
        self.say(f"\n── /scaleup campaign status {CAMPAIGN} ──")
        for line in message_lines(status, self._name):
            self.say(line)


def run(out: TextIO) -> int:
    """Play the scenario in a temporary directory, printing to ``out``; the exit status."""
    with tempfile.TemporaryDirectory(prefix="scaleup-demo-") as workdir:
        demo = Demo(Path(workdir), out)
        try:
            demo.play()
        finally:
            demo.stop()
    return 0
