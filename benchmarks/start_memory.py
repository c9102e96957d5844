"""How much memory ``campaign start`` needs, measured in a fresh process of its own.

The parent prepares a database: a mailbox, a shortlist of ``--candidates`` rows imported
through the real CSV import, and a campaign of ``--steps`` steps made by the real create.
A child process then imports what the web process imports, opens the database and reads
the campaign's status (the baseline: peak RSS so far), starts the campaign, and reports its
peak RSS again (``ru_maxrss``, the kernel's high-water mark of the whole process). The
parent prints both, their difference and their ratio; ``--tracemalloc`` also reports the
peak of the Python heap during the start (slower). ``--value-chars`` gives every candidate
a column that long (the CSV import allows 1,000), used ``--value-repeats`` times in each
body: the "long values times a template" case.
Run with ``make bench-memory`` (or ``make bench``).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

TEAM, USER, NAME = "T0BENCH001", "U0BENCH001", "Memory bench"
NOW = datetime(2026, 3, 2, 6, tzinfo=UTC)
BODY = (
    "Hi {{ first_name | default('there') }},\n\n"
    "I lead recruiting for the platform team at Acme. Your work at {{ company }} as "
    "{{ title | default('an engineer') }} caught my eye{{ bio_line }}. We are hiring "
    "senior backend engineers to build our payments platform: Python, PostgreSQL, a "
    "small team that ships every day, and a budget for conferences.\n\n"
    "Would you have 20 minutes this week or next for a call?\n\n"
    "Best,\n{{ sender_name }}\n{{ sender_email }}\n"
)


def prepare(url: str, candidates: int, steps: int, value_chars: int, repeats: int) -> None:
    """A database with everything a start needs, made through the real services."""
    from bot.clock import FakeClock
    from bot.db import make_engine, make_session_factory, transaction, upgrade
    from bot.models import Mailbox
    from outreach.campaigns import Campaigns, CampaignSpec, StepSpec
    from outreach.shortlists import Shortlists

    engine = make_engine(url)
    upgrade(engine)
    db = make_session_factory(engine)
    clock = FakeClock(NOW)
    with transaction(db) as session:
        mailbox = Mailbox(
            team_id=TEAM,
            owner_user_id=USER,
            email="riley.chen@acme.test",
            sender_name="Riley Chen",
            ms_user_id="bench",
            ms_home_account_id="bench",
            state="connected",
            token_cache_enc="unused by a start",
            connected_at=NOW,
            updated_at=NOW,
        )
        session.add(mailbox)
        session.flush()
        mailbox_id = mailbox.id
    bio = "x" * value_chars
    lines = ["email,first_name,last_name,timezone,country,company,title,bio"]
    lines += [
        f"c{i}@talent.example,Cand{i},Date{i},Europe/Berlin,DE,Company {i % 97},Engineer,{bio}"
        for i in range(candidates)
    ]
    report = Shortlists(db, clock).import_csv(TEAM, USER, "bench", "\n".join(lines) + "\n")
    assert report.created == candidates, report.text()
    body = BODY.replace("{{ bio_line }}", " {{ bio }}" * repeats if value_chars else "")
    spec = CampaignSpec(
        name=NAME,
        shortlist_id=report.shortlist_id,
        mailbox_id=mailbox_id,
        channel_id="C0BENCH001",
        steps=[
            StepSpec(f"Step {n}: a role at Acme, {{{{ first_name }}}}?", body)
            for n in range(1, steps + 1)
        ],
    )
    Campaigns(db, clock).create(TEAM, USER, spec)
    engine.dispose()


def child(url: str, trace: bool) -> None:
    """Start the campaign in this process; print the figures as JSON."""
    import resource
    import tracemalloc

    import bot.container  # noqa: F401  everything the web process imports
    from bot.clock import FakeClock
    from bot.db import make_engine, make_session_factory
    from outreach.campaigns import Campaigns

    engine = make_engine(url)
    campaigns = Campaigns(make_session_factory(engine), FakeClock(NOW))
    campaigns.status(TEAM, NAME)  # the connection and the mappers are warm
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if trace:
        tracemalloc.start()
    started = time.perf_counter()
    report = campaigns.start(TEAM, USER, NAME)
    seconds = time.perf_counter() - started
    heap = tracemalloc.get_traced_memory()[1] if trace else None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    messages = sum(campaigns.status(TEAM, NAME).messages.values())
    figures = {
        "baseline_kb": baseline,
        "peak_kb": peak,
        "heap_peak_bytes": heap,
        "enrolled": report.enrolled,
        "messages": messages,
        "seconds": seconds,
    }
    print(json.dumps(figures))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--candidates", type=int, default=10_000)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--value-chars", type=int, default=0)
    parser.add_argument("--value-repeats", type=int, default=2)
    parser.add_argument("--tracemalloc", action="store_true", help="also the Python heap's peak")
    parser.add_argument("--database-url", default=None, help="default: a SQLite file")
    parser.add_argument("--role", choices=("prepare", "start"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.role == "prepare":
        prepare(
            args.database_url, args.candidates, args.steps, args.value_chars, args.value_repeats
        )
        return
    if args.role == "start":
        child(args.database_url, args.tracemalloc)
        return
    # This process stays small and does no work itself: Linux carries a parent's resident
    # size at fork into the child's ru_maxrss, so a big parent would hide a small start.
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{tmp}/bench.db"
        run = [sys.executable, "-m", "benchmarks.start_memory", *sys.argv[1:]]
        subprocess.run([*run, "--role", "prepare", "--database-url", url], check=True)
        done = subprocess.run(
            [*run, "--role", "start", "--database-url", url],
            check=True,
            stdout=subprocess.PIPE,
            text=True,
        )
        figures = json.loads(done.stdout.strip().splitlines()[-1])
        size = Path(f"{tmp}/bench.db").stat().st_size if not args.database_url else None
    baseline, peak = figures["baseline_kb"] / 1024, figures["peak_kb"] / 1024
    print(
        f"start of {figures['enrolled']:,} candidates x {args.steps} steps "
        f"({figures['messages']:,} messages) in {figures['seconds']:.1f} s"
    )
    print(f"baseline RSS (imports, database open):  {baseline:8.1f} MB")
    print(f"peak RSS during the start:              {peak:8.1f} MB")
    print(f"the start's own share (peak - baseline): {peak - baseline:7.1f} MB")
    print(f"ratio peak/baseline:                    {peak / baseline:8.2f}")
    if figures["heap_peak_bytes"] is not None:
        heap = figures["heap_peak_bytes"] / 2**20
        print(f"Python heap peak during the start:      {heap:8.1f} MB")
    if size is not None:
        print(f"SQLite file after the start:            {size / 2**20:8.1f} MB")


if __name__ == "__main__":
    main()
