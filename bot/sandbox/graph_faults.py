"""Throttling, outages and lost responses for the sandbox Graph, plus a log of what clients did.

:class:`Faults` decides, for each request, whether it is served, held back or failed, the way
the Outlook service limits an app per mailbox: at most ``concurrency_limit`` requests in
flight (the 5th gets 429 "MailboxConcurrency"), random 429/503 answers at the rates set, and
after any 429 every request for that mailbox is refused until ``Retry-After`` has elapsed.
Those refusals are logged as *early retries*: a well-behaved client has none.

The log keeps, per request, the mailbox, method, path, status, start and end time, and how
many requests the client had open against the mailbox when it arrived (``concurrent``), so
tests can assert "never more than 4 at once" and "nothing before Retry-After".

Knobs are plain attributes that may be changed while the server runs (or all at once with
:meth:`Faults.configure`); the random draws come from one seeded generator, so a sequential
client sees the same faults on every run.
"""

from __future__ import annotations

import math
import random
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class LoggedRequest:
    """One request as the sandbox saw it; ``fault`` names what the sandbox did to it."""

    mailbox: str | None
    method: str
    path: str
    status: int
    started: float
    ended: float
    concurrent: int
    early_retry: bool = False
    fault: str | None = None


@dataclass(frozen=True)
class Rejection:
    """A canned answer given instead of running the request."""

    status: int
    code: str
    message: str
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None


@dataclass
class _Hook:
    method: str
    pattern: re.Pattern[str]
    rejection: Rejection
    after_effect: bool


@dataclass
class Admission:
    """The decision for one request, handed back to :meth:`Faults.finish` when it is done."""

    mailbox: str | None
    method: str
    path: str
    started: float
    concurrent: int
    rejection: Rejection | None = None
    after_effect: Rejection | None = None
    latency: float = 0.0
    stall: float = 0.0
    holds_slot: bool = False
    early_retry: bool = False
    fault: str | None = None


_KNOBS = (
    "latency",
    "throttle_rate",
    "retry_after",
    "unavailable_rate",
    "timeout_after_effect_rate",
    "timeout_stall",
    "concurrency_limit",
    "reject_extended_in_create_reply",
)


class Faults:
    """Runtime-adjustable faults and limits for one :class:`~bot.sandbox.graph.GraphSandbox`.

    ``latency``: seconds added to every admitted request (it holds its concurrency slot).
    ``throttle_rate``/``unavailable_rate``: probability of a 429 ``TooManyRequests`` / 503.
    ``retry_after``: whole seconds sent in ``Retry-After`` and enforced after a 429.
    ``timeout_after_effect_rate``: probability that send/sendMail/reply/createReply performs
    its effect and then stalls ``timeout_stall`` seconds, so the client times out although
    the mail was sent. ``concurrency_limit``: requests in flight per mailbox (Graph: 4).
    ``clock`` is the monotonic clock used for the Retry-After window and the log.
    ``reject_extended_in_create_reply``: createReply/createReplyAll answer 400
    ``ErrorInvalidProperty`` to a ``message`` carrying ``singleValueExtendedProperties``.
    Graph documents neither that it accepts them there nor that it refuses them
    (docs/assumptions.md, A1); this knob plays the refusal.
    """

    def __init__(
        self,
        *,
        seed: int = 0,
        latency: float = 0.0,
        throttle_rate: float = 0.0,
        retry_after: int = 2,
        unavailable_rate: float = 0.0,
        timeout_after_effect_rate: float = 0.0,
        timeout_stall: float = 5.0,
        concurrency_limit: int = 4,
        reject_extended_in_create_reply: bool = False,
        clock: Callable[[], float] = time.monotonic,
        log_limit: int = 100_000,
    ) -> None:
        self.latency = latency
        self.throttle_rate = throttle_rate
        self.retry_after = retry_after
        self.unavailable_rate = unavailable_rate
        self.timeout_after_effect_rate = timeout_after_effect_rate
        self.timeout_stall = timeout_stall
        self.concurrency_limit = concurrency_limit
        self.reject_extended_in_create_reply = reject_extended_in_create_reply
        self.clock = clock
        self._lock = threading.Lock()
        self._random = random.Random(seed)
        self._open: dict[str, int] = {}
        self._in_flight: dict[str, int] = {}
        self._peak: dict[str, int] = {}
        self._blocked_until: dict[str, float] = {}
        self._early: dict[str, int] = {}
        self._hooks: list[_Hook] = []
        self._stalls: list[tuple[str, re.Pattern[str], float]] = []
        self._log: deque[LoggedRequest] = deque(maxlen=log_limit)

    # -- knobs -------------------------------------------------------------------------------
    def configure(self, **knobs: float) -> None:
        """Set several knobs at once, e.g. ``configure(latency=0.05, throttle_rate=0.1)``."""
        unknown = set(knobs) - set(_KNOBS)
        if unknown:
            raise TypeError(f"unknown fault knobs: {', '.join(sorted(unknown))}")
        with self._lock:
            for name, value in knobs.items():
                setattr(self, name, value)

    def reseed(self, seed: int) -> None:
        with self._lock:
            self._random.seed(seed)

    def fail_next(
        self,
        method: str,
        path_regex: str,
        status: int,
        body: Any = None,
        *,
        headers: dict[str, str] | None = None,
        after_effect: bool = False,
    ) -> None:
        """Answer the next request matching ``method`` and ``path_regex`` (searched in the
        URL path, e.g. ``r"/send$"``) with ``status`` and ``body`` (default: a Graph error),
        once. With ``after_effect`` the request is carried out first (a send really sends),
        as when a gateway times out behind a successful call."""
        code = "ServiceUnavailable" if status == 503 else f"Http{status}"
        rejection = Rejection(status, code, f"Injected failure {status}.", headers or {}, body)
        with self._lock:
            self._hooks.append(
                _Hook(method.upper(), re.compile(path_regex), rejection, after_effect)
            )

    def stall_next(self, method: str, path_regex: str, seconds: float) -> None:
        """Carry out the next admitted effectful request matching ``method`` and
        ``path_regex``, then stall ``seconds`` before answering, once: the deterministic
        twin of ``timeout_after_effect_rate``, for a test that must see a send time out."""
        with self._lock:
            self._stalls.append((method.upper(), re.compile(path_regex), seconds))

    # -- what tests read ---------------------------------------------------------------------
    def log(self) -> list[LoggedRequest]:
        with self._lock:
            return list(self._log)

    def clear_log(self) -> None:
        with self._lock:
            self._log.clear()
            self._peak.clear()
            self._early.clear()

    def peak_concurrency(self, mailbox: str) -> int:
        """The most requests the client ever had open at once against ``mailbox``."""
        with self._lock:
            return self._peak.get(mailbox.lower(), 0)

    def early_retries(self, mailbox: str | None = None) -> int:
        """Requests that arrived while a Retry-After for their mailbox was still running."""
        with self._lock:
            if mailbox is not None:
                return self._early.get(mailbox.lower(), 0)
            return sum(self._early.values())

    # -- what the server calls ---------------------------------------------------------------
    def admit(self, mailbox: str | None, method: str, path: str, *, effectful: bool) -> Admission:
        """Decide how to treat one arriving request; always pair with :meth:`finish`."""
        mailbox = mailbox.lower() if mailbox else None
        with self._lock:
            now = self.clock()
            concurrent = 0
            if mailbox is not None:
                concurrent = self._open[mailbox] = self._open.get(mailbox, 0) + 1
                self._peak[mailbox] = max(self._peak.get(mailbox, 0), concurrent)
            ticket = Admission(mailbox, method, path, now, concurrent, latency=self.latency)
            hook = self._take_hook(method, path)
            if hook is not None and not hook.after_effect:
                ticket.rejection, ticket.fault = hook.rejection, "fail_next"
                return ticket
            ticket.after_effect = hook.rejection if hook is not None else None
            if mailbox is None:
                return ticket
            self._limit(ticket, mailbox, now, effectful)
            if effectful and ticket.rejection is None:
                self._take_stall(ticket)
            return ticket

    def _take_stall(self, ticket: Admission) -> None:
        for index, (method, pattern, seconds) in enumerate(self._stalls):
            if method == ticket.method.upper() and pattern.search(ticket.path):
                del self._stalls[index]
                ticket.stall, ticket.fault = seconds, "timeout-after-effect"
                return

    def finish(self, ticket: Admission, status: int) -> None:
        with self._lock:
            mailbox = ticket.mailbox
            if mailbox is not None:
                self._open[mailbox] -= 1
                if ticket.holds_slot:
                    self._in_flight[mailbox] -= 1
            self._log.append(
                LoggedRequest(
                    mailbox,
                    ticket.method,
                    ticket.path,
                    status,
                    ticket.started,
                    self.clock(),
                    ticket.concurrent,
                    ticket.early_retry,
                    ticket.fault,
                )
            )

    def _take_hook(self, method: str, path: str) -> _Hook | None:
        for index, hook in enumerate(self._hooks):
            if hook.method == method.upper() and hook.pattern.search(path):
                return self._hooks.pop(index)
        return None

    def _limit(self, ticket: Admission, mailbox: str, now: float, effectful: bool) -> None:
        blocked_until = self._blocked_until.get(mailbox, 0.0)
        if now < blocked_until:
            self._early[mailbox] = self._early.get(mailbox, 0) + 1
            ticket.early_retry = True
            wait = max(1, math.ceil(blocked_until - now))
            ticket.rejection = self._throttled("TooManyRequests", "Too many requests.", wait)
            ticket.fault = "early-retry"
            return
        if self._in_flight.get(mailbox, 0) >= self.concurrency_limit:
            ticket.rejection = self._block(
                mailbox,
                now,
                "ApplicationThrottled",
                "Application is over its MailboxConcurrency limit.",
            )
            ticket.fault = "concurrency"
            return
        self._in_flight[mailbox] = self._in_flight.get(mailbox, 0) + 1
        ticket.holds_slot = True
        # Always two draws per admitted request, so the sequence does not depend on knobs.
        draw, stall_draw = self._random.random(), self._random.random()
        if draw < self.throttle_rate:
            ticket.rejection = self._block(mailbox, now, "TooManyRequests", "Too many requests.")
            ticket.fault = "throttle"
        elif draw < self.throttle_rate + self.unavailable_rate:
            ticket.rejection = Rejection(
                503,
                "ServiceUnavailable",
                "The service is temporarily unavailable. Please retry after a delay.",
                {"Retry-After": str(self.retry_after)},
            )
            ticket.fault = "unavailable"
        elif effectful and stall_draw < self.timeout_after_effect_rate:
            ticket.stall = self.timeout_stall
            ticket.fault = "timeout-after-effect"

    def _block(self, mailbox: str, now: float, code: str, message: str) -> Rejection:
        self._blocked_until[mailbox] = now + self.retry_after
        return self._throttled(code, message, self.retry_after)

    @staticmethod
    def _throttled(code: str, message: str, wait: int) -> Rejection:
        return Rejection(429, code, message, {"Retry-After": str(wait)})
