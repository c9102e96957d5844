"""Slack's Web API rate limits in the sandbox: tiers, ``chat.postMessage`` per channel,
HTTP 429 with ``Retry-After``, and a log tests can assert on.

https://api.slack.com/apis/rate-limits (now docs.slack.dev/apis/web-api/rate-limits):
limits apply "per API method per workspace/team per app"; Tier 1 is 1+ per minute,
Tier 2 20+, Tier 3 50+, Tier 4 100+ ("+": short bursts above are tolerated). Special:
"chat.postMessage generally allows posting one message per second per channel, while also
maintaining a workspace-wide limit… Short bursts >1 allowed." Over a limit Slack answers
HTTP 429 with ``Retry-After`` (whole seconds) and ``{"ok": false, "error": "ratelimited"}``.

Each limit is a token bucket: it holds ``burst`` calls and refills at ``per_minute / 60``
a second, so a burst passes and a steady stream over the rate is refused. All figures
are attributes of :class:`RateLimits`, so a test may tighten, loosen or switch them off.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

#: Tier of each method the bot calls, from each method's reference page.
METHOD_TIERS = {
    "auth.test": 4,  # "Special", far above what the bot needs
    "auth.revoke": 3,
    "chat.update": 3,
    "chat.postEphemeral": 4,
    "conversations.open": 3,
    "conversations.info": 3,
    "conversations.join": 3,
    "conversations.members": 4,
    "views.open": 4,
    "views.push": 4,
    "views.update": 4,
    "views.publish": 4,
    "users.info": 4,
    "users.lookupByEmail": 3,
    "files.info": 4,
    "files.getUploadURLExternal": 4,
    "files.completeUploadExternal": 4,
}
TIER_PER_MINUTE = {1: 1, 2: 20, 3: 50, 4: 100}


@dataclass
class Bucket:
    """``burst`` calls at once, refilled at ``per_second``."""

    burst: float
    per_second: float
    tokens: float
    at: float

    def take(self, now: float) -> float:
        """0 if a call may go now (and take it), else the seconds until one may."""
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.per_second)
        self.at = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.per_second


@dataclass(frozen=True)
class Limited:
    """One refused call: which method, which bucket (team, method[, channel]), when."""

    method: str
    key: tuple[str, ...]
    at: float
    retry_after: int


@dataclass
class RateLimits:
    """The sandbox's rate limiter; ``enabled = False`` lets everything through."""

    enabled: bool = True
    post_per_second: float = 1.0  # chat.postMessage, per channel
    post_burst: float = 4.0  # "short bursts >1 allowed"
    post_workspace_per_minute: float = 600.0  # the workspace-wide ceiling ("several hundred")
    burst_factor: float = 1.0  # tier buckets hold per_minute times this many calls
    clock: Callable[[], float] = time.monotonic
    log: list[Limited] = field(default_factory=list)
    _buckets: dict[tuple[str, ...], Bucket] = field(default_factory=dict)

    def _bucket(self, key: tuple[str, ...], burst: float, per_second: float) -> Bucket:
        if key not in self._buckets:
            self._buckets[key] = Bucket(burst, per_second, burst, self.clock())
        return self._buckets[key]

    def check(self, team_id: str, method: str, channel: str | None = None) -> int | None:
        """None if the call may go now; else the ``Retry-After`` seconds (and it is logged)."""
        if not self.enabled:
            return None
        now = self.clock()
        if method == "chat.postMessage":
            keys = [
                ((team_id, method, channel or ""), self.post_burst, self.post_per_second),
                (
                    (team_id, method),
                    self.post_workspace_per_minute,
                    self.post_workspace_per_minute / 60,
                ),
            ]
        else:
            per_minute = TIER_PER_MINUTE[METHOD_TIERS.get(method, 3)]
            keys = [((team_id, method), per_minute * self.burst_factor, per_minute / 60)]
        for key, burst, per_second in keys:
            wait = self._bucket(key, burst, per_second).take(now)
            if wait:
                retry_after = max(1, math.ceil(wait))
                self.log.append(Limited(method, key, now, retry_after))
                return retry_after
        return None

    def reset(self) -> None:
        """Full buckets again (a test starting a fresh scene)."""
        self._buckets.clear()
