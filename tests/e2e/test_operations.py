"""What an admin runs: key rotation, housekeeping, and a refusal of a bad configuration."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import requests
from cryptography.fernet import Fernet
from sqlalchemy import select

from bot.crypto import TokenCipher
from bot.crypto_rotation import rotate_all
from bot.db import transaction
from bot.models import Mailbox, OutlookAuthFlow, SlackEventSeen
from bot.sandbox import RECRUITER
from bot.worker import housekeeping, sole_sqlite_worker
from tests.conftest import RunningBot
from tests.e2e.campaign_helpers import connect
from tests.e2e.test_connect import start_connect
from tests.e2e.test_workers import worker_env
from tests.fakes import FakeClock

ROOT = Path(__file__).parents[2]


def scaleup(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """Run the ``scaleup`` CLI in a fresh process with exactly ``env``."""
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_rotating_keys_reencrypts_every_secret(cbot: RunningBot) -> None:
    connect(cbot, RECRUITER)
    start_connect(cbot, RECRUITER.slack_id, RECRUITER.email)  # a pending sign-in too
    old_key = (cbot.settings.data_dir / "dev-encryption.key").read_text().strip()
    new_key = Fernet.generate_key().decode()
    both = TokenCipher([new_key, old_key])

    counts = rotate_all(cbot.container.engine, both)

    assert counts == {"mailbox token caches": 1, "pending sign-ins": 1, "bot tokens": 0}
    only_new = TokenCipher([new_key])
    with cbot.db() as session:
        mailbox = session.scalars(select(Mailbox)).one()
        flow = session.scalars(select(OutlookAuthFlow)).one()
    assert "RefreshToken" in only_new.decrypt(mailbox.token_cache_enc)
    assert "code_verifier" in only_new.decrypt(flow.flow_enc)


def test_housekeeping_drops_expired_sign_ins_and_old_event_ids(
    cbot: RunningBot, clock: FakeClock
) -> None:
    start_connect(cbot, RECRUITER.slack_id, RECRUITER.email)
    with transaction(cbot.db) as session:
        session.add(SlackEventSeen(event_id="Ev-old", received_at=clock.now()))
    clock.advance(minutes=9)
    housekeeping(cbot.container)
    with cbot.db() as session:
        assert len(session.scalars(select(OutlookAuthFlow)).all()) == 1
    clock.advance(days=1, minutes=2)
    housekeeping(cbot.container)
    with cbot.db() as session:
        assert session.scalars(select(OutlookAuthFlow)).all() == []
        assert session.scalars(select(SlackEventSeen)).all() == []


def test_a_bad_configuration_is_refused_with_every_reason() -> None:
    env = {"PATH": "", "SLACK_BOT_TOKEN": "xoxb-1", "MS_CLIENT_ID": "abc"}
    result = scaleup(env, "worker")
    assert result.returncode == 2
    assert "SLACK_SIGNING_SECRET" in result.stderr
    assert "MS_CLIENT_ID and MS_CLIENT_SECRET must be set together" in result.stderr


def test_the_procfile_web_process_serves_health(bot: RunningBot) -> None:
    """``gunicorn bot.wsgi:app`` as the Procfile runs it, configured like production."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**worker_env(bot), "PORT": str(port)}
    web = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "--threads",
            "4",
            "--worker-class",
            "gthread",
            "bot.wsgi:app",
        ],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 90  # a guard against a hang, not a speed target: CI machines can be busy
        while True:
            try:
                answer = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=10)
                break
            except requests.ConnectionError:
                assert web.poll() is None, web.communicate()[1]
                assert time.monotonic() < deadline, "gunicorn did not start in 90 s"
                time.sleep(0.2)
        assert answer.status_code == 200
        assert answer.json() == {"status": "ok", "database": "ok"}
        unsigned = requests.post(f"http://127.0.0.1:{port}/slack/events", data="x=1", timeout=5)
        assert unsigned.status_code == 401
    finally:
        web.terminate()
        web.communicate(timeout=30)


def test_a_second_worker_on_one_sqlite_file_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/one.db"
    env = {
        "PATH": "",
        "DATABASE_URL": url,
        "SLACK_BOT_TOKEN": "xoxb-1-2",
        "SLACK_SIGNING_SECRET": "secret",
        "MS_CLIENT_ID": "client",
        "MS_CLIENT_SECRET": "secret",
        "TOKEN_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "PUBLIC_URL": "https://scaleup.test",
    }
    with sole_sqlite_worker(url):
        second = scaleup(env, "worker", "--drain", "1")
    assert second.returncode == 2, second.stderr
    assert "Another worker already uses this SQLite database" in second.stderr
    with sole_sqlite_worker(url):  # released when the first one stops
        pass


def test_web_and_worker_without_credentials_point_to_dev(tmp_path: Path) -> None:
    env = {"PATH": "", "DATABASE_URL": f"sqlite:///{tmp_path}/x.db"}
    for command in ("worker", "web"):
        result = scaleup(env, command)
        assert result.returncode == 2, result.stderr
        assert "run `scaleup dev` (or `make run`)" in result.stderr
        assert "Traceback" not in result.stderr
