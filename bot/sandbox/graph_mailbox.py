"""The sandbox mailbox's data model: messages, folders, ids, threading and the change journal.

Everything here is plain data plus the rules Exchange applies to it. Locking lives one level
up, in :class:`bot.sandbox.mailstore.MailStore`; nothing in this module is thread-safe alone.
Messages are replaced, never mutated in place, once they are visible (tuples, not lists), so
a shallow copy handed out by the store is a consistent snapshot.
"""

from __future__ import annotations

import base64
import bisect
import hashlib
import os
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

#: Well-known folder names (lower-case, as Graph accepts them) and their display names.
WELL_KNOWN_FOLDERS = {
    "inbox": "Inbox",
    "drafts": "Drafts",
    "sentitems": "Sent Items",
    "deleteditems": "Deleted Items",
}

#: The MAPI property set whose named string properties are internet headers.
PS_INTERNET_HEADERS = "{00020386-0000-0000-c000-000000000046}"

#: PR_MESSAGE_FLAGS (MS-OXCMSG 2.2.1.6): read, submitted ("marked for sending"), unsent.
MESSAGE_FLAGS = "integer 0x0e07"
MSGFLAG_READ, MSGFLAG_SUBMIT, MSGFLAG_UNSENT = 0x1, 0x4, 0x8

_ITEM_ID = re.compile(r"AAMkA[A-Za-z0-9_-]+=*")
_FILETIME_EPOCH = datetime(1601, 1, 1, tzinfo=UTC)
K = TypeVar("K")


# -- errors: each carries the Graph status and code; the message lives in the docstring --
class MailError(Exception):
    """The request is invalid."""

    status = 400
    code = "ErrorInvalidRequest"

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or self.__doc__)


class ItemNotFound(MailError):
    """The specified object was not found in the store."""

    status = 404
    code = "ErrorItemNotFound"


class MalformedId(MailError):
    """Id is malformed."""

    code = "ErrorInvalidIdMalformed"


class NotDraft(MailError):
    """Update operation is invalid for property of a sent message."""

    code = "ErrorInvalidPropertyUpdateSentMessage"


class InvalidRecipients(MailError):
    """At least one recipient isn't valid., A message can't be sent because it contains no recipients."""

    code = "ErrorInvalidRecipients"


class SendAsDenied(MailError):
    """The user account which was used to submit this request does not have the right to send mail on behalf of the specified sending account., Cannot submit message."""

    status = 403
    code = "ErrorSendAsDenied"


class DuplicateCategory(MailError):
    """A category with this display name already exists."""

    status = 409
    code = "ErrorDuplicate"


class InvalidArgument(MailError):
    """One or more arguments are not valid."""

    code = "ErrorInvalidArgument"


# -- values ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Address:
    """An ``emailAddress``: Exchange fills ``name`` with the address when none was given."""

    address: str
    name: str = ""

    @property
    def display(self) -> str:
        return self.name or self.address


@dataclass
class Message:
    """One item in a mailbox folder, with the fields Graph's ``message`` resource exposes.

    ``headers`` are the RFC 5322 transport headers (``internetMessageHeaders``); ``extended``
    holds the singleValueExtendedProperties a client wrote. ``seq`` is the mailbox change
    number of the item's last change, ``created_seq`` the one of its creation in this folder.
    """

    id: str
    folder: str
    created: datetime
    modified: datetime
    received: datetime
    sent: datetime | None
    internet_message_id: str
    conversation_index: bytes
    subject: str = ""
    body_type: str = "text"
    body: str = ""
    unique_body: str | None = None
    from_: Address | None = None
    sender: Address | None = None
    to: tuple[Address, ...] = ()
    cc: tuple[Address, ...] = ()
    bcc: tuple[Address, ...] = ()
    reply_to: tuple[Address, ...] = ()
    headers: tuple[tuple[str, str], ...] = ()
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    is_draft: bool = True
    is_read: bool = True
    categories: tuple[str, ...] = ()
    importance: str = "normal"
    extended: tuple[tuple[str, str], ...] = ()
    message_class: str = "IPM.Note"
    change_key: str = ""
    #: A draft whose send was requested and that transport has not picked up yet.
    submitted: bool = False
    seq: int = 0
    created_seq: int = 0
    #: The RFC 5322 bytes as delivered, for mail from outside (``$value`` serves them).
    mime: bytes | None = None

    @property
    def conversation_id(self) -> str:
        return conversation_id(self.conversation_index)

    def header(self, name: str) -> str | None:
        """The first transport header called ``name`` (case-insensitive)."""
        wanted = name.lower()
        return next((v for n, v in self.headers if n.lower() == wanted), None)

    def extended_value(self, prop_id: str) -> str | None:
        """The value of a singleValueExtendedProperty, as Exchange would answer it.

        Besides what a client wrote, a few MAPI properties are derived from the item itself,
        so filters such as "message class is an NDR" work on received mail.
        """
        wanted = normalize_property_id(prop_id)
        for pid, value in self.extended:
            if normalize_property_id(pid) == wanted:
                return value
        if wanted == "string 0x1042":
            return self.in_reply_to
        if wanted == "string 0x1039":
            return " ".join(self.references) or None
        if wanted == "string 0x001a":
            return self.message_class
        if wanted == MESSAGE_FLAGS:
            flags = (MSGFLAG_READ if self.is_read else 0) | (MSGFLAG_UNSENT if self.is_draft else 0)
            return str(flags | (MSGFLAG_SUBMIT if self.submitted else 0))
        if wanted == "string 0x007d":
            return "".join(f"{n}: {v}\r\n" for n, v in self.headers) or None
        prefix = f"string {PS_INTERNET_HEADERS} name "
        if wanted.startswith(prefix):
            return self.header(wanted[len(prefix) :])
        return None


@dataclass(frozen=True)
class InboundMail:
    """A message as transport hands it to a mailbox: parsed MIME, or a sandbox user's send."""

    subject: str
    from_: Address | None
    sender: Address | None
    to: tuple[Address, ...]
    cc: tuple[Address, ...]
    reply_to: tuple[Address, ...]
    sent: datetime | None
    message_id: str | None
    in_reply_to: str | None
    references: tuple[str, ...]
    thread_index: bytes | None
    headers: tuple[tuple[str, str], ...]
    body_type: str
    body: str
    message_class: str = "IPM.Note"
    #: The bytes transport received, when the mail came from outside as MIME.
    mime: bytes | None = None

    @property
    def is_automatic(self) -> bool:
        """RFC 3834: any Auto-Submitted value but "no" marks machine-generated mail."""
        value = next((v for n, v in self.headers if n.lower() == "auto-submitted"), "no")
        return value.strip().lower() != "no"


@dataclass
class Category:
    """An entry of the mailbox's master category list."""

    id: str
    display_name: str
    color: str


# -- ids -----------------------------------------------------------------------------------
def new_item_id() -> str:
    """An opaque, case-sensitive id shaped like Exchange's REST ids (``AAMkA…=``)."""
    return "AAMkA" + base64.urlsafe_b64encode(os.urandom(47)).decode()


def looks_like_item_id(value: str) -> bool:
    return _ITEM_ID.fullmatch(value) is not None


def new_internet_message_id() -> str:
    return f"<SBX{uuid.uuid4().hex.upper()}@sandbox.scaleup.local>"


def new_change_key() -> str:
    return base64.b64encode(os.urandom(15)).decode()


def normalize_property_id(prop_id: str) -> str:
    return " ".join(prop_id.split()).lower()


# -- conversations (MS-OXOMSG 2.2.1.2-3) --------------------------------------------------------
_SUBJECT_PREFIX = re.compile(
    r"^\s*(?:re|fw|fwd|aw|wg|sv|vs|tr|rv|automatic reply|undeliverable)\s*:\s*", re.IGNORECASE
)


def normalize_subject(subject: str) -> str:
    """The conversation topic: the subject without reply/forward/auto-reply prefixes."""
    previous = None
    while previous != subject:
        previous, subject = subject, _SUBJECT_PREFIX.sub("", subject, count=1)
    return subject.strip()


def _filetime_header(now: datetime) -> bytes:
    # The 6 high-order bytes of the FILETIME; the first is the "reserved" 0x01 of the spec.
    ticks = int((now - _FILETIME_EPOCH).total_seconds() * 10_000_000)
    return ticks.to_bytes(8, "big")[:6]


def new_conversation_index(now: datetime) -> bytes:
    """A 22-byte header with a fresh GUID: a new conversation."""
    return _filetime_header(now) + uuid.uuid4().bytes


def subject_conversation_index(subject: str, now: datetime) -> bytes:
    """Exchange's fallback: the GUID is the MD5 of the upper-cased conversation topic."""
    digest = hashlib.md5(normalize_subject(subject).upper().encode("utf-16-le")).digest()
    return _filetime_header(now) + digest


def child_conversation_index(parent: bytes, now: datetime) -> bytes:
    """The parent's index plus one 5-byte response block: same GUID, same conversation."""
    header = parent[:22] if len(parent) >= 22 else new_conversation_index(now)
    delta = int.from_bytes(_filetime_header(now), "big") - int.from_bytes(header[:6], "big")
    return parent + (max(delta, 0) & 0xFFFFFFFF).to_bytes(4, "big") + os.urandom(1)


def conversation_id(index: bytes) -> str:
    """The conversationId Graph shows: derived from the GUID of the conversation index."""
    return "AAQkA" + base64.urlsafe_b64encode(index[6:22]).decode()


# -- the change journal behind delta queries ----------------------------------------------
class Journal:
    """Which items of one folder changed at which mailbox change number.

    Append-only lists of (seq, id) searched with bisect, plus each id's latest seq, so a
    delta page costs O(log n + page) however large the folder. Superseded entries are
    skipped when read and dropped when the lists grow to twice the live size.
    """

    def __init__(self) -> None:
        self._seqs: list[int] = []
        self._ids: list[str] = []
        self._latest: dict[str, int] = {}
        self._removed: set[str] = set()

    def record(self, item_id: str, seq: int, *, removed: bool = False) -> None:
        self._seqs.append(seq)
        self._ids.append(item_id)
        self._latest[item_id] = seq
        if removed:
            self._removed.add(item_id)
        else:
            self._removed.discard(item_id)
        if len(self._seqs) > 2 * len(self._latest) + 64:
            live = sorted((s, i) for i, s in self._latest.items())
            self._seqs = [s for s, _ in live]
            self._ids = [i for _, i in live]

    def changes(self, after: int, upto: int) -> Iterator[tuple[int, str, bool]]:
        """(seq, id, removed) for the latest change of each item with after < seq <= upto."""
        start = bisect.bisect_right(self._seqs, after)
        for pos in range(start, len(self._seqs)):
            seq = self._seqs[pos]
            if seq > upto:
                return
            item_id = self._ids[pos]
            if self._latest.get(item_id) == seq:
                yield seq, item_id, item_id in self._removed


class Mailbox:
    """One user's (or one outside address's) mailbox: folders, items and their indexes."""

    def __init__(self, key: str, owner: Address) -> None:
        self.key = key
        self.owner = owner
        self.root_id = "AAMkA" + base64.urlsafe_b64encode(os.urandom(44)).decode()
        self.folder_ids = {name: new_item_id() for name in WELL_KNOWN_FOLDERS}
        self.folder_by_id = {fid: name for name, fid in self.folder_ids.items()}
        self.items: dict[str, Message] = {}
        self.members: dict[str, dict[str, None]] = {name: {} for name in WELL_KNOWN_FOLDERS}
        self.journals = {name: Journal() for name in WELL_KNOWN_FOLDERS}
        self.by_internet_id: dict[str, set[str]] = {}
        self.by_conversation: dict[str, set[str]] = {}
        self.by_extended: dict[tuple[str, str], set[str]] = {}
        self.categories: dict[str, Category] = {}
        self.seq = 0
        self.auto_reply: str | None = None
        self.auto_replied_to: set[str] = set()

    def next_seq(self) -> int:
        self.seq += 1
        return self.seq

    def put(self, message: Message) -> None:
        """Insert or replace ``message``, keeping indexes and the folder journal in step."""
        old = self.items.get(message.id)
        if old is not None:
            self._unindex(old)
        message.seq = self.next_seq()
        if old is None or old.folder != message.folder:
            message.created_seq = message.seq
        message.change_key = new_change_key()
        self.items[message.id] = message
        self.members[message.folder][message.id] = None
        self.journals[message.folder].record(message.id, message.seq)
        self.by_internet_id.setdefault(message.internet_message_id.lower(), set()).add(message.id)
        self.by_conversation.setdefault(message.conversation_id, set()).add(message.id)
        for key in _extended_keys(message):
            self.by_extended.setdefault(key, set()).add(message.id)

    def remove(self, item_id: str) -> Message:
        message = self.items.pop(item_id)
        self._unindex(message)
        self.journals[message.folder].record(item_id, self.next_seq(), removed=True)
        return message

    def _unindex(self, message: Message) -> None:
        self.members[message.folder].pop(message.id, None)
        _discard(self.by_internet_id, message.internet_message_id.lower(), message.id)
        _discard(self.by_conversation, message.conversation_id, message.id)
        for key in _extended_keys(message):
            _discard(self.by_extended, key, message.id)


def _discard(index: dict[K, set[str]], key: K, item_id: str) -> None:
    ids = index.get(key)
    if ids is not None:
        ids.discard(item_id)
        if not ids:
            del index[key]  # keep indexes from growing with keys of deleted items


def _extended_keys(message: Message) -> Iterator[tuple[str, str]]:
    """Index keys of the extended properties a filter may name: the ones a client wrote and
    the internet headers, which Exchange exposes as named properties of PS_INTERNET_HEADERS."""
    for pid, value in message.extended:
        yield normalize_property_id(pid), value
    for name, value in message.headers:
        yield f"string {PS_INTERNET_HEADERS} name {name.lower()}", value


@dataclass
class MessageInput:
    """Writable message properties from a request body; ``None`` means "not given"."""

    subject: str | None = None
    body: tuple[str, str] | None = None
    to: tuple[Address, ...] | None = None
    cc: tuple[Address, ...] | None = None
    bcc: tuple[Address, ...] | None = None
    reply_to: tuple[Address, ...] | None = None
    from_: Address | None = None
    categories: tuple[str, ...] | None = None
    is_read: bool | None = None
    internet_message_id: str | None = None
    headers: tuple[tuple[str, str], ...] | None = None
    importance: str | None = None
    extended: tuple[tuple[str, str], ...] | None = None

    #: message-update.md: "Updatable only if isDraft = true".
    DRAFT_ONLY = ("subject", "body", "to", "cc", "bcc", "reply_to", "from_", "internet_message_id")

    def draft_only_fields(self) -> list[str]:
        return [name for name in self.DRAFT_ONLY if getattr(self, name) is not None]
