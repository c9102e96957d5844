"""The first half of connecting a mailbox: the single-use sign-in link ``/scaleup connect``
hands out.

:meth:`SignInLinks.create` checks the request (the address is nobody else's, the user has no
other mailbox unless they confirmed replacing it), records a pending sign-in
(``OutlookAuthFlow``) for ``FLOW_LIFETIME`` and returns where the browser starts: Microsoft's
page when the address is the user's Slack profile email, else Sign in with Slack first
(``outreach/slack_sign_in.py``). :class:`outreach.connections.MailboxConnections` redeems the
sign-in when Microsoft redirects back, and only then stores (or replaces) anything.
"""

from __future__ import annotations

import json
import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlencode

import requests
from sqlalchemy import delete, select

from bot.clock import Clock
from bot.db import SessionFactory, transaction
from bot.models import Mailbox, OutlookAuthFlow
from outreach.addresses import normalize_email
from outreach.errors import (
    AlreadyYourMailbox,
    AnotherMailboxConnected,
    MailboxTaken,
    OutreachError,
    RemovalChanged,
    SlackSignInUnavailable,
)
from outreach.graph import all_addresses
from outreach.keys import MailboxKey
from outreach.mailboxes import Cipher, keyed, owned
from outreach.microsoft import MicrosoftLogin
from outreach.notify import SlackDirectory
from outreach.removal import preview_of
from outreach.slack_sign_in import owns_mailbox
from outreach.tokens import MailboxTokens

log = logging.getLogger(__name__)

FLOW_LIFETIME = timedelta(minutes=10)


@dataclass(frozen=True)
class SignInLink:
    """Where a sign-in starts: Microsoft's page, or Sign in with Slack first."""

    url: str
    slack_first: bool


class SignInLinks:
    """Starting a sign-in: checks, the pending ``OutlookAuthFlow`` row, and its URL."""

    def __init__(
        self,
        db: SessionFactory,
        login: MicrosoftLogin,
        tokens: MailboxTokens,
        cipher: Cipher,
        clock: Clock,
        *,
        directory: SlackDirectory | None = None,
        slack_start_url: str | None = None,
    ) -> None:
        """``slack_start_url`` is the bot's ``/outlook/start`` when Sign in with Slack is
        configured, else None; ``directory`` reads Slack profile emails."""
        self._db = db
        self._directory = directory
        self._slack_start_url = slack_start_url
        self._login = login
        self._tokens = tokens
        self._cipher = cipher
        self._clock = clock

    def create(
        self,
        team_id: str,
        user_id: str,
        email: str,
        sender_name: str,
        *,
        replaces: MailboxKey | None = None,
        replaces_email: str | None = None,
        named: str | None = None,
    ) -> SignInLink:
        """Record a single-use sign-in for this user and return the URL to open.

        That is Microsoft's sign-in URL when ``email`` is the user's Slack profile email,
        else the bot's ``/outlook/start`` (Sign in with Slack first). Raises MailboxTaken,
        AnotherMailboxConnected (the user must confirm replacing it first),
        AlreadyYourMailbox (``email`` is an address of the connected mailbox) or
        SlackSignInUnavailable (another address, and Sign in with Slack is not configured).

        ``replaces`` (with ``replaces_email``, the address the button showed, and
        ``named``, the fingerprint of what the Replace confirmation named):
        the user confirmed replacing that mailbox. Nothing is deleted here; the sign-in
        records it, and the old mailbox goes only when the new one is stored
        (:meth:`outreach.connections.MailboxConnections.complete_connect`). Raises StaleMailboxButton / NotYourMailboxButton when
        the key no longer names the user's mailbox, RemovalChanged when what it deletes
        is no longer what the confirmation named.
        """
        address = normalize_email(email)
        with self._db() as session:
            current = owned(session, team_id, user_id)
            current_id, current_email = (current.id, current.email) if current else (0, "")
        if current_email and current_email != address:
            self._refuse_own_alias(current_id, current_email, address)
        profile = self._directory.email_of(team_id, user_id) if self._directory else None
        needs_slack = not owns_mailbox(profile, [address])
        now = self._clock.now()
        with transaction(self._db) as session:
            owner = session.scalars(select(Mailbox).where(Mailbox.email == address)).first()
            if owner and (owner.team_id, owner.owner_user_id) != (team_id, user_id):
                raise MailboxTaken(address)
            replacing = None
            if replaces is not None:
                old = keyed(
                    session,
                    self._directory,
                    team_id,
                    user_id,
                    replaces,
                    replaces_email,
                    owner_only=True,
                )
                preview = preview_of(session, old)
                if named is not None and preview.named != named:
                    raise RemovalChanged(preview)
                replacing = {
                    "mailbox": old.id,
                    "connected": old.connected_at.isoformat(),
                    "named": preview.named,
                    "email": old.email,
                }
            mine = owned(session, team_id, user_id)
            if replacing is None and mine is not None and mine.email != address:
                raise AnotherMailboxConnected(mine.id, mine.email, address)
            if needs_slack and self._slack_start_url is None:
                raise SlackSignInUnavailable(address, profile)
            session.execute(delete(OutlookAuthFlow).where(OutlookAuthFlow.expires_at <= now))
            state = secrets.token_urlsafe(32)
            flow = self._login.start(state=state, login_hint=address)
            session.add(
                OutlookAuthFlow(
                    state=state,
                    team_id=team_id,
                    user_id=user_id,
                    email=address,
                    sender_name=sender_name.strip()[:255] or address,
                    flow_enc=self._cipher.encrypt(json.dumps(flow)),
                    created_at=now,
                    expires_at=now + FLOW_LIFETIME,
                    replaces=replacing,
                )
            )
        if needs_slack:
            return SignInLink(f"{self._slack_start_url}?{urlencode({'state': state})}", True)
        return SignInLink(str(flow["auth_uri"]), False)

    def _refuse_own_alias(self, mailbox_id: int, connected: str, requested: str) -> None:
        """Raise AlreadyYourMailbox when ``requested`` is an address of the connected
        mailbox (read from Graph with its own token). When Graph cannot tell, the normal
        flow goes on: the sign-in refuses an alias anyway, before anything is deleted."""
        try:
            me = self._tokens.graph_for(mailbox_id).me()
        except (OutreachError, requests.RequestException) as exc:
            log.info("could not read the connected mailbox's addresses: %s", type(exc).__name__)
            return
        if requested in {a.lower() for a in all_addresses(me)}:
            raise AlreadyYourMailbox(requested, connected)
