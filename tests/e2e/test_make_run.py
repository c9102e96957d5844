"""``make run`` → ``scaleup dev`` in its own process: taken ports are skipped, the banner
names the ports really served and says which parts are the sandbox."""

from __future__ import annotations

import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import requests

ROOT = Path(__file__).parents[2]
_CREDENTIALS = ("SLACK_", "MS_", "GRAPH_", "PUBLIC_URL", "TOKEN_ENCRYPTION_KEYS")


def _free_base() -> int:
    """A port p with p..p+3 free now (the bot's port and the sandbox's three)."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            base = probe.getsockname()[1]
        if base > 65000:
            continue
        try:
            with ExitStack() as stack:
                for port in range(base, base + 4):
                    s = stack.enter_context(socket.socket())
                    s.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
    raise AssertionError("no four consecutive free ports")


def _occupy(port: int) -> socket.socket:
    """Hold ``port`` the way another program would: bound and listening."""
    holder = socket.socket()
    holder.bind(("127.0.0.1", port))
    holder.listen()
    return holder


@contextmanager
def scaleup_dev(tmp_path: Path, port: int) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """``scaleup dev`` with a fresh data dir and no credentials; yields it and its banner."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_CREDENTIALS)}
    env.update(
        PORT=str(port),
        SCALEUP_DATA_DIR=str(tmp_path / "data"),
        DATABASE_URL=f"sqlite:///{tmp_path}/dev.db",
        PYTHONUNBUFFERED="1",
    )
    dev = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "dev"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        yield dev, _read_banner(dev)
    finally:
        dev.send_signal(signal.SIGTERM)
        try:
            dev.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            dev.kill()
            dev.communicate()


def _read_banner(dev: subprocess.Popen[str], timeout: float = 60) -> str:
    """The output up to the banner's last line (read on a thread: a pipe has no timeout)."""
    assert dev.stdout is not None
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in dev.stdout], daemon=True).start()
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0 and dev.poll() is None:
        try:
            seen.append(lines.get(timeout=min(left, 0.5)))
        except queue.Empty:
            continue
        if seen[-1].startswith("Press Ctrl-C to stop."):
            return "".join(seen)
    time.sleep(0.2)  # what it printed before exiting
    while not lines.empty():
        seen.append(lines.get())
    raise AssertionError(f"no banner (exit {dev.poll()}):\n" + "".join(seen))


def _url(banner: str, label: str) -> str:
    found = re.search(rf"{label}\s*(https?://[\w.:]+/?)", banner)
    assert found, banner
    return found[1]


def test_taken_ports_fall_back_and_the_banner_names_the_ports_served(tmp_path: Path) -> None:
    base = _free_base()
    with _occupy(base), _occupy(base + 1), scaleup_dev(tmp_path, base) as (dev, banner):
        bot_url = _url(banner, "ScaleUp is running at")
        console = _url(banner, "Slack console:")
        bot_port, console_port = (int(u.rstrip("/").rsplit(":", 1)[1]) for u in (bot_url, console))
        assert bot_port != base and console_port != base + 1
        assert f"(port {base} was taken)" in banner
        assert f"Ports {base + 1} were taken" in banner

        health = requests.get(f"{bot_url}/healthz", timeout=10)
        assert health.json() == {"status": "ok", "database": "ok"}
        page = requests.get(console, timeout=10)
        assert page.status_code == 200 and "Riley Chen" in page.text
        # The console reaches the bot on its fallback port.
        answer = requests.post(
            f"{console}console/command",
            data={"user": "U0RECRUIT1", "text": "help"},
            timeout=20,
        )
        assert "runs recruiting outreach" in answer.text
        assert "Slack:      sandbox" in banner and "Microsoft:  sandbox" in banner
        assert dev.poll() is None
