"""Graph v1.0 JSON for the sandbox: resources out, request bodies in.

Rendering follows Graph's rules that clients trip over: default property sets, ``$select``
narrowing (``id`` and ``@odata.etag`` always come back), properties returned only when
selected (``internetMessageHeaders``, ``uniqueBody``, ``proxyAddresses``), and Mail.ReadBasic
hiding bodies. Parsing rejects unknown properties and enforces the custom-header rules.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from bot.sandbox.directory import SandboxUser
from bot.sandbox.graph_mailbox import Address, Category, Message, MessageInput
from bot.sandbox.graph_mime import html_to_text, wrap_html
from bot.sandbox.mailstore import FolderInfo

Json = dict[str, Any]


class GraphError(Exception):
    """An error response in Graph's shape; the server adds ``innerError``."""

    def __init__(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


# -- messages out --------------------------------------------------------------------------------
MESSAGE_DEFAULT = (
    "id",
    "createdDateTime",
    "lastModifiedDateTime",
    "changeKey",
    "categories",
    "receivedDateTime",
    "sentDateTime",
    "hasAttachments",
    "internetMessageId",
    "subject",
    "bodyPreview",
    "importance",
    "parentFolderId",
    "conversationId",
    "conversationIndex",
    "isDeliveryReceiptRequested",
    "isReadReceiptRequested",
    "isRead",
    "isDraft",
    "webLink",
    "inferenceClassification",
    "body",
    "sender",
    "from",
    "toRecipients",
    "ccRecipients",
    "bccRecipients",
    "replyTo",
    "flag",
)
MESSAGE_ON_SELECT = ("internetMessageHeaders", "uniqueBody")
_BASIC_HIDDEN = {"body", "uniqueBody", "bodyPreview"}


def iso(value: datetime | None) -> str | None:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value else None


def _address(value: Address | None) -> Json | None:
    if value is None:
        return None
    return {"emailAddress": {"name": value.display, "address": value.address}}


def _body(message: Message, content: str, prefer: str | None) -> Json:
    kind = message.body_type
    if prefer == "text" and kind == "html":
        return {"contentType": "text", "content": html_to_text(content)}
    if prefer == "html" and kind == "text":
        return {
            "contentType": "html",
            "content": wrap_html(html.escape(content).replace("\n", "<br>")),
        }
    return {"contentType": kind, "content": content}


def _preview(message: Message) -> str:
    text = html_to_text(message.body) if message.body_type == "html" else message.body
    return " ".join(text.split())[:255]


def select_list(raw: str | None, known: Iterable[str], type_name: str) -> list[str] | None:
    """Parse ``$select`` against the properties a type has (case-insensitive, as Graph)."""
    if raw is None or not raw.strip():
        return None
    by_lower = {name.lower(): name for name in known}
    chosen: list[str] = []
    for item in raw.split(","):
        name = by_lower.get(item.strip().lower())
        if name is None:
            raise GraphError(
                400,
                "RequestBroker--ParseUri",
                f"Could not find a property named '{item.strip()}' on type '{type_name}'.",
            )
        if name not in chosen:
            chosen.append(name)
    return chosen


def message_json(
    message: Message,
    *,
    folder_id: str,
    select: list[str] | None,
    body_pref: str | None = None,
    basic: bool = False,
    expand_extended: list[str] | None = None,
) -> Json:
    """One ``message`` resource, narrowed by ``select``."""
    wanted = select or list(MESSAGE_DEFAULT)
    getters: dict[str, Any] = {
        "id": lambda: message.id,
        "createdDateTime": lambda: iso(message.created),
        "lastModifiedDateTime": lambda: iso(message.modified),
        "changeKey": lambda: message.change_key,
        "categories": lambda: list(message.categories),
        "receivedDateTime": lambda: iso(message.received),
        "sentDateTime": lambda: iso(message.sent),
        "hasAttachments": lambda: False,
        "internetMessageId": lambda: message.internet_message_id,
        "subject": lambda: message.subject,
        "bodyPreview": lambda: _preview(message),
        "importance": lambda: message.importance,
        "parentFolderId": lambda: folder_id,
        "conversationId": lambda: message.conversation_id,
        "conversationIndex": lambda: _b64(message.conversation_index),
        "isDeliveryReceiptRequested": lambda: False,
        "isReadReceiptRequested": lambda: False,
        "isRead": lambda: message.is_read,
        "isDraft": lambda: message.is_draft,
        "webLink": lambda: (
            f"https://outlook.office365.com/owa/?ItemID={message.id}&viewmodel=ReadMessageItem"
        ),
        "inferenceClassification": lambda: "focused",
        "body": lambda: _body(message, message.body, body_pref),
        "sender": lambda: _address(message.sender),
        "from": lambda: _address(message.from_),
        "toRecipients": lambda: [_address(a) for a in message.to],
        "ccRecipients": lambda: [_address(a) for a in message.cc],
        "bccRecipients": lambda: [_address(a) for a in message.bcc],
        "replyTo": lambda: [_address(a) for a in message.reply_to],
        "flag": lambda: {"flagStatus": "notFlagged"},
        "uniqueBody": lambda: _body(
            message, message.body if message.unique_body is None else message.unique_body, body_pref
        ),
        "internetMessageHeaders": lambda: [{"name": n, "value": v} for n, v in message.headers],
    }
    out: Json = {"@odata.etag": f'W/"{message.change_key}"', "id": message.id}
    for name in wanted:
        if basic and name in _BASIC_HIDDEN:
            continue
        if name == "internetMessageHeaders" and not message.headers:
            continue  # Graph leaves the property out rather than sending an empty list
        out[name] = getters[name]()
    if expand_extended is not None and not basic:
        found = [(pid, message.extended_value(pid)) for pid in expand_extended]
        values = [{"id": pid, "value": value} for pid, value in found if value is not None]
        if values:
            out["singleValueExtendedProperties"] = values
    return out


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


# -- other resources -------------------------------------------------------------------------------
USER_DEFAULT = (
    "businessPhones",
    "displayName",
    "givenName",
    "jobTitle",
    "mail",
    "mobilePhone",
    "officeLocation",
    "preferredLanguage",
    "surname",
    "userPrincipalName",
    "id",
)
USER_ON_SELECT = ("proxyAddresses", "otherMails", "mailNickname", "accountEnabled")


def user_json(user: SandboxUser, select: list[str] | None, metadata: str) -> Json:
    """A ``user``; ``proxyAddresses`` only when selected, as Graph does."""
    given, _, surname = user.display_name.partition(" ")
    values: Json = {
        "businessPhones": [],
        "displayName": user.display_name,
        "givenName": given or None,
        "jobTitle": None,
        "mail": user.mail,
        "mobilePhone": None,
        "officeLocation": None,
        "preferredLanguage": None,
        "surname": surname or None,
        "userPrincipalName": user.user_principal_name,
        "id": user.id,
        "proxyAddresses": list(user.proxy_addresses),
        "otherMails": [],
        "mailNickname": user.mail.split("@", 1)[0],
        "accountEnabled": True,
    }
    names = select or list(USER_DEFAULT)
    context = (
        f"{metadata}#users/$entity"
        if select is None
        else f"{metadata}#users({','.join(names)})/$entity"
    )
    return {"@odata.context": context, **{name: values[name] for name in names}}


def folder_json(folder: FolderInfo) -> Json:
    return {
        "id": folder.id,
        "displayName": folder.display_name,
        "parentFolderId": folder.parent_id,
        "childFolderCount": 0,
        "unreadItemCount": folder.unread,
        "totalItemCount": folder.total,
        "sizeInBytes": 0,
        "isHidden": False,
    }


def category_json(category: Category) -> Json:
    return {"id": category.id, "displayName": category.display_name, "color": category.color}


# -- request bodies in -----------------------------------------------------------------------------
_HANDLED = {
    "subject",
    "body",
    "toRecipients",
    "ccRecipients",
    "bccRecipients",
    "replyTo",
    "from",
    "categories",
    "isRead",
    "internetMessageId",
    "internetMessageHeaders",
    "importance",
    "singleValueExtendedProperties",
}
# Known properties a client may send back unchanged (read-only, or not modelled here).
_IGNORED = {
    *MESSAGE_DEFAULT,
    *MESSAGE_ON_SELECT,
    "@odata.etag",
    "@odata.context",
    "@odata.type",
} - _HANDLED


def _bad_body(message: str) -> GraphError:
    return GraphError(400, "RequestBodyRead", message)


def _addresses(value: Any, prop: str) -> tuple[Address, ...]:
    if not isinstance(value, list):
        raise _bad_body(f"Invalid value for property '{prop}': a collection was expected.")
    return tuple(_one_address(item, prop) for item in value)


def _one_address(value: Any, prop: str) -> Address:
    inner = value.get("emailAddress") if isinstance(value, dict) else None
    if not isinstance(inner, dict) or not isinstance(inner.get("address"), str):
        raise _bad_body(f"Invalid value for property '{prop}': emailAddress.address is required.")
    name = inner.get("name")
    address = inner["address"].strip()
    return Address(address, name if isinstance(name, str) and name else address)


def _headers(value: Any) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, list):
        raise _bad_body("Invalid value for property 'internetMessageHeaders'.")
    found: list[tuple[str, str]] = []
    for item in value:
        name, text = (
            (item.get("name"), item.get("value")) if isinstance(item, dict) else (None, None)
        )
        if not isinstance(name, str) or not isinstance(text, str):
            raise _bad_body("Each internet message header needs a string name and value.")
        if not name.lower().startswith("x-"):
            raise GraphError(
                400,
                "InvalidInternetMessageHeader",
                f"The internet message header name '{name}' should start with 'x-' or 'X-'.",
            )
        if any(c in name + text for c in "\r\n") or ":" in name:
            raise GraphError(
                400,
                "InvalidInternetMessageHeader",
                f"The internet message header '{name}' contains characters that are not allowed.",
            )
        found.append((name, text))
    if len(found) > 5:
        raise GraphError(
            400,
            "InvalidInternetMessageHeaderCollection",
            "Maximum number of headers in one message should be less than or equal to 5.",
        )
    return tuple(found)


def parse_message(data: Any, *, creating: bool) -> MessageInput:
    """The writable properties of a message body (POST, PATCH, sendMail, createReply)."""
    if data is None:
        return MessageInput()
    if not isinstance(data, dict):
        raise _bad_body("The message must be a JSON object.")
    fields = MessageInput()
    for key, value in data.items():
        if key in _IGNORED:
            continue
        if key not in _HANDLED:
            raise _bad_body(
                f"The property '{key}' does not exist on type 'microsoft.graph.message'. Make sure "
                "to only use property names that are defined by the type or mark the type as open type."
            )
        _set_field(fields, key, value, creating)
    return fields


def _set_field(fields: MessageInput, key: str, value: Any, creating: bool) -> None:
    if key == "subject":
        fields.subject = _string(value, key)
    elif key == "body":
        kind = value.get("contentType", "text") if isinstance(value, dict) else None
        content = value.get("content", "") if isinstance(value, dict) else None
        if (
            not isinstance(kind, str)
            or kind.lower() not in ("text", "html")
            or not isinstance(content, str)
        ):
            raise _bad_body(
                f"Cannot convert the literal '{kind}' to the expected type 'microsoft.graph.bodyType'."
            )
        fields.body = (kind.lower(), content)
    elif key in ("toRecipients", "ccRecipients", "bccRecipients", "replyTo"):
        attr = {
            "toRecipients": "to",
            "ccRecipients": "cc",
            "bccRecipients": "bcc",
            "replyTo": "reply_to",
        }[key]
        setattr(fields, attr, _addresses(value, key))
    elif key == "from":
        fields.from_ = _one_address(value, key)
    elif key == "categories":
        if not isinstance(value, list) or not all(isinstance(c, str) for c in value):
            raise _bad_body("Invalid value for property 'categories'.")
        fields.categories = tuple(value)
    elif key == "isRead":
        if not isinstance(value, bool):
            raise _bad_body("Invalid value for property 'isRead'.")
        fields.is_read = value
    elif key == "internetMessageId":
        fields.internet_message_id = _string(value, key)
    elif key == "internetMessageHeaders":
        if not creating:
            raise GraphError(
                400,
                "ErrorInvalidPropertySet",
                "The property 'InternetMessageHeaders' can't be set on an existing item.",
            )
        fields.headers = _headers(value)
    elif key == "importance":
        if not isinstance(value, str) or value.lower() not in ("low", "normal", "high"):
            raise _bad_body("Invalid value for property 'importance'.")
        fields.importance = value.lower()
    elif key == "singleValueExtendedProperties":
        items = value if isinstance(value, list) else None
        if items is None or not all(
            isinstance(i, dict) and isinstance(i.get("id"), str) and isinstance(i.get("value"), str)
            for i in items
        ):
            raise _bad_body("Invalid value for property 'singleValueExtendedProperties'.")
        fields.extended = tuple((i["id"], i["value"]) for i in items)


def _string(value: Any, prop: str) -> str:
    if not isinstance(value, str):
        raise _bad_body(f"Invalid value for property '{prop}': a string was expected.")
    return value
