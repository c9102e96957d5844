"""Which Inbox messages answer a campaign send: a cheap look at metadata, then a close one.

Reply sync reads the Inbox's delta with metadata only (``id``, ``conversationId``,
``internetMessageId``, ``from``, ``subject``, ``receivedDateTime``, ``categories``).
``In-Reply-To`` and ``References`` are not among them: Graph exposes them only inside
``internetMessageHeaders``, which costs a request per message. So the rule has two stages.

**Stage 1, metadata** (:func:`worth_a_look`, per delta page, two indexed queries): a message
is looked at closer only if

- its ``conversationId`` is the conversation of a campaign send from this mailbox; or
- its sender is a candidate of the workspace who was sent a campaign step (any mailbox:
  a candidate may answer a colleague's or the hiring manager's mailbox); or
- it looks like a mail system's report: a postmaster/MAILER-DAEMON sender or a
  non-delivery subject (``outreach/bounces.py``), since a bounce comes from a stranger.

**Stage 2, one message** (:func:`read`, then :func:`match`). A message whose metadata
looks like a mail system's report is read as MIME (``GET /me/messages/{id}/$value``) with
its metadata and ``webLink``, not as JSON: Graph's JSON has no ``message/delivery-status``
part, so a bounce read that way loses its failed recipient and its hard or soft status.
Any other is read as JSON (``GraphClient.message_details``: headers, bodies), and read
again as MIME only if that shows a machine's message its metadata hid (a bounce or
auto-reply verdict, a report message class or content type). It answers a send, and
which, when, first found wins:

1. ``In-Reply-To`` names a campaign send of the workspace (signal ``in-reply-to``);
2. ``References`` name one (``references``): a reply from another address of the
   candidate, or forwarded inside their company;
3. a bounce names the send by the original Message-ID it carries, else by its failed
   recipient among this mailbox's campaign sends (``bounce``);
4. the same ``conversationId`` as a campaign send of this mailbox, from that candidate
   (``conversation``);
5. from a candidate's address, with the sent subject after ``RE:``/``AW:``/``SV:``/
   ``Antw:``… prefixes, received after the step went out (``subject``).

Test and one-off messages (outbox rows without an enrollment) are never campaign sends.

Limits: a candidate writing from an address we never emailed, in a new conversation
(no In-Reply-To/References reaching us, e.g. a fresh email to another mailbox of ours),
is not seen; nor a reply whose client drops both headers and changes the subject. A
stranger's message in a campaign conversation (a colleague the candidate copied) has its
headers read and is kept only if they name our send. A mail system's report is read (as
MIME) whoever it is about: only its content names the address that failed. Nothing is
stored or logged about a message that does not match: callers drop it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.models import Enrollment, OutboxMessage
from outreach import bounces
from outreach.classify import AUTO_REPLY, BOUNCE, Classification, classify
from outreach.graph import REPORT_FIELDS, GraphClient
from outreach.mailmessage import MailMessage, from_graph, from_mime
from outreach.states import OutboxState

_PREFIX = re.compile(
    r"^\s*(?:re|aw|sv|vs|antw|antwort|wg|fw|fwd|tr|rv|r|odp|ynt|res|réf|ref)\s*(?:\[\d+\])?\s*:\s*",
    re.I,
)
_IDS = re.compile(r"<[^<>\s]+>")


@dataclass(frozen=True)
class Match:
    """The campaign send a message answers and the signal that said so."""

    outbox_id: int
    enrollment_id: int
    signal: str


def sender_of(message: Mapping[str, Any]) -> str:
    """The lower-cased ``from`` address of a Graph message ("" when it has none)."""
    return str(((message.get("from") or {}).get("emailAddress") or {}).get("address") or "").lower()


def topic(subject: str) -> str:
    """The subject without reply/forward prefixes, case-folded and with spaces squeezed."""
    previous = None
    while previous != subject:
        previous, subject = subject, _PREFIX.sub("", subject, count=1)
    return " ".join(subject.split()).casefold()


def _campaign_sends(session: Session, team_id: str) -> Any:
    return (
        select(OutboxMessage)
        .join(Enrollment, Enrollment.id == OutboxMessage.enrollment_id)
        .where(Enrollment.team_id == team_id, OutboxMessage.state == OutboxState.SENT)
    )


def worth_a_look(
    session: Session, team_id: str, mailbox_id: int, page: Iterable[Mapping[str, Any]]
) -> list[Mapping[str, Any]]:
    """Stage 1: the messages of one delta page whose details are worth reading."""
    messages = [m for m in page if "@removed" not in m and m.get("id")]
    conversations = {str(m.get("conversationId") or "") for m in messages} - {""}
    senders = {sender_of(m) for m in messages} - {""}
    ours = set(
        session.scalars(
            select(OutboxMessage.conversation_id).where(
                OutboxMessage.mailbox_id == mailbox_id,
                OutboxMessage.enrollment_id.is_not(None),
                OutboxMessage.state == OutboxState.SENT,
                OutboxMessage.conversation_id.in_(conversations),
            )
        )
    )
    known = set(
        session.scalars(
            select(OutboxMessage.to_email)
            .join(Enrollment, Enrollment.id == OutboxMessage.enrollment_id)
            .where(
                Enrollment.team_id == team_id,
                OutboxMessage.state == OutboxState.SENT,
                OutboxMessage.to_email.in_(senders),
            )
            .distinct()
        )
    )
    return [
        m
        for m in messages
        if m.get("conversationId") in ours or sender_of(m) in known or looks_like_report(m)
    ]


def looks_like_report(message: Mapping[str, Any]) -> bool:
    """Whether a message's metadata (sender, subject) says a mail system wrote it."""
    name = str(((message.get("from") or {}).get("emailAddress") or {}).get("name") or "")
    probe = MailMessage(
        subject=str(message.get("subject") or ""), sender=sender_of(message), sender_name=name
    )
    return bool(bounces.bounce_signals(probe))


def read(
    graph: GraphClient, message: Mapping[str, Any]
) -> tuple[dict[str, Any], MailMessage, Classification]:
    """Stage 2's reading of one message stage 1 kept: ``(details, mail, verdict)``.

    ``details`` is Graph's JSON of the message (with ``id``, ``conversationId``,
    ``internetMessageId``, ``receivedDateTime``, ``categories``, ``webLink``), ``mail`` the
    message read as MIME or from that JSON (see this module's docstring), ``verdict`` its
    classification. The received time is Exchange's, as for JSON. Raises
    :class:`~outreach.errors.GraphNotFound` when the message was deleted meanwhile.
    """
    message_id = str(message["id"])
    if looks_like_report(message):
        details = graph.get_message(message_id, REPORT_FIELDS)
        mail = _mime(graph, message_id, details)
    else:
        details = graph.message_details(message_id)
        mail = from_graph(details)
        verdict = classify(mail)
        if not _machine_made(mail, verdict):
            return details, mail, verdict
        mail = _mime(graph, message_id, details)
    return details, mail, classify(mail)


def _mime(graph: GraphClient, message_id: str, details: Mapping[str, Any]) -> MailMessage:
    mail = from_mime(graph.message_mime(message_id))
    mail.date = _received(details) or mail.date
    return mail


def _machine_made(mail: MailMessage, verdict: Classification) -> bool:
    return (
        verdict.kind in (BOUNCE, AUTO_REPLY)
        or mail.message_class.upper().startswith("REPORT.")
        or mail.content_type == "multipart/report"
    )


def match(
    session: Session,
    team_id: str,
    mailbox_id: int,
    details: Mapping[str, Any],
    mail: MailMessage,
    verdict: Classification,
) -> Match | None:
    """Stage 2: the campaign send ``details`` (read with headers) answers, or None."""
    sends = _campaign_sends(session, team_id)
    for signal, header in (("in-reply-to", "In-Reply-To"), ("references", "References")):
        ids = _IDS.findall(mail.header(header) or "")
        if ids:
            row = session.scalars(
                sends.where(OutboxMessage.internet_message_id.in_(ids))
                .order_by(OutboxMessage.id.desc())
                .limit(1)
            ).first()
            if row is not None and (signal != "in-reply-to" or verdict.kind != BOUNCE):
                return Match(row.id, row.enrollment_id or 0, signal)
            if row is not None:
                return Match(row.id, row.enrollment_id or 0, BOUNCE)
    if verdict.kind == BOUNCE:
        return _bounce(session, sends, mailbox_id, verdict)
    sender = mail.sender
    conversation = str(details.get("conversationId") or "")
    mine = sends.where(OutboxMessage.mailbox_id == mailbox_id, OutboxMessage.to_email == sender)
    if conversation:
        row = session.scalars(
            mine.where(OutboxMessage.conversation_id == conversation)
            .order_by(OutboxMessage.id.desc())
            .limit(1)
        ).first()
        if row is not None:
            return Match(row.id, row.enrollment_id or 0, "conversation")
    received = _received(details)
    wanted = topic(mail.subject)
    for row in session.scalars(
        sends.where(OutboxMessage.to_email == sender).order_by(OutboxMessage.id.desc())
    ):
        if topic(row.subject) == wanted and (
            received is None or (row.sent_at or received) <= received
        ):
            return Match(row.id, row.enrollment_id or 0, "subject")
    return None


def _bounce(session: Session, sends: Any, mailbox_id: int, verdict: Classification) -> Match | None:
    if verdict.original_message_id:
        wanted = verdict.original_message_id.strip()
        row = session.scalars(sends.where(OutboxMessage.internet_message_id == wanted)).first()
        if row is not None:
            return Match(row.id, row.enrollment_id or 0, BOUNCE)
    failed = [a.lower() for a in verdict.failed_recipients]
    if not failed:
        return None
    row = session.scalars(
        sends.where(OutboxMessage.mailbox_id == mailbox_id, OutboxMessage.to_email.in_(failed))
        .order_by(OutboxMessage.sent_at.desc())
        .limit(1)
    ).first()
    return Match(row.id, row.enrollment_id or 0, BOUNCE) if row is not None else None


def _received(details: Mapping[str, Any]) -> datetime | None:
    raw = details.get("receivedDateTime")
    if not raw:
        return None
    try:
        return datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    except ValueError:
        return None
