"""The sandbox's state in one file, so a restart of the sandbox or of the bot loses nothing.

What is kept: the mailboxes and what transport still has to deliver, the directory's users,
consents (grants), refresh and access tokens, the registered client apps and tenant
policies, the Slack workspace (bot token, people, channels, messages, files, views), and
the secrets a bot was configured with (signing secret, Microsoft client id and secret).
What is not: servers, locks, clocks, faults and holds, certificates (they are files of
their own) and the URLs of this run.

Which attributes count is decided generically: every attribute of the sandbox's parts that
pickles on its own (data), minus the run's own (:data:`_OF_THIS_RUN`). So state a later
change adds to a part (a new dict of channels, say) is kept without touching this module.

The file is a pickle written by this process into its private state directory and read
back by the same program only; one that no longer loads (the code changed shape) is moved
aside and the sandbox starts fresh, saying so.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.sandbox import Sandbox

log = logging.getLogger("scaleup.sandbox")

STATE_FILE = "state.pickle"

#: Attributes that belong to one run: the new run's values stand.
_OF_THIS_RUN = {
    "sandbox": {"certs", "bot_events_url"},
    "slack": {"_url"},
}


def _parts(sandbox: Sandbox) -> dict[str, object]:
    # The order is the order their locks are taken: a part that calls into another while
    # holding its own lock (the store and identity call the directory) comes first.
    return {
        "sandbox": sandbox,
        "identity": sandbox.identity,
        "store": sandbox.store,
        "exchange": sandbox.store._exchange,
        "slack": sandbox.slack,
        "graph": sandbox.graph,
        "directory": sandbox.directory,
    }


def _is_data(value: object) -> bool:
    if callable(value):  # clocks, WSGI apps, bound methods
        return False
    try:
        pickle.dumps(value)
    except Exception:  # locks, threads, servers and whatever holds one
        return False
    return True


@contextlib.contextmanager
def _all_locked(parts: dict[str, object]) -> Iterator[None]:
    with contextlib.ExitStack() as stack:
        for part in parts.values():
            lock = vars(part).get("_lock")
            if lock is not None:
                stack.enter_context(lock)
        yield


def snapshot(sandbox: Sandbox) -> bytes:
    """The sandbox's state as bytes, taken with every part's lock held (one consistent cut)."""
    parts = _parts(sandbox)
    with _all_locked(parts):
        state = {
            name: {
                key: value
                for key, value in vars(part).items()
                if key not in _OF_THIS_RUN.get(name, ())
                and all(value is not other for other in parts.values())
                and _is_data(value)
            }
            for name, part in parts.items()
        }
        return pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL)


def restore(sandbox: Sandbox, path: Path) -> bool:
    """Load the state saved at ``path`` into ``sandbox`` (just started); whether there was one.

    Call it before :meth:`Sandbox.configure`, so the bot gets the saved secrets.
    """
    if not path.exists():
        return False
    try:
        state: dict[str, dict[str, Any]] = pickle.loads(path.read_bytes())
        parts = _parts(sandbox)
        for name, attributes in state.items():
            if name in parts:
                vars(parts[name]).update(attributes)
    except Exception as exc:  # a file from an older shape of the sandbox
        aside = path.with_suffix(".unreadable")
        path.replace(aside)
        log.warning("sandbox state %s could not be read (%s); moved to %s", path, exc, aside)
        return False
    return True


def write_atomically(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` so a reader (or a crash) sees the old file or the new."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, 0o600)  # it holds tokens and secrets
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


class Keeper:
    """Saves the sandbox's state to ``path`` whenever it changed (looked at every
    ``interval`` seconds) and once more at :meth:`stop`."""

    def __init__(self, sandbox: Sandbox, path: Path, *, interval: float = 0.5) -> None:
        self.sandbox, self.path, self.interval = sandbox, path, interval
        self._last: bytes | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sandbox-state", daemon=True)

    def start(self) -> Keeper:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.save()
        self._thread.start()
        return self

    def save(self) -> bool:
        """Write the state if it changed since the last write; whether it wrote."""
        data = snapshot(self.sandbox)
        if data == self._last:
            return False
        write_atomically(self.path, data)
        self._last = data
        return True

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.save()
            except Exception:  # keep trying: a failed save must not stop the sandbox
                log.exception("could not save the sandbox state to %s", self.path)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.save()
