"""The sandbox plays the candidate: mail from outside the tenant arrives in a mailbox.

Python (tests) and HTTP (the console, out-of-process tests) offer the same five ways in:

- ``reply``: an answer to a message the mailbox sent, with ``In-Reply-To``/``References``
  as mail clients set them (``references_only``: a client that keeps only References),
  from the candidate's address or another one, the subject as given or ``RE: …``;
- ``message``: free-standing mail (any sender, subject and text);
- ``mime``: raw RFC 5322 bytes, optionally made an answer to a sent message (its
  ``In-Reply-To``/``References`` replaced);
- ``bounce``: an Exchange-style NDR for a sent message (``multipart/report`` with a
  ``message/delivery-status`` naming the failed recipient, and the original Message-ID):
  hard ``5.1.1`` or soft ``4.2.2``;
- ``out_of_office``: "Automatic reply: …" with ``Auto-Submitted: auto-replied`` and the
  return date in the text.

Arrival goes through the store's own receive path, so Exchange's threading applies (an
``In-Reply-To``/``References`` naming a message in the mailbox joins its conversation).

HTTP, on the sandbox Graph server only (these routes do not exist in Microsoft Graph):
``POST /sandbox/inbound/{reply|message|mime|bounce|out-of-office}`` with a JSON body of
the keyword arguments below (``to`` the mailbox; ``raw`` the MIME text for ``mime``);
the answer is ``201 {"id", "internetMessageId", "conversationId"}`` or ``400 {"error"}``.
"""

from __future__ import annotations

import email
import email.policy
from datetime import date
from typing import Any

from flask import Flask, Response, jsonify, request

from bot.sandbox import graph_mime
from bot.sandbox.graph_mailbox import Message
from bot.sandbox.mailstore import MailStore

HARD = (
    "5.1.1",
    "550 5.1.1 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup",
)
SOFT = ("4.2.2", "452 4.2.2 Mailbox full; the recipient's mailbox is over its storage limit")


class InboundError(ValueError):
    """A request the sandbox cannot turn into mail (said in the message)."""


class Inbound:
    """Outside mail into a :class:`MailStore`'s mailboxes."""

    def __init__(self, store: MailStore) -> None:
        self.store = store

    def sent(self, mailbox: str, internet_message_id: str) -> Message:
        """The message ``mailbox`` sent with that Message-ID (from its Sent Items)."""
        for message in self.store.sent_items(self.mailbox(mailbox)):
            if message.internet_message_id.lower() == internet_message_id.strip().lower():
                return message
        raise InboundError(
            f"{mailbox} sent no message {internet_message_id}: give the Message-ID of a "
            "message in its Sent Items."
        )

    def mailbox(self, address: str) -> str:
        """``address`` if it is a mailbox of the sandbox tenant; else :class:`InboundError`."""
        directory = self.store.directory
        if directory is not None and directory.find_user(address) is None:
            raise InboundError(f"{address} is not a mailbox of the sandbox tenant.")
        return address

    def reply(
        self,
        to: str,
        in_reply_to: str,
        *,
        text: str,
        from_address: str | None = None,
        subject: str | None = None,
        references_only: bool = False,
    ) -> Message:
        """An answer to the sent message ``in_reply_to``, by default from its recipient."""
        sent = self.sent(to, in_reply_to)
        sender = from_address or (sent.to[0].address if sent.to else "")
        return self.store.deliver(
            to,
            from_address=sender,
            subject=subject if subject is not None else f"RE: {sent.subject}",
            body=text,
            in_reply_to=None if references_only else sent.internet_message_id,
            references=[*sent.references, sent.internet_message_id],
        )

    def message(self, to: str, *, from_address: str, subject: str, text: str) -> Message:
        """Free-standing mail, answering nothing."""
        return self.store.deliver(
            self.mailbox(to), from_address=from_address, subject=subject, body=text
        )

    def mime(self, to: str, raw: bytes, *, in_reply_to: str | None = None) -> Message:
        """Raw MIME into ``to``'s Inbox; with ``in_reply_to`` it answers that sent message."""
        if in_reply_to is not None:
            sent = self.sent(to, in_reply_to)
            parsed = email.message_from_bytes(raw, policy=email.policy.compat32)
            for name in ("In-Reply-To", "References"):
                del parsed[name]
            parsed["In-Reply-To"] = sent.internet_message_id
            parsed["References"] = " ".join([*sent.references, sent.internet_message_id])
            raw = parsed.as_bytes()
        return self.store.deliver_mime(self.mailbox(to), raw)

    def bounce(self, to: str, in_reply_to: str, *, hard: bool = True) -> Message:
        """Exchange's NDR for the sent message: its recipients failed (5.1.1, or 4.2.2)."""
        sent = self.sent(to, in_reply_to)
        status, diagnostic = HARD if hard else SOFT
        raw = graph_mime.non_delivery_report(
            sent,
            tuple(sent.to),
            postmaster="postmaster@" + to.rsplit("@", 1)[-1],
            status=status,
            diagnostic=diagnostic,
            now=self.store.clock(),
        )
        return self.store.deliver_mime(to, raw)

    def out_of_office(
        self, to: str, in_reply_to: str, *, until: date, from_address: str | None = None
    ) -> Message:
        """The recipient's automatic reply to the sent message, back on ``until``."""
        sent = self.sent(to, in_reply_to)
        sender = from_address or (sent.to[0].address if sent.to else "")
        text = (
            f"Thank you for your message. I am out of the office until {until:%d %B %Y} "
            "with limited access to email. I will reply when I am back."
        )
        return self.store.deliver(
            to,
            from_address=sender,
            subject=f"Automatic reply: {sent.subject}",
            body=text,
            in_reply_to=sent.internet_message_id,
            references=[*sent.references, sent.internet_message_id],
            headers={"Auto-Submitted": "auto-replied", "X-Auto-Response-Suppress": "All"},
        )


def mount(app: Flask, inbound: Inbound) -> None:
    """Serve ``POST /sandbox/inbound/<kind>`` on the sandbox Graph's Flask app."""

    def handle(kind: str) -> Response | tuple[Response, int]:
        data = request.get_json(silent=True)
        if not isinstance(data, dict):
            return jsonify(error="The body must be a JSON object of the mail's fields."), 400
        try:
            message = _run(inbound, kind, data)
        except InboundError as exc:
            return jsonify(error=str(exc)), 400
        body = {
            "id": message.id,
            "internetMessageId": message.internet_message_id,
            "conversationId": message.conversation_id,
        }
        return jsonify(body), 201

    app.add_url_rule("/sandbox/inbound/<kind>", "sandbox_inbound", handle, methods=["POST"])


def _run(inbound: Inbound, kind: str, data: dict[str, Any]) -> Message:
    if kind not in KINDS:
        raise InboundError(f"Unknown inbound kind '{kind}': {', '.join(KINDS)}.")
    to = _field(data, "to")
    if kind == "reply":
        return inbound.reply(
            to,
            _field(data, "in_reply_to"),
            text=_field(data, "text"),
            from_address=_optional(data, "from"),
            subject=_optional(data, "subject"),
            references_only=bool(data.get("references_only")),
        )
    if kind == "message":
        return inbound.message(
            to,
            from_address=_field(data, "from"),
            subject=_field(data, "subject"),
            text=_field(data, "text"),
        )
    if kind == "mime":
        raw = _field(data, "raw").encode()
        return inbound.mime(to, raw, in_reply_to=_optional(data, "in_reply_to"))
    if kind == "bounce":
        bounce = data.get("type", "hard")
        if bounce not in ("hard", "soft"):
            raise InboundError(f"A bounce's 'type' is hard or soft, not {bounce!r}.")
        return inbound.bounce(to, _field(data, "in_reply_to"), hard=bounce == "hard")
    try:
        until = date.fromisoformat(_field(data, "until"))
    except ValueError:
        raise InboundError("'until' is the return date, as YYYY-MM-DD.") from None
    return inbound.out_of_office(
        to, _field(data, "in_reply_to"), until=until, from_address=_optional(data, "from")
    )


KINDS = ("reply", "message", "mime", "bounce", "out-of-office")


def _field(data: dict[str, Any], name: str) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not value.strip():
        raise InboundError(f"'{name}' is missing: this kind of inbound mail needs it.")
    return value


def _optional(data: dict[str, Any], name: str) -> str | None:
    return _field(data, name) if data.get(name) is not None else None
