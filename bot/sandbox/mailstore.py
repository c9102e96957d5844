"""The sandbox's Exchange: every mailbox, what sending does, and what arrives from outside.

One :class:`MailStore` holds the mailboxes of the directory's users and of any outside
address mail was sent to, so a test can read what a candidate received and answer it. The
Graph server (``graph.py``) calls the operations below; tests and the demo use the Python
affordances at the end (``deliver``, ``deliver_mime``, ``messages`` …).

Behaviour chosen to match Exchange Online:

- Sending a draft creates a *new* item in Sent Items (new id, same internetMessageId) and
  removes the draft; ``Prefer: IdType="ImmutableId"`` does not change that, as users report.
  Sending is asynchronous as in Graph (202, then transport): with a delivery delay the
  draft waits in Drafts and the copy appears later; sending limits bounce with an NDR
  (:mod:`bot.sandbox.graph_transport`; ``configure_delivery``). Time is the store's
  ``clock``, which tests may replace.
- DELETE moves an item to Deleted Items under a new id; deleting it there removes it.
- Threading of received mail: an In-Reply-To/References naming an internetMessageId already
  in the mailbox joins that conversation; else a Thread-Index header (Outlook senders, and
  sandbox users) supplies the conversation GUID; else the GUID is the MD5 of the upper-cased
  normalized subject (MS-OXOMSG), so unrelated mail with the same subject shares one.
- Mail to sandbox recipients is delivered when the Sent Items copy appears (at send time by
  default), with the transport headers Exchange stamps; addresses marked with
  :meth:`MailStore.reject` bounce with an NDR.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from bot.sandbox import graph_mime
from bot.sandbox.directory import Directory, SandboxUser
from bot.sandbox.graph_exchange import Exchange
from bot.sandbox.graph_mailbox import (
    WELL_KNOWN_FOLDERS,
    Address,
    Category,
    DuplicateCategory,
    InvalidArgument,
    ItemNotFound,
    Mailbox,
    MailError,
    MalformedId,
    Message,
    MessageInput,
    NotDraft,
    looks_like_item_id,
    new_item_id,
)
from bot.sandbox.graph_transport import Delivery

_DEFAULT_CATEGORIES = (
    ("Red category", "preset0"),
    ("Orange category", "preset1"),
    ("Yellow category", "preset3"),
    ("Green category", "preset4"),
    ("Blue category", "preset7"),
    ("Purple category", "preset8"),
)
_COLORS = {"none", *(f"preset{n}" for n in range(25))}


@dataclass(frozen=True)
class FolderInfo:
    """A mail folder as Graph's ``mailFolder`` resource describes it."""

    id: str
    key: str
    display_name: str
    parent_id: str
    total: int
    unread: int


@dataclass(frozen=True)
class Removed:
    """A delta entry for an item that left the folder (``@removed``)."""

    id: str


class MailStore:
    """All sandbox mailboxes, behind one lock; the clock is injectable for tests."""

    def __init__(
        self,
        directory: Directory | None = None,
        *,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.directory = directory
        self._lock = threading.RLock()
        self._mailboxes: dict[str, Mailbox] = {}
        self._exchange = Exchange(
            clock or (lambda: datetime.now(UTC)), self._box, self._owner_addresses
        )

    # -- time and transport ------------------------------------------------------------------
    @property
    def clock(self) -> Callable[[], datetime]:
        """What the store reads the time from; assignable (tests give it their fake clock)."""
        return self._exchange.clock

    @clock.setter
    def clock(self, clock: Callable[[], datetime]) -> None:
        with self._locked():
            self._exchange.clock = clock

    @property
    def delivery(self) -> Delivery:
        """How sends are delivered: delay, draft lingering, sending limits (graph_transport)."""
        return self._exchange.transport.delivery

    def configure_delivery(self, **knobs: Any) -> Delivery:
        """Change delivery knobs, e.g. ``configure_delivery(delay=900, draft_lingers=60)``.

        Sends already accepted keep the timing they were given.
        """
        with self._locked():
            transport = self._exchange.transport
            transport.delivery = replace(transport.delivery, **knobs)
            return transport.delivery

    def pending_sends(self) -> int:
        """Sends accepted (202) whose Sent Items copy has not appeared yet."""
        with self._locked():
            return len(self._exchange.transport.queue)

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """The store's lock, with transport's due work done first (on the store's clock)."""
        with self._lock:
            self._exchange.settle()
            yield

    # -- mailboxes ---------------------------------------------------------------------------
    def _box(self, address: str) -> Mailbox:
        user = self.directory.find_user(address) if self.directory else None
        if user is not None:
            return self._user_box(user)
        key = "smtp:" + address.strip().lower()
        if key not in self._mailboxes:
            self._mailboxes[key] = self._new_box(key, Address(address.strip(), address.strip()))
        return self._mailboxes[key]

    def _user_box(self, user: SandboxUser) -> Mailbox:
        if user.id not in self._mailboxes:
            owner = Address(user.mail, user.display_name)
            self._mailboxes[user.id] = self._new_box(user.id, owner)
        return self._mailboxes[user.id]

    @staticmethod
    def _new_box(key: str, owner: Address) -> Mailbox:
        box = Mailbox(key, owner)
        for name, color in _DEFAULT_CATEGORIES:
            category = Category(str(uuid.uuid4()), name, color)
            box.categories[category.id] = category
        return box

    def _owner_addresses(self, box: Mailbox) -> set[str]:
        if self.directory is not None and not box.key.startswith("smtp:"):
            return self.directory.user(box.key).addresses
        return {box.owner.address.lower()}

    @staticmethod
    def _find(box: Mailbox, item_id: str, folder: str | None = None) -> Message:
        message = box.items.get(item_id)
        if message is None or (folder is not None and message.folder != folder):
            raise ItemNotFound() if looks_like_item_id(item_id) else MalformedId()
        return message

    # -- folders -----------------------------------------------------------------------------
    def resolve_folder(self, owner: SandboxUser, ref: str) -> str:
        """The folder key for a well-known name (any case), display name or folder id."""
        wanted = ref.replace(" ", "").lower()
        if wanted in WELL_KNOWN_FOLDERS:
            return wanted
        with self._locked():
            key = self._user_box(owner).folder_by_id.get(ref)
        if key is not None:
            return key
        raise ItemNotFound() if looks_like_item_id(ref) else MalformedId()

    def folders(self, owner: SandboxUser) -> list[FolderInfo]:
        return [self.folder(owner, key) for key in WELL_KNOWN_FOLDERS]

    def folder(self, owner: SandboxUser, key: str) -> FolderInfo:
        with self._locked():
            box = self._user_box(owner)
            members = box.members[key]
            unread = sum(1 for item_id in members if not box.items[item_id].is_read)
            return FolderInfo(
                box.folder_ids[key], key, WELL_KNOWN_FOLDERS[key], box.root_id, len(members), unread
            )

    def folder_ids(self, owner: SandboxUser) -> dict[str, str]:
        """Folder key -> folder id, stable for the mailbox's lifetime."""
        with self._locked():
            return dict(self._user_box(owner).folder_ids)

    # -- messages ----------------------------------------------------------------------------
    def get(self, owner: SandboxUser, item_id: str, folder: str | None = None) -> Message:
        with self._locked():
            return replace(self._find(self._user_box(owner), item_id, folder))

    def query(
        self,
        owner: SandboxUser,
        folder: str | None,
        predicate: Callable[[Message], bool],
        candidates: Callable[[Mailbox], Iterable[str]] | None = None,
    ) -> list[Message]:
        """Messages of a folder (or the whole mailbox) matching ``predicate``.

        ``candidates`` narrows the scan through an index (internetMessageId, conversation…).
        """
        with self._locked():
            box = self._user_box(owner)
            ids = candidates(box) if candidates else (box.members[folder] if folder else box.items)
            found = (box.items.get(i) for i in list(ids))
            return [
                replace(m)
                for m in found
                if m is not None and (folder is None or m.folder == folder) and predicate(m)
            ]

    def create(self, owner: SandboxUser, fields: MessageInput, folder: str = "drafts") -> Message:
        """A new draft (``POST /messages``): fresh conversation and internetMessageId."""
        with self._locked():
            box = self._user_box(owner)
            message = self._exchange.draft(box, fields, folder)
            box.put(message)
            return replace(message)

    def update(
        self, owner: SandboxUser, item_id: str, fields: MessageInput, folder: str | None = None
    ) -> Message:
        with self._locked():
            box = self._user_box(owner)
            message = replace(self._find(box, item_id, folder))
            if not message.is_draft and fields.draft_only_fields():
                raise NotDraft()
            self._exchange.apply(message, fields)
            message.modified = self._exchange.now()
            box.put(message)
            return replace(message)

    def delete(self, owner: SandboxUser, item_id: str, folder: str | None = None) -> None:
        with self._locked():
            box = self._user_box(owner)
            message = self._find(box, item_id, folder)
            box.remove(item_id)
            if message.folder != "deleteditems":
                box.put(replace(message, id=new_item_id(), folder="deleteditems"))

    def send(self, owner: SandboxUser, item_id: str, folder: str | None = None) -> None:
        """Send a draft: the draft goes, a copy with a new id lands in Sent Items (at once, or
        after the delivery delay; a draft already on its way is submitted again)."""
        with self._locked():
            box = self._user_box(owner)
            draft = self._find(box, item_id, folder)
            if not draft.is_draft:
                raise MailError("Only a draft message can be sent.")
            self._exchange.submit(box, draft, save=True, stored=True)

    def send_new(self, owner: SandboxUser, fields: MessageInput, *, save: bool = True) -> None:
        """``sendMail``: compose and submit in one step."""
        with self._locked():
            box = self._user_box(owner)
            draft = self._exchange.draft(box, fields, "drafts")
            self._exchange.submit(box, draft, save=save, stored=False)

    def create_reply(
        self,
        owner: SandboxUser,
        item_id: str,
        *,
        comment: str | None,
        fields: MessageInput,
        reply_all: bool = False,
        folder: str | None = None,
    ) -> Message:
        """``createReply``: a draft in Drafts, threaded under the parent."""
        with self._locked():
            box = self._user_box(owner)
            draft = self._exchange.reply_draft(
                box, self._find(box, item_id, folder), comment, fields, reply_all
            )
            box.put(draft)
            return replace(draft)

    def reply(
        self,
        owner: SandboxUser,
        item_id: str,
        *,
        comment: str | None,
        fields: MessageInput,
        reply_all: bool = False,
        folder: str | None = None,
    ) -> None:
        """``reply``: the reply is composed and submitted at once."""
        with self._locked():
            box = self._user_box(owner)
            draft = self._exchange.reply_draft(
                box, self._find(box, item_id, folder), comment, fields, reply_all
            )
            self._exchange.submit(box, draft, save=True, stored=False)

    def changes(
        self,
        owner: SandboxUser,
        folder: str,
        *,
        after: int,
        upto: int | None,
        limit: int,
        predicate: Callable[[Message], bool],
        include_removed: bool = True,
    ) -> tuple[list[Message | Removed], int, int, bool]:
        """One delta page: (entries, last seq read, upper bound of this round, more to read).

        An initial sync (``include_removed=False``) lists what is there, not what left.
        """
        with self._locked():
            box = self._user_box(owner)
            bound = box.seq if upto is None else upto
            entries: list[Message | Removed] = []
            last = after
            for seq, item_id, removed in box.journals[folder].changes(after, bound):
                if len(entries) >= limit:
                    return entries, last, bound, True
                last = seq
                if removed:
                    if include_removed:
                        entries.append(Removed(item_id))
                elif predicate(message := box.items[item_id]):
                    entries.append(replace(message))
            return entries, bound, bound, False

    # -- categories --------------------------------------------------------------------------
    def categories(self, owner: SandboxUser) -> list[Category]:
        with self._locked():
            return [replace(c) for c in self._user_box(owner).categories.values()]

    def add_category(self, owner: SandboxUser, display_name: str, color: str) -> Category:
        if color.lower() not in _COLORS:
            raise InvalidArgument(f"The color '{color}' is not valid.")
        with self._locked():
            box = self._user_box(owner)
            if any(c.display_name.lower() == display_name.lower() for c in box.categories.values()):
                raise DuplicateCategory()
            category = Category(str(uuid.uuid4()), display_name, color.lower())
            box.categories[category.id] = category
            return replace(category)

    def update_category(self, owner: SandboxUser, category_id: str, color: str) -> Category:
        if color.lower() not in _COLORS:
            raise InvalidArgument(f"The color '{color}' is not valid.")
        with self._locked():
            category = self._user_box(owner).categories.get(category_id)
            if category is None:
                raise ItemNotFound()
            category.color = color.lower()
            return replace(category)

    def delete_category(self, owner: SandboxUser, category_id: str) -> None:
        with self._locked():
            if self._user_box(owner).categories.pop(category_id, None) is None:
                raise ItemNotFound()

    # -- test and demo affordances -------------------------------------------------------------
    def deliver(
        self,
        to_address: str,
        *,
        from_address: str,
        subject: str,
        body: str,
        in_reply_to: str | None = None,
        references: Iterable[str] | None = None,
        headers: Mapping[str, str] | None = None,
        content_type: str = "text",
    ) -> Message:
        """Mail from outside arrives in ``to_address``'s Inbox, as real MIME bytes would."""
        raw = graph_mime.compose(
            from_address=from_address,
            to_address=to_address,
            subject=subject,
            body=body,
            content_type=content_type,
            in_reply_to=in_reply_to,
            references=references,
            headers=(headers or {}).items(),
            date=self._exchange.now(),
        )
        return self.deliver_mime(to_address, raw)

    def deliver_mime(self, to_address: str, raw: bytes) -> Message:
        """Parse RFC 5322/MIME ``raw`` into ``to_address``'s Inbox, keeping every header."""
        mail = graph_mime.parse(raw)
        with self._locked():
            return replace(self._exchange.receive(self._box(to_address), mail))

    def messages(self, address: str, folder: str = "inbox") -> list[Message]:
        """Every message in one folder of ``address``'s mailbox, oldest first."""
        with self._locked():
            box = self._box(address)
            found = [box.items[i] for i in box.members[folder.replace(" ", "").lower()]]
            return [replace(m) for m in sorted(found, key=lambda m: (m.received, m.seq))]

    def inbox(self, address: str) -> list[Message]:
        return self.messages(address, "inbox")

    def sent_items(self, address: str) -> list[Message]:
        return self.messages(address, "sentitems")

    def drafts(self, address: str) -> list[Message]:
        return self.messages(address, "drafts")

    def reject(
        self,
        address: str,
        *,
        status: str = "5.1.1",
        diagnostic: str = "550 5.1.1 RESOLVER.ADR.RecipientNotFound; "
        "Recipient not found by SMTP address lookup",
    ) -> None:
        """Mail to ``address`` bounces from now on: the sender gets an NDR in their Inbox."""
        with self._locked():
            self._exchange.rejected[address.strip().lower()] = (status, diagnostic)

    def set_auto_reply(self, address: str, text: str | None) -> None:
        """Turn ``address``'s out-of-office reply on (``text``) or off (``None``)."""
        with self._locked():
            box = self._box(address)
            box.auto_reply = text
            box.auto_replied_to = set()
