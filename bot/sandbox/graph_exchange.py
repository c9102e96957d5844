"""What Exchange does to items: compose drafts and replies, submit, route and receive mail.

:class:`Exchange` holds the rules; :class:`~bot.sandbox.mailstore.MailStore` holds the lock
and calls in with it held, so nothing here locks. By default delivery is synchronous: by the
time a send returns, every sandbox recipient has the message in their Inbox; with a delivery
delay (:mod:`bot.sandbox.graph_transport`) it happens when :meth:`Exchange.settle` finds it
due, which the store calls before every operation.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from bot.sandbox import graph_mime
from bot.sandbox.graph_mailbox import (
    Address,
    InboundMail,
    InvalidRecipients,
    Mailbox,
    Message,
    MessageInput,
    SendAsDenied,
    child_conversation_index,
    new_conversation_index,
    new_internet_message_id,
    new_item_id,
    subject_conversation_index,
)
from bot.sandbox.graph_transport import QUOTA_STATUS, Submission, Transport

_REPLY_PREFIX = re.compile(r"^\s*re\s*:", re.IGNORECASE)


class Exchange:
    """Composition, submission, routing and receipt of mail between mailboxes.

    ``clock`` may be replaced while the sandbox runs (tests point it at their fake clock);
    ``transport.delivery`` holds the delivery delay and the sending limits. ``mailbox`` finds (or creates) the mailbox of any address; ``owner_addresses`` lists the
    addresses a mailbox may send as (its primary address and aliases).
    """

    def __init__(
        self,
        clock: Callable[[], datetime],
        mailbox: Callable[[str], Mailbox],
        owner_addresses: Callable[[Mailbox], set[str]],
    ) -> None:
        self.clock = clock
        self.transport = Transport()
        self._mailbox = mailbox
        self._owner_addresses = owner_addresses
        #: address -> (DSN status, diagnostic) for recipients whose mail bounces.
        self.rejected: dict[str, tuple[str, str]] = {}

    def now(self) -> datetime:
        """The store's clock, always timezone-aware (UTC when the clock gives naive times)."""
        now = self.clock()
        return now if now.tzinfo else now.replace(tzinfo=UTC)

    def draft(self, box: Mailbox, fields: MessageInput, folder: str) -> Message:
        """A new item in ``folder``: its own conversation and internetMessageId, from the owner."""
        now = self.now()
        message = Message(
            id=new_item_id(),
            folder=folder,
            created=now,
            modified=now,
            received=now,
            sent=None,
            internet_message_id=new_internet_message_id(),
            conversation_index=new_conversation_index(now),
            from_=box.owner,
            sender=box.owner,
        )
        self.apply(message, fields)
        return message

    @staticmethod
    def apply(message: Message, fields: MessageInput) -> None:
        """Write the given properties onto ``message`` (extended properties merge by id)."""
        for name in ("subject", "to", "cc", "bcc", "reply_to", "from_", "categories", "is_read"):
            value = getattr(fields, name)
            if value is not None:
                setattr(message, name, value)
        if fields.importance is not None:
            message.importance = fields.importance
        if fields.internet_message_id is not None:
            message.internet_message_id = fields.internet_message_id
        if fields.headers is not None:
            message.headers = fields.headers
        if fields.body is not None:
            body_type, content = fields.body
            message.body_type = body_type
            message.body = graph_mime.wrap_html(content) if body_type == "html" else content
            message.unique_body = None
        if fields.extended is not None:
            merged = {pid.lower(): (pid, value) for pid, value in message.extended}
            merged.update({pid.lower(): (pid, value) for pid, value in fields.extended})
            message.extended = tuple(merged.values())

    def reply_draft(
        self,
        box: Mailbox,
        parent: Message,
        comment: str | None,
        fields: MessageInput,
        reply_all: bool,
    ) -> Message:
        """The reply Exchange composes: "RE:" subject, addressed to the parent's sender (or
        Reply-To), quoting the parent, threaded by In-Reply-To/References and the index."""
        now = self.now()
        mine = self._owner_addresses(box)
        to = parent.reply_to or ((parent.from_,) if parent.from_ else ())
        cc: tuple[Address, ...] = ()
        if reply_all:
            to += tuple(a for a in parent.to if a.address.lower() not in mine)
            cc = tuple(a for a in parent.cc if a.address.lower() not in mine)
        subject = parent.subject if _REPLY_PREFIX.match(parent.subject) else f"RE: {parent.subject}"
        draft = Message(
            id=new_item_id(),
            folder="drafts",
            created=now,
            modified=now,
            received=now,
            sent=None,
            internet_message_id=new_internet_message_id(),
            conversation_index=child_conversation_index(parent.conversation_index, now),
            subject=subject,
            body_type=parent.body_type,
            body=quote(parent, comment or ""),
            unique_body=(
                graph_mime.wrap_html(f"<div>{html.escape(comment or '')}</div>")
                if parent.body_type == "html"
                else comment or ""
            ),
            from_=box.owner,
            sender=box.owner,
            to=to,
            cc=cc,
            in_reply_to=parent.internet_message_id,
            references=(*parent.references, parent.internet_message_id)[-20:],
        )
        self.apply(draft, fields)
        return draft

    def submit(self, box: Mailbox, draft: Message, *, save: bool, stored: bool) -> None:
        """Send ``draft`` (in Drafts when ``stored``): validate now, deliver per the transport's
        :class:`~bot.sandbox.graph_transport.Delivery` (at once, or later on the clock)."""
        recipients = (*draft.to, *draft.cc, *draft.bcc)
        if not recipients:
            raise InvalidRecipients()
        for recipient in recipients:
            if "@" not in recipient.address:
                raise InvalidRecipients(
                    f"At least one recipient isn't valid., Recipient '{recipient.address}' is not "
                    "resolved. All recipients must be resolved before a message can be submitted."
                )
        if draft.from_ is not None and draft.from_.address.lower() not in self._owner_addresses(
            box
        ):
            raise SendAsDenied()
        now = self.now()
        delivery = self.transport.delivery
        unique = {r.address.lower() for r in recipients}
        submission = Submission(
            box,
            replace(draft),
            draft.id if stored else None,
            save,
            leave_at=now + timedelta(seconds=delivery.lingers),
            copy_at=now + timedelta(seconds=delivery.delay),
            bounce=self.transport.over_limit(box, len(unique), now),
        )
        if delivery.synchronous:
            if stored:
                box.remove(draft.id)
            self._deliver(submission, now)
            return
        if not stored:  # sendMail and reply: Exchange writes the message to Drafts first
            box.put(draft)
            submission.draft_id = draft.id
        waiting = box.items.get(draft.id)
        if waiting is not None and delivery.report_submitted and not waiting.submitted:
            box.put(replace(waiting, submitted=True, modified=now))
        self.transport.queue.append(submission)

    def settle(self) -> None:
        """Carry out what transport has done by now: drafts leave, copies and mail arrive."""
        if not self.transport.queue:
            return
        for kind, submission in self.transport.due(self.now()):
            when = submission.leave_at if kind == "leave" else submission.copy_at
            if kind == "leave":
                box, draft_id = submission.box, submission.draft_id
                if draft_id is not None and draft_id in box.items:
                    if box.items[draft_id].folder == "drafts":
                        box.remove(draft_id)
            else:
                self._deliver(submission, when)

    def _deliver(self, submission: Submission, now: datetime) -> None:
        box, draft = submission.box, submission.message
        if submission.bounce is not None:
            self._bounce(
                box, draft, (*draft.to, *draft.cc, *draft.bcc), QUOTA_STATUS, submission.bounce, now
            )
            return
        sent = replace(
            draft,
            id=new_item_id(),
            folder="sentitems",
            is_draft=False,
            is_read=True,
            submitted=False,
            sent=now,
            received=now,
            modified=now,
            # Exchange rewrites From to the primary address unless SendFromAliasEnabled is on.
            from_=box.owner,
            sender=box.owner,
            extended=draft.extended if self.transport.delivery.keep_extended_on_sent else (),
        )
        if submission.save:
            box.put(sent)
        self._route(box, sent, now)

    def _route(self, box: Mailbox, sent: Message, now: datetime) -> None:
        view = graph_mime.transport_view(sent, received=now)
        seen: set[str] = set()
        for recipient in (*sent.to, *sent.cc, *sent.bcc):
            address = recipient.address.lower()
            if address in seen:
                continue
            seen.add(address)
            if address in self.rejected:
                status, diagnostic = self.rejected[address]
                self._bounce(box, sent, (recipient,), status, diagnostic, now)
            else:
                self.receive(self._mailbox(address), view)

    def _bounce(
        self,
        box: Mailbox,
        original: Message,
        failed: tuple[Address, ...],
        status: str,
        diagnostic: str,
        now: datetime,
    ) -> None:
        """An NDR from the sender's postmaster ("Microsoft Outlook") into the sender's Inbox."""
        postmaster = "postmaster@" + box.owner.address.rsplit("@", 1)[-1]
        raw = graph_mime.non_delivery_report(
            original, failed, postmaster=postmaster, status=status, diagnostic=diagnostic, now=now
        )
        self.receive(box, graph_mime.parse(raw))

    def receive(self, box: Mailbox, mail: InboundMail) -> Message:
        """File ``mail`` in ``box``'s Inbox, threaded, and answer it if out of office."""
        now = self.now()
        message = Message(
            id=new_item_id(),
            folder="inbox",
            created=now,
            modified=now,
            received=now,
            sent=mail.sent or now,
            internet_message_id=mail.message_id or new_internet_message_id(),
            conversation_index=self._thread(box, mail, now),
            subject=mail.subject,
            body_type=mail.body_type,
            body=mail.body,
            unique_body=graph_mime.unique_part(mail.body, mail.body_type),
            from_=mail.from_,
            sender=mail.sender or mail.from_,
            to=mail.to,
            cc=mail.cc,
            reply_to=mail.reply_to,
            headers=mail.headers,
            in_reply_to=mail.in_reply_to,
            references=mail.references,
            is_draft=False,
            is_read=False,
            message_class=mail.message_class,
            mime=mail.mime,
        )
        box.put(message)
        self._maybe_auto_reply(box, mail, now)
        return message

    def _maybe_auto_reply(self, box: Mailbox, mail: InboundMail, now: datetime) -> None:
        # Exchange answers each sender once per out-of-office period, never automatic mail.
        if box.auto_reply is None or mail.from_ is None or mail.is_automatic:
            return
        sender = mail.from_.address.lower()
        if sender in box.auto_replied_to or mail.message_class != "IPM.Note":
            return
        box.auto_replied_to.add(sender)
        raw = graph_mime.auto_reply(mail, owner=box.owner, text=box.auto_reply, now=now)
        self.receive(self._mailbox(sender), graph_mime.parse(raw))

    @staticmethod
    def _thread(box: Mailbox, mail: InboundMail, now: datetime) -> bytes:
        for ref in (mail.in_reply_to, *reversed(mail.references)):
            ids = box.by_internet_id.get(ref.lower()) if ref else None
            if ids:
                parent = box.items[next(iter(ids))]
                return child_conversation_index(parent.conversation_index, now)
        if mail.thread_index is not None and len(mail.thread_index) >= 22:
            return mail.thread_index
        return subject_conversation_index(mail.subject, now)


def quote(parent: Message, comment: str) -> str:
    """The reply body Outlook composes: the comment, a separator, the original."""
    sent = (parent.sent or parent.received).strftime("%A, %B %d, %Y %I:%M %p")
    sender = parent.from_.display if parent.from_ else ""
    to = "; ".join(a.display for a in parent.to)
    if parent.body_type == "html":
        inner = re.sub(r"(?is).*<body[^>]*>|</body>.*", "", parent.body)
        return graph_mime.wrap_html(
            f"<div>{html.escape(comment)}</div>\r\n"
            '<hr style="display:inline-block;width:98%" tabindex="-1">\r\n'
            f'<div id="divRplyFwdMsg" dir="ltr"><b>From:</b> {html.escape(sender)}<br>\r\n'
            f"<b>Sent:</b> {sent}<br>\r\n<b>To:</b> {html.escape(to)}<br>\r\n"
            f"<b>Subject:</b> {html.escape(parent.subject)}</div>\r\n{inner}"
        )
    return (
        f"{comment}\r\n\r\n________________________________\r\nFrom: {sender}\r\nSent: {sent}\r\n"
        f"To: {to}\r\nSubject: {parent.subject}\r\n\r\n{parent.body}"
    )
