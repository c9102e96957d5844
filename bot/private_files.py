"""Files only the bot's own OS user may read: the data directory and the SQLite database.

The data directory holds the development encryption key and the sandbox's state; the
SQLite file (with its ``-wal`` and ``-shm`` companions) holds every campaign, candidate
and encrypted token cache. Directories are created 0700 and files 0600 whatever the
umask, without changing the umask (it is process-wide and other threads create files).
SQLite gives the ``-wal`` and ``-shm`` files the permissions of the database file.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)

DIR_MODE = 0o700
FILE_MODE = 0o600


def private_dir(path: Path) -> Path:
    """Create ``path`` (and missing parents) owner-only, or make an existing one so."""
    missing: list[Path] = []
    probe = path
    while not probe.exists():
        missing.append(probe)
        probe = probe.parent
    for directory in reversed(missing):
        directory.mkdir(mode=DIR_MODE, exist_ok=True)
    _restrict(path, DIR_MODE)
    return path


def private_sqlite_file(database: str) -> None:
    """Create the SQLite file ``database`` owner-only before SQLite opens it, and tighten
    the file and its ``-wal``/``-shm`` if they exist. A missing directory is created
    owner-only; an existing one (the working directory, say) is left as it is."""
    path = Path(database)
    if not path.parent.exists():
        private_dir(path.parent)
    # O_CREAT without O_TRUNC: an existing database is opened, never emptied.
    os.close(os.open(path, os.O_CREAT | os.O_WRONLY, FILE_MODE))
    for companion in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if companion.exists():
            _restrict(companion, FILE_MODE)


def _restrict(path: Path, mode: int) -> None:
    try:
        if path.stat().st_mode & 0o777 != mode:
            os.chmod(path, mode)
    except PermissionError:  # someone else's file: say so, the bot can still run
        log.warning("%s is not owned by this user; could not make it owner-only", path)
