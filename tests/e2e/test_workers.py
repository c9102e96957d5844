"""Two worker processes on one PostgreSQL database share the outbox without duplicates."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import time
from pathlib import Path

import pytest

from bot.sandbox import COLLEAGUE, HIRING_MANAGER, RECRUITER, Person
from outreach.schedule import SendWindow
from tests.conftest import RunningBot
from tests.e2e.campaign_helpers import THREE_STEPS, connect, create_campaign, outbox, seed_shortlist
from tests.e2e.test_connect import TEAM

EVERYDAY = SendWindow(days=frozenset(range(1, 8)), start=time(0), end=time(23, 59))
ROOT = Path(__file__).parents[2]


def worker_env(bot: RunningBot) -> dict[str, str]:
    """What an admin would set for a worker pointed at this sandbox."""
    s = bot.settings
    key = (s.data_dir / "dev-encryption.key").read_text().strip()
    return {
        "PATH": os.environ.get("PATH", ""),
        "DATABASE_URL": s.database_url,
        "PUBLIC_URL": "https://scaleup.test",
        "SLACK_BOT_TOKEN": s.slack_bot_token or "",
        "SLACK_SIGNING_SECRET": s.slack_signing_secret or "",
        "SLACK_API_URL": s.slack_api_url,
        "MS_CLIENT_ID": s.ms_client_id or "",
        "MS_CLIENT_SECRET": s.ms_client_secret or "",
        "MS_AUTHORITY": s.ms_authority,
        "MS_CA_BUNDLE": s.ms_ca_bundle or "",
        "GRAPH_API_URL": s.graph_api_url,
        "TOKEN_ENCRYPTION_KEYS": key,
        "LOG_LEVEL": "WARNING",
    }


def test_two_worker_processes_never_send_twice(bot: RunningBot) -> None:
    if not bot.settings.database_url.startswith("postgresql"):
        pytest.skip("several worker processes need PostgreSQL (SQLite is for one process)")
    senders: list[Person] = [RECRUITER, HIRING_MANAGER, COLLEAGUE]
    for n, person in enumerate(senders):
        mailbox_id = connect(bot, person)
        rows = [(f"p{n}-{i}@talent.example", f"P{i}", "UTC", None) for i in range(10)]
        shortlist_id = seed_shortlist(bot, f"list-{n}", rows)
        create_campaign(
            bot,
            mailbox_id,
            shortlist_id,
            name=f"C{n}",
            steps=THREE_STEPS[:1],
            window=EVERYDAY,
            user_id=person.slack_id,  # the mailbox's owner: only they (or a delegate) may
        )
        bot.container.campaigns.start(TEAM, person.slack_id, f"C{n}")
    bot.sandbox.graph.faults.configure(latency=0.01)  # long enough for the workers to overlap

    command = [sys.executable, "-m", "bot.cli", "worker", "--drain", "60"]
    env = worker_env(bot)
    workers = [
        subprocess.Popen(
            command, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    results = [w.communicate(timeout=120) for w in workers]
    for worker, (_out, err) in zip(workers, results, strict=True):
        assert worker.returncode == 0, err
    sent_counts = [int(out.split("outbox: ")[1].split(" ")[0]) for out, _ in results]
    assert sum(sent_counts) == 30
    assert all(count > 0 for count in sent_counts), sent_counts  # both really worked

    assert [row.state for row in outbox(bot)] == ["sent"] * 30
    for n, person in enumerate(senders):
        sent = bot.sandbox.store.sent_items(person.email)
        recipients = sorted(r.address for m in sent for r in m.to)
        assert recipients == sorted(f"p{n}-{i}@talent.example" for i in range(10))
