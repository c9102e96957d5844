"""An outbox row's draft in the mailbox: what Graph is given, and finding it again.

Every draft carries the row's ``dedupe_key`` in the ``X-ScaleUp-Outbox`` extended property
(:data:`outreach.graph.MARKER_PROPERTY`), so after a crash :mod:`outreach.dispatch` finds
what it already created, in Drafts or Sent Items, instead of creating it twice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from bot.models import OutboxMessage
from outreach import outbox
from outreach.errors import GraphError
from outreach.graph import MARKER_PROPERTY, GraphClient
from outreach.subjects import outlook_composes

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Draft:
    """The Graph payloads for one row, read while its row is locked."""

    #: For ``create_draft``: subject, body, recipient and our marker.
    payload: dict[str, Any]
    #: For ``create_reply`` on the parent: the payload, without a subject when the one
    #: Outlook composes (``RE: <parent's subject>``) is ours anyway.
    reply_payload: dict[str, Any]
    #: The Message-ID of the sent step this follow-up answers; None for a step sent alone.
    parent_imid: str | None


def compose(session: Session, row: OutboxMessage) -> Draft:
    """What to create in the mailbox for ``row``, as a new draft or a reply to its parent."""
    payload, (parent_imid, parent_subject) = _payload(row), _parent(session, row)
    if parent_imid and outlook_composes(row.subject, parent_subject):
        reply_payload = {k: v for k, v in payload.items() if k != "subject"}
    else:
        reply_payload = payload
    return Draft(payload, reply_payload, parent_imid)


def find_own(graph: GraphClient, key: str) -> dict[str, Any] | None:
    """Our message with marker ``key``: its Sent Items copy, else its draft (with flags)."""
    return find_marked(graph, "sentitems", key) or find_marked(
        graph, "drafts", key, with_flags=True
    )


def find_marked(
    graph: GraphClient, folder: str, key: str, *, with_flags: bool = False
) -> dict[str, Any] | None:
    """Our message in ``folder`` by its marker; None if Graph refuses to filter on it
    (docs/assumptions.md, A2: callers then look by internetMessageId, or not at all).

    Raises any other :class:`~outreach.errors.GraphError` it gets."""
    try:
        return graph.find_message(folder, marker=key, with_flags=with_flags)
    except GraphError as exc:
        if exc.status != 400:
            raise
        log.warning("Graph refused the marker filter in %s (%s)", folder, exc.code)
        return None


def _payload(row: OutboxMessage) -> dict[str, Any]:
    return {
        "subject": row.subject,
        "body": {"contentType": "HTML" if row.body_html else "Text", "content": row.body},
        "toRecipients": [
            {
                "emailAddress": {
                    "address": row.to_email,
                    **({"name": row.to_name} if row.to_name else {}),
                }
            }
        ],
        "singleValueExtendedProperties": [{"id": MARKER_PROPERTY, "value": row.dedupe_key}],
    }


def _parent(session: Session, row: OutboxMessage) -> tuple[str | None, str]:
    """The Message-ID and subject of the step this follow-up answers, if it was sent.

    A reply whose subject is the one Outlook's createReply composes from the parent's
    (``RE: <subject>``) is created without a subject of ours (:mod:`outreach.subjects`)."""
    if not row.reply_as_followup or row.enrollment_id is None or not row.step_position:
        return None, ""
    parent = outbox.sent_step(session, row.enrollment_id, row.step_position - 1)
    if parent is None:
        return None, ""
    return parent.internet_message_id, parent.subject
