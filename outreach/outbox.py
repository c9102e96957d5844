"""The outbox: every email to send, and the one module that changes ``OutboxMessage.state``.

A campaign step is stored ``waiting`` when the campaign starts, becomes ``pending`` (due)
when the step before it is sent, or at once for step 1 and for direct and test emails. A
worker then walks it ``pending → claimed → drafted → sending → sent`` (or ``failed`` /
``unknown``) and commits every arrow before its next Graph call, so a crash leaves a row
whose state says what may already have happened in the mailbox:

* ``claimed``  a draft may exist: look for it by our marker before creating another;
* ``drafted``  the draft exists and was never sent: send that same draft;
* ``sending``  the send may have happened: look in Sent Items; never send twice.

Until a worker claims it, a pause holds a row (``pending → paused``, and back), and a stop,
a reply, an opt-out or the do-not-contact list ends it (``cancelled``). Rows in flight are
left to the worker, which asks the campaign rules again before each Graph call.

Fencing: a worker owns a row while ``claimed_by`` names it and ``lease_until`` has not
passed. Every transition a worker makes goes through :func:`lock_own`, which locks the
row and renews the lease, so a worker that stalled past its lease (and was replaced)
finds out before it writes anything or calls Graph again. :mod:`outreach.dispatch` drives
the Graph calls and asks this module for every change.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, delete, or_, select, update
from sqlalchemy.orm import Session

from bot.models import Candidate, Enrollment, OutboxMessage
from outreach.states import OutboxState as OutboxState  # re-exported

WAITING, PENDING, PAUSED = OutboxState.WAITING, OutboxState.PENDING, OutboxState.PAUSED
CLAIMED, DRAFTED, SENDING = OutboxState.CLAIMED, OutboxState.DRAFTED, OutboxState.SENDING
SENT, FAILED, UNKNOWN = OutboxState.SENT, OutboxState.FAILED, OutboxState.UNKNOWN
CANCELLED = OutboxState.CANCELLED

#: Not yet handed to a worker: a pause holds these, a stop or a reply cancels them.
UNSENT = (WAITING, PENDING, PAUSED)
#: Between a claim and an outcome: only the worker holding the row changes it.
IN_FLIGHT = (CLAIMED, DRAFTED, SENDING)
#: Emails that may still go out.
STILL_TO_GO = (*UNSENT, *IN_FLIGHT)
#: Outcomes: nothing changes these rows any more (bar "Not a reply" putting back a cancel).
FINAL = (SENT, FAILED, UNKNOWN, CANCELLED)
#: What a worker's attempt ends in; a test or direct email's Slack message then says which.
OUTCOMES = (SENT, FAILED, UNKNOWN)
#: Refused, or never confirmed: counted as failed on the campaign's parent message.
NOT_DELIVERED = (FAILED, UNKNOWN)
#: Attempted but not confirmed: it may well have gone out, so pacing counts it.
UNCONFIRMED = (SENDING, UNKNOWN)


def step_key(enrollment_id: int, position: int) -> str:
    """The outbox's unique key of step ``position`` for an enrollment."""
    return f"step:{enrollment_id}:{position}"


def retry_key(row_id: int) -> str:
    """The unique key of the one retry of outbox row ``row_id`` (a soft bounce)."""
    return f"retry:{row_id}"


# -- adding emails ---------------------------------------------------------------------------


def staged_step(**fields: Any) -> dict[str, Any]:
    """An outbox row of a campaign start, for a bulk insert: ``waiting``, which nothing
    sends; step 1 becomes pending when the whole start goes live (:func:`go_live`)."""
    return {**fields, "state": WAITING, "attempts": 0}


def delete_of(session: Session, enrollment_ids: Select[int]) -> None:
    """Delete every row of the enrollments ``enrollment_ids`` (a start's staged rows,
    which nothing has sent: see :func:`outreach.sequencing.delete_staged`)."""
    session.execute(
        delete(OutboxMessage)
        .where(OutboxMessage.enrollment_id.in_(enrollment_ids))
        .execution_options(synchronize_session=False)
    )


def enqueue(session: Session, **fields: Any) -> OutboxMessage:
    """Add a ``pending`` row (a direct or test email, a retried step) with ``fields``
    (``dedupe_key``, ``mailbox_id``, ``due_at``, …); flushed, so its id is known."""
    row = OutboxMessage(**fields, state=PENDING)
    session.add(row)
    session.flush()
    return row


def go_live(session: Session, enrollment_ids: Select[int]) -> None:
    """Step 1 of the staged enrollments ``enrollment_ids`` becomes due."""
    session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.enrollment_id.in_(enrollment_ids),
            OutboxMessage.step_position == 1,
            OutboxMessage.state == WAITING,
        )
        .values(state=PENDING)
        .execution_options(synchronize_session=False)
    )


def make_due(row: OutboxMessage, due: datetime) -> bool:
    """A ``waiting`` step becomes ``pending`` at ``due``; False (and unchanged) if it
    was not waiting."""
    if row.state != WAITING:
        return False
    row.state, row.due_at = PENDING, due
    return True


# -- pausing, resuming, ending (rows no worker holds) ----------------------------------------


def hold(session: Session, enrollment_ids: Select[int] | Sequence[int]) -> None:
    """Due steps of these enrollments wait (``paused``) until :func:`release`."""
    session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.enrollment_id.in_(enrollment_ids), OutboxMessage.state == PENDING)
        .values(state=PAUSED)
    )


def release(
    session: Session,
    which: Any,
    next_slot: Callable[[OutboxMessage, Candidate], datetime],
    *,
    active: Any,
) -> None:
    """Paused steps of the enrollments ``which`` selects (and ``active`` confirms) are due
    again, at ``next_slot(row, candidate)`` if that is later than their due time."""
    rows = session.execute(
        select(OutboxMessage, Candidate)
        .join(Enrollment, Enrollment.id == OutboxMessage.enrollment_id)
        .join(Candidate, Candidate.id == Enrollment.candidate_id)
        .where(which, active, OutboxMessage.state == PAUSED)
    )
    for row, candidate in rows:
        row.state = PENDING
        row.due_at = max(row.due_at, next_slot(row, candidate))


def cancel_unsent(
    session: Session, enrollment_ids: Select[int] | Sequence[int], reason: str
) -> int:
    """Cancel every unsent step of these enrollments; returns how many."""
    return len(
        session.scalars(
            update(OutboxMessage)
            .where(
                OutboxMessage.enrollment_id.in_(enrollment_ids),
                OutboxMessage.state.in_(UNSENT),
            )
            .values(state=CANCELLED, last_error=reason)
            .returning(OutboxMessage.id)
        ).all()
    )


def cancel_unsent_recording(
    session: Session, enrollment_ids: Sequence[int], reason: str
) -> dict[str, str]:
    """:func:`cancel_unsent`, returning ``{row id: state it had}`` for :func:`uncancel`."""
    unsent = session.execute(
        select(OutboxMessage.id, OutboxMessage.state).where(
            OutboxMessage.enrollment_id.in_(enrollment_ids), OutboxMessage.state.in_(UNSENT)
        )
    ).all()
    session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_([row_id for row_id, _ in unsent]))
        .values(state=CANCELLED, last_error=reason)
    )
    return {str(row_id): str(row_state) for row_id, row_state in unsent}


def uncancel(session: Session, before: dict[str, str]) -> None:
    """Put back the rows :func:`cancel_unsent_recording` cancelled, if still cancelled."""
    for row_id, state in before.items():
        row = session.get(OutboxMessage, int(row_id))
        if row is not None and row.state == CANCELLED:
            row.state, row.last_error = OutboxState(state), None


def next_unsent(session: Session, enrollment_id: int) -> OutboxMessage | None:
    """The enrollment's next step that is due or held (its lowest position), if any."""
    return session.scalars(
        select(OutboxMessage)
        .where(
            OutboxMessage.enrollment_id == enrollment_id,
            OutboxMessage.state.in_((PENDING, PAUSED)),
        )
        .order_by(OutboxMessage.step_position)
        .limit(1)
    ).first()


def last_unconfirmed(session: Session, enrollment_id: int) -> OutboxMessage | None:
    """The enrollment's latest step whose send could not be confirmed (``unknown``)."""
    return session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.enrollment_id == enrollment_id, OutboxMessage.state == UNKNOWN)
        .order_by(OutboxMessage.step_position.desc())
    ).first()


def sent_step(session: Session, enrollment_id: int, position: int) -> OutboxMessage | None:
    """Step ``position`` of the enrollment if it was sent."""
    row = session.scalars(
        select(OutboxMessage).where(OutboxMessage.dedupe_key == step_key(enrollment_id, position))
    ).first()
    return row if row is not None and row.state == SENT else None


def step(session: Session, enrollment_id: int, position: int) -> OutboxMessage | None:
    """Step ``position`` of the enrollment, in whatever state."""
    return session.scalars(
        select(OutboxMessage).where(OutboxMessage.dedupe_key == step_key(enrollment_id, position))
    ).first()


def attempted_since(session: Session, mailbox_id: int, since: datetime) -> list[datetime]:
    """When the mailbox's unconfirmed sends (``sending``, ``unknown``) were attempted."""
    times = session.scalars(
        select(OutboxMessage.send_attempted_at).where(
            OutboxMessage.mailbox_id == mailbox_id,
            OutboxMessage.state.in_(UNCONFIRMED),
            OutboxMessage.send_attempted_at >= since,
        )
    )
    return [t for t in times if t is not None]


# -- the worker's claims -------------------------------------------------------------------


def mailboxes_with_work(session: Session, now: datetime) -> Sequence[int]:
    """Mailboxes with a due row, or an in-flight row whose lease ran out (or was let go)."""
    return session.scalars(
        select(OutboxMessage.mailbox_id)
        .where(
            or_(
                (OutboxMessage.state == PENDING) & (OutboxMessage.due_at <= now),
                OutboxMessage.state.in_(IN_FLIGHT)
                & or_(OutboxMessage.lease_until.is_(None), OutboxMessage.lease_until <= now),
            )
        )
        .distinct()
    ).all()


def any_in_flight(session: Session) -> bool:
    """Whether some row is between claim and outcome (in any mailbox)."""
    found = session.scalars(
        select(OutboxMessage.id).where(OutboxMessage.state.in_(IN_FLIGHT)).limit(1)
    ).first()
    return found is not None


def claim_next(
    session: Session, mailbox_id: int, now: datetime, worker_id: str, lease_until: datetime
) -> int | None:
    """Claim the mailbox's earliest due row for ``worker_id``; its id, or None.

    ``FOR UPDATE SKIP LOCKED``: many workers may claim at once and never get the same row
    (SQLite has one writer at a time and ignores the clause). Commit before any Graph call.
    """
    row = session.scalars(
        select(OutboxMessage)
        .where(
            OutboxMessage.mailbox_id == mailbox_id,
            OutboxMessage.state == PENDING,
            OutboxMessage.due_at <= now,
        )
        .order_by(OutboxMessage.due_at, OutboxMessage.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    ).first()
    if row is None:
        return None
    row.state = CLAIMED
    row.claimed_by = worker_id
    row.lease_until = lease_until
    row.attempts += 1
    return row.id


def take_over_stranded(
    session: Session, mailbox_id: int, now: datetime, worker_id: str, lease_until: datetime
) -> list[int]:
    """In-flight rows of the mailbox whose worker's lease ran out (it crashed or hung),
    now held by ``worker_id``; their state is kept: it says what to check first."""
    rows = session.scalars(
        select(OutboxMessage)
        .where(
            OutboxMessage.mailbox_id == mailbox_id,
            OutboxMessage.state.in_(IN_FLIGHT),
            or_(OutboxMessage.lease_until.is_(None), OutboxMessage.lease_until <= now),
        )
        .order_by(OutboxMessage.id)
        .with_for_update(skip_locked=True)
    ).all()
    for row in rows:
        row.claimed_by = worker_id
        row.lease_until = lease_until
        row.attempts += 1
    return [row.id for row in rows]


def lock_own(
    session: Session, row_id: int, worker_id: str, lease_until: datetime
) -> OutboxMessage | None:
    """The row, locked, if ``worker_id`` still holds it in flight; its lease is renewed
    to ``lease_until``. None: another worker took it over (our lease lapsed)."""
    row = session.scalars(
        select(OutboxMessage).where(OutboxMessage.id == row_id).with_for_update()
    ).first()
    if row is None or row.claimed_by != worker_id or row.state not in IN_FLIGHT:
        return None
    row.lease_until = lease_until
    return row


# -- the worker's transitions (on a row from lock_own) ---------------------------------------


def held_back(row: OutboxMessage, verdict: tuple[OutboxState, str]) -> None:
    """The campaign rules said ``(paused | cancelled, reason)``: the worker lets it go."""
    row.state, row.last_error = verdict
    row.lease_until = row.claimed_by = None


def drafted(row: OutboxMessage, draft: dict[str, Any]) -> None:
    """The draft exists in the mailbox (Graph's message ``draft``)."""
    row.state = DRAFTED
    row.draft_id = draft["id"]
    row.internet_message_id = draft.get("internetMessageId")
    row.conversation_id = draft.get("conversationId")


def sending(row: OutboxMessage, now: datetime, draft: dict[str, Any] | None = None) -> str:
    """The send is about to be asked for (or ``draft`` was already sent by someone else):
    from here on, the email may have gone out. Returns the draft's id."""
    row.state = SENDING
    if draft is not None:
        row.draft_id = draft["id"]
        row.internet_message_id = draft.get("internetMessageId") or row.internet_message_id
        row.conversation_id = draft.get("conversationId") or row.conversation_id
    row.send_attempted_at = now
    return str(row.draft_id)


def sent(row: OutboxMessage, now: datetime, found: dict[str, Any] | None) -> None:
    """Sent (``found``: its Sent Items copy, when we looked it up)."""
    row.state, row.sent_at, row.lease_until, row.last_error = SENT, now, None, None
    if found is not None:
        row.internet_message_id = found.get("internetMessageId") or row.internet_message_id
        row.conversation_id = found.get("conversationId") or row.conversation_id


def ended(row: OutboxMessage, state: OutboxState, reason: str) -> None:
    """``failed`` (Outlook refused it) or ``unknown`` (nobody can tell), with why."""
    row.state, row.last_error, row.lease_until = state, reason, None


def parked(row: OutboxMessage, lease_until: datetime | None) -> None:
    """Given back for a later try. ``lease_until`` None (Graph did nothing): a ``claimed``
    row is ``pending`` again. Otherwise it keeps its state and is looked at again, as
    stranded, once ``lease_until`` passes."""
    row.claimed_by = None
    if lease_until is None and row.state == CLAIMED:
        row.state = PENDING
    row.lease_until = lease_until
