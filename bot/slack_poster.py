"""The worker side of the durable Slack queue: posts ``slack_posts`` rows, none lost.

Rows are claimed like outbox rows (``FOR UPDATE SKIP LOCKED`` and a lease), so two workers
never post the same one. Posts to one channel go out in the order they were queued, at
most one per :attr:`PosterConfig.pace` (Slack allows about one message a second per
channel). A 429 waits its ``Retry-After``; a 5xx or a lost connection backs off and tries
again; nothing is dropped for Slack being away. A channel the bot can no longer post in
(``not_in_channel``, ``channel_not_found``, ``is_archived``) sends the notice to the
campaign owner's DM instead. Other refusals are kept as ``failed`` with Slack's error.

A worker that dies between Slack's answer and recording it posts that row again once
its lease lapses (Slack's ``chat.postMessage`` has no idempotency key): at least once,
only then possibly twice.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import socket
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler
from sqlalchemy import exists, or_, select
from sqlalchemy.orm import aliased

from bot.clock import Clock
from bot.db import SessionFactory, transaction
from bot.models import SlackPost
from bot.notifier import render
from handlers import campaign_blocks
from handlers.channels import UNREACHABLE, unreachable_note
from handlers.direct_views import email_outcome
from outreach import notify
from outreach.counters import parent_counters
from outreach.notify import CampaignCounters, MessageOutcome
from outreach.slack_queue import FAILED, POSTED, POSTING, QUEUED, QueuedNotice

log = logging.getLogger(__name__)

#: Slack's answers that mean the bot cannot post in the channel any more.
CHANNEL_GONE = frozenset(UNREACHABLE)


@dataclass(frozen=True)
class PosterConfig:
    #: Posts to one channel are at least this far apart.
    pace: timedelta = timedelta(seconds=1)
    lease: timedelta = timedelta(minutes=2)
    batch: int = 50
    #: First back-off after a 5xx or a lost connection; doubles, up to ``max_backoff``.
    backoff: timedelta = timedelta(seconds=5)
    max_backoff: timedelta = timedelta(minutes=5)
    #: A 429 without ``Retry-After``.
    default_retry_after: timedelta = timedelta(seconds=30)


@dataclass
class PostReport:
    posted: int = 0
    retried: int = 0
    failed: int = 0
    moved_to_dm: int = 0
    ids: list[int] = field(default_factory=list)


class _Transient(Exception):
    """Slack is away or busy: try again after ``wait``."""

    def __init__(self, wait: timedelta, why: str, *, throttled: bool = False) -> None:
        super().__init__(why)
        self.wait, self.throttled = wait, throttled


class SlackPoster:
    """Claims due ``slack_posts`` rows and posts each through the notifier's render path."""

    def __init__(
        self,
        db: SessionFactory,
        client_for: Callable[[str], WebClient | None],
        clock: Clock,
        *,
        worker_id: str | None = None,
        config: PosterConfig | None = None,
    ) -> None:
        self._db = db
        self._client_for = client_for
        self._clock = clock
        self.worker_id = worker_id or f"{socket.gethostname()}-{os.getpid()}"
        self.config = config or PosterConfig()
        self._clients: dict[tuple[str | None, str], WebClient] = {}

    def tick(self) -> PostReport:
        """One pass: the oldest due post of every channel that may have one now."""
        report = PostReport()
        throttled: set[str] = set()
        for post_id, team_id in self._claim():
            if team_id in throttled:  # the workspace said 429 this pass: wait with it
                self._release(post_id, None)
                continue
            try:
                self._post(post_id, report)
            except _Transient as exc:
                report.retried += 1
                self._release(post_id, exc.wait)
                if exc.throttled:
                    throttled.add(team_id)
            except Exception as exc:  # a bug in one notice must not stop the others
                log.exception("slack post %s failed", post_id)
                self._finish(post_id, FAILED, error=f"{type(exc).__name__}: {exc}")
                report.failed += 1
        return report

    def waiting(self) -> int:
        """How many posts are not yet posted (queued or being posted)."""
        with self._db() as session:
            return len(
                session.scalars(
                    select(SlackPost.id).where(SlackPost.state.in_((QUEUED, POSTING)))
                ).all()
            )

    # -- claiming ------------------------------------------------------------------------
    def _claim(self) -> list[tuple[int, str]]:
        now = self._clock.now()
        older, recent = aliased(SlackPost), aliased(SlackPost)
        same_lane = (older.team_id == SlackPost.team_id) & (older.channel == SlackPost.channel)
        with transaction(self._db) as session:
            rows = session.scalars(
                select(SlackPost)
                .where(
                    or_(
                        (SlackPost.state == QUEUED) & (SlackPost.next_attempt_at <= now),
                        (SlackPost.state == POSTING) & (SlackPost.lease_until <= now),
                    ),
                    # Each channel in order: nothing older of it is still to post...
                    ~exists().where(
                        same_lane, older.state.in_((QUEUED, POSTING)), older.id < SlackPost.id
                    ),
                    # ...and nothing was posted in it less than ``pace`` ago.
                    ~exists().where(
                        recent.team_id == SlackPost.team_id,
                        recent.channel == SlackPost.channel,
                        recent.posted_at > now - self.config.pace,
                    ),
                )
                .order_by(SlackPost.id)
                .limit(self.config.batch)
                .with_for_update(skip_locked=True)
            ).all()
            for row in rows:
                row.state, row.claimed_by = POSTING, self.worker_id
                row.lease_until = now + self.config.lease
                row.attempts += 1
            return [(row.id, row.team_id) for row in rows]

    def _release(self, post_id: int, wait: timedelta | None) -> None:
        """Back to the queue, due after ``wait`` (None: as it was)."""
        with transaction(self._db) as session:
            row = session.get_one(SlackPost, post_id)
            if row.claimed_by != self.worker_id:
                return
            row.state, row.claimed_by, row.lease_until = QUEUED, None, None
            if wait is not None:
                row.next_attempt_at = self._clock.now() + wait
            else:
                row.attempts -= 1  # not tried: the workspace was already waiting

    def _finish(
        self, post_id: int, state: str, *, ts: str | None = None, error: str | None = None
    ) -> None:
        with transaction(self._db) as session:
            row = session.get_one(SlackPost, post_id)
            row.state, row.claimed_by, row.lease_until = state, None, None
            row.posted_ts, row.last_error = ts, error
            if state == POSTED:
                row.posted_at = self._clock.now()

    # -- posting -------------------------------------------------------------------------
    def _post(self, post_id: int, report: PostReport) -> None:
        with self._db() as session:
            row = session.get_one(SlackPost, post_id)
            post = _Post(
                row.team_id,
                row.channel,
                row.thread_ts,
                row.update_ts,
                row.fallback_user_id,
                row.attempts,
            )
            notice = decode(row.kind, row.payload)
            rendered = _render(session, notice)
        if rendered is None:  # what it would update is gone
            self._finish(post_id, FAILED, error="nothing to update any more")
            report.failed += 1
            return
        summary, blocks = rendered
        client = self._client(post.team_id)
        if client is None:
            self._finish(post_id, FAILED, error="no Slack installation for the workspace")
            report.failed += 1
            return
        try:
            ts = self._call(client, post, summary, blocks)
        except SlackApiError as exc:
            error = _error_of(exc)
            if error in CHANNEL_GONE and post.update_ts is None and post.fallback_user_id:
                blocks = [*blocks, unreachable_note(post.channel, error)]
                try:
                    dm = self._call(client, post.to_dm(), summary, blocks)
                except SlackApiError as dm_exc:
                    self._refused(post_id, post, dm_exc, report)
                    return
                self._finish(post_id, POSTED, ts=dm, error=f"{error}: sent by DM instead")
                report.moved_to_dm += 1
                report.ids.append(post_id)
                return
            self._refused(post_id, post, exc, report)
            return
        self._finish(post_id, POSTED, ts=ts)
        report.posted += 1
        report.ids.append(post_id)

    def _call(self, client: WebClient, post: _Post, summary: str, blocks: list[Any]) -> str:
        """Post or update; raises :class:`_Transient` when Slack is away or busy."""
        try:
            if post.update_ts is not None:
                answer = client.chat_update(
                    channel=post.channel, ts=post.update_ts, text=summary, blocks=blocks
                )
            else:
                answer = client.chat_postMessage(
                    channel=post.channel, thread_ts=post.thread_ts, text=summary, blocks=blocks
                )
        except SlackApiError as exc:
            status = exc.response.status_code
            if status == 429:
                raise _Transient(self._retry_after(exc), "429", throttled=True) from exc
            if status >= 500:
                raise _Transient(self._backoff(post.attempts), f"HTTP {status}") from exc
            raise
        except (OSError, ValueError) as exc:  # connection refused or reset, timeout, not JSON
            raise _Transient(self._backoff(post.attempts), type(exc).__name__) from exc
        return str(answer.get("ts") or post.update_ts or "")

    def _refused(self, post_id: int, post: _Post, exc: SlackApiError, report: PostReport) -> None:
        error = _error_of(exc)
        log.warning("Slack refused a post in %s: %s", post.channel, error)
        self._finish(post_id, FAILED, error=error)
        report.failed += 1

    def _retry_after(self, exc: SlackApiError) -> timedelta:
        headers = {k.lower(): v for k, v in (exc.response.headers or {}).items()}
        value = headers.get("retry-after")
        if isinstance(value, list):
            value = value[0] if value else None
        try:
            return timedelta(seconds=max(int(str(value)), 1))
        except (TypeError, ValueError):
            return self.config.default_retry_after

    def _backoff(self, attempts: int) -> timedelta:
        wait: timedelta = self.config.backoff * 2 ** min(max(attempts - 1, 0), 10)
        return min(wait, self.config.max_backoff)

    def _client(self, team_id: str) -> WebClient | None:
        """The workspace's client without the shared one's waiting out of 429s in place:
        here a 429 puts the post back in the queue and frees the worker."""
        shared = self._client_for(team_id)
        if shared is None:
            return None
        key = (shared.token, shared.base_url)
        if key not in self._clients:
            self._clients[key] = WebClient(
                token=shared.token,
                base_url=shared.base_url,
                timeout=10,
                retry_handlers=[ConnectionErrorRetryHandler(max_retry_count=1)],
            )
        return self._clients[key]


@dataclass(frozen=True)
class _Post:
    team_id: str
    channel: str
    thread_ts: str | None
    update_ts: str | None
    fallback_user_id: str | None
    attempts: int

    def to_dm(self) -> _Post:
        assert self.fallback_user_id is not None
        return dataclasses.replace(self, channel=self.fallback_user_id, thread_ts=None)


def _error_of(exc: SlackApiError) -> str:
    data = exc.response.data
    return str(data.get("error") or "unknown_error") if isinstance(data, dict) else "unknown_error"


def _render(session: Any, notice: QueuedNotice) -> tuple[str, list[Any]] | None:
    if isinstance(notice, CampaignCounters):
        counters = parent_counters(session, notice.campaign_id)
        return campaign_blocks.campaign_parent(counters) if counters else None
    if isinstance(notice, MessageOutcome):
        return email_outcome(notice)
    return render(notice)


# -- notices back from JSON -----------------------------------------------------------------
_KINDS: dict[str, type[Any]] = {
    name: value
    for name, value in vars(notify).items()
    if isinstance(value, type) and dataclasses.is_dataclass(value)
}


def decode(kind: str, payload: dict[str, Any]) -> QueuedNotice:
    """The notice ``outreach.slack_queue.enqueue`` stored as ``kind`` and ``payload``."""
    cls = _KINDS.get(kind)
    if cls is None:
        raise ValueError(f"unknown notice kind {kind!r}")
    return typing.cast(QueuedNotice, _build(cls, payload))


def _build(cls: type[Any], payload: dict[str, Any]) -> Any:
    hints = typing.get_type_hints(cls)
    fields = {}
    for f in dataclasses.fields(cls):
        if f.name in payload:
            fields[f.name] = _value(hints[f.name], payload[f.name])
    return cls(**fields)


def _value(hint: Any, value: Any) -> Any:
    if value is None:
        return None
    options = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
    for option in options:
        if option is datetime and isinstance(value, str):
            return datetime.fromisoformat(value)
        if option is date and isinstance(value, str):
            return date.fromisoformat(value)
        if typing.get_origin(option) is tuple and isinstance(value, list):
            return tuple(value)
        if (
            isinstance(option, type)
            and dataclasses.is_dataclass(option)
            and isinstance(value, dict)
        ):
            return _build(option, value)
    return value
