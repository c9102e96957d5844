"""Starting a campaign in bounded memory: emails too large are refused in one sentence,
gaps are listed up to a cap, the web process answers while a 10,000 x 5 start runs, and a
start that does not finish leaves nothing enrolled. Through signed Slack requests and both
databases; the memory itself is measured by ``benchmarks/start_memory.py``."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from datetime import timedelta

import pytest
import requests
from sqlalchemy import func, insert, select, update

from bot.db import transaction
from bot.models import Campaign, Candidate, Enrollment, OutboxMessage, Shortlist
from bot.sandbox import RECRUITER
from outreach.campaigns import StepSpec
from tests.conftest import RunningBot
from tests.e2e.campaign_helpers import THREE_STEPS, connect
from tests.e2e.test_campaign_slack import campaign, command, make_campaign, reply, shown
from tests.e2e.test_connect import TEAM

HOLD_SECONDS = 120  # only a broken start waits this long; a working one is released at once


def shortlist(bot: RunningBot, rows: Sequence[dict[str, object]]) -> int:
    """A shortlist of ``rows`` (email, first_name, variables), inserted in bulk."""
    now = bot.container.clock.now()
    with transaction(bot.db) as session:
        made = Shortlist(
            team_id=TEAM, name="many", created_by=RECRUITER.slack_id, created_at=now, updated_at=now
        )
        session.add(made)
        session.flush()
        session.execute(
            insert(Candidate),
            [{"shortlist_id": made.id, "variables": {}, "updated_at": now, **r} for r in rows],
        )
        return made.id


def counts(bot: RunningBot) -> tuple[int, int]:
    """(enrollments, outbox rows) in the database."""
    with bot.db() as session:
        return (
            session.scalar(select(func.count()).select_from(Enrollment)) or 0,
            session.scalar(select(func.count()).select_from(OutboxMessage)) or 0,
        )


def ready(bot: RunningBot, rows: Sequence[dict[str, object]], steps: list[StepSpec]) -> str:
    """A connected mailbox, a shortlist of ``rows`` and a draft campaign; its channel."""
    mailbox_id = connect(bot, RECRUITER)
    channel = bot.sandbox.slack.add_channel(TEAM, "recruiting")
    make_campaign(bot, mailbox_id, shortlist(bot, rows), channel, steps)
    return channel


def test_an_email_over_the_size_limit_refuses_the_start_in_one_sentence(bot: RunningBot) -> None:
    bio = "b" * 1_000
    rows = [
        {"email": f"c{i:02}@talent.example", "first_name": f"C{i}", "variables": {"bio": bio}}
        for i in range(25)
    ]
    rows.append({"email": "short@talent.example", "first_name": "S", "variables": {"bio": "b"}})
    repeated = StepSpec("Following up", "Hi {{ first_name }},\n" + "{{ bio }}\n" * 120)
    ready(bot, rows, [THREE_STEPS[0], repeated, THREE_STEPS[2]])

    refused = command(bot, "campaign start Backend Q4")
    answer = shown(refused)
    assert (
        "'Backend Q4' did not start: some emails would be too large. Shorten the template, or "
        "the candidates' columns it repeats; Gmail cuts off a body longer than about 102 KB.\n"
        "c00@talent.example and 24 more: step 2's body would be 120 KB, more than the 100 KB "
        "limit"
    ) in answer
    assert refused["text"].count("@talent.example") == 1  # one line, not one per candidate
    assert campaign(bot).state == "draft"
    assert counts(bot) == (0, 0)

    preview = shown(command(bot, "campaign preview Backend Q4 c03@talent.example"))
    assert "Step 2's body for c03@talent.example would be 120 KB, more than the 100 KB" in preview
    fine = shown(command(bot, "campaign preview Backend Q4 short@talent.example"))
    assert "Following up" in fine


def test_missing_variables_are_listed_up_to_a_cap_with_a_count_of_the_rest(
    bot: RunningBot,
) -> None:
    rows = [{"email": f"c{i:04}@talent.example", "first_name": f"C{i}"} for i in range(1_200)]
    rows[7]["variables"] = {"company": "Initech"}  # the one row that has it
    steps = [StepSpec("Hi {{ first_name }}", "We love {{ company }}."), *THREE_STEPS[1:]]
    ready(bot, rows, steps)

    answer = command(bot, "campaign start Backend Q4")["text"]
    assert "'Backend Q4' did not start: some candidates lack template variables." in answer
    listed = [line for line in answer.splitlines() if line.endswith(" lacks company")]
    assert listed[:2] == [
        "c0000@talent.example lacks company",
        "c0001@talent.example lacks company",
    ]
    assert len(listed) == 20 and "c0007@talent.example lacks company" not in listed
    assert "…and 1,179 more candidates" in answer
    assert campaign(bot).state == "draft"
    assert counts(bot) == (0, 0)


@pytest.fixture
def held(bot: RunningBot) -> Iterator[tuple[threading.Event, threading.Event]]:
    """(reached, release): a start stops after its first page is written until released."""
    reached, release = threading.Event(), threading.Event()

    def checkpoint(stage: str, page: int) -> None:
        if stage == "staged" and page == 1:
            reached.set()
            release.wait(HOLD_SECONDS)

    bot.container.campaigns.enroller.checkpoint = checkpoint
    yield reached, release
    release.set()


def test_the_web_process_answers_while_a_large_start_runs(
    bot: RunningBot, held: tuple[threading.Event, threading.Event]
) -> None:
    reached, release = held
    slack = bot.sandbox.slack
    rows = [{"email": f"c{i:05}@talent.example", "first_name": f"C{i}"} for i in range(10_000)]
    five = [*THREE_STEPS, *THREE_STEPS[1:]]
    channel = ready(bot, rows, five)

    before = len(slack.responses())
    assert bot.slack.slash(RECRUITER.slack_id, "campaign start Backend Q4").status_code == 200
    assert reached.wait(HOLD_SECONDS), "the start never wrote its first page"

    # The start is half way: other requests, readers and writers, are answered now.
    health = requests.get(f"{bot.url}/healthz", timeout=10)
    assert (health.status_code, health.json()["status"]) == (200, "ok")
    assert "• *Backend Q4*: starting" in shown(command(bot, "campaign list"))
    assert "Candidates: 500 starting" in shown(command(bot, "campaign status Backend Q4"))
    added = shown(command(bot, "dnc add someone.else@talent.example"))
    assert "someone.else@talent.example" in added
    # ...before the start has finished: it has said nothing and nothing can be sent yet.
    assert campaign(bot).state == "starting"
    said = [shown(r) for r in slack.responses()[before:]]
    assert not [text for text in said if "started:" in text or "did not start" in text]
    with bot.db() as session:
        sendable = select(func.count()).where(OutboxMessage.state == "pending")
        assert session.scalar(sendable) == 0

    release.set()
    done = slack.wait_for(
        lambda: [r for r in slack.responses()[before:] if "started:" in shown(r)], timeout=120
    )
    assert "*Backend Q4* started: 10,000 candidates enrolled, 0 skipped." in shown(done[-1])
    assert campaign(bot).state == "active"
    assert counts(bot) == (10_000, 50_000)
    with bot.db() as session:
        states = dict(
            session.execute(
                select(OutboxMessage.state, func.count()).group_by(OutboxMessage.state)
            ).all()
        )
    assert states == {"pending": 10_000, "waiting": 40_000}
    assert slack.messages(channel)


def test_a_start_stopped_half_way_leaves_nothing_enrolled(
    bot: RunningBot, held: tuple[threading.Event, threading.Event]
) -> None:
    reached, release = held
    rows = [{"email": f"c{i:04}@talent.example", "first_name": f"C{i}"} for i in range(1_200)]
    ready(bot, rows, THREE_STEPS)
    before = len(bot.sandbox.slack.responses())
    bot.slack.slash(RECRUITER.slack_id, "campaign start Backend Q4")
    assert reached.wait(HOLD_SECONDS)
    assert counts(bot) == (500, 1_500)  # one page staged, none of it sendable

    again = shown(command(bot, "campaign start Backend Q4"))
    assert "'Backend Q4' is being started right now" in again
    command(bot, "campaign stop Backend Q4")
    release.set()

    answer = shown(reply(bot, before + 2))
    assert "'Backend Q4' did not start: it became stopped while it was starting." in answer
    assert "Nothing was enrolled." in answer
    assert counts(bot) == (0, 0)
    assert campaign(bot).state == "stopped"


def test_a_start_abandoned_by_a_dead_process_is_taken_over_later(bot: RunningBot) -> None:
    rows = [{"email": f"c{i}@talent.example", "first_name": f"C{i}"} for i in range(3)]
    ready(bot, rows, THREE_STEPS)
    now = bot.container.clock.now()
    with transaction(bot.db) as session:  # what a process killed mid-start leaves behind
        found = session.scalars(select(Campaign)).one()
        found.state, found.started_at = "starting", now - timedelta(minutes=5)
        first = session.scalars(select(Candidate).order_by(Candidate.id)).first()
        assert first is not None
        session.add(
            Enrollment(
                campaign_id=found.id,
                candidate_id=first.id,
                team_id=TEAM,
                email=first.email,
                state="starting",
                enrolled_at=now,
                updated_at=now,
            )
        )

    fresh = shown(command(bot, "campaign start Backend Q4"))
    assert "'Backend Q4' is being started right now" in fresh
    with transaction(bot.db) as session:
        session.execute(update(Campaign).values(started_at=now - timedelta(minutes=16)))

    taken = shown(command(bot, "campaign start Backend Q4"))
    assert "*Backend Q4* started: 3 candidates enrolled, 0 skipped." in taken
    assert counts(bot) == (3, 9)
    with bot.db() as session:
        assert set(session.scalars(select(Enrollment.state))) == {"active"}
