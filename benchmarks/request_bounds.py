"""How much memory the web process spends on a hostile request, beside its own baseline.

A child process serves the bot's web app (the same WSGI stack as ``scaleup web``, wired
to a sandbox) on loopback. The parent measures the child's peak resident memory
(``VmHWM`` in ``/proc/PID/status``) after start-up and a valid signed command (the
baseline), then after each hostile request: a 22 MB body with a bad signature sent with
its ``Content-Length``, the same body chunked (no length), and a validly signed
100,000-deep JSON payload. Prints each figure, the answer's status and the ratio of peak
to baseline. Run with ``make bench-requests``.

The child serves with werkzeug, as ``scaleup dev`` does; after answering, werkzeug reads
and discards whatever the client still sends, 10 MB at a time (werkzeug.serving,
``execute``), which is most of the growth a refused 22 MB body still causes here.

Issue 6 item 5 measured 100 → 700 MB and a 500 for the first case before the guard.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import requests

SECRET = "bench-signing-secret"
BIG = 22 * 1024 * 1024


def serve(tmp: str) -> None:
    """The child: the bot's web app on a free loopback port, printed on stdout."""
    from bot.container import build
    from bot.db import make_engine, upgrade
    from bot.sandbox import Sandbox
    from bot.sandbox.server import serve as serve_wsgi
    from bot.settings import Settings

    sandbox = Sandbox.start(Path(tmp) / "sandbox")

    class Late:
        app = None

        def __call__(self, environ, start_response):  # type: ignore[no-untyped-def]
            return self.app(environ, start_response)  # type: ignore[misc]

    late = Late()
    server = serve_wsgi(late, name="bench-web")
    env = {
        "DATABASE_URL": f"sqlite:///{tmp}/bench.db",
        "SCALEUP_DATA_DIR": f"{tmp}/data",
        "PUBLIC_URL": server.url,
    }
    settings = sandbox.configure(Settings.from_env(env))
    settings = settings.__class__(**{**settings.__dict__, "slack_signing_secret": SECRET})
    engine = make_engine(settings.database_url)
    upgrade(engine)
    engine.dispose()
    late.app = build(settings).web  # type: ignore[assignment]
    print(server.url, flush=True)
    while True:
        time.sleep(3600)


def signed(body: bytes, secret: str = SECRET) -> dict[str, str]:
    stamp = str(int(time.time()))
    base = b"v0:" + stamp.encode() + b":" + body
    digest = hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": f"v0={digest}",
        "Content-Type": "application/x-www-form-urlencoded",
    }


def peak_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM")


def chunks(data: bytes, size: int = 1 << 16) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--serve", metavar="TMP", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return
    with tempfile.TemporaryDirectory() as tmp:
        child = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.request_bounds", "--serve", tmp],
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        try:
            assert child.stdout is not None
            url = child.stdout.readline().strip() + "/slack/events"
            command = urlencode(
                {"command": "/scaleup", "text": "help", "team_id": "T0BENCH01", "user_id": "U0BENCH01",
                 "channel_id": "C0BENCH01", "response_url": "http://127.0.0.1:9/none", "trigger_id": "1.2"}
            ).encode()  # fmt: skip
            ok = requests.post(url, data=command, headers=signed(command), timeout=30)
            baseline = peak_mb(child.pid)
            print(f"baseline (start-up + one signed /scaleup help, {ok.status_code}): "
                  f"{baseline:.1f} MB peak RSS")  # fmt: skip
            body = b"x=" + b"a" * BIG
            cases = [
                ("22 MB, bad signature, with Content-Length",
                 lambda: requests.post(url, data=body, headers=signed(b"other"), timeout=60)),
                ("22 MB, bad signature, chunked",
                 lambda: requests.post(url, data=chunks(body), headers=signed(b"other"), timeout=60)),
            ]  # fmt: skip
            deep = ("payload=" + "[" * 100_000 + "]" * 100_000).encode()
            cases.append(
                ("100,000-deep payload, signed",
                 lambda: requests.post(url, data=deep, headers=signed(deep), timeout=60))
            )  # fmt: skip
            for label, send in cases:
                try:
                    status: object = send().status_code
                except requests.RequestException as exc:  # the server may close early
                    status = type(exc).__name__
                peak = peak_mb(child.pid)
                print(f"{label}: answered {status}; peak RSS {peak:.1f} MB "
                      f"(ratio to baseline {peak / baseline:.2f})")  # fmt: skip
        finally:
            child.kill()
            child.wait()


if __name__ == "__main__":
    main()
