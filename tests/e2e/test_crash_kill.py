"""A worker process killed with SIGKILL mid-send, and a new one, send each step exactly once.

Everything is a real process or a real server: ``scaleup sandbox`` runs on its own, the
bot's web app is configured from the environment the sandbox printed, and ``scaleup
worker`` runs as a child process on the same database. The test stops the worker at a known
point by holding one Graph request in the sandbox (before or after the mailbox changed),
kills the worker while the request waits, lets the request go, starts another worker, and
counts the copies in Sent Items. Leases and the send grace are seconds long here (from the
environment) so a test takes seconds.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.container import Container
from bot.models import MailboxPacing
from bot.sandbox import RECRUITER
from bot.sandbox.processes import ExternalBot, SandboxProcess
from bot.sandbox.testing import EVERYDAY, TEAM, THREE_STEPS, create_campaign, outbox, seed_shortlist

CANDIDATES = [f"cand{i}@talent.example" for i in range(3)]


@dataclass
class Rig:
    sandbox: SandboxProcess
    bot: ExternalBot
    container: Container
    mailbox_id: int
    workers: list[subprocess.Popen[str]]

    def worker(self, *args: str) -> subprocess.Popen[str]:
        """``scaleup worker ARGS`` with the bot's environment, as its own process."""
        env = {**self.bot.env, "PATH": os.environ.get("PATH", ""), "LOG_LEVEL": "WARNING"}
        process = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "worker", *args],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.workers.append(process)
        return process

    def drain(self) -> str:
        """A fresh worker sends what is due (after the dead one's leases lapse) and exits."""
        done = self.worker("--drain", "30")
        out, err = done.communicate(timeout=60)
        assert done.returncode == 0, err
        return out

    def folder(self, name: str) -> list[dict[str, Any]]:
        graph = self.container.mailboxes.graph_for(self.mailbox_id)
        answer = graph.request(
            "GET", f"/me/mailFolders/{name}/messages", params={"$top": "100"}
        ).json()
        messages: list[dict[str, Any]] = answer["value"]
        return messages

    def copies(self) -> Counter[str]:
        """How many copies of the campaign's message each candidate has in Sent Items."""
        return Counter(
            r["emailAddress"]["address"] for m in self.folder("sentitems") for r in m["toRecipients"]
        )


@pytest.fixture
def rig(tmp_path: Path, database_url: str) -> Iterator[Rig]:
    bot = ExternalBot.listen()
    sandbox = SandboxProcess.start(tmp_path / "sandbox", bot_url=bot.events_url)
    workers: list[subprocess.Popen[str]] = []
    try:
        container = bot.wire(
            sandbox.env,
            {
                "DATABASE_URL": database_url,
                "SCALEUP_DATA_DIR": str(tmp_path / "data"),
                "DISPATCH_LEASE_SECONDS": "3",
                "SEND_GRACE_SECONDS": "1",
            },
        )
        mailbox_id = bot.connect(RECRUITER)
        shortlist_id = seed_shortlist(
            container, "backend", [(email, "Cand", "UTC", None) for email in CANDIDATES]
        )
        create_campaign(
            container, mailbox_id, shortlist_id, steps=THREE_STEPS[:1], window=EVERYDAY
        )
        container.campaigns.start(TEAM, RECRUITER.slack_id, "Backend Q4")
        yield Rig(sandbox, bot, container, mailbox_id, workers)
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
            worker.communicate(timeout=10)
        bot.stop()
        sandbox.stop()


def kill_at(rig: Rig, operation: str, when: str) -> subprocess.Popen[str]:
    """Start a worker, wait until its first ``operation`` reaches the hold, SIGKILL it, and
    let the request go (a ``before`` one is dropped: it never reaches the mailbox)."""
    rig.sandbox.hold(operation, when, mailbox=RECRUITER.email)
    worker = rig.worker()
    [held] = rig.sandbox.wait_for_held()
    assert (held["operation"], held["when"]) == (operation, when)
    worker.kill()  # SIGKILL: no handler, no finally, no goodbye
    worker.wait(10)
    assert worker.returncode == -9
    rig.sandbox.release()
    return worker


def test_killed_after_the_draft_was_made_but_before_it_was_recorded(rig: Rig) -> None:
    kill_at(rig, "create_message", "after")
    assert len(rig.folder("drafts")) == 1  # the draft exists; the database does not know it
    assert [row.state for row in outbox(rig.container)].count("claimed") == 1

    rig.drain()

    assert rig.copies() == Counter({email: 1 for email in CANDIDATES})
    assert rig.folder("drafts") == []  # the orphan draft was found by its marker and sent
    assert [row.state for row in outbox(rig.container)] == ["sent"] * 3


def test_killed_before_the_send_reached_outlook(rig: Rig) -> None:
    kill_at(rig, "send", "before")
    [sending] = [row for row in outbox(rig.container) if row.state == "sending"]
    assert rig.copies() == Counter()  # nothing went out: the draft waits, unsent
    assert [d["id"] for d in rig.folder("drafts")] == [sending.draft_id]

    rig.drain()

    assert rig.copies() == Counter({email: 1 for email in CANDIDATES})
    assert rig.folder("drafts") == []
    assert [row.state for row in outbox(rig.container)] == ["sent"] * 3


def test_killed_after_outlook_accepted_the_send_but_before_it_was_recorded(rig: Rig) -> None:
    kill_at(rig, "send", "after")
    [sending] = [row for row in outbox(rig.container) if row.state == "sending"]
    assert rig.copies() == Counter({sending.to_email: 1})  # sent; the database says "sending"

    rig.drain()

    assert rig.copies() == Counter({email: 1 for email in CANDIDATES})  # not sent again
    assert [row.state for row in outbox(rig.container)] == ["sent"] * 3


def test_killed_while_holding_the_mailbox_lease(rig: Rig) -> None:
    dead = kill_at(rig, "create_message", "before")
    with rig.container.db() as session:
        pacing = session.get_one(MailboxPacing, rig.mailbox_id)
        leased_by, lease_until = pacing.leased_by, pacing.lease_until
    assert leased_by is not None and leased_by.endswith(f"-{dead.pid}")
    assert lease_until is not None
    if lease_until.tzinfo is None:  # SQLite hands back naive UTC
        lease_until = lease_until.replace(tzinfo=UTC)
    assert lease_until > datetime.now(UTC)  # still held by the dead worker
    assert rig.folder("drafts") == [] and rig.copies() == Counter()

    rig.drain()  # waits for the dead worker's lease to lapse, then sends

    assert rig.copies() == Counter({email: 1 for email in CANDIDATES})
    assert [row.state for row in outbox(rig.container)] == ["sent"] * 3
