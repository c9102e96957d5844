"""The ``scaleup`` command: ``web``, ``worker``, ``dev``, ``sandbox``, ``db upgrade``,
``classify``, ``demo``."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Sequence
from typing import Any

from bot.logs import configure_logging
from bot.settings import Settings, SettingsError

log = logging.getLogger("scaleup")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="scaleup",
        description="ScaleUp outreach bot. Configuration comes from the environment "
        "(see README); with no Slack or Microsoft credentials it runs against its sandbox.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    web = commands.add_parser(
        "web", help="serve Slack requests and the Outlook callback (gunicorn)"
    )
    web.add_argument("--workers", type=int, default=2)
    web.add_argument("--threads", type=int, default=8)
    worker = commands.add_parser(
        "worker", help="run the scheduler: sends, reply sync, mailbox checks"
    )
    worker.add_argument(
        "--drain",
        type=float,
        metavar="SECONDS",
        help="send what is due now, then exit (stop after SECONDS at most); for cron or one-off runs",
    )
    dev = commands.add_parser(
        "dev", help="web + worker (+ sandbox without credentials), one process"
    )
    dev.add_argument("--host", default="127.0.0.1")
    from bot.sandbox.standalone import add_arguments as sandbox_arguments

    sandbox_arguments(
        commands.add_parser(
            "sandbox",
            help="the sandbox alone (Slack, Microsoft sign-in, Graph); prints a bot's environment",
        )
    )
    db = commands.add_parser("db", help="database tasks")
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="TASK")
    db_commands.add_parser("upgrade", help="apply migrations (safe to repeat)")
    db_commands.add_parser("rotate-keys", help="re-encrypt stored secrets with the newest key")
    classify = commands.add_parser(
        "classify",
        help="say why messages count as a reply, auto-reply, bounce or opt-out (JSON lines)",
    )
    classify.add_argument("files", nargs="+", metavar="FILE", help=".eml (MIME) or Graph message JSON")
    commands.add_parser(
        "demo",
        help="a scripted campaign on a fresh sandbox: connect, import, send, answers; "
        "prints the thread and the numbers",
    )

    args = parser.parse_args(argv)
    if args.command == "classify":
        return run_classify(args.files)
    if args.command == "demo":
        return run_demo()
    configure_logging()
    try:
        settings = Settings.from_env()
        settings.check()
        if args.command in ("web", "worker"):
            settings.require_real_services()
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        return 2
    handler = {
        "web": run_web,
        "worker": run_worker,
        "dev": run_dev,
        "sandbox": run_sandbox,
        "db": run_db,
    }[args.command]
    return handler(settings, args)


def run_db(settings: Settings, args: argparse.Namespace) -> int:
    from bot.db import make_engine, upgrade

    engine = make_engine(settings.database_url)
    if args.db_command == "upgrade":
        upgrade(engine)
        print(f"Database is up to date ({engine.url.render_as_string(hide_password=True)}).")
        return 0
    from bot.container import cipher_for
    from bot.crypto_rotation import rotate_all

    counts = rotate_all(engine, cipher_for(settings))
    print("Re-encrypted: " + ", ".join(f"{n} {what}" for what, n in counts.items()))
    return 0


def run_classify(files: Sequence[str]) -> int:
    """One JSON line per file, in order; an unreadable file gets an ``error`` line."""
    import json
    from pathlib import Path

    from outreach.classify import classify_file

    failed = 0
    for name in files:
        try:
            line = classify_file(Path(name)).as_json(name)
        except OSError as exc:
            failed += 1
            line = {"file": name, "error": f"cannot read the file: {exc.strerror or exc}"}
        except ValueError as exc:
            failed += 1
            line = {"file": name, "error": f"not a Graph message JSON object: {exc}"}
        print(json.dumps(line, ensure_ascii=False), flush=False)
    sys.stdout.flush()
    return 1 if failed else 0


def run_demo() -> int:
    """The demo ignores the environment: its own temporary database and sandbox."""
    from bot.demo import run

    configure_logging("WARNING")  # the transcript is the output
    return run(sys.stdout)


def run_web(settings: Settings, args: argparse.Namespace) -> int:
    from gunicorn.app.base import BaseApplication

    class Gunicorn(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            self.cfg.set("bind", f"0.0.0.0:{settings.port}")
            self.cfg.set("workers", args.workers)
            self.cfg.set("threads", args.threads)
            self.cfg.set("worker_class", "gthread")  # Bolt finishes listeners after ack on threads
            self.cfg.set("timeout", 0)

        def load(self) -> Any:
            from bot.wsgi import app

            return app

    Gunicorn().run()
    return 0


def run_worker(settings: Settings, args: argparse.Namespace) -> int:
    from bot.container import build
    from bot.worker import AnotherWorker, drain, sole_sqlite_worker, start_scheduler

    try:
        with sole_sqlite_worker(settings.database_url):
            container = build(settings)
            if args.drain is not None:
                sent = drain(container, args.drain)
                print(f"Drained the outbox: {sent} message(s) sent.")
                return 0
            scheduler = start_scheduler(container)
            log.info("worker started: %s", ", ".join(job.id for job in scheduler.get_jobs()))
            _wait_for_signal()
            scheduler.shutdown()
    except AnotherWorker as exc:
        print(exc, file=sys.stderr)
        return 2
    return 0


def run_sandbox(settings: Settings, args: argparse.Namespace) -> int:
    from bot.sandbox.standalone import run

    return run(args, settings)


def run_dev(settings: Settings, args: argparse.Namespace) -> int:
    from bot.banner import banner
    from bot.clock import OffsetClock
    from bot.container import build
    from bot.db import make_engine, upgrade
    from bot.private_files import private_dir
    from bot.sandbox import Sandbox
    from bot.sandbox.server import listen, serve
    from bot.worker import AnotherWorker, Waker, sole_sqlite_worker, start_scheduler

    sole = sole_sqlite_worker(settings.database_url)
    try:
        sole.__enter__()  # held until the process exits
    except AnotherWorker as exc:
        print(exc, file=sys.stderr)
        return 2
    wanted, chosen = settings.port, settings
    try:
        sock = listen(args.host, wanted)
    except OSError:
        if settings.public_url != f"http://127.0.0.1:{wanted}":  # PUBLIC_URL leads here
            print(
                f"Port {wanted} is taken and PUBLIC_URL ({settings.public_url}) points at it: "
                "stop the program using it, or set PORT (and PUBLIC_URL) to a free port.",
                file=sys.stderr,
            )
            return 2
        sock = listen(args.host, 0)
        port = sock.getsockname()[1]
        settings = settings.with_overrides(port=port, public_url=f"http://127.0.0.1:{port}")
    sandbox: Sandbox | None = None
    if settings.slack_sandboxed or settings.microsoft_sandboxed:
        private_dir(settings.data_dir)  # the sandbox keeps its state and CA key in there
        sandbox = Sandbox.start(settings.data_dir / "sandbox", base_port=wanted)
        settings = sandbox.configure(settings)
    upgrade(make_engine(settings.database_url))
    clock = OffsetClock()  # the console's clock control moves it (and the sandbox's) on
    container = build(settings, clock=clock)
    server = serve(container.web, host=args.host, sock=sock, name="web")
    scheduler = start_scheduler(container)
    if sandbox is not None:
        from bot.sandbox.console.clock import share_clock

        share_clock(sandbox, clock, wake=Waker(scheduler))
        sandbox.attach_bot(settings.public_url + "/slack/events")
    print(banner(chosen, server.url, sandbox, wanted_port=wanted), flush=True)
    _wait_for_signal()
    scheduler.shutdown(wait=False)
    server.stop()
    if sandbox is not None:
        sandbox.stop()
    return 0


def _wait_for_signal() -> None:
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()


if __name__ == "__main__":
    raise SystemExit(main())
