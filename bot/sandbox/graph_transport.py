"""What Exchange does after it answers 202: the submission queue and the sending limits.

Graph's ``POST /messages/{id}/send`` (and ``sendMail``, ``reply``) answers **202 Accepted**:
"this status code does not indicate that the request processing has completed"
(https://learn.microsoft.com/graph/api/message-send). Exchange writes the message to Drafts,
transport picks it up later, moves it to Sent Items and routes it; a failure at those steps
becomes a non-delivery report in the sender's Inbox, not an HTTP error
(https://learn.microsoft.com/graph/outlook-things-to-know-about-send-mail). The sandbox
models that with :class:`Delivery`, whose knobs are read on the store's clock:

- ``delay``: seconds from the send request until the Sent Items copy appears and the
  recipients have the message. Until then the draft stays in Drafts, still ``isDraft``.
- ``draft_lingers``: seconds until the draft leaves Drafts (default: ``delay``). Shorter
  than ``delay``, the message is for a while in neither folder.
- ``report_submitted``: whether the waiting draft's ``PR_MESSAGE_FLAGS``
  (``Integer 0x0E07``) carries ``MSGFLAG_SUBMIT`` (0x4), as MAPI defines for a message
  "marked for sending" (MS-OXCMSG 2.2.1.6). Graph does not document it for the queue window:
  turn it off to see how a client copes without it.
- ``keep_extended_on_sent``: whether the Sent Items copy keeps the draft's extended
  properties (undocumented; see docs/assumptions.md).

What a second ``send`` of a draft already on its way does is not documented; the sandbox
submits it again, so a client that resends shows up as a duplicate in Sent Items.

Sending limits (https://learn.microsoft.com/office365/servicedescriptions/
exchange-online-service-description/exchange-online-limits#sending-limits): 30 messages a
minute and 10,000 recipients a rolling day per mailbox. Exchange accepts the request and
bounces the message: the sandbox answers 202, delivers nothing, keeps no Sent Items copy and
files an NDR "554 5.2.0 STOREDRV.Submission.Exception:SubmissionQuotaExceededException" in the
sender's Inbox. (Microsoft's description says mail over the *message* rate from non-SMTP
clients may be queued instead; bouncing is the stricter reading, so a pacing bug shows.)
Submissions refused for a limit do not count towards it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.sandbox.graph_mailbox import Mailbox, Message

#: Exchange Online's per-mailbox sending limits (see the module docstring).
MESSAGES_PER_MINUTE = 30
RECIPIENTS_PER_DAY = 10_000
QUOTA_STATUS = "5.2.0"
_QUOTA_DIAGNOSTIC = (
    "554 5.2.0 STOREDRV.Submission.Exception:SubmissionQuotaExceededException; Failed to "
    "process message due to a permanent exception with message [BeginDiagnosticData]Cannot "
    "submit message. {limit}[EndDiagnosticData]"
)


@dataclass(frozen=True)
class Delivery:
    """The knobs of asynchronous sending and of the sending limits (module docstring)."""

    delay: float = 0.0
    draft_lingers: float | None = None
    report_submitted: bool = True
    keep_extended_on_sent: bool = True
    messages_per_minute: int = MESSAGES_PER_MINUTE
    recipients_per_day: int = RECIPIENTS_PER_DAY

    def __post_init__(self) -> None:
        if self.delay < 0 or (self.draft_lingers is not None and self.draft_lingers < 0):
            raise ValueError("delays can't be negative")
        if self.draft_lingers is not None and self.draft_lingers > self.delay:
            raise ValueError("the draft can't linger after its Sent Items copy appeared")

    @property
    def lingers(self) -> float:
        return self.delay if self.draft_lingers is None else self.draft_lingers

    @property
    def synchronous(self) -> bool:
        return self.delay == 0


@dataclass
class Submission:
    """One accepted send: the message as it was when sent, and what transport will do."""

    box: Mailbox
    message: Message
    draft_id: str | None
    save: bool
    leave_at: datetime
    copy_at: datetime
    bounce: str | None = None
    left: bool = False


@dataclass
class Transport:
    """The queue of accepted sends and each mailbox's recent submissions (no locking)."""

    delivery: Delivery = field(default_factory=Delivery)
    queue: list[Submission] = field(default_factory=list)
    _history: dict[str, deque[tuple[datetime, int]]] = field(default_factory=dict)

    def over_limit(self, box: Mailbox, recipients: int, now: datetime) -> str | None:
        """The NDR diagnostic if this submission breaks a sending limit; else count it."""
        history = self._history.setdefault(box.key, deque())
        while history and history[0][0] <= now - timedelta(days=1):
            history.popleft()
        minute = sum(1 for at, _ in history if at > now - timedelta(minutes=1))
        if minute >= self.delivery.messages_per_minute:
            limit = f"The message rate limit of {self.delivery.messages_per_minute} messages "
            return _QUOTA_DIAGNOSTIC.format(limit=limit + "per minute was exceeded.")
        if sum(n for _, n in history) + recipients > self.delivery.recipients_per_day:
            limit = f"The recipient rate limit of {self.delivery.recipients_per_day:,} "
            return _QUOTA_DIAGNOSTIC.format(limit=limit + "recipients per day was exceeded.")
        history.append((now, recipients))
        return None

    def due(self, now: datetime) -> Iterator[tuple[str, Submission]]:
        """``("leave"|"copy", submission)`` for every step due by ``now``, in time order.

        A submission whose copy is due is dropped from the queue as it is handed out.
        """
        while True:
            steps = [(s.leave_at, 0, "leave", s) for s in self.queue if not s.left]
            steps += [(s.copy_at, 1, "copy", s) for s in self.queue]
            ready = [step for step in steps if step[0] <= now]
            if not ready:
                return
            _, _, kind, submission = min(ready, key=lambda step: (step[0], step[1]))
            if kind == "leave":
                submission.left = True
            else:
                self.queue.remove(submission)
            yield kind, submission
