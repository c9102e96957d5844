"""Fakes beside the real seams: a clock tests move by hand."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

#: Monday 2 March 2026, 06:00 UTC: 07:00 in Berlin, 01:00 in New York, 15:00 in Tokyo.
MONDAY = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)


class FakeClock:
    """A :class:`bot.clock.Clock` that only moves when told; also a monotonic source."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("give an aware datetime")
        self._now = start.astimezone(UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, **delta: float) -> datetime:
        with self._lock:
            self._now += timedelta(**delta)
            return self._now

    def set(self, when: datetime) -> None:
        with self._lock:
            self._now = when.astimezone(UTC)

    def monotonic(self) -> float:
        return self.now().timestamp()
