"""The worker process: an in-memory APScheduler ticker over work that lives in our tables.

APScheduler keeps no durable jobs here (its job stores cannot be shared between
processes); every tick reads what is due from the database, so a restart or a second
worker loses nothing.
"""

from __future__ import annotations

import fcntl
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from apscheduler.events import EVENT_JOB_MAX_INSTANCES, EVENT_JOB_SUBMITTED, JobSubmissionEvent
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from sqlalchemy import delete, select

from bot.clock import SystemClock
from bot.container import Container
from bot.db import transaction
from bot.models import Mailbox, OutlookAuthFlow, SlackPost
from bot.slack_app import forget_old_events
from bot.slack_poster import PostReport, SlackPoster
from outreach import slack_queue
from outreach.dispatch import DispatchConfig, Dispatcher, TickReport
from outreach.errors import MailboxError
from outreach.mailboxes import CONNECTED
from outreach.sequencing import CampaignSequencer
from outreach.sync import ReplySync, SyncReport

log = logging.getLogger(__name__)


class AnotherWorker(Exception):
    """Another worker already uses this SQLite database. Run one worker with SQLite, or use
    PostgreSQL (DATABASE_URL=postgres://…) for several."""


@contextmanager
def sole_sqlite_worker(database_url: str) -> Iterator[None]:
    """Hold a lock beside a SQLite database file while this process is its worker.

    SQLite cannot skip locked rows, so two workers on one file could claim the same
    message; PostgreSQL needs no such lock. An in-memory database is always sole.
    """
    path = database_url.split("sqlite:///", 1)[1] if database_url.startswith("sqlite:///") else ""
    if not path or path == ":memory:":
        yield
        return
    lock = open(f"{path}.worker.lock", "w")
    try:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise AnotherWorker(AnotherWorker.__doc__) from exc
        yield
    finally:
        lock.close()  # closing releases the lock


#: Posted (or refused) Slack posts are kept this long, for pacing and for a look back.
POSTS_KEPT = timedelta(days=7)


def housekeeping(container: Container) -> None:
    """Drop expired sign-in flows, old Slack event ids and old Slack posts."""
    now = container.clock.now()
    with transaction(container.db) as session:
        session.execute(delete(OutlookAuthFlow).where(OutlookAuthFlow.expires_at <= now))
        session.execute(
            delete(SlackPost).where(
                SlackPost.state.in_((slack_queue.POSTED, slack_queue.FAILED)),
                SlackPost.created_at <= now - POSTS_KEPT,
            )
        )
    forget_old_events(container.db, container.clock)


def check_mailboxes(container: Container) -> None:
    """Refresh tokens that are about to expire; a revoked grant is found and reported here."""
    with container.db() as session:
        ids = session.scalars(select(Mailbox.id).where(Mailbox.state == CONNECTED)).all()
    for mailbox_id in ids:
        try:
            container.tokens.access_token(mailbox_id)
        except MailboxError as exc:
            log.info("mailbox %s: %s", mailbox_id, type(exc).__name__)


def dispatcher(container: Container, worker_id: str | None = None) -> Dispatcher:
    """The outbox dispatcher of this worker process."""
    return Dispatcher(
        container.db,
        container.tokens.graph_for,
        CampaignSequencer(container.clock),
        container.clock,
        worker_id=worker_id or f"{socket.gethostname()}-{os.getpid()}",
        config=DispatchConfig(
            lease=timedelta(seconds=container.settings.dispatch_lease_seconds),
            send_grace=timedelta(seconds=container.settings.send_grace_seconds),
        ),
    )


def slack_poster(container: Container, worker_id: str | None = None) -> SlackPoster:
    """The Slack queue's poster of this worker process."""
    return SlackPoster(
        container.db,
        container.slack_clients,
        container.clock,
        worker_id=worker_id or f"{socket.gethostname()}-{os.getpid()}",
    )


def reply_sync(container: Container, worker_id: str | None = None) -> ReplySync:
    """The reply sync of this worker process."""
    return ReplySync(
        container.db,
        container.tokens.graph_for,
        container.clock,
        worker_id=worker_id or f"{socket.gethostname()}-{os.getpid()}",
    )


def drain(container: Container, seconds: float) -> int:
    """Dispatch until nothing is due, then post what Slack should hear (or until ``seconds``
    pass); the number of messages sent."""
    sender, poster = dispatcher(container), slack_poster(container)
    deadline = time.monotonic() + seconds
    sent = 0
    while time.monotonic() < deadline:
        report = sender.tick()
        sent += report.sent
        if not report.mailboxes and not sender.has_work():
            if not sender.has_unfinished():
                break
            time.sleep(0.2)  # a send waits to be proven (parked): look again when it is due
        elif not report.mailboxes:
            time.sleep(0.05)  # another worker holds the mailboxes with work
    while time.monotonic() < deadline and poster.waiting():
        if not poster.tick().ids:
            time.sleep(0.2)  # paced, or waiting out Slack
    return sent


def ticks(container: Container) -> dict[str, tuple[Callable[[], None], timedelta]]:
    """Every periodic job of the worker and how often it runs."""
    sender = dispatcher(container)
    syncer = reply_sync(container)
    poster = slack_poster(container)
    return {
        "dispatch": (lambda: _report(sender.tick()), timedelta(seconds=15)),
        "sync_replies": (lambda: _synced(syncer.tick()), timedelta(seconds=30)),
        # About one message a second per channel: the poster paces, this only wakes it.
        "slack_posts": (lambda: _posted(poster.tick()), timedelta(seconds=1)),
        "housekeeping": (lambda: housekeeping(container), timedelta(minutes=10)),
        "check_mailboxes": (lambda: check_mailboxes(container), timedelta(minutes=15)),
    }


def _report(report: TickReport) -> None:
    if report.sent or report.failed or report.unknown:
        log.info(
            "dispatch: %d sent, %d failed, %d unknown, %d cancelled",
            report.sent,
            report.failed,
            report.unknown,
            report.cancelled,
        )


def _synced(report: SyncReport) -> None:
    if report.replies or report.resyncs:
        log.info(
            "sync: %d mailbox(es), %d repl(ies), %d full resync(s)",
            len(report.mailboxes),
            report.replies,
            report.resyncs,
        )


def _posted(report: PostReport) -> None:
    if report.retried or report.failed or report.moved_to_dm:
        log.info(
            "slack: %d posted, %d to retry, %d refused, %d sent by DM instead",
            report.posted,
            report.retried,
            report.failed,
            report.moved_to_dm,
        )


def start_scheduler(container: Container) -> BackgroundScheduler:
    """Start the ticker in background threads and return it (call ``shutdown()`` to stop)."""
    scheduler = BackgroundScheduler(timezone="UTC")
    for name, (job, every) in ticks(container).items():
        scheduler.add_job(
            _logged(name, job),
            "interval",
            seconds=every.total_seconds(),
            id=name,
            max_instances=1,
            coalesce=True,
            next_run_time=SystemClock().now(),  # APScheduler runs on the machine's time
        )
    scheduler.start()
    return scheduler


class Waker:
    """Runs the dispatch and reply-sync ticks now rather than at their next interval
    (``scaleup dev`` after its clock moved on: what became due goes out at once).

    A tick still running when asked (APScheduler then skips the run) runs again right
    after it ends, so a wake is never lost to an interval.
    """

    jobs = ("dispatch", "sync_replies")

    def __init__(self, scheduler: BaseScheduler) -> None:
        self._scheduler = scheduler
        self._wanted: dict[str, datetime] = {}  # job -> a run at or after this is the wake's
        self._lock = threading.Lock()
        scheduler.add_listener(self._submitted, EVENT_JOB_SUBMITTED)
        scheduler.add_listener(self._skipped, EVENT_JOB_MAX_INSTANCES)

    def __call__(self) -> None:
        # APScheduler runs on the machine's time, whatever the bot's clock says.
        at = SystemClock().now()
        with self._lock:
            self._wanted.update(dict.fromkeys(self.jobs, at))
        for name in self.jobs:
            self._scheduler.modify_job(name, next_run_time=at)

    def _submitted(self, event: JobSubmissionEvent) -> None:
        with self._lock:
            wanted = self._wanted.get(event.job_id)
            if wanted is not None and max(event.scheduled_run_times) >= wanted:
                del self._wanted[event.job_id]

    def _skipped(self, event: JobSubmissionEvent) -> None:
        with self._lock:
            again = event.job_id in self._wanted
        if again:
            at = SystemClock().now() + timedelta(seconds=0.2)
            self._scheduler.modify_job(event.job_id, next_run_time=at)


def _logged(name: str, job: Callable[[], None]) -> Callable[[], None]:
    def run() -> None:
        try:
            job()
        except Exception:  # a failed tick is retried next interval; keep the worker alive
            log.exception("tick %s failed", name)

    return run
