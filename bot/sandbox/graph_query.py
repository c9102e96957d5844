"""OData query options for the sandbox Graph: ``$filter``, ``$orderby`` and delta tokens.

``$filter`` is parsed into a small tree and compiled to a predicate over
:class:`~bot.sandbox.graph_mailbox.Message`. Supported: ``and``/``or``/``not``/parentheses,
``eq ne gt ge lt le`` on the message properties in ``_SCALARS``, and ``any`` lambdas over
``categories``, ``toRecipients``/``ccRecipients``/``bccRecipients`` and
``singleValueExtendedProperties``. Anything else raises :class:`QueryError`, which the server
turns into Graph's 400 ``ErrorInvalidUrlQueryFilter``. An ``eq`` on internetMessageId,
conversationId or an extended property picks its candidates from an index, not a scan.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot.sandbox.graph_mailbox import Address, Mailbox, Message, normalize_property_id

Predicate = Callable[[Message], bool]
Candidates = Callable[[Mailbox], Iterable[str]]


class QueryError(ValueError):
    """The query filter contains one or more invalid nodes."""

    def __init__(
        self, message: str | None = None, code: str = "ErrorInvalidUrlQueryFilter"
    ) -> None:
        super().__init__(message or self.__doc__)
        self.code = code


_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<dt>\d{4}-\d\d-\d\dT[\d:.]+(?:Z|[+-]\d\d:\d\d)?)"
    r"|(?P<num>-?\d+(?:\.\d+)?)|(?P<word>[A-Za-z_][\w.]*)|(?P<sym>[()/:,]))"
)
_OPS = {"eq", "ne", "gt", "ge", "lt", "le"}

_DATES: dict[str, Callable[[Message], datetime | None]] = {
    "receiveddatetime": lambda m: m.received,
    "sentdatetime": lambda m: m.sent,
    "createddatetime": lambda m: m.created,
    "lastmodifieddatetime": lambda m: m.modified,
}
# (accessor, compare case-insensitively)
_SCALARS: dict[str, tuple[Callable[[Message], Any], bool]] = {
    "id": (lambda m: m.id, False),
    "conversationid": (lambda m: m.conversation_id, False),
    "internetmessageid": (lambda m: m.internet_message_id, True),
    "subject": (lambda m: m.subject, True),
    "isdraft": (lambda m: m.is_draft, False),
    "isread": (lambda m: m.is_read, False),
    "importance": (lambda m: m.importance, True),
    "hasattachments": (lambda m: False, False),
    "from/emailaddress/address": (lambda m: m.from_.address if m.from_ else None, True),
    "from/emailaddress/name": (lambda m: m.from_.display if m.from_ else None, True),
    "sender/emailaddress/address": (lambda m: m.sender.address if m.sender else None, True),
    **{name: (get, False) for name, get in _DATES.items()},
}
_COLLECTIONS = {
    "categories",
    "torecipients",
    "ccrecipients",
    "bccrecipients",
    "singlevalueextendedproperties",
}
_SORTABLE = {*_DATES, "subject", "importance"}


# -- parsing -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Compare:
    path: str
    op: str
    value: Any


@dataclass(frozen=True)
class Lambda:
    collection: str
    var: str
    body: Node


@dataclass(frozen=True)
class Bool:
    op: str  # "and" | "or" | "not"
    args: tuple[Node, ...]


Node = Compare | Lambda | Bool


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens: list[tuple[str, str]] = []
        pos = 0
        text = text.strip()
        while pos < len(text):
            match = _TOKEN.match(text, pos)
            if match is None or match.end() == pos:
                raise QueryError()
            kind = match.lastgroup or ""
            self.tokens.append((kind, match.group(kind)))
            pos = match.end()
            while pos < len(text) and text[pos].isspace():
                pos += 1
        self.pos = 0

    def peek(self) -> tuple[str, str]:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else ("end", "")

    def take(self, value: str | None = None) -> tuple[str, str]:
        token = self.peek()
        if token[0] == "end" or (value is not None and token[1].lower() != value):
            raise QueryError()
        self.pos += 1
        return token

    def parse(self) -> Node:
        node = self.expr()
        if self.peek()[0] != "end":
            raise QueryError()
        return node

    def expr(self) -> Node:
        args = [self.term()]
        while self.peek()[1].lower() == "or":
            self.take()
            args.append(self.term())
        return args[0] if len(args) == 1 else Bool("or", tuple(args))

    def term(self) -> Node:
        args = [self.factor()]
        while self.peek()[1].lower() == "and":
            self.take()
            args.append(self.factor())
        return args[0] if len(args) == 1 else Bool("and", tuple(args))

    def factor(self) -> Node:
        value = self.peek()[1]
        if value.lower() == "not":
            self.take()
            return Bool("not", (self.factor(),))
        if value == "(":
            self.take()
            node = self.expr()
            self.take(")")
            return node
        path = [self.take()[1]]
        while self.peek()[1] == "/":
            self.take()
            segment = self.take()[1]
            if segment.lower() == "any" and self.peek()[1] == "(":
                return self.lambda_("/".join(path))
            path.append(segment)
        op = self.take()[1].lower()
        if op not in _OPS:
            raise QueryError()
        return Compare("/".join(path).lower(), op, self.literal())

    def lambda_(self, collection: str) -> Node:
        self.take("(")
        var = self.take()[1].lower()
        self.take(":")
        body = self.expr()
        self.take(")")
        return Lambda(collection.lower(), var, body)

    def literal(self) -> Any:
        kind, value = self.take()
        if kind == "str":
            return value[1:-1].replace("''", "'")
        if kind == "dt":
            return _parse_datetime(value)
        if kind == "num":
            return float(value)
        if value.lower() in ("true", "false"):
            return value.lower() == "true"
        if value.lower() == "null":
            return None
        raise QueryError()


def _parse_datetime(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise QueryError() from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def parse_filter(text: str) -> Node:
    return _Parser(text).parse()


# -- compiling -----------------------------------------------------------------------------------
def _compare(left: Any, op: str, right: Any, fold: bool) -> bool:
    if fold and isinstance(left, str) and isinstance(right, str):
        left, right = left.lower(), right.lower()
    if op == "eq":
        return bool(left == right)
    if op == "ne":
        return bool(left != right)
    if left is None or right is None or type(left) is not type(right):
        return False
    ordered: dict[str, bool] = {
        "gt": left > right,
        "ge": left >= right,
        "lt": left < right,
        "le": left <= right,
    }
    return ordered[op]


def compile_filter(node: Node) -> Predicate:
    """A predicate for ``node``; raises QueryError for properties it does not know."""
    if isinstance(node, Bool):
        parts = [compile_filter(arg) for arg in node.args]
        if node.op == "not":
            return lambda m: not parts[0](m)
        if node.op == "and":
            return lambda m: all(p(m) for p in parts)
        return lambda m: any(p(m) for p in parts)
    if isinstance(node, Lambda):
        return _compile_lambda(node)
    if node.path not in _SCALARS:
        raise QueryError()
    get, fold = _SCALARS[node.path]
    if node.path in _DATES and not isinstance(node.value, datetime):
        raise QueryError()
    return lambda m: _compare(get(m), node.op, node.value, fold)


def _compile_lambda(node: Lambda) -> Predicate:
    if node.collection not in _COLLECTIONS:
        raise QueryError()
    body = _compile_element(node.body, node.var, node.collection)
    if node.collection == "categories":
        return lambda m: any(body(c) for c in m.categories)
    if node.collection == "singlevalueextendedproperties":
        # Derived MAPI properties (message class, In-Reply-To, internet headers) exist only
        # when asked for, so the ids the filter names are looked up on each message.
        named = [c.value for c in _comparisons(node.body) if c.path == f"{node.var}/id"]

        def elements(m: Message) -> list[tuple[str, str]]:
            derived = [(pid, m.extended_value(pid)) for pid in named]
            return [*m.extended, *((p, v) for p, v in derived if v is not None)]

        return lambda m: any(body(e) for e in elements(m))
    field = {"torecipients": "to", "ccrecipients": "cc", "bccrecipients": "bcc"}[node.collection]
    return lambda m: any(body(a) for a in getattr(m, field))


def _compile_element(node: Node, var: str, collection: str) -> Callable[[Any], bool]:
    if isinstance(node, Bool):
        parts = [_compile_element(arg, var, collection) for arg in node.args]
        if node.op == "not":
            return lambda e: not parts[0](e)
        if node.op == "and":
            return lambda e: all(p(e) for p in parts)
        return lambda e: any(p(e) for p in parts)
    if isinstance(node, Lambda):
        raise QueryError()
    getters: dict[str, Callable[[Any], Any]] = {
        "categories": {var: lambda c: c},
        "singlevalueextendedproperties": {
            f"{var}/id": lambda e: normalize_property_id(e[0]),
            f"{var}/value": lambda e: e[1],
        },
    }.get(
        collection,
        {
            f"{var}/emailaddress/address": lambda a: a.address if isinstance(a, Address) else None,
            f"{var}/emailaddress/name": lambda a: a.display if isinstance(a, Address) else None,
        },
    )
    if node.path not in getters:
        raise QueryError()
    get = getters[node.path]
    value = normalize_property_id(node.value) if node.path == f"{var}/id" else node.value
    fold = collection != "singlevalueextendedproperties"
    return lambda e: _compare(get(e), node.op, value, fold)


def _comparisons(node: Node) -> Iterable[Compare]:
    if isinstance(node, Compare):
        yield node
    elif isinstance(node, Bool):
        for arg in node.args:
            yield from _comparisons(arg)


def candidates(node: Node) -> Candidates | None:
    """An index lookup that yields a superset of the matches, when the filter allows one."""
    conjuncts = node.args if isinstance(node, Bool) and node.op == "and" else (node,)
    for part in conjuncts:
        if isinstance(part, Compare) and part.op == "eq" and isinstance(part.value, str):
            value = part.value
            if part.path == "internetmessageid":
                return lambda box: box.by_internet_id.get(value.lower(), ())
            if part.path == "conversationid":
                return lambda box: box.by_conversation.get(value, ())
        if isinstance(part, Lambda) and part.collection == "singlevalueextendedproperties":
            key = _extended_key(part)
            if key is not None:
                return lambda box: box.by_extended.get(key, ())
    return None


def _extended_key(node: Lambda) -> tuple[str, str] | None:
    # Client-written properties and internet headers are indexed; MAPI tags need the scan.
    if not (isinstance(node.body, Bool) and node.body.op == "and"):
        return None
    found = {c.path: c.value for c in _comparisons(node.body) if c.op == "eq"}
    pid, value = found.get(f"{node.var}/id"), found.get(f"{node.var}/value")
    if not isinstance(pid, str) or not isinstance(value, str):
        return None
    pid = normalize_property_id(pid)
    if pid.startswith("string 0x"):
        return None
    return pid, value


# -- $orderby ------------------------------------------------------------------------------------
def parse_orderby(text: str, filter_node: Node | None) -> list[tuple[str, bool]]:
    """(property, descending) pairs. Exchange's rule: with a $filter, each $orderby property
    must also appear in the filter, first and in the same order, or it is InefficientFilter."""
    order: list[tuple[str, bool]] = []
    for clause in text.split(","):
        words = clause.split()
        if not words or len(words) > 2 or words[0].lower() not in _SORTABLE:
            raise QueryError(f"Invalid $orderby: '{clause.strip()}'.", "BadRequest")
        descending = len(words) == 2 and words[1].lower() == "desc"
        if len(words) == 2 and words[1].lower() not in ("asc", "desc"):
            raise QueryError(f"Invalid $orderby: '{clause.strip()}'.", "BadRequest")
        order.append((words[0].lower(), descending))
    if filter_node is not None:
        mentioned: list[str] = []
        for comparison in _comparisons(filter_node):
            if comparison.path not in mentioned:
                mentioned.append(comparison.path)
        if mentioned[: len(order)] != [name for name, _ in order]:
            raise QueryError(
                "The restriction or sort order is too complex for this operation.",
                "InefficientFilter",
            )
    return order


def sort_key(name: str) -> Callable[[Message], Any]:
    if name in _DATES:
        getter = _DATES[name]
        return lambda m: getter(m) or datetime.min.replace(tzinfo=UTC)
    scalar = _SCALARS[name][0]
    return lambda m: str(scalar(m) or "").lower()


# -- delta tokens --------------------------------------------------------------------------------
class TokenError(ValueError):
    """The sync state generation is not found."""


class TokenCodec:
    """Opaque, signed delta/skip tokens: the state lives in the token, the key in the server.

    A token from another server run, another mailbox or with one byte changed is rejected,
    as Exchange rejects sync states it no longer has (410 SyncStateNotFound).
    """

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def encode(self, state: dict[str, Any]) -> str:
        payload = base64.urlsafe_b64encode(json.dumps(state, separators=(",", ":")).encode())
        mac = hmac.new(self._secret, payload, hashlib.sha256).digest()[:18]
        return payload.decode().rstrip("=") + "." + base64.urlsafe_b64encode(mac).decode()

    def decode(self, token: str) -> dict[str, Any]:
        try:
            payload, mac = token.split(".", 1)
            padded = (payload + "=" * (-len(payload) % 4)).encode()
            expected = hmac.new(self._secret, padded, hashlib.sha256).digest()[:18]
            if not hmac.compare_digest(base64.urlsafe_b64decode(mac), expected):
                raise TokenError()
            state = json.loads(base64.urlsafe_b64decode(padded))
        except (ValueError, TypeError) as exc:
            raise TokenError() from exc
        if not isinstance(state, dict):
            raise TokenError()
        return state
