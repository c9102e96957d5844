"""Connecting a recruiter's Outlook mailbox: the finished sign-in, then the stored connection.

``connect`` is two halves: :meth:`outreach.sign_in_links.SignInLinks.create` (from Slack)
records the pending sign-in and returns its URL; :meth:`MailboxConnections.complete_connect`
(from the browser callback) redeems the code, checks the mailbox is the requester's own
(``outreach/slack_sign_in.py``) and stores the MSAL token cache encrypted (:mod:`outreach.tokens`
uses it). Nothing here deletes a mailbox except a confirmed Replace, when the new one is stored;
:class:`outreach.erasure.MailboxErasure` deletes one the user disconnects.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Mapping
from datetime import datetime

import requests
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bot.clock import Clock
from bot.db import SessionFactory, transaction
from bot.models import Mailbox, OutlookAuthFlow
from outreach import audit
from outreach.errors import (
    AliasNotSupported,
    AnotherMailboxConnected,
    ConsentCancelled,
    GraphError,
    MailboxTaken,
    NotYourBrowser,
    NotYourMailbox,
    ReplacedMailboxChanged,
    SignInFailed,
    SignInLinkExpired,
    SignInLinkUnknown,
    WrongMailbox,
)
from outreach.graph import all_addresses, primary_smtp_address
from outreach.graph_clients import GraphClients
from outreach.mailboxes import CONNECTED, Cipher, MailboxStatus, owned, status_of
from outreach.microsoft import MicrosoftLogin, TokenCache, refusal
from outreach.notify import MailboxConnected, MailboxConnectedByOther, Notifier, SlackDirectory
from outreach.removal import preview_of, tell_other_creators
from outreach.slack_sign_in import browser_hash, owns_mailbox
from outreach.tokens import MailboxTokens

log = logging.getLogger(__name__)


class MailboxConnections:
    """Completing a sign-in into a stored mailbox, and what a user sees of the connection."""

    def __init__(
        self,
        db: SessionFactory,
        login: MicrosoftLogin,
        graph: GraphClients,
        tokens: MailboxTokens,
        cipher: Cipher,
        notifier: Notifier,
        clock: Clock,
        *,
        directory: SlackDirectory | None = None,
    ) -> None:
        """``directory`` reads Slack profile emails."""
        self._db = db
        self._directory = directory
        self._login = login
        self._graph = graph
        self._tokens = tokens
        self._cipher = cipher
        self._notifier = notifier
        self._clock = clock

    # -- connect -----------------------------------------------------------------------
    def complete_connect(
        self, auth_response: Mapping[str, str], browser_secret: str | None = None
    ) -> MailboxStatus:
        """Finish a sign-in from Microsoft's redirect; raise a ConnectError saying why not.

        ``browser_secret`` is the cookie the Sign in with Slack step gave the browser
        (:meth:`outreach.slack_sign_in.SlackStep.finish`). A sign-in that went through that step
        completes only in the same browser: a Microsoft link forwarded after it is refused
        (NotYourBrowser) and nothing is stored.
        """
        pending = self._consume_flow(auth_response.get("state", ""))
        if pending.slack_verified_at is not None and not _same_browser(
            pending.browser_hash, browser_secret
        ):
            raise NotYourBrowser(pending.email)
        if auth_response.get("error"):
            error, description = auth_response["error"], auth_response.get("error_description")
            reason = refusal(error, description)
            if reason is not None:
                raise reason
            if error == "access_denied":
                raise ConsentCancelled()
            raise SignInFailed(_first_line(description) or error)
        cache = TokenCache(self._clock)
        flow = json.loads(self._cipher.decrypt(pending.flow_enc))
        try:
            result = self._login.redeem(flow, auth_response, cache)
        except ValueError as exc:  # MSAL: state mismatch or a response with neither code nor error
            raise SignInLinkUnknown() from exc
        except requests.RequestException as exc:
            raise SignInFailed("Microsoft could not be reached") from exc
        if "access_token" not in result:
            description = result.get("error_description")
            raise refusal(result.get("error"), description) or SignInFailed(
                _first_line(description) or str(result.get("error"))
            )

        token = str(result["access_token"])
        graph = self._graph.for_sign_in(token)
        me = graph.me()
        primary = primary_smtp_address(me)
        if pending.email != primary:
            if pending.email in all_addresses(me):
                raise AliasNotSupported(pending.email, primary)
            raise WrongMailbox(pending.email, primary)
        if pending.slack_verified_at is None:
            profile = (
                self._directory.email_of(pending.team_id, pending.user_id)
                if self._directory
                else None
            )
            if not owns_mailbox(profile, all_addresses(me)):
                raise NotYourMailbox(pending.email)
        try:
            graph.ensure_category()
        except GraphError as exc:  # the category is a convenience; connecting must not hinge on it
            log.warning("could not create the Outlook category for mailbox: %s", exc.code)

        accounts = self._login.client(cache).get_accounts()
        status = self._store(pending, me, str(accounts[0]["home_account_id"]), cache.serialize())
        self._notifier.notify_user(
            pending.team_id, pending.user_id, MailboxConnected(status.email, status.sender_name)
        )
        holder = (
            self._directory.user_by_email(pending.team_id, status.email)
            if self._directory
            else None
        )
        if holder and holder != pending.user_id:  # the address's Slack owner learns who took it
            with self._db() as session:
                named = preview_of(session, session.get_one(Mailbox, status.id)).named
            self._notifier.notify_user(
                pending.team_id,
                holder,
                MailboxConnectedByOther(
                    status.email, status.id, pending.user_id, status.connected_at, named
                ),
            )
        return status

    def _consume_flow(self, state: str) -> OutlookAuthFlow:
        """Delete and return the pending sign-in for ``state``: a state works once."""
        if not state:
            raise SignInLinkUnknown()
        with transaction(self._db) as session:
            pending = session.scalars(
                delete(OutlookAuthFlow)
                .where(OutlookAuthFlow.state == state)
                .returning(OutlookAuthFlow)
            ).first()
        if pending is None:
            raise SignInLinkUnknown()
        if pending.expires_at <= self._clock.now():
            raise SignInLinkExpired()
        return pending

    def _store(
        self, pending: OutlookAuthFlow, me: Mapping[str, object], account_id: str, cache: str
    ) -> MailboxStatus:
        now = self._clock.now()
        with transaction(self._db) as session:
            taken = session.scalars(select(Mailbox).where(Mailbox.email == pending.email)).first()
            if taken and (taken.team_id, taken.owner_user_id) != (pending.team_id, pending.user_id):
                raise MailboxTaken(pending.email)
            mine = owned(session, pending.team_id, pending.user_id)
            if mine is not None and mine.email != pending.email:
                if not self._replace(session, pending, mine, now):
                    # Nothing is deleted unless the user confirmed replacing exactly this.
                    raise AnotherMailboxConnected(mine.id, mine.email, pending.email)
                mine = None
            if mine is None:
                mine = Mailbox(
                    team_id=pending.team_id,
                    owner_user_id=pending.user_id,
                    email=pending.email,
                    connected_at=now,
                )
                session.add(mine)
            mine.sender_name = pending.sender_name
            mine.ms_user_id = str(me.get("id", ""))
            mine.ms_home_account_id = account_id
            mine.state = CONNECTED
            mine.token_cache_enc = self._cipher.encrypt(cache)
            mine.updated_at = now
            mine.last_error = None
            session.flush()
            self._tokens.forget_token(
                mine.id
            )  # a reconnect (or a reused id) must not use old tokens
            audit.record(
                session,
                now,
                pending.team_id,
                "mailbox.connected",
                actor=pending.user_id,
                mailbox_id=mine.id,
            )
            return status_of(mine)

    def _replace(
        self, session: Session, pending: OutlookAuthFlow, mine: Mailbox, now: datetime
    ) -> bool:
        """Delete ``mine`` in ``session`` when ``pending`` was confirmed to replace it, as it
        was then; False when it was not. Raises ReplacedMailboxChanged when it changed."""
        if not pending.replaces:
            return False
        confirmed = pending.replaces
        preview = preview_of(session, mine)
        if (
            confirmed.get("mailbox") != mine.id
            or confirmed.get("connected") != mine.connected_at.isoformat()
            or confirmed.get("named") != preview.named
        ):
            # Name the mailbox the confirmation named, not the one connected now.
            raise ReplacedMailboxChanged(str(confirmed.get("email") or mine.email), pending.email)
        tell_other_creators(session, preview, pending.team_id, pending.user_id, now)
        self._tokens.forget_token(mine.id)
        session.delete(mine)
        session.flush()  # one mailbox per user: the old row goes before the new one comes
        audit.record(
            session,
            now,
            pending.team_id,
            "mailbox.replaced",
            actor=pending.user_id,
        )
        return True

    # -- use ---------------------------------------------------------------------------
    def status(self, team_id: str, user_id: str) -> MailboxStatus | None:
        """The user's mailbox connection, if any."""
        with self._db() as session:
            mailbox = owned(session, team_id, user_id)
            return status_of(mailbox) if mailbox else None


def _same_browser(stored: str | None, secret: str | None) -> bool:
    if not stored or not secret:
        return False
    return hmac.compare_digest(stored, browser_hash(secret))


def _first_line(text: str | None) -> str | None:
    return text.splitlines()[0][:300] if text else None
