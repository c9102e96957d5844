"""The audit log: who connected, disconnected or wiped what, and when. Ids only."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from bot.models import AuditEntry


def record(
    session: Session,
    at: datetime,
    team_id: str,
    action: str,
    *,
    actor: str | None = None,
    mailbox_id: int | None = None,
    **detail: Any,
) -> None:
    """Add an entry in the caller's transaction, so it commits with the change it describes."""
    session.add(
        AuditEntry(
            at=at, team_id=team_id, actor=actor, action=action, mailbox_id=mailbox_id, detail=detail
        )
    )
