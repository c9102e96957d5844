"""A ``scaleup sandbox`` child process, and a bot configured only from what it printed.

:meth:`SandboxProcess.start` runs the real command, reads the bot environment it prints,
and offers the sandbox's HTTP control surface: holds on Graph operations
(:mod:`bot.sandbox.graph_holds`), so a test can stop a bot process at a known point of a
send, kill it, and let the request go. :class:`ExternalBot` is the bot's web app served in
the caller's process from that environment alone, as ``scaleup web`` would be.
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from bot.container import Container, build
from bot.db import make_engine, upgrade
from bot.sandbox import Person
from bot.sandbox.browser import ConsentBrowser
from bot.sandbox.server import RunningServer, serve
from bot.sandbox.testing import TEAM, LateApp, mailbox_id
from bot.settings import Settings

#: Variables of the parent that would change what the child sandbox does.
_OWN_VARIABLES = ("SANDBOX_", "SCALEUP_DATA_DIR")


@dataclass
class SandboxProcess:
    """A running ``scaleup sandbox``; :attr:`env` is what it printed for a bot."""

    process: subprocess.Popen[str]
    state_dir: Path
    env: dict[str, str]
    output: list[str] = field(default_factory=list)
    reader: threading.Thread | None = None

    @classmethod
    def start(
        cls,
        state_dir: Path,
        *,
        bot_url: str,
        ports: tuple[int, int, int] = (0, 0, 0),
        timeout: float = 30.0,
    ) -> SandboxProcess:
        """Start the sandbox and wait until it says it is ready."""
        command = [
            sys.executable, "-m", "bot.cli", "sandbox",
            "--state-dir", str(state_dir), "--bot-url", bot_url,
            "--slack-port", str(ports[0]), "--identity-port", str(ports[1]),
            "--graph-port", str(ports[2]),
        ]  # fmt: skip
        env = {k: v for k, v in os.environ.items() if not k.startswith(_OWN_VARIABLES)}
        process = subprocess.Popen(
            command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        lines: queue.Queue[str | None] = queue.Queue()

        def read() -> None:
            assert process.stdout is not None
            for line in process.stdout:
                lines.put(line.rstrip("\n"))
            lines.put(None)

        reader = threading.Thread(target=read, name="sandbox-output", daemon=True)
        reader.start()
        output: list[str] = []
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = lines.get(timeout=max(deadline - time.monotonic(), 0.01))
            except queue.Empty:
                process.kill()
                raise TimeoutError("scaleup sandbox did not start:\n" + "\n".join(output)) from None
            if line is None:
                raise RuntimeError("scaleup sandbox exited:\n" + "\n".join(output))
            output.append(line)
            if line.startswith("# Ready"):
                break
        found = dict(
            line.split("=", 1) for line in output if "=" in line and not line.startswith("#")
        )
        return cls(process, state_dir, found, output, reader)

    # -- addresses -------------------------------------------------------------------------
    @property
    def graph_root(self) -> str:
        return self.env["GRAPH_API_URL"].removesuffix("/v1.0")

    @property
    def ports(self) -> tuple[int, int, int]:
        """(Slack, identity, Graph) ports, to start it again where the bot expects it."""

        def port(url: str) -> int:
            return int(url.split("://", 1)[1].split("/", 1)[0].rsplit(":", 1)[1])

        return (
            port(self.env["SLACK_API_URL"]),
            port(self.env["MS_AUTHORITY"]),
            port(self.env["GRAPH_API_URL"]),
        )

    # -- holds -----------------------------------------------------------------------------
    def hold(
        self, operation: str, when: str = "before", *, mailbox: str | None = None, times: int = 1
    ) -> int:
        """Arm a hold on a Graph operation (a route handler name, e.g. ``send``)."""
        answer = requests.post(
            f"{self.graph_root}/sandbox/holds",
            json={"operation": operation, "when": when, "mailbox": mailbox, "times": times},
            timeout=5,
        )
        answer.raise_for_status()
        rule: int = answer.json()["rule"]
        return rule

    def waiting(self) -> list[dict[str, Any]]:
        answer = requests.get(f"{self.graph_root}/sandbox/holds", timeout=5)
        answer.raise_for_status()
        held: list[dict[str, Any]] = answer.json()["waiting"]
        return held

    def wait_for_held(self, count: int = 1, timeout: float = 15.0) -> list[dict[str, Any]]:
        """The waiting requests, once ``count`` of them are; TimeoutError otherwise."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            held = self.waiting()
            if len(held) >= count:
                return held
            time.sleep(0.02)
        raise TimeoutError(f"no request reached a hold within {timeout} s")

    def release(self, held_id: int | None = None, *, drop: bool = True) -> int:
        answer = requests.post(
            f"{self.graph_root}/sandbox/holds/release",
            json={"id": held_id, "drop": drop},
            timeout=5,
        )
        answer.raise_for_status()
        released: int = answer.json()["released"]
        return released

    # -- ending ----------------------------------------------------------------------------
    def stop(self, timeout: float = 15.0) -> int:
        """SIGTERM (the sandbox saves its state and exits); its exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        status = self.process.wait(timeout)
        self._close()
        return status

    def kill(self) -> None:
        """SIGKILL: no last save."""
        self.process.kill()
        self.process.wait(10)
        self._close()

    def _close(self) -> None:
        if self.reader is not None:
            self.reader.join(5)
        if self.process.stdout is not None:
            self.process.stdout.close()


@dataclass
class ExternalBot:
    """The bot's web app on loopback, configured from a :class:`SandboxProcess`'s environment.

    Make it in two steps, because the sandbox must know the bot's URL and the bot the
    sandbox's: :meth:`listen`, start the sandbox with :attr:`events_url`, then :meth:`wire`.
    """

    server: RunningServer
    late: LateApp
    env: dict[str, str] = field(default_factory=dict)
    container: Container | None = None

    @classmethod
    def listen(cls) -> ExternalBot:
        late = LateApp()
        return cls(serve(late, name="bot-web"), late)

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def events_url(self) -> str:
        return self.server.url + "/slack/events"

    def wire(self, sandbox_env: dict[str, str], extra: dict[str, str]) -> Container:
        """Build the bot from ``sandbox_env`` plus ``extra`` (DATABASE_URL …); its container."""
        self.env = {**sandbox_env, "PUBLIC_URL": self.url, **extra}
        settings = Settings.from_env(self.env)
        settings.check()
        engine = make_engine(settings.database_url)
        upgrade(engine)
        engine.dispose()
        self.container = build(settings)
        self.late.app = self.container.web
        return self.container

    def connect(self, person: Person) -> int:
        """Connect ``person``'s mailbox: the sign-in link the bot makes, opened and accepted
        in a browser that trusts only the sandbox's CA; the mailbox id."""
        assert self.container is not None, "wire() first"
        link = self.container.sign_in_links.create(
            TEAM, person.slack_id, person.email, person.real_name
        )
        browser = ConsentBrowser(self.env["MS_CA_BUNDLE"])
        answer = browser.open(link.url).accept(person.email).follow()
        if answer.status_code != 200:
            raise RuntimeError(f"connect failed ({answer.status_code}): {answer.text[:300]}")
        return mailbox_id(self.container, person.email)

    def stop(self) -> None:
        self.server.stop()
        if self.container is not None:
            self.container.engine.dispose()
