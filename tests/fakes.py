"""Fakes beside the real seams: a clock tests move by hand (public in bot.sandbox.testing)."""

from __future__ import annotations

from bot.sandbox.testing import MONDAY, FakeClock

__all__ = ["MONDAY", "FakeClock"]
