"""Building blocks for campaign tests: a connected mailbox, a shortlist, a campaign."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import time
from time import sleep

from sqlalchemy import select

from bot.db import transaction
from bot.models import Candidate, Mailbox, OutboxMessage, Shortlist
from bot.sandbox import Person
from bot.slack_poster import SlackPoster
from outreach.campaigns import CampaignSpec, StepSpec
from outreach.dispatch import Checkpoint, DispatchConfig, Dispatcher
from outreach.schedule import SendWindow
from outreach.sequencing import CampaignSequencer
from tests.conftest import RunningBot
from tests.e2e.test_connect import TEAM, sign_in, start_connect
from tests.fakes import FakeClock

THREE_STEPS = [
    StepSpec(
        "Role at Acme, {{ first_name }}?",
        "Hi {{ first_name }},\nwould you talk?\n{{ sender_name }}",
    ),
    StepSpec("Following up", "Hi {{ first_name }}, just checking in.", wait_business_days=2),
    StepSpec("Last note", "Hi {{ first_name }}, last one from me.", wait_business_days=3),
]


def connect(bot: RunningBot, person: Person) -> int:
    """Connect ``person``'s mailbox through Slack and the sandbox sign-in; its id."""
    url = start_connect(bot, person.slack_id, person.email)
    assert sign_in(bot, url, person.email).follow().status_code == 200
    with bot.db() as session:
        return session.scalars(select(Mailbox.id).where(Mailbox.email == person.email)).one()


def seed_shortlist(
    bot: RunningBot, name: str, rows: Sequence[tuple[str, str, str | None, str | None]]
) -> int:
    """A shortlist of (email, first_name, timezone, country) rows."""
    now = bot.container.clock.now()
    with transaction(bot.db) as session:
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
        return shortlist.id


def create_campaign(
    bot: RunningBot,
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
    return bot.container.campaigns.create(TEAM, user_id, spec)


def dispatcher(
    bot: RunningBot,
    worker_id: str = "w1",
    checkpoint: Checkpoint | None = None,
    config: DispatchConfig | None = None,
) -> Dispatcher:
    return Dispatcher(
        bot.db,
        bot.container.mailboxes.graph_for,
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


def outbox(bot: RunningBot) -> list[OutboxMessage]:
    with bot.db() as session:
        return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
