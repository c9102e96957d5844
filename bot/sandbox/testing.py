"""What tests, benchmarks and the demo share to drive a bot against the sandbox.

A fake clock; the bot's web app served on loopback and wired to an in-process
:class:`~bot.sandbox.Sandbox` (:func:`start_bot`); and the building blocks of a campaign
run: a mailbox connected through Slack and the sandbox sign-in, a shortlist, a campaign,
a dispatcher. Everything here goes through the bot's real seams (HTTP, the services of
:class:`~bot.container.Container`), never around them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time
from time import sleep
from typing import Any

from sqlalchemy import select

from bot.clock import Clock, FakeClock
from bot.container import Container, build
from bot.db import SessionFactory, make_engine, transaction, upgrade
from bot.models import Candidate, Mailbox, OutboxMessage, Shortlist
from bot.sandbox import Person, Sandbox
from bot.sandbox.browser import ConsentBrowser, Redirect
from bot.sandbox.server import RunningServer, serve
from bot.sandbox.slack_driver import SlackDriver
from bot.settings import Settings
from bot.slack_poster import SlackPoster
from handlers import mailbox_blocks
from outreach.campaigns import CampaignSpec, StepSpec
from outreach.dispatch import Checkpoint, DispatchConfig, Dispatcher
from outreach.schedule import SendWindow
from outreach.sequencing import CampaignSequencer

#: The sandbox workspace's team id.
TEAM = "T0SANDBOX1"
#: Monday 2 March 2026, 06:00 UTC: 07:00 in Berlin, 01:00 in New York, 15:00 in Tokyo.
MONDAY = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)

__all__ = [
    "EVERYDAY",
    "MONDAY",
    "TEAM",
    "THREE_STEPS",
    "FakeClock",
    "LateApp",
    "RunningBot",
    "connect",
    "create_campaign",
    "dispatcher",
    "find_button_url",
    "mailbox_id",
    "outbox",
    "post_slack",
    "seed_shortlist",
    "sign_in",
    "start_bot",
    "start_connect",
]


# -- the bot on loopback -------------------------------------------------------------------


class LateApp:
    """A WSGI app whose target is set after the server knows its port."""

    def __init__(self) -> None:
        self.app: Any = None

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        return self.app(environ, start_response)


@dataclass
class RunningBot:
    """The bot's web process on loopback, wired to the sandbox."""

    url: str
    settings: Settings
    container: Container
    sandbox: Sandbox
    slack: SlackDriver
    browser: ConsentBrowser

    @property
    def db(self) -> SessionFactory:
        return self.container.db


def start_bot(
    sandbox: Sandbox, env: dict[str, str], clock: Clock | None = None
) -> tuple[RunningBot, RunningServer]:
    """Serve the bot's web app on loopback with ``env``, unset services pointed at the sandbox.

    With ``clock``, the sandbox's tokens expire on that clock too, as the bot reads it.
    """
    if clock is not None:
        sandbox.identity_clock.follow(clock)
    late = LateApp()
    if clock is not None:
        sandbox.store.clock = clock.now  # the sandbox's Exchange lives on the bot's clock
        # ... and so do Slack's rate limits: a Retry-After waited out on the fake clock
        # must find the bucket refilled.
        sandbox.slack.rate_limits.clock = lambda: clock.now().timestamp()
    server = serve(late, name="bot-web")
    settings = sandbox.configure(Settings.from_env({**env, "PUBLIC_URL": server.url}))
    engine = make_engine(settings.database_url)
    upgrade(engine)
    engine.dispose()
    container = build(settings, clock=clock)
    late.app = container.web
    driver = sandbox.attach_bot(server.url + "/slack/events")
    browser = ConsentBrowser(str(sandbox.certs.ca_path))
    return RunningBot(server.url, settings, container, sandbox, driver, browser), server


# -- connecting a mailbox ------------------------------------------------------------------


def find_button_url(posted: list[dict[str, Any]]) -> str | None:
    """The URL of the first "Sign in with Microsoft" button in ``posted`` messages."""
    for message in posted:
        for block in message.get("blocks") or []:
            for element in block.get("elements") or []:
                if element.get("action_id") == mailbox_blocks.SIGN_IN:
                    return str(element["url"])
    return None


def start_connect(bot: RunningBot, user_id: str, email: str) -> str:
    """``/scaleup connect EMAIL`` and the sign-in URL the bot answers with."""
    before = len(bot.sandbox.slack.responses())
    response = bot.slack.slash(user_id, f"connect {email}")
    assert response.status_code == 200
    url = bot.sandbox.slack.wait_for(
        lambda: find_button_url(bot.sandbox.slack.responses()[before:])
    )
    assert url is not None  # wait_for returns only something truthy
    return url


def sign_in(bot: RunningBot, url: str, username: str) -> Redirect:
    """Open the sign-in ``url`` in the bot's browser and accept as ``username``."""
    page = bot.browser.open(url)
    return page.accept(username)


def connect(bot: RunningBot, person: Person) -> int:
    """Connect ``person``'s mailbox through Slack and the sandbox sign-in; its id."""
    url = start_connect(bot, person.slack_id, person.email)
    assert sign_in(bot, url, person.email).follow().status_code == 200
    return mailbox_id(bot.container, person.email)


def mailbox_id(container: Container, email: str) -> int:
    """The id of the connected mailbox ``email``."""
    with container.db() as session:
        found: int = session.scalars(select(Mailbox.id).where(Mailbox.email == email)).one()
        return found


# -- a campaign ----------------------------------------------------------------------------

THREE_STEPS = [
    StepSpec(
        "Role at Acme, {{ first_name }}?",
        "Hi {{ first_name }},\nwould you talk?\n{{ sender_name }}",
    ),
    StepSpec("Following up", "Hi {{ first_name }}, just checking in.", wait_business_days=2),
    StepSpec("Last note", "Hi {{ first_name }}, last one from me.", wait_business_days=3),
]
#: Every day, all day: for tests that send now whatever the clock says.
EVERYDAY = SendWindow(days=frozenset(range(1, 8)), start=time(0), end=time(23, 59))


def seed_shortlist(
    bot: RunningBot | Container,
    name: str,
    rows: Sequence[tuple[str, str, str | None, str | None]],
) -> int:
    """A shortlist of (email, first_name, timezone, country) rows."""
    container = bot if isinstance(bot, Container) else bot.container
    now = container.clock.now()
    with transaction(container.db) as session:
        shortlist = Shortlist(
            team_id=TEAM, name=name, created_by="U0RECRUIT1", created_at=now, updated_at=now
        )
        session.add(shortlist)
        session.flush()
        for email, first, tz, country in rows:
            session.add(
                Candidate(
                    shortlist_id=shortlist.id,
                    email=email,
                    first_name=first,
                    timezone=tz,
                    country=country,
                    variables={},
                    updated_at=now,
                )
            )
        shortlist_id: int = shortlist.id
        return shortlist_id


def create_campaign(
    bot: RunningBot | Container,
    mailbox_id: int,
    shortlist_id: int,
    name: str = "Backend Q4",
    steps: Sequence[StepSpec] = THREE_STEPS,
    *,
    window: SendWindow | None = None,
    daily_cap: int = 200,
    min_gap_seconds: int = 0,
    channel_id: str = "C0RECRUIT1",
    user_id: str = "U0RECRUIT1",
) -> int:
    """A draft campaign created by ``user_id``, who must be allowed to send from the mailbox."""
    container = bot if isinstance(bot, Container) else bot.container
    spec = CampaignSpec(
        name=name,
        shortlist_id=shortlist_id,
        mailbox_id=mailbox_id,
        channel_id=channel_id,
        steps=list(steps),
        window=window or SendWindow(start=time(9), end=time(17)),
        timezone="Europe/Berlin",
        daily_cap=daily_cap,
        min_gap_seconds=min_gap_seconds,
    )
    campaign_id: int = container.campaigns.create(TEAM, user_id, spec)
    return campaign_id


def dispatcher(
    bot: RunningBot,
    worker_id: str = "w1",
    checkpoint: Checkpoint | None = None,
    config: DispatchConfig | None = None,
) -> Dispatcher:
    """An in-process dispatcher over the bot's database and mailboxes."""
    return Dispatcher(
        bot.db,
        bot.container.tokens.graph_for,
        CampaignSequencer(bot.container.clock),
        bot.container.clock,
        worker_id=worker_id,
        checkpoint=checkpoint,
        config=config,
    )


def post_slack(bot: RunningBot, worker_id: str = "poster", *, passes: int = 200) -> int:
    """Run the worker's Slack poster until the queue is empty; how many it posted.

    With a fake clock the clock moves on by the pace between passes; with the real one
    this waits the pace out."""
    poster = SlackPoster(
        bot.db, bot.container.slack_clients, bot.container.clock, worker_id=worker_id
    )
    posted = 0
    for _ in range(passes):
        posted += poster.tick().posted
        if not poster.waiting():
            return posted
        clock = bot.container.clock
        if isinstance(clock, FakeClock):
            clock.advance(seconds=poster.config.pace.total_seconds())
        else:
            sleep(0.1)
    raise AssertionError(f"{poster.waiting()} Slack posts still queued")


def outbox(bot: RunningBot | Container) -> list[OutboxMessage]:
    """Every outbox row, oldest first."""
    container = bot if isinstance(bot, Container) else bot.container
    with container.db() as session:
        return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
