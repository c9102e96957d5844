"""The console's clock control: fast-forward the bot and the sandbox together.

Under ``scaleup dev`` the bot's container, the sandbox's Exchange (``store.clock``) and its
identity platform (``identity_clock``) read one :class:`~bot.clock.OffsetClock`;
:func:`share_clock` wires that and hands the console a :class:`ClockControl`. Pressing
"+1 hour", "+1 day" or "next business morning" moves that clock forward (never back) and
then calls ``wake``, which ``scaleup dev`` points at the worker's scheduler so the
dispatch and reply-sync ticks run at once: a follow-up that became due goes out within a
moment instead of at the next 15 s tick. Without a shared clock (tests that bring their
own) the page shows the sandbox's time and no buttons.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta, tzinfo
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from flask import Flask, abort, redirect, request
from werkzeug.wrappers import Response

from bot.clock import OffsetClock
from bot.sandbox.console.origin import same_origin_only

if TYPE_CHECKING:
    from bot.sandbox import Sandbox
    from bot.sandbox.console.routes import Console

__all__ = ["STEPS", "ClockControl", "next_business_morning", "share_clock"]

#: What the buttons offer: form value -> label.
STEPS = {"hour": "+1 hour", "day": "+1 day", "morning": "next business morning"}
MORNING = time(9)


def next_business_morning(now: datetime, zone: tzinfo) -> datetime:
    """The first 09:00 in ``zone`` after ``now`` on a Monday to Friday."""
    day = now.astimezone(zone).date()
    while True:
        morning = datetime.combine(day, MORNING, zone)
        if morning > now and morning.weekday() < 5:
            return morning
        day += timedelta(days=1)


@dataclass
class ClockControl:
    """The shared clock, what to run once it moved, and the zone "morning" means."""

    clock: OffsetClock
    wake: Callable[[], None]
    zone: tzinfo

    def move(self, step: str) -> datetime:
        """Move on by one of :data:`STEPS` (else ValueError); the new time."""
        if step == "hour":
            moved = self.clock.advance(timedelta(hours=1))
        elif step == "day":
            moved = self.clock.advance(timedelta(days=1))
        elif step == "morning":
            moved = self.clock.advance_to(next_business_morning(self.clock.now(), self.zone))
        else:
            raise ValueError(f"unknown clock step {step!r}: one of {', '.join(STEPS)}")
        self.wake()
        return moved


def share_clock(
    sandbox: Sandbox,
    clock: OffsetClock,
    *,
    wake: Callable[[], None] | None = None,
    zone: tzinfo | None = None,
) -> ClockControl:
    """Put the sandbox on ``clock`` (the bot's too) and give the console its control.

    ``wake`` runs after each move (the worker's ticks); ``zone`` is where "next business
    morning" is 09:00 (the machine's local zone by default).
    """
    from bot.sandbox.console import console_of

    sandbox.identity_clock.follow(clock)  # tokens expire on the bot's time
    sandbox.store.clock = clock.now  # mail is dated, and delivered, on it
    local = clock.now().astimezone().tzinfo or UTC
    control = ClockControl(clock, wake or (lambda: None), zone or local)
    console_of(sandbox).clock = control
    return control


def register(app: Flask, console: Console) -> None:
    """``POST /console/clock`` (``step``, ``back``: the console page to return to)."""

    def move() -> Response:
        control = console.clock
        if control is None:
            abort(409, "This sandbox's clock is not shared with a bot here; nothing to move.")
        try:
            control.move(request.form.get("step", ""))
        except ValueError as exc:
            abort(400, str(exc))
        return redirect(_back(request.form.get("back", "/")), 303)

    guarded = same_origin_only(lambda: console.slack.url, move)
    app.add_url_rule("/console/clock", "console_clock", guarded, methods=["POST"])


def _back(path: str) -> str:
    """Only a path on this server (no scheme, host or ``//``): not an open redirect."""
    parts = urlsplit(path)
    if parts.scheme or parts.netloc or not path.startswith("/") or path[1:2] in ("/", "\\"):
        return "/"
    return path
