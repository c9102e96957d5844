"""Which worker sends for each mailbox, and until when every worker holds off it.

One ``mailbox_pacing`` row per mailbox, shared by every worker. A worker sends for a
mailbox only while it holds that row's lease, taken with ``FOR UPDATE SKIP LOCKED``; so one
worker paces a mailbox (30 a minute, the daily cap, the gap: :func:`outreach.schedule.
earliest_allowed`) and its Graph calls stay sequential, well under Outlook's four
concurrent requests per mailbox. After a 429/503 ``not_before`` keeps every worker off the
mailbox until Graph's ``Retry-After``.

A lease is given back only when its worker finished the mailbox's turn; a worker that dies
or hangs mid-send keeps it until it lapses, and the next worker then takes over its rows
(:func:`outreach.outbox.take_over_stranded`). :mod:`outreach.dispatch` is the only caller.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError

from bot.clock import Clock
from bot.db import SessionFactory, transaction
from bot.models import MailboxPacing


class MailboxLeases:
    """The ``mailbox_pacing`` table: each mailbox's dispatch lease and its hold-off."""

    def __init__(self, db: SessionFactory, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    def take(self, mailbox_id: int, worker_id: str, lease: timedelta) -> bool:
        """Lease the mailbox to ``worker_id`` for ``lease`` from now.

        False when another worker holds an unexpired lease on it (or is taking one right
        now) or the mailbox is held off; its row is created on first use.
        """
        now = self._clock.now()
        try:
            with transaction(self._db) as session:
                if session.get(MailboxPacing, mailbox_id) is None:
                    session.add(MailboxPacing(mailbox_id=mailbox_id))
        except IntegrityError:
            pass  # another worker created it first
        with transaction(self._db) as session:
            pacing = session.scalars(
                select(MailboxPacing)
                .where(
                    MailboxPacing.mailbox_id == mailbox_id,
                    or_(MailboxPacing.lease_until.is_(None), MailboxPacing.lease_until <= now),
                    or_(MailboxPacing.not_before.is_(None), MailboxPacing.not_before <= now),
                )
                .with_for_update(skip_locked=True)
            ).first()
            if pacing is None:
                return False
            pacing.leased_by = worker_id
            pacing.lease_until = now + lease
            return True

    def release(self, mailbox_id: int, worker_id: str) -> None:
        """Give the lease back, if ``worker_id`` still holds it."""
        with transaction(self._db) as session:
            pacing = session.get(MailboxPacing, mailbox_id)
            if pacing is not None and pacing.leased_by == worker_id:
                pacing.leased_by = None
                pacing.lease_until = None

    def hold_off(self, mailbox_id: int, wait: timedelta) -> None:
        """Keep every worker off the mailbox for ``wait`` from now (Graph said 429/503)."""
        with transaction(self._db) as session:
            pacing = session.get(MailboxPacing, mailbox_id)
            if pacing is not None:
                pacing.not_before = self._clock.now() + wait
