"""Shortlists: import candidates from CSV (modal text or a file), list and show them.

Importing again under the same name updates candidates by email and adds new ones; the
rows the file got wrong are reported by line and never stop the valid ones.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.clock import Clock
from bot.db import SessionFactory, transaction
from bot.models import Candidate, Shortlist, Suppression
from outreach import audit
from outreach.csvimport import ParsedShortlist, parse_shortlist
from outreach.errors import ShortlistFileInvalid, ShortlistNotFound
from outreach.rejects import rejected_csv
from outreach.sentences import Sentence, Strong

Progress = Callable[[int, int], None]
CHUNK = 1_000


@dataclass(frozen=True)
class ImportReport:
    shortlist_id: int
    name: str
    created: int
    updated: int
    parsed: ParsedShortlist
    source: bytes | str = field(default=b"", repr=False)  # the file imported

    def rejected_csv(self) -> bytes:
        """The rejected rows with a ``reason`` column, to fix and import again
        (:func:`outreach.rejects.rejected_csv`); b"" when no row was rejected."""
        if not self.parsed.rejected:
            return b""
        return rejected_csv(self.source, self.parsed.rejected)

    def text(self, limit: int = 50) -> Sentence:
        """The report: counts, every rejected row, then rows imported with a note (an
        unreadable time zone or country, an address cleaned up), ``limit`` of each; the
        shortlist's name marked :class:`~outreach.sentences.Strong`."""
        head = Sentence(
            "Shortlist ",
            Strong(self.name),
            f": {self.created} new, {self.updated} updated candidates.",
        )
        parts: list[str | Sentence] = [head]
        if self.parsed.rejected:
            parts.append(
                f"{_rows(len(self.parsed.rejected))} not imported:\n"
                + self.parsed.rejection_report(limit)
            )
        if self.parsed.noted:
            parts.append(
                f"{_rows(len(self.parsed.noted))} imported with a note:\n"
                + self.parsed.notes_report(limit)
            )
        return Sentence.join("\n", parts)


@dataclass(frozen=True)
class ShortlistSummary:
    id: int
    name: str
    candidates: int
    updated_at: datetime


class Shortlists:
    """The shortlist service."""

    def __init__(self, db: SessionFactory, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    def import_csv(
        self,
        team_id: str,
        user_id: str,
        name: str,
        data: bytes | str,
        progress: Progress | None = None,
    ) -> ImportReport:
        """Parse ``data`` and store its valid rows under ``name`` (created if new)."""
        name = name.strip()
        if not name or len(name) > 80:
            raise ShortlistFileInvalid("Give the shortlist a name of 1 to 80 characters.")
        with self._db() as session:
            blocked = set(
                session.scalars(
                    select(Suppression.email).where(
                        Suppression.team_id == team_id, Suppression.kind == "dnc"
                    )
                )
            )
        parsed = parse_shortlist(data, do_not_contact=blocked)
        if parsed.file_errors:
            raise ShortlistFileInvalid(" ".join(parsed.file_errors))
        now = self._clock.now()
        created = updated = 0
        with transaction(self._db) as session:
            shortlist = _find(session, team_id, name)
            if shortlist is None:
                shortlist = Shortlist(
                    team_id=team_id, name=name, created_by=user_id, created_at=now, updated_at=now
                )
                session.add(shortlist)
                session.flush()
            shortlist.updated_at = now
            existing = {
                c.email: c
                for c in session.scalars(
                    select(Candidate).where(Candidate.shortlist_id == shortlist.id)
                )
            }
            total = len(parsed.candidates)
            for start in range(0, total, CHUNK):
                for row in parsed.candidates[start : start + CHUNK]:
                    candidate = existing.get(row.email)
                    if candidate is None:
                        candidate = Candidate(shortlist_id=shortlist.id, email=row.email)
                        session.add(candidate)
                        existing[row.email] = candidate
                        created += 1
                    else:
                        updated += 1
                    candidate.first_name = row.first_name or None
                    candidate.last_name = row.last_name or None
                    candidate.timezone = row.timezone
                    candidate.country = row.country
                    candidate.variables = dict(row.variables)
                    candidate.updated_at = now
                session.flush()
                if progress:
                    progress(min(start + CHUNK, total), total)
            audit.record(
                session,
                now,
                team_id,
                "shortlist.imported",
                actor=user_id,
                shortlist_id=shortlist.id,
                created=created,
                updated=updated,
                rejected=len(parsed.rejected),
            )
            return ImportReport(shortlist.id, shortlist.name, created, updated, parsed, data)

    def summaries(self, team_id: str) -> list[ShortlistSummary]:
        with self._db() as session:
            rows = session.execute(
                select(Shortlist, func.count(Candidate.id))
                .outerjoin(Candidate, Candidate.shortlist_id == Shortlist.id)
                .where(Shortlist.team_id == team_id)
                .group_by(Shortlist.id)
                .order_by(Shortlist.name)
            )
            return [ShortlistSummary(s.id, s.name, n, s.updated_at) for s, n in rows]

    def get(self, team_id: str, name: str) -> ShortlistSummary:
        for summary in self.summaries(team_id):
            if summary.name.lower() == name.strip().lower():
                return summary
        raise ShortlistNotFound(name)

    def sample(self, shortlist_id: int, limit: int = 10) -> list[Candidate]:
        with self._db() as session:
            return list(
                session.scalars(
                    select(Candidate)
                    .where(Candidate.shortlist_id == shortlist_id)
                    .order_by(Candidate.id)
                    .limit(limit)
                )
            )


def _find(session: Session, team_id: str, name: str) -> Shortlist | None:
    return session.scalars(
        select(Shortlist).where(
            Shortlist.team_id == team_id, func.lower(Shortlist.name) == name.lower()
        )
    ).first()


def _rows(count: int) -> str:
    return "1 row was" if count == 1 else f"{count:,} rows were"
