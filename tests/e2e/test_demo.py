"""``scaleup demo`` as a new user runs it: its own process, no configuration, exit 0, and
a transcript that shows every kind of answer and the campaign's numbers."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]


def test_demo_prints_the_thread_and_the_numbers(tmp_path: Path) -> None:
    # Whatever the caller's environment says, the demo uses its own sandbox and database.
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path}/elsewhere.db", "PORT": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "demo"],
        cwd=tmp_path,
        env={**env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    thread = out.split("── The campaign's thread", 1)[1].split("── /scaleup campaign status", 1)[0]
    assert "Campaign *Backend Q4* started by @Riley Chen" in thread
    assert "Jana Novak jana.novak@talent.example answered step 1" in thread
    assert "*Reply* (interested)" in thread
    assert "*Reply* (not interested)" in thread
    assert "*Out of office* until Fri 06 Mar 2026" in thread
    assert "*Bounce* (hard); the address is marked bounced" in thread
    assert "*Unsubscribe request*" in thread
    assert "answered step 2 of *Backend Q4*" in thread
    assert "[Pause candidate]" in thread  # buttons read as labels, not Block Kit
    assert '"type"' not in out and "<!date" not in out and "<@" not in out
    # Step 1 as the candidate received it, rendered from the template and her row.
    assert "Subject: Jana, a backend role at Acme?" in out
    assert "your work at Initech" in out
    status = out.split("── /scaleup campaign status Backend Q4 ──", 1)[1]
    assert "Enrolled 20 · sent step 1: 20, step 2: 16, step 3: 15" in status
    assert "Replied 3 · interested 2" in status
    assert "Bounced 1 · unsubscribed 1 · out of office 1" in status
    assert not list(tmp_path.iterdir())  # nothing left behind where it ran
