"""``scaleup sandbox``: the sandbox as a process of its own, for bots started separately.

It starts the sandbox Slack (Web API and console), Microsoft sign-in (HTTPS with its own
CA) and Graph, restores the state a previous run saved in the state directory, prints the
environment a bot needs to use them (``KEY=value`` lines, also written to ``bot.env``
beside the state), and keeps saving its state until it is stopped. The bot side is the
ordinary ``scaleup web`` / ``scaleup worker`` with that environment.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from bot.settings import Settings

if TYPE_CHECKING:  # the servers are imported when they start, not for `scaleup --help`
    from bot.sandbox import Sandbox
    from bot.sandbox.state import Keeper

DEFAULT_BOT_URL = "http://127.0.0.1:3000/slack/events"
#: Option -> (environment variable, default). Ports: 0 picks a free one.
OPTIONS: dict[str, tuple[str, str]] = {
    "state_dir": ("SANDBOX_STATE_DIR", ""),
    "ca_dir": ("SANDBOX_CA_DIR", ""),
    "slack_port": ("SANDBOX_SLACK_PORT", "3001"),
    "identity_port": ("SANDBOX_IDENTITY_PORT", "3002"),
    "graph_port": ("SANDBOX_GRAPH_PORT", "3003"),
    "bot_url": ("SANDBOX_BOT_URL", DEFAULT_BOT_URL),
}


def add_arguments(parser: argparse.ArgumentParser, env: Mapping[str, str] = os.environ) -> None:
    """The ``scaleup sandbox`` flags; each defaults to its environment variable."""

    def default(option: str) -> str:
        variable, fallback = OPTIONS[option]
        return env.get(variable, "").strip() or fallback

    parser.add_argument(
        "--state-dir",
        default=default("state_dir"),
        help="where the state file, the CA and bot.env live "
        "(SANDBOX_STATE_DIR; default $SCALEUP_DATA_DIR/sandbox)",
    )
    parser.add_argument(
        "--ca-dir", default=default("ca_dir"), help="the HTTPS CA (SANDBOX_CA_DIR; default STATE_DIR/tls)"
    )
    for name, service in (("slack", "Slack Web API and console"), ("identity", "Microsoft sign-in"),
                          ("graph", "Graph")):
        parser.add_argument(
            f"--{name}-port",
            type=int,
            default=int(default(f"{name}_port")),
            help=f"port of the {service} (SANDBOX_{name.upper()}_PORT; 0 = any free port)",
        )
    parser.add_argument(
        "--bot-url",
        default=default("bot_url"),
        help="where the sandbox Slack posts commands and clicks "
        f"(SANDBOX_BOT_URL; default {DEFAULT_BOT_URL})",
    )


def start(args: argparse.Namespace, settings: Settings) -> tuple[Sandbox, Keeper, dict[str, str]]:
    """Start the sandbox, restore its saved state, begin saving; the bot's environment."""
    from bot.private_files import private_dir
    from bot.sandbox import Sandbox
    from bot.sandbox.state import STATE_FILE, Keeper, restore, write_atomically

    state_dir = private_dir(Path(args.state_dir or settings.data_dir / "sandbox"))
    ports = (args.slack_port, args.identity_port, args.graph_port)
    sandbox = Sandbox.start(
        state_dir, ports=ports, ca_dir=Path(args.ca_dir) if args.ca_dir else None
    )
    actual = (sandbox.slack_server.port, sandbox.identity_server.port, sandbox.graph_server.port)
    taken = [str(p) for p, got in zip(ports, actual, strict=True) if p and p != got]
    if taken:
        sandbox.stop()
        raise SystemExit(f"Port {', '.join(taken)} is in use: choose another with --*-port.")
    restore(sandbox, state_dir / STATE_FILE)
    parts = urlsplit(args.bot_url)
    public_url = f"{parts.scheme}://{parts.netloc}"
    bot = sandbox.configure(Settings.from_env({"PUBLIC_URL": public_url}))
    sandbox.attach_bot(args.bot_url)
    keeper = Keeper(sandbox, state_dir / STATE_FILE).start()
    environment = {
        "PUBLIC_URL": public_url,
        "SLACK_API_URL": bot.slack_api_url,
        "SLACK_BOT_TOKEN": bot.slack_bot_token or "",
        "SLACK_SIGNING_SECRET": bot.slack_signing_secret or "",
        "SLACK_CLIENT_ID": bot.slack_client_id or "",
        "SLACK_CLIENT_SECRET": bot.slack_client_secret or "",
        "MS_CLIENT_ID": bot.ms_client_id or "",
        "MS_CLIENT_SECRET": bot.ms_client_secret or "",
        "MS_AUTHORITY": bot.ms_authority,
        "MS_CA_BUNDLE": str(Path(bot.ms_ca_bundle or "").resolve()),
        "GRAPH_API_URL": bot.graph_api_url,
        "TOKEN_ENCRYPTION_KEYS": _bot_key(state_dir),
    }
    write_atomically(
        state_dir / "bot.env", "".join(f"{k}={v}\n" for k, v in environment.items()).encode()
    )
    return sandbox, keeper, environment


def _bot_key(state_dir: Path) -> str:
    """A Fernet key for the bot's stored tokens, made once and kept beside the state."""
    from cryptography.fernet import Fernet

    from bot.sandbox.state import write_atomically

    path = state_dir / "bot-encryption.key"
    if not path.exists():
        write_atomically(path, Fernet.generate_key())
    return path.read_text().strip()


def run(args: argparse.Namespace, settings: Settings) -> int:
    """``scaleup sandbox``: serve until SIGINT/SIGTERM, then save the state and stop."""
    from bot.sandbox.console import console_url

    sandbox, keeper, environment = start(args, settings)
    state_dir = keeper.path.parent
    people = ", ".join(f"{p.real_name} <{p.email}>" for p in sandbox.people.values())
    lines = [
        f"# ScaleUp sandbox; its state is kept in {keeper.path}.",
        "# A bot uses it with this environment (also in "
        f"{state_dir / 'bot.env'}: `set -a; . {state_dir / 'bot.env'}; set +a`):",
        *(f"{key}={value}" for key, value in environment.items()),
        f"# Slack console: {console_url(sandbox)} (posts to {sandbox.bot_events_url})",
        f"# People: {people}",
        "# Ready. Ctrl-C stops it.",
    ]
    print("\n".join(lines), flush=True)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    keeper.stop()
    sandbox.stop()
    print(f"# Sandbox stopped; state saved to {keeper.path}.", file=sys.stderr)
    return 0
