"""How much the exactly-once dispatcher costs over raw Graph calls, measured in one run.

Baseline: the same number of "create draft, send" pairs made straight through
``GraphClient`` against the same sandbox. Subject: the dispatcher sending a one-step
campaign to the same number of candidates (claim, draft, send, record, each committed).
Prints both rates and their ratio; the clock is a fake so Outlook's 30-a-minute pacing
does not dominate. Run with ``make bench``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bot.sandbox import RECRUITER, Sandbox
from bot.sandbox.testing import (
    THREE_STEPS,
    FakeClock,
    connect,
    create_campaign,
    dispatcher,
    seed_shortlist,
    start_bot,
)
from outreach.schedule import SendWindow


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--database-url", default=None, help="default: a SQLite file")
    args = parser.parse_args()
    n = args.messages
    with tempfile.TemporaryDirectory() as tmp:
        clock = FakeClock(datetime(2026, 3, 2, 6, tzinfo=UTC))
        sandbox = Sandbox.start(Path(tmp) / "sandbox")
        url = args.database_url or f"sqlite:///{tmp}/bench.db"
        bot, server = start_bot(
            sandbox, {"DATABASE_URL": url, "SCALEUP_DATA_DIR": f"{tmp}/data"}, clock=clock
        )
        try:
            mailbox_id = connect(bot, RECRUITER)
            graph = bot.container.tokens.graph_for(mailbox_id)

            started = time.perf_counter()
            for i in range(n):
                draft = graph.create_draft(
                    {
                        "subject": f"Baseline {i}",
                        "body": {"contentType": "Text", "content": "Hello"},
                        "toRecipients": [{"emailAddress": {"address": f"b{i}@talent.example"}}],
                    }
                )
                graph.send_draft(draft["id"])
            baseline = n / (time.perf_counter() - started)

            rows = [(f"c{i}@talent.example", f"C{i}", "UTC", None) for i in range(n)]
            shortlist_id = seed_shortlist(bot, "bench", rows)
            everyday = SendWindow(days=frozenset(range(1, 8)))
            create_campaign(
                bot,
                mailbox_id,
                shortlist_id,
                steps=THREE_STEPS[:1],
                window=everyday,
                daily_cap=10_000,
            )
            bot.container.campaigns.start("T0SANDBOX1", RECRUITER.slack_id, "Backend Q4")
            clock.set(datetime(2026, 3, 2, 9, tzinfo=UTC))
            worker = dispatcher(bot)
            sent = 0
            started = time.perf_counter()
            while sent < n:
                sent += worker.tick().sent
                clock.advance(minutes=1)  # the next 30 of the per-minute Outlook pacing
            subject = n / (time.perf_counter() - started)
        finally:
            server.stop()
            sandbox.stop()
    print(f"baseline (raw Graph create+send): {baseline:8.1f} messages/s")
    print(f"dispatcher (exactly-once outbox): {subject:8.1f} messages/s")
    print(f"ratio dispatcher/baseline:        {subject / baseline:8.2f}")


if __name__ == "__main__":
    main()
