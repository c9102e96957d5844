"""One shape for a received message, whether it came as raw MIME or as Graph JSON.

Classification (``outreach/classify.py``) reads only this shape, so a ``.eml`` file and
the message Microsoft Graph returns for the same mail are judged by the same rules.
"""

from __future__ import annotations

import base64
import email
import email.message
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from email.header import decode_header, make_header
from email.utils import parseaddr, parsedate_to_datetime
from pathlib import Path
from typing import Any

from outreach.htmltext import html_to_text

#: MAPI PidTagMessageClass as a Graph extended property (MS-OXPROPS).
MESSAGE_CLASS_PROPERTY = "String 0x001A"


@dataclass
class Part:
    """A leaf of the MIME tree, outside any returned original message."""

    content_type: str
    text: str


@dataclass
class MailMessage:
    """A received message, normalised.

    ``headers`` keeps every header as (name, value) in order; ``text`` is the body's
    plain text (HTML converted), without returned originals; ``parts`` are the MIME
    leaves such as ``message/delivery-status``; ``returned`` are the headers of a
    returned original message (``message/rfc822`` or ``text/rfc822-headers``).
    ``mime`` is the parsed MIME tree when the input was MIME (bounce parsers need it).
    """

    headers: list[tuple[str, str]] = field(default_factory=list)
    subject: str = ""
    sender: str = ""
    sender_name: str = ""
    date: datetime | None = None
    message_class: str = ""
    content_type: str = "text/plain"
    report_type: str = ""
    text: str = ""
    parts: list[Part] = field(default_factory=list)
    returned: list[email.message.Message] = field(default_factory=list)
    to: list[str] = field(default_factory=list)
    mime: email.message.Message | None = None

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (case-insensitive), or None."""
        lowered = name.lower()
        return next((v for n, v in self.headers if n.lower() == lowered), None)


def load(path: Path) -> MailMessage:
    """Read ``path``: Graph message JSON when it starts with ``{``, else RFC 5322 MIME.

    Raises OSError when the file cannot be read and ValueError on JSON that is not an
    object.
    """
    raw = path.read_bytes()
    if raw.lstrip()[:1] == b"{":
        data = json.loads(raw)
        if not isinstance(data, dict):
            raise ValueError(f"{path}: a Graph message is a JSON object")
        return from_graph(data)
    return from_mime(raw)


def from_mime(raw: bytes) -> MailMessage:
    """Normalise a raw RFC 5322/MIME message (the bytes of an ``.eml`` file)."""
    mime = email.message_from_bytes(raw)
    name, address = parseaddr(_decoded(mime.get("From", "")))
    message = MailMessage(
        headers=[(k, _decoded(v)) for k, v in mime.items()],
        subject=_decoded(mime.get("Subject", "")).strip(),
        sender=address.lower(),
        sender_name=name,
        date=_date(mime.get("Date")),
        content_type=mime.get_content_type(),
        report_type=str(mime.get_param("report-type", "") or "").lower(),
        to=[a.lower() for _, a in email.utils.getaddresses(mime.get_all("To", [])) if a],
        mime=mime,
    )
    texts: list[str] = []
    html: list[str] = []
    for leaf in _leaves(mime, message.returned):
        ctype = leaf.get_content_type()
        body = _payload_text(leaf)
        message.parts.append(Part(ctype, body))
        if leaf.get_content_disposition() == "attachment":
            continue
        if ctype == "text/plain":
            texts.append(body)
        elif ctype == "text/html":
            html.append(html_to_text(body))
    message.text = "\n".join(texts or html)
    return message


def from_graph(data: Mapping[str, Any]) -> MailMessage:
    """Normalise a Graph ``message`` resource as Graph returns it.

    Reads ``subject``, ``from``, ``toRecipients``, ``receivedDateTime``,
    ``internetMessageHeaders``, ``uniqueBody`` (else ``body``), the message class
    (``singleValueExtendedProperties`` ``String 0x001A``, or a ``messageClass`` field)
    and ``attachments`` whose content type is ``message/delivery-status`` or a returned
    message. Missing fields are simply absent signals.
    """
    sender = (data.get("from") or data.get("sender") or {}).get("emailAddress") or {}
    headers = [
        (str(h.get("name", "")), str(h.get("value", "")))
        for h in data.get("internetMessageHeaders") or []
    ]
    message = MailMessage(
        headers=headers,
        subject=str(data.get("subject") or "").strip(),
        sender=str(sender.get("address") or "").lower(),
        sender_name=str(sender.get("name") or ""),
        date=_iso(data.get("receivedDateTime") or data.get("sentDateTime")),
        message_class=_message_class(data),
        to=[
            str((r.get("emailAddress") or {}).get("address") or "").lower()
            for r in data.get("toRecipients") or []
        ],
    )
    content_type = message.header("Content-Type")
    if content_type:
        parsed = email.message.Message()
        parsed["Content-Type"] = content_type
        message.content_type = parsed.get_content_type()
        message.report_type = str(parsed.get_param("report-type", "") or "").lower()
    body = data.get("uniqueBody") or data.get("body") or {}
    content = str(body.get("content") or "")
    is_html = str(body.get("contentType", "")).lower() == "html"
    message.text = html_to_text(content) if is_html else content
    for attachment in data.get("attachments") or []:
        _graph_attachment(message, attachment)
    if message.date is None:
        message.date = _date(message.header("Date"))
    return message


def _graph_attachment(message: MailMessage, attachment: Mapping[str, Any]) -> None:
    ctype = str(attachment.get("contentType") or "").lower()
    encoded = attachment.get("contentBytes")
    if not encoded:
        return
    raw = base64.b64decode(encoded)
    if ctype in ("message/rfc822", "text/rfc822-headers"):
        message.returned.append(email.message_from_bytes(raw))
    else:
        message.parts.append(Part(ctype, raw.decode("utf-8", "replace")))


def _message_class(data: Mapping[str, Any]) -> str:
    for prop in data.get("singleValueExtendedProperties") or []:
        kind, _, tag = str(prop.get("id", "")).partition(" ")
        # Graph may echo the tag as "0x001A" or "0x1a"
        if kind.lower() == "string" and _hex(tag) == _hex(MESSAGE_CLASS_PROPERTY.split()[1]):
            return str(prop.get("value") or "")
    return str(data.get("messageClass") or "")


def _hex(tag: str) -> int | None:
    try:
        return int(tag, 16)
    except ValueError:
        return None


def _leaves(
    part: email.message.Message, returned: list[email.message.Message]
) -> Iterator[email.message.Message]:
    """MIME leaves in order, not descending into returned originals (collected apart)."""
    ctype = part.get_content_type()
    if ctype == "message/rfc822" or ctype == "text/rfc822-headers":
        inner = part.get_payload()
        if isinstance(inner, list) and inner and isinstance(inner[0], email.message.Message):
            returned.append(inner[0])
        elif isinstance(inner, str):
            returned.append(email.message_from_string(inner))
        return
    if part.is_multipart() and ctype != "message/delivery-status":
        # (a delivery-status payload parses as a list of header blocks: it is a leaf)
        payload = part.get_payload()
        for child in payload if isinstance(payload, list) else []:
            if isinstance(child, email.message.Message):
                yield from _leaves(child, returned)
        return
    yield part


def _payload_text(part: email.message.Message) -> str:
    if part.get_content_type() == "message/delivery-status":
        blocks = part.get_payload()
        if isinstance(blocks, list):
            return "\n\n".join(b.as_string() for b in blocks if isinstance(b, email.message.Message))
    data = part.get_payload(decode=True)
    if not isinstance(data, bytes):
        payload = part.get_payload()
        return payload if isinstance(payload, str) else ""
    charset = part.get_content_charset() or "utf-8"
    try:
        return data.decode(charset, "replace")
    except LookupError:
        return data.decode("utf-8", "replace")


def _decoded(value: Any) -> str:
    if value is None:
        return ""
    try:
        return str(make_header(decode_header(str(value))))
    except (UnicodeDecodeError, LookupError, ValueError):
        return str(value)


def _date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None


def _iso(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
