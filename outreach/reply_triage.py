"""What the buttons of a reply card do: label it, pause or resume its candidate, or say
it was not a reply. Each acts on the reply its key names (id and ``created_at``, see
outreach/keys.py), after :func:`outreach.permissions.decide`, and returns the card as it
stands afterwards so Slack can show it in place.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from bot.clock import Clock
from bot.db import SessionFactory, transaction
from bot.models import Campaign, Enrollment, Reply, Suppression
from outreach.campaigns import Campaigns
from outreach.errors import OutreachError, ReplyGone
from outreach.graph import CATEGORY, GraphClient
from outreach.keys import CampaignKey, ReplyKey
from outreach.notify import ReplyReceived
from outreach.permissions import Action, Actor, CampaignTarget, decide
from outreach.replies import card
from outreach.sequencing import restore_candidate

INTERESTED, NOT_INTERESTED = "interested", "not_interested"


class Replies:
    """The reply cards' actions."""

    def __init__(
        self,
        db: SessionFactory,
        clock: Clock,
        campaigns: Campaigns,
        graph_for: Callable[[int], GraphClient] | None = None,
    ) -> None:
        self._db = db
        self._clock = clock
        self._campaigns = campaigns
        self._graph_for = graph_for

    def view(self, key: ReplyKey) -> ReplyReceived:
        """The card of the reply ``key`` names. Raises :class:`ReplyGone`."""
        with self._db() as session:
            return _notice(session, _find(session, key))

    def label(self, team_id: str, user_id: str, key: ReplyKey, label: str | None) -> ReplyReceived:
        """Mark the reply ``interested`` or ``not_interested`` (None: no verdict)."""
        if label not in (INTERESTED, NOT_INTERESTED, None):
            raise ValueError(label)
        with transaction(self._db) as session:
            reply = self._deciding(session, team_id, user_id, key)
            reply.label = label
            return _notice(session, reply)

    def not_a_reply(self, team_id: str, user_id: str, key: ReplyKey) -> ReplyReceived:
        """Undo what the reply did (the stop, the suppression it added, the label, the
        Outlook category) and mark it so; doing it twice changes nothing."""
        with transaction(self._db) as session:
            reply = self._deciding(session, team_id, user_id, key)
            if reply.undone_at is None:
                now = self._clock.now()
                undo = reply.undo or {}
                restore_candidate(session, undo, now)
                if undo.get("suppression"):
                    entry = session.get(Suppression, int(undo["suppression"]))
                    if entry is not None:
                        session.delete(entry)
                reply.undone_at, reply.label = now, None
            mailbox_id, message_id = reply.mailbox_id, reply.graph_message_id
            shown = _notice(session, reply)
        self._unlabel(mailbox_id, message_id)
        return shown

    def pause_candidate(
        self, team_id: str, user_id: str, key: ReplyKey, *, is_admin: bool = False
    ) -> ReplyReceived:
        """Pause the reply's candidate in its campaign (see ``Campaigns.pause_candidate``)."""
        campaign, email = self._target(key)
        self._campaigns.pause_candidate(team_id, user_id, campaign, email, is_admin=is_admin)
        return self.view(key)

    def resume_candidate(self, team_id: str, user_id: str, key: ReplyKey) -> ReplyReceived:
        """Resume the reply's candidate (see ``Campaigns.resume_candidate``)."""
        campaign, email = self._target(key)
        self._campaigns.resume_candidate(team_id, user_id, campaign, email)
        return self.view(key)

    def _target(self, key: ReplyKey) -> tuple[CampaignKey, str]:
        with self._db() as session:
            enrollment = session.get_one(Enrollment, _find(session, key).enrollment_id)
            campaign = session.get_one(Campaign, enrollment.campaign_id)
            return CampaignKey(campaign.id, campaign.created_at), enrollment.email

    @staticmethod
    def _deciding(session: Session, team_id: str, user_id: str, key: ReplyKey) -> Reply:
        reply = _find(session, key)
        enrollment = session.get_one(Enrollment, reply.enrollment_id)
        campaign = session.get_one(Campaign, enrollment.campaign_id)
        if campaign.team_id != team_id:
            raise ReplyGone()
        decide(session, Actor(team_id, user_id), Action.TRIAGE_REPLY, CampaignTarget.of(campaign))
        return reply

    def _unlabel(self, mailbox_id: int, message_id: str) -> None:
        if self._graph_for is None:
            return
        try:
            graph = self._graph_for(mailbox_id)
            found = graph.get_message(message_id, "id,categories")
            left = [c for c in found.get("categories") or [] if c != CATEGORY]
            graph.set_categories(message_id, left)
        except OutreachError:
            pass  # a label in Outlook; the undo itself is done


def _find(session: Session, key: ReplyKey) -> Reply:
    reply = session.get(Reply, key.id)
    if reply is None or reply.created_at != key.created_at:
        raise ReplyGone()
    return reply


def _notice(session: Session, reply: Reply) -> ReplyReceived:
    return card(session, reply).notice
