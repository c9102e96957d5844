"""The console's Outlook side: each sandbox mailbox's folders, messages and threads.

``GET /outlook?mailbox=…&folder=inbox|sentitems|drafts`` lists a folder grouped by
conversation (Exchange's ``conversationId``); ``GET /outlook/message?mailbox=…&id=…`` shows
one message with its headers (From, To, Date, Subject, Message-ID, In-Reply-To, References,
categories, conversationId and every transport header) and its whole conversation. On a
sent message a person plays its recipient: ``POST /outlook/reply`` (a preset, out of office
until a date, or own words), ``POST /outlook/bounce`` (Exchange's NDR, hard or soft);
``POST /outlook/eml`` delivers an uploaded ``.eml`` (optionally as an answer).

It reads the sandbox's own :class:`~bot.sandbox.mailstore.MailStore` and sends mail in
through :class:`~bot.sandbox.inbound.Inbound`, as an outside sender would; the bot finds
that mail by its ordinary Graph reply sync. Nothing here reaches the bot's database.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import date, timedelta
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from flask import Flask, abort, jsonify, redirect, request
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from bot.sandbox.console.candidate import OUT_OF_OFFICE, OWN_WORDS, PRESETS, answer
from bot.sandbox.console.clock import STEPS
from bot.sandbox.console.origin import same_origin_only
from bot.sandbox.console.render import render
from bot.sandbox.graph_mailbox import WELL_KNOWN_FOLDERS, MailError, Message
from bot.sandbox.inbound import Inbound, InboundError

if TYPE_CHECKING:
    from bot.sandbox.console.routes import Console

__all__ = ["FOLDERS", "Outlook", "conversations"]

FOLDERS = ("inbox", "sentitems", "drafts")
#: The largest .eml the console takes (Exchange Online's default message size limit).
MAX_EML = 25 * 1024 * 1024


def conversations(messages: list[Message]) -> list[list[Message]]:
    """``messages`` grouped by conversation, oldest first inside, latest conversation first."""
    groups: dict[str, list[Message]] = {}
    for message in sorted(messages, key=lambda m: (m.received, m.seq)):
        groups.setdefault(message.conversation_id, []).append(message)
    return sorted(groups.values(), key=lambda g: (g[-1].received, g[-1].seq), reverse=True)


class Outlook:
    """The Outlook pages and the candidate's actions, on the console's server."""

    def __init__(self, console: Console) -> None:
        self.console, self.sandbox = console, console.sandbox
        self.store = console.sandbox.store
        self.inbound = Inbound(self.store)
        self._lock = threading.Lock()
        self._notices: dict[str, str] = {}

    def register(self, app: Flask) -> None:
        app.add_url_rule("/outlook", "outlook", self.folder)
        app.add_url_rule("/outlook/message", "outlook_message", self.message)
        app.add_url_rule("/outlook/state", "outlook_state", self.state)
        for name in ("reply", "bounce", "eml"):
            view = same_origin_only(lambda: self.console.slack.url, getattr(self, name))
            app.add_url_rule(f"/outlook/{name}", f"outlook_{name}", view, methods=["POST"])

    # ---- pages --------------------------------------------------------------------------

    def folder(self) -> str:
        """A folder of a mailbox, as conversations."""
        mailbox = self._mailbox(request.args)
        folder = request.args.get("folder", "inbox")
        if folder not in FOLDERS:
            abort(404, f"no folder {folder!r}: inbox, sentitems or drafts")
        groups = conversations(self.store.messages(mailbox, folder))
        return self._page(mailbox, folder=folder, groups=groups)

    def message(self) -> str:
        """One message, its headers, its conversation and what a candidate can do with it."""
        mailbox = self._mailbox(request.args)
        message = self._find(mailbox, request.args.get("id", ""))
        if message is None:
            abort(404, "That message is not in this mailbox (any more).")
        thread = [
            m
            for folder in FOLDERS
            for m in self.store.messages(mailbox, folder)
            if m.conversation_id == message.conversation_id
        ]
        thread.sort(key=lambda m: (m.received, m.seq))
        back_on = (self.store.clock() + timedelta(days=7)).date()
        return self._page(
            mailbox, folder=message.folder, message=message, thread=thread, back_on=back_on
        )

    def state(self) -> Response:
        """``GET /outlook/state?mailbox=…``: a token that changes when the mailbox does
        (the page polls it and redraws itself)."""
        return jsonify(state=self._state(self._mailbox(request.args)))

    def _state(self, mailbox: str) -> str:
        found = [m for f in FOLDERS for m in self.store.messages(mailbox, f)]
        return f"{len(found)}.{max((m.seq for m in found), default=0)}"

    # ---- what a candidate does ----------------------------------------------------------

    def reply(self) -> Response:
        """``POST /outlook/reply``: the recipient of a sent message answers it."""
        mailbox = self._mailbox(request.form)
        sent = self._sent(mailbox)
        preset = request.form.get("preset", "")
        until: date | None = None
        if preset == OUT_OF_OFFICE:
            try:
                until = date.fromisoformat(request.form.get("until", ""))
            except ValueError:
                return self._refused(mailbox, sent, "Give the date the candidate is back.")
        return self._deliver(
            mailbox,
            sent,
            lambda: answer(
                self.inbound,
                mailbox,
                sent.internet_message_id,
                preset,
                text=request.form.get("text", ""),
                until=until,
                from_address=request.form.get("from") or None,
                references_only=bool(request.form.get("references_only")),
            ),
        )

    def bounce(self) -> Response:
        """``POST /outlook/bounce``: Exchange's NDR for a sent message, ``kind`` hard|soft."""
        mailbox = self._mailbox(request.form)
        sent = self._sent(mailbox)
        hard = request.form.get("kind", "hard") != "soft"
        return self._deliver(
            mailbox,
            sent,
            lambda: self.inbound.bounce(mailbox, sent.internet_message_id, hard=hard),
        )

    def eml(self) -> Response:
        """``POST /outlook/eml``: an uploaded ``.eml`` arrives in the Inbox (``in_reply_to``:
        the id of a sent message it should answer)."""
        mailbox = self._mailbox(request.form)
        replied = self._find(mailbox, request.form.get("in_reply_to", ""))
        upload = request.files.get("eml")
        raw = upload.read(MAX_EML + 1) if upload is not None else b""
        if not raw.strip():
            return self._refused(mailbox, replied, "Choose an .eml file to deliver.")
        if len(raw) > MAX_EML:
            return self._refused(mailbox, replied, "That file is over 25 MB, Exchange's limit.")
        reply_to = replied.internet_message_id if replied is not None else None
        return self._deliver(
            mailbox, replied, lambda: self.inbound.mime(mailbox, raw, in_reply_to=reply_to)
        )

    # ---- helpers ------------------------------------------------------------------------

    def _mailbox(self, fields: MultiDict[str, str]) -> str:
        """The mailbox named by ``mailbox`` (a sandbox person's), else the recruiter's."""
        wanted = fields.get("mailbox", "").strip()
        if not wanted:
            return self.sandbox.recruiter.email
        user = self.sandbox.directory.find_user(wanted)
        if user is None:
            abort(404, f"{wanted} is not a sandbox mailbox")
        return user.mail

    def _find(self, mailbox: str, item_id: str) -> Message | None:
        for folder in FOLDERS:
            for message in self.store.messages(mailbox, folder):
                if message.id == item_id:
                    return message
        return None

    def _sent(self, mailbox: str) -> Message:
        message = self._find(mailbox, request.form.get("id", ""))
        if message is None or message.folder != "sentitems":
            abort(404, "Only a message in Sent Items can be answered or bounced.")
        return message

    def _deliver(
        self, mailbox: str, about: Message | None, arrive: Callable[[], Message]
    ) -> Response:
        """Deliver, then show what arrived; a refusal goes back with its sentence."""
        try:
            arrived = arrive()
        except (InboundError, MailError, ValueError) as exc:
            return self._refused(mailbox, about, str(exc))
        return self._to_message(mailbox, arrived)

    def _refused(self, mailbox: str, about: Message | None, why: str) -> Response:
        with self._lock:
            self._notices[mailbox] = why
        if about is not None:
            return self._to_message(mailbox, about)
        return redirect("/outlook?" + urlencode({"mailbox": mailbox}), 303)

    @staticmethod
    def _to_message(mailbox: str, message: Message) -> Response:
        return redirect(
            "/outlook/message?" + urlencode({"mailbox": mailbox, "id": message.id}), 303
        )

    def _page(self, mailbox: str, **context: object) -> str:
        with self._lock:
            notice = self._notices.pop(mailbox, None)
        counts = {f: len(self.store.messages(mailbox, f)) for f in FOLDERS}
        return render(
            "outlook.html",
            team=self.sandbox.workspace.name,
            mailboxes=[(u.mail, u.display_name) for u in self.sandbox.directory.users()],
            mailbox=mailbox,
            folders=[(f, WELL_KNOWN_FOLDERS[f], counts[f]) for f in FOLDERS],
            notice=notice,
            now=self.store.clock(),
            clock_steps=STEPS if self.console.clock is not None else {},
            state=self._state(mailbox),
            back=request.full_path.rstrip("?"),
            presets=PRESETS,
            OUT_OF_OFFICE=OUT_OF_OFFICE,
            OWN_WORDS=OWN_WORDS,
            **{"folder": None, "groups": [], "message": None, "thread": [], "back_on": None}
            | context,
        )
