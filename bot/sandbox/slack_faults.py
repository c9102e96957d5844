"""Knobs that make the sandbox Slack's Web API misbehave as real Slack sometimes does.

``outage(status)`` answers every Web API call with that HTTP status (``503`` by default)
until ``restore()``; ``throttle(retry_after, calls)`` answers the next ``calls`` calls
with 429 and ``Retry-After``. Either can be limited to some methods. Calls refused here
are recorded in the call log like any other, with their ``ok: false`` answer.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Fault:
    """The HTTP answer to give instead of the method's own."""

    status: int
    error: str
    headers: dict[str, str] = field(default_factory=dict)


class SlackFaults:
    """What the sandbox Slack answers instead of doing the call (None: do it)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._outage: tuple[int, frozenset[str] | None] | None = None
        self._throttle: tuple[int, int, frozenset[str] | None] | None = None

    def outage(self, status: int = 503, methods: Iterable[str] | None = None) -> None:
        """Every call (of ``methods``, else any) answers HTTP ``status`` until :meth:`restore`."""
        with self._lock:
            self._outage = (status, frozenset(methods) if methods else None)

    def throttle(
        self, retry_after: int = 1, calls: int = 1, methods: Iterable[str] | None = None
    ) -> None:
        """The next ``calls`` calls (of ``methods``, else any) answer 429 + ``Retry-After``."""
        with self._lock:
            self._throttle = (retry_after, calls, frozenset(methods) if methods else None)

    def restore(self) -> None:
        """Slack works again."""
        with self._lock:
            self._outage = self._throttle = None

    def answer(self, method: str) -> Fault | None:
        """The fault for a call of ``method`` now, consuming a throttled call."""
        with self._lock:
            if self._outage is not None:
                status, methods = self._outage
                if methods is None or method in methods:
                    return Fault(status, "service_unavailable" if status >= 500 else "fault")
            if self._throttle is not None:
                retry_after, calls, methods = self._throttle
                if methods is None or method in methods:
                    left = calls - 1
                    self._throttle = (retry_after, left, methods) if left > 0 else None
                    return Fault(429, "ratelimited", {"Retry-After": str(retry_after)})
            return None
