"""What must never be committed: the SQLite database, its side files and the data dir.

The WAL and journal hold the same candidate data and encrypted tokens as the database;
the worker's lock file and ``.scaleup/`` (development key, sandbox state) are local.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

LOCAL_FILES = [
    "scaleup.db",
    "scaleup.db-wal",
    "scaleup.db-shm",
    "scaleup.db-journal",
    "scaleup.db.worker.lock",
    "data/other.db-wal",
    "data/other.db-journal",
    ".scaleup/dev-encryption.key",
    ".scaleup/sandbox/bot.env",
]


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
@pytest.mark.parametrize("name", LOCAL_FILES)
def test_git_ignores_the_local_database_files(name: str) -> None:
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    found = subprocess.run(
        ["git", "check-ignore", "--no-index", "--quiet", name],
        cwd=ROOT,
        check=False,
        capture_output=True,
    )
    assert found.returncode == 0, f"{name} is not ignored by .gitignore"
