"""Small hardening: owner-only files, a console no other web page can drive, and an
audit log that keeps ids, never addresses, subjects or bodies."""

from __future__ import annotations

import json
import os
import socket
import stat
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
from sqlalchemy import select, text

from bot.db import transaction
from bot.models import (
    AuditEntry,
    Campaign,
    Candidate,
    Delegation,
    Enrollment,
    Mailbox,
    OutboxMessage,
    OutlookAuthFlow,
    Shortlist,
)
from bot.sandbox import HIRING_MANAGER, RECRUITER, Sandbox
from bot.sandbox.console import console_url
from tests.conftest import RunningBot, start_bot
from tests.e2e.campaign_helpers import dispatcher
from tests.e2e.test_connect import TEAM
from tests.e2e.test_dispatch import started_campaign
from tests.fakes import FakeClock


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def loose_umask() -> Iterator[None]:
    """The common default: files 0644, directories 0755, unless the bot says otherwise."""
    before = os.umask(0o022)
    yield
    os.umask(before)


def test_the_data_directory_and_the_sqlite_files_are_owner_only(
    sandbox: Sandbox, tmp_path: Path, loose_umask: None
) -> None:
    data = tmp_path / "data"
    stale = tmp_path / "stale"  # made by an older version, readable by all
    stale.mkdir(mode=0o755)
    database = tmp_path / "db" / "scaleup.db"  # its directory does not exist yet
    for data_dir in (data, stale):
        bot, server = start_bot(
            sandbox, {"DATABASE_URL": f"sqlite:///{database}", "SCALEUP_DATA_DIR": str(data_dir)}
        )
        try:
            with bot.db() as session:  # an open connection keeps the WAL and SHM files
                session.execute(text("SELECT count(*) FROM audit_log"))
                assert mode(data_dir) == 0o700
                assert mode(data_dir / "dev-encryption.key") == 0o600
                assert mode(database.parent) == 0o700
                for name in ("scaleup.db", "scaleup.db-wal", "scaleup.db-shm"):
                    assert mode(database.parent / name) == 0o600, name
        finally:
            server.stop()
            bot.container.close()


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site", "Origin": "http://127.0.0.1:1"},
        {"Host": "rebound.evil.example"},
    ],
    ids=["foreign-origin", "null-origin", "cross-site", "other-port", "dns-rebinding"],
)
def test_the_console_refuses_posts_from_other_pages(
    bot: RunningBot, headers: dict[str, str]
) -> None:
    base = console_url(bot.sandbox)
    answer = requests.post(
        base + "console/command",
        data={"user": RECRUITER.slack_id, "text": "connect"},
        headers=headers,
        allow_redirects=False,
        timeout=10,
    )
    assert answer.status_code == 403
    assert bot.sandbox.slack.calls("users.info") == []  # the bot never heard of it
    page = requests.get(base, params={"user": RECRUITER.slack_id}, timeout=10).text
    assert "/scaleup connect" not in page


def test_the_console_takes_posts_from_its_own_page(bot: RunningBot) -> None:
    base = console_url(bot.sandbox)
    answer = requests.post(
        base + "console/command",
        data={"user": RECRUITER.slack_id, "text": "help"},
        headers={"Origin": base.rstrip("/"), "Sec-Fetch-Site": "same-origin"},
        allow_redirects=False,
        timeout=15,
    )
    assert answer.status_code == 303


def audit_details(bot: RunningBot) -> str:
    with bot.db() as session:
        return json.dumps([e.detail for e in session.scalars(select(AuditEntry))])


def test_disconnect_deletes_the_mailbox_data_and_the_audit_keeps_no_addresses(
    cbot: RunningBot, clock: FakeClock
) -> None:
    started_campaign(cbot)
    with cbot.db() as session:
        mailbox = session.scalars(select(Mailbox)).one()
    with transaction(cbot.db) as session:
        session.add(
            Delegation(
                mailbox_id=mailbox.id,
                delegate_user_id=HIRING_MANAGER.slack_id,
                campaign_name="",
                created_at=clock.now(),
            )
        )
    # Microsoft's reason names the recipient; it reaches the thread, not the audit log.
    refusal = "The recipient jana@talent.example is invalid. Subject: Role at Acme"
    body = {"error": {"code": "ErrorInvalidRecipients", "message": refusal}}
    cbot.sandbox.graph.faults.fail_next("POST", r"/messages$", 400, body)
    clock.set(datetime(2026, 3, 2, 8, 0, tzinfo=UTC))
    assert dispatcher(cbot).tick().failed == 1

    report = cbot.container.erasure.disconnect(TEAM, RECRUITER.slack_id)
    assert (report.campaigns, report.messages) == (1, 6)
    with cbot.db() as session:
        for gone in (Mailbox, Campaign, Enrollment, OutboxMessage, Delegation, OutlookAuthFlow):
            assert session.scalars(select(gone)).all() == [], gone.__name__
        assert len(session.scalars(select(Shortlist)).all()) == 1  # the workspace's, it stays
        assert len(session.scalars(select(Candidate)).all()) == 2
        actions = [e.action for e in session.scalars(select(AuditEntry).order_by(AuditEntry.id))]
        assert "send.failed" in actions and actions[-1] == "mailbox.disconnected"
        assert all(e.mailbox_id is None for e in session.scalars(select(AuditEntry)))
    logged = audit_details(cbot)
    for private in ("@", "Role at Acme", "would you talk", "invalid"):
        assert private not in logged, private


@pytest.mark.parametrize("path", ["", "console/updates"])
def test_the_console_answers_reads_only_at_its_own_address(bot: RunningBot, path: str) -> None:
    """DNS rebinding: a page at rebind.evil.example, resolved to loopback, must not read a
    person's timeline (it can hold a live Microsoft sign-in link)."""
    base = console_url(bot.sandbox)
    port = bot.sandbox.slack_server.port
    for host in (f"rebind.evil.example:{port}", "rebind.evil.example", f"127.0.0.1:{port + 1}"):
        answer = requests.get(
            base + path, params={"user": RECRUITER.slack_id}, headers={"Host": host}, timeout=10
        )
        assert answer.status_code == 403, host
        assert RECRUITER.slack_id not in answer.text
    for host in (f"127.0.0.1:{port}", f"localhost:{port}"):
        answer = requests.get(
            base + path, params={"user": RECRUITER.slack_id}, headers={"Host": host}, timeout=10
        )
        assert answer.status_code == 200, host


def test_every_console_answer_forbids_framing(bot: RunningBot) -> None:
    base = console_url(bot.sandbox)
    answers = [
        requests.get(base, params={"user": RECRUITER.slack_id}, timeout=10),
        requests.get(base + "console/updates", params={"user": RECRUITER.slack_id}, timeout=10),
        requests.post(
            base + "console/command",
            data={"user": RECRUITER.slack_id, "text": "help"},
            allow_redirects=False,
            timeout=15,
        ),
        requests.post(base + "console/command", headers={"Origin": "null"}, timeout=10),
    ]
    assert [a.status_code for a in answers] == [200, 200, 303, 403]
    for answer in answers:
        assert answer.headers["X-Frame-Options"] == "DENY"
        assert answer.headers["Content-Security-Policy"] == "frame-ancestors 'none'"


def test_the_console_refuses_a_large_body_before_reading_it(bot: RunningBot) -> None:
    """A 30 MB form is refused from its Content-Length: the server answers without waiting
    for a body that is never sent (a server reading it would time out here)."""
    port = bot.sandbox.slack_server.port
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(
            b"POST /console/command HTTP/1.1\r\n"
            + f"Host: 127.0.0.1:{port}\r\n".encode()
            + b"Content-Type: application/x-www-form-urlencoded\r\n"
            b"Content-Length: 30000000\r\n"
            b"Connection: close\r\n\r\n"
            b"user=U0HIRING01&text="
        )
        status_line = conn.makefile("rb").readline()
    assert status_line.split()[1] == b"413", status_line
    small = requests.post(
        console_url(bot.sandbox) + "console/command",
        data={"user": RECRUITER.slack_id, "text": "help " + "x" * 1000},
        allow_redirects=False,
        timeout=15,
    )
    assert small.status_code == 303
