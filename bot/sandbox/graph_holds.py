"""Graph requests the sandbox keeps waiting until a test lets them go.

A crash test needs a worker process stopped at a known point of a send, then killed. A
timer cannot promise where the worker is; a hold can: the test arms a hold on a Graph
operation (the route handler's name: ``create_message``, ``create_reply``, ``send`` …),
*before* the operation runs (nothing has happened in the mailbox yet) or *after* it (the
mailbox changed, the answer has not left). When a request reaches the hold it waits; the
test sees it in :meth:`Holds.waiting`, kills the client, and releases it.

Released ``before`` holds are dropped by default: the operation never runs and the request
is answered 503, as if the connection had died before Exchange saw it. ``after`` holds
always answer with what the operation returned. A hold nobody releases lets go after
``timeout`` seconds (dropped), so a forgotten one cannot wedge the server's shutdown.

Tests in the sandbox's own process use :attr:`GraphSandbox.holds`; a sandbox started with
``scaleup sandbox`` exposes the same calls over HTTP on its Graph server (``/sandbox/holds``,
see :func:`control_app`).
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field
from typing import Any, Literal

from flask import Flask, jsonify, request
from flask.typing import ResponseReturnValue

When = Literal["before", "after"]


@dataclass
class _Rule:
    id: int
    operation: str
    when: When
    mailbox: str | None
    remaining: int


@dataclass
class _Held:
    id: int
    rule: int
    operation: str
    when: When
    mailbox: str | None
    released: threading.Event = field(default_factory=threading.Event)
    drop: bool = True


class Holds:
    """Armed holds and the requests waiting in them; thread-safe."""

    def __init__(self, *, timeout: float = 120.0) -> None:
        self.timeout = timeout
        self._lock = threading.Condition()
        self._ids = itertools.count(1)
        self._rules: list[_Rule] = []
        self._waiting: dict[int, _Held] = {}

    def arm(
        self, operation: str, when: When = "before", *, mailbox: str | None = None, times: int = 1
    ) -> int:
        """Hold the next ``times`` requests running ``operation`` (for ``mailbox``, or any)."""
        if when not in ("before", "after"):
            raise ValueError("when must be 'before' or 'after'")
        with self._lock:
            rule = _Rule(next(self._ids), operation, when, mailbox and mailbox.lower(), times)
            self._rules.append(rule)
            return rule.id

    def pause(self, operation: str, when: When, mailbox: str | None) -> bool:
        """Called by the server at each point: wait if a hold matches; False means drop."""
        with self._lock:
            rule = next(
                (
                    r
                    for r in self._rules
                    if r.operation == operation
                    and r.when == when
                    and r.mailbox in (None, (mailbox or "").lower())
                ),
                None,
            )
            if rule is None:
                return True
            rule.remaining -= 1
            if rule.remaining <= 0:
                self._rules.remove(rule)
            held = _Held(next(self._ids), rule.id, operation, when, mailbox)
            self._waiting[held.id] = held
            self._lock.notify_all()
        released = held.released.wait(self.timeout)
        with self._lock:
            self._waiting.pop(held.id, None)
        return released and not (held.drop and when == "before")

    def waiting(self) -> list[dict[str, Any]]:
        """The requests waiting now, oldest first."""
        with self._lock:
            return [
                {"id": h.id, "rule": h.rule, "operation": h.operation, "when": h.when,
                 "mailbox": h.mailbox}
                for h in self._waiting.values()
            ]

    def wait_for(self, count: int = 1, timeout: float = 10.0) -> list[dict[str, Any]]:
        """Block until ``count`` requests are waiting; raises TimeoutError otherwise."""
        with self._lock:
            if not self._lock.wait_for(lambda: len(self._waiting) >= count, timeout):
                raise TimeoutError(f"no {count} request(s) reached a hold in {timeout} s")
        return self.waiting()

    def release(self, held_id: int | None = None, *, drop: bool = True) -> int:
        """Let one waiting request (or all) go; ``drop=False`` runs a ``before`` one.

        Returns how many were released.
        """
        with self._lock:
            targets = [h for h in self._waiting.values() if held_id in (None, h.id)]
            for held in targets:
                held.drop = drop
                held.released.set()
            return len(targets)

    def clear(self) -> None:
        """Disarm every hold and drop whatever waits (the server is stopping, or a test ends)."""
        with self._lock:
            self._rules.clear()
        self.release()


def control_app(app: Flask, holds: Holds) -> None:
    """Mount ``/sandbox/holds`` on ``app``: GET lists the waiting requests, POST arms a hold
    (``{"operation", "when", "mailbox", "times"}``), POST ``/sandbox/holds/release``
    (``{"id", "drop"}``) lets requests go, DELETE disarms and drops everything."""

    def holds_view() -> ResponseReturnValue:
        if request.method == "GET":
            return jsonify(waiting=holds.waiting())
        if request.method == "DELETE":
            holds.clear()
            return jsonify(ok=True)
        body = request.get_json(force=True, silent=True) or {}
        try:
            rule = holds.arm(
                str(body.get("operation", "")),
                body.get("when", "before"),
                mailbox=body.get("mailbox"),
                times=int(body.get("times", 1)),
            )
        except ValueError as exc:
            return jsonify(error=str(exc)), 400
        return jsonify(rule=rule), 201

    def release_view() -> ResponseReturnValue:
        body = request.get_json(force=True, silent=True) or {}
        count = holds.release(body.get("id"), drop=bool(body.get("drop", True)))
        return jsonify(released=count)

    app.add_url_rule("/sandbox/holds", "holds", holds_view, methods=["GET", "POST", "DELETE"])
    app.add_url_rule("/sandbox/holds/release", "holds_release", release_view, methods=["POST"])
