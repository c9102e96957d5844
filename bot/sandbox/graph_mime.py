"""Mail on the wire for the sandbox mailbox: parse received RFC 5322/MIME, describe sent mail.

Parsing uses the standard library's ``email`` package on real bytes (multipart, quoted-printable,
base64, any charset), so what tests deliver goes through the same decoding a mail server does.
Mail between sandbox users never becomes bytes: :func:`transport_view` builds the headers that
transport would have stamped, which is all a recipient's mailbox keeps of it.
"""

from __future__ import annotations

import base64
import binascii
import email
import email.policy
import re
import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from email.header import Header
from email.message import EmailMessage
from email.message import Message as MimePart
from email.utils import format_datetime, formataddr, getaddresses, parsedate_to_datetime

from bot.sandbox.graph_mailbox import PS_INTERNET_HEADERS, Address, InboundMail, Message

_MESSAGE_ID = re.compile(r"<[^<>\s]+>")
_FOLD = re.compile(r"\r?\n[ \t]+")
_TAG = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"[ \t\r\f\v]+")
_NAME = re.compile(r"\s+name\s+", re.IGNORECASE)
_CONTENT_HEADERS = frozenset({"content-type", "content-transfer-encoding", "mime-version"})


def parse(raw: bytes) -> InboundMail:
    """Parse one received message. Every header is kept, as Exchange keeps them."""
    mime = email.message_from_bytes(raw, policy=email.policy.default)
    headers = tuple((name, _unfold(_text(value))) for name, value in mime.raw_items())
    body_type, body = _body(mime)
    sent = _date(mime.get("Date"))
    thread_index = mime.get("Thread-Index")
    failed = _failed_recipients(mime)
    return InboundMail(
        subject=_text(str(mime.get("Subject", ""))),
        from_=next(iter(_addresses(mime, "From")), None),
        sender=next(iter(_addresses(mime, "Sender")), None),
        to=failed or _addresses(mime, "To"),
        cc=_addresses(mime, "Cc"),
        reply_to=_addresses(mime, "Reply-To"),
        sent=sent,
        message_id=next(iter(_ids(mime.get("Message-ID"))), None),
        in_reply_to=next(iter(_ids(mime.get("In-Reply-To"))), None),
        references=_ids(mime.get("References")),
        thread_index=_b64(str(thread_index)) if thread_index else None,
        headers=headers,
        body_type=body_type,
        body=body,
        message_class=_message_class(mime),
        mime=raw,
    )


def compose(
    *,
    from_address: str,
    to_address: str,
    subject: str,
    body: str,
    content_type: str = "text",
    in_reply_to: str | None = None,
    references: Iterable[str] | None = None,
    headers: Iterable[tuple[str, str]] = (),
    date: datetime | None = None,
) -> bytes:
    """Real MIME bytes for a message from the outside world (used by ``MailStore.deliver``)."""
    mime = EmailMessage(policy=email.policy.SMTP)
    mime["From"] = from_address
    mime["To"] = to_address
    mime["Subject"] = subject
    mime["Date"] = format_datetime(date or datetime.now(UTC))
    mime["Message-ID"] = email.utils.make_msgid(domain="outside.example")
    if in_reply_to:
        mime["In-Reply-To"] = in_reply_to
    refs = list(references or ([in_reply_to] if in_reply_to else []))
    if refs:
        mime["References"] = " ".join(refs)
    for name, value in headers:
        mime[name] = value
    mime.set_content(body, subtype="html" if content_type.lower() == "html" else "plain")
    return mime.as_bytes()


def transport_view(message: Message, *, received: datetime) -> InboundMail:
    """What a recipient's mailbox gets of a message a sandbox user sent."""
    # Named properties of PS_INTERNET_HEADERS leave the building as real headers.
    named = [
        (parts[1], value)
        for pid, value in message.extended
        if PS_INTERNET_HEADERS in pid.lower() and len(parts := _NAME.split(pid, 1)) == 2
    ]
    sent = message.sent or received
    stamped: list[tuple[str, str]] = [
        (
            "Received",
            f"from sandbox.scaleup.local by sandbox.scaleup.local with Microsoft SMTP Server; "
            f"{format_datetime(received)}",
        ),
        ("From", _format_address(message.from_)),
        *([("Sender", _format_address(message.sender))] if message.sender != message.from_ else []),
        ("To", ", ".join(_format_address(a) for a in message.to)),
        *([("Cc", ", ".join(_format_address(a) for a in message.cc))] if message.cc else []),
        ("Subject", _encode(message.subject)),
        ("Thread-Topic", _encode(message.subject)),
        ("Thread-Index", base64.b64encode(message.conversation_index).decode()),
        ("Date", format_datetime(sent)),
        ("Message-ID", message.internet_message_id),
        *([("In-Reply-To", message.in_reply_to)] if message.in_reply_to else []),
        *([("References", " ".join(message.references))] if message.references else []),
        *(
            [("Reply-To", ", ".join(map(_format_address, message.reply_to)))]
            if message.reply_to
            else []
        ),
        *message.headers,
        *named,
        (
            "Content-Type",
            f'text/{"html" if message.body_type == "html" else "plain"}; charset="utf-8"',
        ),
        ("MIME-Version", "1.0"),
    ]
    return InboundMail(
        subject=message.subject,
        from_=message.from_,
        sender=message.sender,
        to=message.to,
        cc=message.cc,
        reply_to=message.reply_to,
        sent=sent,
        message_id=message.internet_message_id,
        in_reply_to=message.in_reply_to,
        references=message.references,
        thread_index=message.conversation_index,
        headers=tuple(stamped),
        body_type=message.body_type,
        body=message.body,
    )


def render(message: Message) -> bytes:
    """A message as MIME (Graph's ``$value``): mail from outside as it was delivered; any
    other item written from its properties, as Exchange, which stores MAPI properties and
    not MIME, converts on request (MS-OXCMAIL)."""
    if message.mime is not None:
        return message.mime
    if message.header("Message-ID") is not None:  # received from a sandbox user
        headers = message.headers
    else:  # a draft or a sent copy: the headers transport stamps (sandbox's own Received aside)
        view = transport_view(message, received=message.sent or message.created)
        headers = tuple((n, v) for n, v in view.headers if n.lower() != "received")
    mime = EmailMessage(policy=email.policy.SMTP)
    for name, value in headers:
        if value and name.lower() not in _CONTENT_HEADERS:
            mime[name] = value
    mime.set_content(message.body, subtype="html" if message.body_type == "html" else "plain")
    return mime.as_bytes()


def non_delivery_report(
    original: Message,
    failed: Sequence[Address],
    *,
    postmaster: str,
    status: str,
    diagnostic: str,
    now: datetime,
) -> bytes:
    """An Exchange-style NDR (multipart/report) for ``original`` to the ``failed`` recipients."""
    boundary = "sandbox-ndr-" + uuid.uuid4().hex
    domain = postmaster.rsplit("@", 1)[-1]
    lines = [
        f"From: {formataddr(('Microsoft Outlook', postmaster))}",
        f"To: {_format_address(original.from_)}",
        f"Subject: {_encode('Undeliverable: ' + original.subject)}",
        f"Date: {format_datetime(now)}",
        f"Message-ID: {email.utils.make_msgid(domain=domain)}",
        f"In-Reply-To: {original.internet_message_id}",
        f"References: {original.internet_message_id}",
        "Auto-Submitted: auto-replied",
        "X-MS-Exchange-Message-Is-Ndr: ",
        "MIME-Version: 1.0",
        f'Content-Type: multipart/report; report-type=delivery-status; boundary="{boundary}"',
        "",
        f"--{boundary}",
        "Content-Type: text/plain; charset=utf-8",
        "",
        "Delivery has failed to these recipients or groups:",
        "",
        *(address.address for address in failed),
        f"Remote Server returned '{diagnostic}'",
        "",
        f"--{boundary}",
        "Content-Type: message/delivery-status",
        "",
        f"Reporting-MTA: dns;{domain}",
        "",
        *(
            line
            for address in failed
            for line in (
                f"Final-Recipient: rfc822;{address.address}",
                "Action: failed",
                f"Status: {status}",
                f"Diagnostic-Code: smtp;{diagnostic}",
                "",
            )
        ),
        f"--{boundary}",
        "Content-Type: text/rfc822-headers",
        "",
        f"Message-ID: {original.internet_message_id}",
        f"Subject: {_encode(original.subject)}",
        "",
        f"--{boundary}--",
        "",
    ]
    return "\r\n".join(lines).encode("utf-8")


def auto_reply(original: InboundMail, *, owner: Address, text: str, now: datetime) -> bytes:
    """An out-of-office reply ("Automatic reply: …") from ``owner`` to the original sender."""
    target = original.reply_to[0] if original.reply_to else original.from_
    mime = EmailMessage(policy=email.policy.SMTP)
    mime["From"] = _format_address(owner)
    mime["To"] = _format_address(target)
    mime["Subject"] = f"Automatic reply: {original.subject}"
    mime["Date"] = format_datetime(now)
    mime["Message-ID"] = email.utils.make_msgid(domain="sandbox.scaleup.local")
    if original.message_id:
        mime["In-Reply-To"] = original.message_id
        mime["References"] = " ".join([*original.references, original.message_id])
    mime["Auto-Submitted"] = "auto-replied"
    mime["X-Auto-Response-Suppress"] = "All"
    mime.set_content(text)
    return mime.as_bytes()


def wrap_html(content: str) -> str:
    """Exchange stores an HTML body as a whole document, whatever fragment it was given."""
    if "<html" in content[:512].lower():
        return content
    return (
        '<html><head>\r\n<meta http-equiv="Content-Type" content="text/html; charset=utf-8">\r\n'
        f"</head>\r\n<body>\r\n{content}\r\n</body>\r\n</html>\r\n"
    )


def html_to_text(html: str) -> str:
    """A plain-text rendering good enough for bodyPreview and text-preferring clients."""
    text = re.sub(r"(?is)<(script|style|head).*?</\1>", "", html)
    text = re.sub(r"(?i)<br\s*/?>|</p>|</div>", "\n", text)
    text = _TAG.sub("", text)
    for entity, char in (
        ("&nbsp;", " "),
        ("&lt;", "<"),
        ("&gt;", ">"),
        ("&quot;", '"'),
        ("&amp;", "&"),
    ):
        text = text.replace(entity, char)
    return "\n".join(_SPACE.sub(" ", line).strip() for line in text.splitlines()).strip()


def unique_part(body: str, body_type: str) -> str:
    """The body without the quoted history that mail clients append below a reply."""
    markers = (
        [
            r"(?i)<hr\b",
            r'(?i)<div id="divRplyFwdMsg"',
            r"(?i)<blockquote",
            r"(?i)<div class=\"gmail_quote",
        ]
        if body_type == "html"
        else [
            r"(?m)^_{10,}\s*$",
            r"(?mi)^-{2,} ?Original Message ?-{2,}",
            r"(?m)^On .{0,300}wrote:\s*$",
            r"(?m)^>",
        ]
    )
    cut = min((m.start() for p in markers if (m := re.search(p, body))), default=len(body))
    return body[:cut].rstrip()


# -- helpers -------------------------------------------------------------------------------------
def _text(value: str) -> str:
    """Undo the surrogate escapes ``email`` uses for raw 8-bit header bytes (often UTF-8)."""
    try:
        value.encode("utf-8")
        return value
    except UnicodeEncodeError:
        return value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _unfold(value: str) -> str:
    return _FOLD.sub(" ", value).strip()


def _addresses(mime: EmailMessage, name: str) -> tuple[Address, ...]:
    values = [_text(str(v)) for v in mime.get_all(name, [])]
    return tuple(
        Address(address=addr, name=display or addr)
        for display, addr in getaddresses(values)
        if "@" in addr
    )


def _ids(value: object) -> tuple[str, ...]:
    return tuple(_MESSAGE_ID.findall(str(value))) if value else ()


def _date(value: object) -> datetime | None:
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(str(value))
    except (TypeError, ValueError):
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _b64(value: str) -> bytes | None:
    try:
        return base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None


def _decode(part: MimePart) -> str:
    """A text part's content. Declared charsets lie (UTF-8 bytes labelled ISO-2022-JP are
    common in the wild), so fall back to UTF-8 before giving up to replacement characters."""
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    charset = part.get_content_charset() or "us-ascii"
    for candidate, errors in ((charset, "strict"), ("utf-8", "strict"), (charset, "replace")):
        try:
            return payload.decode(candidate, errors)
        except (LookupError, UnicodeDecodeError):
            continue
    return payload.decode("latin-1")


def _find_text(part: MimePart, subtype: str) -> MimePart | None:
    """The first inline text/``subtype`` part readers would see, skipping attachments and
    attached messages; for multipart/report only the human-readable first part counts."""
    if part.get_content_maintype() == "multipart":
        children = part.get_payload()
        if not isinstance(children, list):
            return None
        if part.get_content_subtype() == "report":
            children = children[:1]
        for child in children:
            if not isinstance(child, MimePart):
                continue
            found = _find_text(child, subtype)
            if found is not None:
                return found
        return None
    if part.get_content_disposition() == "attachment":
        return None
    return part if part.get_content_type() == f"text/{subtype}" else None


def _body(mime: EmailMessage) -> tuple[str, str]:
    # Exchange shows the HTML alternative when there is one; an empty one (seen in NDRs)
    # would hide the text, so the text part wins then.
    html = _find_text(mime, "html")
    if html is not None and (content := _decode(html)).strip():
        return "html", content
    text = _find_text(mime, "plain")
    return "text", _decode(text) if text is not None else ""


def _delivery_status(mime: EmailMessage) -> list[tuple[str, str]]:
    """(action, recipient) for each per-recipient block of a delivery-status report."""
    if mime.get_content_type() != "multipart/report":
        return []
    found: list[tuple[str, str]] = []
    for part in mime.walk():
        if part.get_content_type() != "message/delivery-status":
            continue
        blocks = part.get_payload()
        for block in blocks if isinstance(blocks, list) else []:
            if not isinstance(block, MimePart):
                continue
            action = str(block.get("Action", "")).strip().lower()
            recipient = str(block.get("Final-Recipient", "")).split(";", 1)[-1].strip(" <>")
            if action:
                found.append((action, recipient))
    return found


def _failed_recipients(mime: EmailMessage) -> tuple[Address, ...]:
    """The Graph quirk: an NDR's toRecipients are the addresses that failed."""
    return tuple(
        Address(r, r) for action, r in _delivery_status(mime) if action == "failed" and "@" in r
    )


def _message_class(mime: EmailMessage) -> str:
    if mime.get_content_type() != "multipart/report":
        return "IPM.Note"
    report_type = str(mime.get_param("report-type", "")).lower()
    if report_type == "disposition-notification":
        return "REPORT.IPM.Note.IPNRN"
    if report_type != "delivery-status":
        return "IPM.Note"  # e.g. abuse feedback (ARF): ordinary mail to Exchange
    # Only a report whose every recipient was delivered is a receipt; a report that says
    # nothing parseable is still a failure notice, which is what its reader must assume.
    actions = {action for action, _ in _delivery_status(mime)}
    if actions and actions <= {"delivered", "relayed", "expanded"}:
        return "REPORT.IPM.Note.DR"
    return "REPORT.IPM.Note.NDR"


def _encode(value: str) -> str:
    return value if value.isascii() else Header(value, "utf-8").encode()


def _format_address(address: Address | None) -> str:
    if address is None:
        return ""
    return formataddr((address.name if address.name != address.address else "", address.address))
