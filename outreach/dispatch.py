"""Sending the outbox exactly once, from any number of workers.

Each outbox row walks ``pending → claimed → drafted → sending → sent`` and every arrow is
committed before the next Graph call (:mod:`outreach.outbox` owns the states and makes
every change), so a crash leaves a row whose state says what may already have happened in
the mailbox:

* ``claimed``  a draft may exist: look for it by our marker before creating another;
* ``drafted``  the draft exists and was never sent: send that same draft;
* ``sending``  the send may have happened: look in Sent Items; resend the same draft only
  when it is still a draft after a grace period and Exchange does not show its send as
  requested; if it is gone and nowhere sent, the row becomes ``unknown`` and is reported,
  never resent automatically.

Graph answers a send with 202 and finishes later (https://learn.microsoft.com/graph/api/
message-send): for a while the sent draft stays in Drafts and no copy is in Sent Items. Such
a draft carries ``MSGFLAG_SUBMIT`` in ``PR_MESSAGE_FLAGS`` (MAPI; :func:`send_requested`), and
is never sent again, however long Exchange takes (up to ``submitted_patience``, then
``unknown``). Only a draft without that flag is resent, and only after ``send_grace``: should
Exchange not show the flag (docs/assumptions.md, A3), ``send_grace`` must exceed the longest
time transport keeps a sent draft in Drafts.

A worker sends for a mailbox only while it holds that mailbox's lease
(:mod:`outreach.mailbox_leases`), claimed with ``FOR UPDATE SKIP LOCKED``; so one worker
paces a mailbox (30 a minute, the daily cap, the gap) and its Graph calls stay sequential,
well under Outlook's four concurrent requests per mailbox. Every draft carries our marker
(:mod:`outreach.drafts`), which is how a later look finds it.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy.orm import Session

from bot.clock import Clock
from bot.db import SessionFactory, transaction
from bot.models import OutboxMessage
from outreach import drafts, outbox
from outreach.errors import (
    GraphError,
    GraphNotFound,
    GraphThrottled,
    GraphTimeout,
    MailboxError,
    MailboxNeedsReconnect,
    MailboxRefused,
)
from outreach.graph import GraphClient, send_requested
from outreach.mailbox_leases import MailboxLeases
from outreach.outbox import CLAIMED, DRAFTED, FAILED, FINAL, SENDING, UNKNOWN, OutboxState
from outreach.schedule import earliest_allowed

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DispatchConfig:
    lease: timedelta = timedelta(minutes=5)
    #: How long a sent draft may stay in Drafts (not marked as submitted) before we conclude
    #: the send was lost and send it again; also how long a draft that left Drafts may take
    #: to show up in Sent Items before the row becomes ``unknown``.
    send_grace: timedelta = timedelta(minutes=10)
    #: How long a draft Exchange shows as submitted may wait in Drafts before the row
    #: becomes ``unknown`` (it is never sent again).
    submitted_patience: timedelta = timedelta(days=1)
    batch: int = 30
    #: Back-off when Graph says 429/503 without a Retry-After.
    default_retry_after: timedelta = timedelta(seconds=30)
    #: Back-off after an ambiguous failure (timeout, 5xx) before looking again.
    ambiguous_retry: timedelta = timedelta(minutes=1)


class Sequencer(Protocol):
    """What the campaign layer decides around each send (see ``outreach/campaigns.py``)."""

    def hold_or_cancel(
        self, session: Session, row: OutboxMessage
    ) -> tuple[OutboxState, str] | None:
        """``(paused | cancelled, reason)`` if the message must not go out now, else None."""
        ...

    def pacing(self, session: Session, mailbox_id: int) -> tuple[int, timedelta]:
        """(daily cap, minimum gap) for the mailbox."""
        ...

    def recent_sends(self, session: Session, mailbox_id: int, since: datetime) -> list[datetime]:
        """When the mailbox sent, from ``since`` on."""
        ...

    def after_sent(self, session: Session, row: OutboxMessage, now: datetime) -> None: ...

    def after_failed(self, session: Session, row: OutboxMessage, reason: str) -> None: ...

    def after_unknown(self, session: Session, row: OutboxMessage) -> None: ...

    def mailbox_unusable(self, session: Session, mailbox_id: int, error: MailboxError) -> None: ...


GraphFor = Callable[[int], GraphClient]


class _LostRow(Exception):
    """Another worker took this row over (our lease lapsed): touch it no more."""


Checkpoint = Callable[[str, int], None]


@dataclass
class TickReport:
    sent: int = 0
    failed: int = 0
    unknown: int = 0
    cancelled: int = 0
    deferred: int = 0
    mailboxes: list[int] = field(default_factory=list)


class Dispatcher:
    """Claims due outbox rows mailbox by mailbox and drives each to a final state."""

    def __init__(
        self,
        db: SessionFactory,
        graph_for: GraphFor,
        sequencer: Sequencer,
        clock: Clock,
        *,
        worker_id: str | None = None,
        config: DispatchConfig | None = None,
        checkpoint: Checkpoint | None = None,
    ) -> None:
        self._db = db
        self._graph_for = graph_for
        self._seq = sequencer
        self._clock = clock
        self.worker_id = worker_id or f"worker-{uuid.uuid4().hex[:8]}"
        self.config = config or DispatchConfig()
        self._leases = MailboxLeases(db, clock)
        # Test seam: called after each committed transition; raising there is a crash.
        self._checkpoint = checkpoint or (lambda _stage, _row_id: None)

    # -- the tick ----------------------------------------------------------------------
    def tick(self) -> TickReport:
        """One pass: every mailbox with due or stranded work that no other worker holds."""
        report = TickReport()
        for mailbox_id in self._mailboxes_with_work():
            if not self._leases.take(mailbox_id, self.worker_id, self.config.lease):
                continue
            report.mailboxes.append(mailbox_id)
            try:
                self._run_mailbox(mailbox_id, report)
            except Exception:  # one mailbox's bug must not stop the others; its lease lapses
                log.exception("dispatch for mailbox %s failed", mailbox_id)
                continue
            # Not in ``finally``: a worker that dies mid-send keeps the lease until it lapses,
            # exactly as a killed process would.
            self._leases.release(mailbox_id, self.worker_id)
        return report

    def has_work(self) -> bool:
        """Whether some row is due or stranded now (in any mailbox, leased or not)."""
        return bool(self._mailboxes_with_work())

    def has_unfinished(self) -> bool:
        """Whether some row is between claim and outcome (parked until its next look)."""
        with self._db() as session:
            return outbox.any_in_flight(session)

    def _mailboxes_with_work(self) -> Sequence[int]:
        with self._db() as session:
            return outbox.mailboxes_with_work(session, self._clock.now())

    # -- one mailbox -------------------------------------------------------------------
    def _run_mailbox(self, mailbox_id: int, report: TickReport) -> None:
        try:
            graph = self._graph_for(mailbox_id)
            if not self._may_send_now(mailbox_id):  # stranded rows may send too: pace them
                report.deferred += 1
                return
            for row_id in self._stranded(mailbox_id):
                self._advance(graph, row_id, report)
            for _ in range(self.config.batch):
                if not self._may_send_now(mailbox_id):
                    report.deferred += 1
                    return
                claimed = self._claim_next(mailbox_id)
                if claimed is None:
                    return
                self._advance(graph, claimed, report)
        except GraphThrottled as exc:
            after, default = exc.retry_after, self.config.default_retry_after
            self._leases.hold_off(mailbox_id, timedelta(seconds=after) if after > 0 else default)
        except (MailboxNeedsReconnect, MailboxRefused) as exc:
            with transaction(self._db) as session:
                self._seq.mailbox_unusable(session, mailbox_id, exc)
        except MailboxError as exc:  # the token service is down: try again next tick
            log.warning("mailbox %s skipped this tick: %s", mailbox_id, exc.message)

    def _stranded(self, mailbox_id: int) -> list[int]:
        """In-flight rows whose worker's lease ran out (it crashed or hung)."""
        now = self._clock.now()
        with transaction(self._db) as session:
            return outbox.take_over_stranded(
                session, mailbox_id, now, self.worker_id, now + self.config.lease
            )

    def _may_send_now(self, mailbox_id: int) -> bool:
        now = self._clock.now()
        with self._db() as session:
            cap, gap = self._seq.pacing(session, mailbox_id)
            recent = self._seq.recent_sends(session, mailbox_id, now - timedelta(days=1))
        return earliest_allowed(now, recent, cap, gap) <= now

    def _claim_next(self, mailbox_id: int) -> int | None:
        now = self._clock.now()
        with transaction(self._db) as session:
            row_id = outbox.claim_next(
                session, mailbox_id, now, self.worker_id, now + self.config.lease
            )
        if row_id is not None:
            self._checkpoint(CLAIMED, row_id)
        return row_id

    # -- the state machine -------------------------------------------------------------
    def _advance(self, graph: GraphClient, row_id: int, report: TickReport) -> None:
        """Drive one row as far as it can go now, unless another worker took it over."""
        try:
            self._drive(graph, row_id, report)
        except _LostRow:
            log.warning("outbox row %s was taken over by another worker; leaving it", row_id)

    def _drive(self, graph: GraphClient, row_id: int, report: TickReport) -> None:
        with self._db() as session:
            row = session.get_one(OutboxMessage, row_id)
            state = row.state
            if row.claimed_by != self.worker_id or state not in outbox.IN_FLIGHT:
                raise _LostRow(row_id)
        try:
            if state == CLAIMED:
                state = self._draft(graph, row_id, report)
            if state == DRAFTED:
                state = self._send(graph, row_id)
            elif state == SENDING:  # left by a worker that died or timed out mid-send
                state = self._confirm(graph, row_id)
        except (GraphThrottled, MailboxError):
            # Graph said 429/503, or no token could be had: nothing reached the mailbox.
            self._park(row_id, throttled=True)
            raise  # the whole mailbox waits (Retry-After, or until it is reconnected)
        except GraphError as exc:
            if exc.status == 403:
                # Access denied is about the mailbox (a missing scope, Send As rights
                # withdrawn), not this candidate: hold everything and tell the campaign.
                self._park(row_id, throttled=True)
                raise MailboxRefused(exc.graph_message or exc.code) from exc
            if isinstance(exc, GraphTimeout) or exc.status >= 500 or exc.status == 401:
                # Ambiguous (or a refused token, which the client already dropped): the state
                # says what to check on the next try, after a growing back-off.
                self._park(row_id, throttled=False)
                return
            self._finish(row_id, FAILED, f"Outlook refused the message: {exc.graph_message}")
            state = FAILED
        if state in FINAL:
            setattr(report, state, getattr(report, state) + 1)

    def _draft(self, graph: GraphClient, row_id: int, report: TickReport) -> OutboxState:
        with transaction(self._db) as session:
            row = self._mine(session, row_id)
            verdict = self._seq.hold_or_cancel(session, row)
            if verdict:
                outbox.held_back(row, verdict)
                return row.state
            draft = drafts.compose(session, row)
            key, first_attempt = row.dedupe_key, row.attempts <= 1
        found = None if first_attempt else drafts.find_own(graph, key)
        if found and not found.get("isDraft", True):
            return self._mark_sent(row_id, found)
        if found and send_requested(found):  # someone (the recruiter?) sent our draft already
            return self._adopt_sent_draft(row_id, found)
        if found is None:
            parent = None
            if draft.parent_imid:
                parent = graph.find_message("sentitems", internet_message_id=draft.parent_imid)
            # A follow-up replies to the previous step's Sent Items copy, so it threads in the
            # candidate's inbox; if the recruiter deleted that copy it goes out on its own.
            if parent is not None:
                found = graph.create_reply(parent["id"], draft.reply_payload)
            else:
                found = graph.create_draft(draft.payload)
            self._checkpoint("draft-unrecorded", row_id)
        try:
            with transaction(self._db) as session:
                outbox.drafted(self._mine(session, row_id), found)
        except _LostRow:
            # The worker that took over finds this draft by its marker and sends it, or, if
            # it had already made its own, this one stays unsent in Drafts. Deleting it here
            # could pull it from under that worker's send, so it is left alone.
            log.info(
                "draft %s of outbox row %s left to the worker that took over", found["id"], row_id
            )
            raise
        self._checkpoint(DRAFTED, row_id)
        return DRAFTED

    def _adopt_sent_draft(self, row_id: int, draft: dict[str, Any]) -> OutboxState:
        """Our draft was sent by someone else: wait for its copy, as after our own send."""
        with transaction(self._db) as session:
            outbox.sending(self._mine(session, row_id), self._clock.now(), draft)
        self._park(row_id, throttled=False)
        return SENDING

    def _send(self, graph: GraphClient, row_id: int) -> OutboxState:
        with self._db() as session:
            row = session.get_one(OutboxMessage, row_id)
            recovered = str(row.draft_id) if row.state == DRAFTED and row.attempts > 1 else None
        if recovered is not None:
            # A worker died after drafting: the recruiter may have sent the draft since.
            try:
                draft = graph.get_message(recovered, with_flags=True)
            except GraphNotFound:
                pass  # sending it answers 404 too, and the row is then confirmed
            else:
                if send_requested(draft):
                    return self._adopt_sent_draft(row_id, draft)
        with transaction(self._db) as session:
            row = self._mine(session, row_id)
            # The candidate may have replied, or been paused, since the draft was made (a
            # worker that died between the two can leave hours in between): look again.
            verdict = self._seq.hold_or_cancel(session, row) if row.state == DRAFTED else None
            if verdict:
                outbox.held_back(row, verdict)
                if row.state == outbox.PAUSED:
                    return row.state  # the draft stays; resuming sends this same draft
                draft_to_drop = str(row.draft_id)
            else:
                draft_id = outbox.sending(row, self._clock.now())
        if verdict:
            try:
                graph.delete_message(draft_to_drop)
            except GraphError:
                log.info("could not delete the cancelled draft of outbox row %s", row_id)
            return outbox.CANCELLED
        self._checkpoint(SENDING, row_id)
        try:
            graph.send_draft(draft_id)
        except GraphNotFound:  # the draft is gone: maybe sent already; find out, never guess
            return self._confirm(graph, row_id)
        self._checkpoint("sent-unrecorded", row_id)
        return self._mark_sent(row_id, None)

    def _confirm(self, graph: GraphClient, row_id: int) -> OutboxState:
        """A row left in ``sending``: prove the send happened, or decide it did not.

        In Sent Items (by marker, else by internetMessageId): sent. Still a draft that
        Exchange shows as submitted: on its way, wait (never resend). Still a draft without
        that flag after ``send_grace``: the send never arrived, send the same draft again.
        Gone from Drafts and nowhere after ``send_grace``: ``unknown``.
        """
        with self._db() as session:
            row = session.get_one(OutboxMessage, row_id)
            key, draft_id, imid = row.dedupe_key, str(row.draft_id), row.internet_message_id
            waited = self._clock.now() - (row.send_attempted_at or self._clock.now())
        sent = drafts.find_marked(graph, "sentitems", key)
        if sent is None and imid:
            sent = graph.find_message("sentitems", internet_message_id=imid)
        if sent is not None:
            return self._mark_sent(row_id, sent)
        try:
            draft = graph.get_message(draft_id, with_flags=True)
        except GraphNotFound:
            if waited < self.config.send_grace:
                # Sent drafts leave Drafts before their copy reaches Sent Items (and Exchange
                # may queue them): give the copy time to appear before giving up on it.
                self._park(row_id, throttled=False)
                return SENDING
            self._finish(row_id, UNKNOWN, "The message left Drafts but is not in Sent Items.")
            return UNKNOWN
        if draft.get("isDraft") and send_requested(draft):
            if waited >= self.config.submitted_patience:
                self._finish(
                    row_id, UNKNOWN, "Outlook accepted the message but has not sent it yet."
                )
                return UNKNOWN
        elif draft.get("isDraft") and waited >= self.config.send_grace:
            return self._send(graph, row_id)  # the same draft: it cannot go out twice
        self._park(row_id, throttled=False)
        return SENDING

    # -- recording outcomes ------------------------------------------------------------
    def _mark_sent(self, row_id: int, found: dict[str, Any] | None) -> OutboxState:
        now = self._clock.now()
        with transaction(self._db) as session:
            row = self._mine(session, row_id)
            outbox.sent(row, now, found)
            self._seq.after_sent(session, row, now)
        return outbox.SENT

    def _finish(self, row_id: int, state: OutboxState, reason: str) -> None:
        with transaction(self._db) as session:
            row = self._mine(session, row_id)
            outbox.ended(row, state, reason)
            if state == FAILED:
                self._seq.after_failed(session, row, reason)
            else:
                self._seq.after_unknown(session, row)

    def _mine(self, session: Session, row_id: int) -> OutboxMessage:
        """The row, locked, if this worker still holds it; its lease is renewed.

        Every transition goes through here, so a worker that stalled past its lease
        (and was replaced) finds out before it writes anything or calls Graph again.
        """
        lease_until = self._clock.now() + self.config.lease
        row = outbox.lock_own(session, row_id, self.worker_id, lease_until)
        if row is None:
            raise _LostRow(row_id)
        return row

    def _park(self, row_id: int, *, throttled: bool) -> None:
        """Give a row back for a later try, in the state that says what happened so far.

        A 429/503 means Graph did nothing: a ``claimed`` row is ``pending`` again and the
        mailbox's ``not_before`` holds everything back. After an ambiguous failure the row
        keeps its state and is looked at again (as stranded) after ``ambiguous_retry``.
        """
        now = self._clock.now()
        with transaction(self._db) as session:
            row = self._mine(session, row_id)
            backoff = self.config.ambiguous_retry * 2 ** min(max(row.attempts - 1, 0), 6)
            outbox.parked(row, None if throttled else now + backoff)
