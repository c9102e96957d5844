"""The only place that reads the time. Everything else takes a :class:`Clock`."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware (UTC)."""
        ...


class SystemClock:
    """Wall-clock time in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class FakeClock:
    """A :class:`Clock` that only moves when told; also a monotonic source. For tests,
    benchmarks and the sandbox (``bot.sandbox.testing`` re-exports it)."""

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


class OffsetClock:
    """Another clock's time plus an offset that only grows: ``scaleup dev`` fast-forwards.

    The bot and the sandbox read one of these under ``scaleup dev``, so the console can move
    both on (to watch a follow-up two business days away go out) without touching the
    machine's clock. Time never goes back: what was sent stays in the past.
    """

    def __init__(self, base: Clock | None = None) -> None:
        self._base = base or SystemClock()
        self._offset = timedelta(0)
        self._lock = threading.Lock()

    @property
    def offset(self) -> timedelta:
        """How far ahead of the base clock this clock runs."""
        with self._lock:
            return self._offset

    def now(self) -> datetime:
        with self._lock:
            return self._base.now() + self._offset

    def advance(self, delta: timedelta) -> datetime:
        """Move on by ``delta`` (not negative: ValueError) and return the new time."""
        if delta < timedelta(0):
            raise ValueError("The clock only moves forward.")
        with self._lock:
            self._offset += delta
            return self._base.now() + self._offset

    def advance_to(self, when: datetime) -> datetime:
        """Move on to ``when`` (aware); a time already past leaves the clock where it is."""
        if when.tzinfo is None:
            raise ValueError("give an aware datetime")
        with self._lock:
            ahead = when - (self._base.now() + self._offset)
            if ahead > timedelta(0):
                self._offset += ahead
            return self._base.now() + self._offset
