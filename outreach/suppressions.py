"""The workspace's do-not-contact list (``Suppression`` rows of kind ``dnc``).

Campaign start, the CSV importer and the dispatcher already skip suppressed addresses;
adding one here also stops every sequence that is under way for it, at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.clock import Clock
from bot.db import SessionFactory, transaction
from bot.models import Campaign, Enrollment, Suppression
from outreach import audit, sequencing
from outreach.addresses import email_from_cell
from outreach.errors import WholeAddressOnly
from outreach.permissions import Action, Actor, DncTarget, decide

DNC = "dnc"
BOUNCED = "bounced"
ON_DNC = "on the do-not-contact list"


@dataclass(frozen=True)
class DncEntry:
    email: str
    reason: str | None
    added_by: str | None
    added_at: datetime


@dataclass(frozen=True)
class DncAdded:
    """What adding an address did."""

    email: str
    #: False when the address was already on the list (its entry is unchanged).
    created: bool
    #: Campaigns in which the address's sequence stopped, by name.
    stopped: list[str]
    #: Unsent emails to the address that were cancelled.
    cancelled: int


def suppress(
    session: Session, team_id: str, email: str, kind: str, reason: str, now: datetime
) -> int | None:
    """Suppress ``email`` in the team (``dnc`` for an opt-out, ``bounced``) without a
    person: the new entry's id, or None when it was suppressed so already."""
    known = select(Suppression.id).where(
        Suppression.team_id == team_id, Suppression.email == email, Suppression.kind == kind
    )
    if session.scalar(known) is not None:
        return None
    try:
        with session.begin_nested():
            entry = Suppression(
                team_id=team_id, email=email, kind=kind, reason=reason, added_at=now
            )
            session.add(entry)
        return entry.id
    except IntegrityError:  # added concurrently
        return None


def dnc_address(typed: str) -> str:
    """The address ``typed`` names for the do-not-contact list, read as the importer reads a
    cell; :class:`~outreach.errors.WholeAddressOnly` for ``*@domain``, ``@domain`` or a
    ``*`` anywhere (the list matches whole addresses), else
    :class:`~outreach.errors.InvalidEmail`."""
    local, at, _ = typed.strip().rpartition("@")
    if "*" in typed or (at and not local.strip(" <\"'")):
        raise WholeAddressOnly(typed.strip())
    return email_from_cell(typed).email


class Suppressions:
    """The do-not-contact list of each workspace."""

    def __init__(self, db: SessionFactory, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    def add_dnc(
        self, team_id: str, user_id: str, email: str, reason: str | None = None
    ) -> DncAdded:
        """Put ``email`` on the list and stop its sequences in every campaign of the team:
        the enrollments become ``stopped`` and their unsent emails ``cancelled``.

        Idempotent. ``email`` is read as the importer reads a cell
        (:func:`~outreach.addresses.email_from_cell`: invisible characters removed, a display
        name dropped). Raises :class:`~outreach.errors.InvalidEmail` for a non-address and
        :class:`~outreach.errors.WholeAddressOnly` for a pattern such as ``*@evil.example``,
        which the list would otherwise keep as a literal address that matches no one.
        """
        address = dnc_address(email)
        reason = (reason or "").strip() or None
        now = self._clock.now()
        with transaction(self._db) as session:
            decide(session, Actor(team_id, user_id), Action.ADD_DNC, DncTarget(team_id, address))
            created = False
            known = select(Suppression.id).where(
                Suppression.team_id == team_id,
                Suppression.email == address,
                Suppression.kind == DNC,
            )
            if session.scalar(known) is None:
                try:
                    with session.begin_nested():  # a concurrent add of the same address wins
                        session.add(
                            Suppression(
                                team_id=team_id,
                                email=address,
                                kind=DNC,
                                reason=reason,
                                added_by=user_id,
                                added_at=now,
                            )
                        )
                    created = True
                except IntegrityError:
                    pass
            under_way = session.execute(
                select(Enrollment, Campaign.name)
                .join(Campaign, Campaign.id == Enrollment.campaign_id)
                .where(
                    Enrollment.team_id == team_id,
                    Enrollment.email == address,
                    Enrollment.state.in_(sequencing.UNDER_WAY),
                )
                .order_by(Campaign.created_at)
            ).all()
            enrollments = [enrollment for enrollment, _ in under_way]
            cancelled = sequencing.stop(session, enrollments, ON_DNC, now)
            if created or under_way:
                audit.record(
                    session,
                    now,
                    team_id,
                    "dnc.added",
                    actor=user_id,
                    created=created,
                    enrollments_stopped=len(under_way),
                    cancelled=cancelled,
                )
            return DncAdded(address, created, [name for _, name in under_way], cancelled)

    def remove_dnc(
        self, team_id: str, user_id: str, email: str, *, is_admin: bool = False
    ) -> tuple[str, bool]:
        """Take ``email`` off the list: the normalized address and whether it was on it.

        Only workspace admins (``is_admin``, from Slack) and whoever added the entry may;
        anyone else gets :class:`~outreach.errors.NotAllowed` (see
        :mod:`outreach.permissions`). Sequences it stopped stay stopped; a bounced address
        stays suppressed. ``email`` is read as in :meth:`add_dnc`, patterns included (an
        older version stored ``*@domain`` literally; it can still be removed).
        """
        address = email_from_cell(email).email
        with transaction(self._db) as session:
            entry = session.scalars(
                select(Suppression)
                .where(
                    Suppression.team_id == team_id,
                    Suppression.email == address,
                    Suppression.kind == DNC,
                )
                .with_for_update()
            ).first()
            if entry is None:
                return address, False
            target = DncTarget(team_id, address, entry.added_by)
            decide(session, Actor(team_id, user_id, is_admin), Action.REMOVE_DNC, target)
            session.delete(entry)
            audit.record(session, self._clock.now(), team_id, "dnc.removed", actor=user_id)
            return address, True

    def dnc_list(self, team_id: str) -> list[DncEntry]:
        """Every address on the team's do-not-contact list, alphabetically."""
        with self._db() as session:
            rows = session.scalars(
                select(Suppression)
                .where(Suppression.team_id == team_id, Suppression.kind == DNC)
                .order_by(Suppression.email)
            )
            return [DncEntry(s.email, s.reason, s.added_by, s.added_at) for s in rows]
