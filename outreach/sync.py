"""Reply sync: read each campaign mailbox's Inbox changes and act on the answers among them.

Each connected mailbox with an active campaign, or a campaign send in the last 30 days,
has a ``mailbox_syncs`` row: its Inbox delta link and when it is next due. A worker
claims a due row with ``FOR UPDATE SKIP LOCKED`` and a lease, as the dispatcher claims
mailboxes (outreach/dispatch.py), so many workers never sync one mailbox at once; every
write checks the lease is still ours (fencing). A change notification can later simply
set ``due_at`` to now.

Each round follows ``@odata.nextLink`` pages to the ``@odata.deltaLink``, which is stored
only when the round is complete; a 410 (``SyncStateNotFound``) drops the link and starts a
full round, which cannot store a reply twice (unique per mailbox and Message-ID). What is
relevant is decided by outreach/matching.py, what it does by outreach/replies.py.
Messages that match nothing are dropped: no id, sender or subject of theirs is stored or
logged.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, exists, or_, select

from bot.clock import Clock
from bot.db import SessionFactory, transaction
from bot.models import Campaign, Mailbox, MailboxSync, OutboxMessage
from outreach.errors import GraphError, GraphNotFound, GraphThrottled, MailboxError
from outreach.graph import CATEGORY, GraphClient
from outreach.mailboxes import CONNECTED
from outreach.matching import match, read, worth_a_look
from outreach.replies import ThreadPost, post, record
from outreach.states import CampaignState

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SyncConfig:
    #: How often a mailbox's Inbox is read.
    every: timedelta = timedelta(minutes=2)
    lease: timedelta = timedelta(minutes=5)
    #: A mailbox is synced while it has an active campaign or a campaign send this recent;
    #: a full round reads mail received since then.
    window: timedelta = timedelta(days=30)
    page_size: int = 200
    #: Back-off after a failed round (Graph down, mailbox needing reconnect).
    retry: timedelta = timedelta(minutes=5)


@dataclass
class SyncReport:
    mailboxes: list[int] = field(default_factory=list)
    replies: int = 0
    looked_at: int = 0
    resyncs: int = 0


class _LostLease(Exception):
    """Another worker took this mailbox's sync over."""


class ReplySync:
    """Claims due mailbox syncs and runs one round for each."""

    def __init__(
        self,
        db: SessionFactory,
        graph_for: Callable[[int], GraphClient],
        clock: Clock,
        *,
        worker_id: str | None = None,
        config: SyncConfig | None = None,
    ) -> None:
        self._db = db
        self._graph_for = graph_for
        self._clock = clock
        self.worker_id = worker_id or f"sync-{uuid.uuid4().hex[:8]}"
        self.config = config or SyncConfig()

    def tick(self) -> SyncReport:
        """Plan the sync rows, then sync every due mailbox no other worker holds."""
        report = SyncReport()
        self.plan()
        while (mailbox_id := self._claim()) is not None:
            report.mailboxes.append(mailbox_id)
            try:
                self._round(mailbox_id, report)
            except _LostLease:
                log.warning("mailbox %s: sync taken over by another worker", mailbox_id)
            except (GraphError, MailboxError) as exc:
                wait = exc.retry_after if isinstance(exc, GraphThrottled) else 0
                self._finish(mailbox_id, None, keep_link=True, error=type(exc).__name__, wait=wait)
        return report

    def plan(self) -> None:
        """A sync row for each mailbox that needs one (due now); none for the others."""
        now = self._clock.now()
        recent = exists().where(
            OutboxMessage.mailbox_id == Mailbox.id,
            OutboxMessage.enrollment_id.is_not(None),
            OutboxMessage.sent_at >= now - self.config.window,
        )
        active = exists().where(
            Campaign.mailbox_id == Mailbox.id, Campaign.state == CampaignState.ACTIVE
        )
        with transaction(self._db) as session:
            wanted = set(
                session.scalars(
                    select(Mailbox.id).where(Mailbox.state == CONNECTED, or_(active, recent))
                )
            )
            have = set(session.scalars(select(MailboxSync.mailbox_id)))
            for mailbox_id in wanted - have:
                session.add(MailboxSync(mailbox_id=mailbox_id, due_at=now))
            if have - wanted:
                session.execute(
                    delete(MailboxSync).where(MailboxSync.mailbox_id.in_(have - wanted))
                )

    def _claim(self) -> int | None:
        now = self._clock.now()
        with transaction(self._db) as session:
            row = session.scalars(
                select(MailboxSync)
                .where(
                    MailboxSync.due_at <= now,
                    or_(MailboxSync.lease_until.is_(None), MailboxSync.lease_until <= now),
                )
                .order_by(MailboxSync.due_at)
                .limit(1)
                .with_for_update(skip_locked=True)
            ).first()
            if row is None:
                return None
            row.leased_by, row.lease_until = self.worker_id, now + self.config.lease
            return row.mailbox_id

    def _mine(self, mailbox_id: int) -> MailboxSync:
        with transaction(self._db) as session:
            row = session.scalars(
                select(MailboxSync).where(MailboxSync.mailbox_id == mailbox_id).with_for_update()
            ).first()
            if row is None or row.leased_by != self.worker_id:
                raise _LostLease(mailbox_id)
            row.lease_until = self._clock.now() + self.config.lease
            return row

    def _finish(
        self,
        mailbox_id: int,
        link: str | None,
        *,
        keep_link: bool = False,
        error: str | None = None,
        wait: float = 0,
    ) -> None:
        now = self._clock.now()
        with transaction(self._db) as session:
            row = session.get(MailboxSync, mailbox_id)
            if row is None or row.leased_by != self.worker_id:
                return
            if not keep_link:
                row.delta_link = link
            row.leased_by, row.lease_until, row.last_error = None, None, error
            if error is None:
                row.last_synced_at, row.due_at = now, now + self.config.every
            else:
                row.due_at = now + max(self.config.retry, timedelta(seconds=wait))

    # -- one round ---------------------------------------------------------------------
    def _round(self, mailbox_id: int, report: SyncReport) -> None:
        link = self._mine(mailbox_id).delta_link
        graph = self._graph_for(mailbox_id)
        since = self._clock.now() - self.config.window
        resynced = False
        while True:
            try:
                page = graph.inbox_delta(link, since=since, page_size=self.config.page_size)
            except GraphError as exc:
                if exc.status != 410 or resynced:
                    raise
                log.info("mailbox %s: delta state gone (410); full resync", mailbox_id)
                link, resynced = None, True
                report.resyncs += 1
                continue
            self._page(graph, mailbox_id, page.get("value") or [], report)
            self._mine(mailbox_id)  # fencing: still ours before the next page
            if page.get("@odata.nextLink"):
                link = str(page["@odata.nextLink"])
                continue
            self._finish(mailbox_id, page.get("@odata.deltaLink"))
            return

    def _page(
        self,
        graph: GraphClient,
        mailbox_id: int,
        messages: list[Mapping[str, Any]],
        report: SyncReport,
    ) -> None:
        with self._db() as session:
            mailbox = session.get_one(Mailbox, mailbox_id)
            team_id = mailbox.team_id
            closer = worth_a_look(session, team_id, mailbox_id, messages)
        for message in closer:
            report.looked_at += 1
            try:
                details, mail, verdict = read(graph, message)
            except GraphNotFound:
                continue  # deleted since the delta was read
            posts: list[ThreadPost] = []
            with transaction(self._db) as session:
                self._mine_in(session, mailbox_id)
                found = match(session, team_id, mailbox_id, details, mail, verdict)
                if found is None:
                    continue
                mailbox = session.get_one(Mailbox, mailbox_id)
                card = record(session, mailbox, details, mail, verdict, found, self._clock.now())
                if card is not None:
                    posts.append(card)
                post(session, posts, self._clock.now())  # queued with the reply it reports
            if posts:
                report.replies += 1
                self._label(graph, details)

    def _mine_in(self, session: Any, mailbox_id: int) -> None:
        row = session.get(MailboxSync, mailbox_id, with_for_update=True)
        if row is None or row.leased_by != self.worker_id:
            raise _LostLease(mailbox_id)

    @staticmethod
    def _label(graph: GraphClient, details: Mapping[str, Any]) -> None:
        """The "ScaleUp" category on the reply in Outlook (best effort: it is a label)."""
        categories = [str(c) for c in details.get("categories") or []]
        if CATEGORY in categories:
            return
        try:
            graph.set_categories(str(details["id"]), [*categories, CATEGORY])
        except GraphError as exc:
            log.info("could not label a reply in Outlook (%s)", exc.code)


def due_now(db: SessionFactory, clock: Clock, mailbox_id: int) -> None:
    """Make a mailbox's sync due at once (a change notification, or a test)."""
    with transaction(db) as session:
        row = session.get(MailboxSync, mailbox_id)
        if row is not None:
            row.due_at = clock.now()


def last_synced(db: SessionFactory, mailbox_id: int) -> datetime | None:
    """When the mailbox's Inbox was last read completely."""
    with db() as session:
        row = session.get(MailboxSync, mailbox_id)
        return row.last_synced_at if row else None
