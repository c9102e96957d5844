"""Connecting, using and disconnecting a recruiter's Outlook mailbox.

``connect`` is two halves: :meth:`Mailboxes.begin_connect` (from Slack) returns the
Microsoft sign-in URL; :meth:`Mailboxes.complete_connect` (from the browser callback)
redeems the code, checks the mailbox and stores the MSAL token cache encrypted.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

import msal
import requests
from sqlalchemy import delete, func, select

from bot.clock import Clock
from bot.db import SessionFactory, transaction
from bot.models import (
    AuditEntry,
    Campaign,
    Mailbox,
    OutboxMessage,
    OutlookAuthFlow,
    Shortlist,
    Suppression,
    Workspace,
)
from outreach import audit
from outreach.addresses import normalize_email
from outreach.errors import (
    AliasNotSupported,
    ConsentCancelled,
    GraphError,
    MailboxNeedsReconnect,
    MailboxTaken,
    NoMailbox,
    SignInFailed,
    SignInLinkExpired,
    SignInLinkUnknown,
    TokenUnavailable,
    WrongMailbox,
)
from outreach.graph import GraphClient, TokenSource, all_addresses, primary_smtp_address
from outreach.microsoft import MicrosoftLogin
from outreach.notify import MailboxConnected, Notifier
from outreach.notify import MailboxNeedsReconnect as NeedsReconnectNotice

log = logging.getLogger(__name__)

FLOW_LIFETIME = timedelta(minutes=10)
#: Hand out a held access token only while it has this many seconds left.
TOKEN_MARGIN = 300
CONNECTED = "connected"
NEEDS_RECONNECT = "needs_reconnect"


class Cipher(Protocol):
    def encrypt(self, plaintext: str) -> str: ...
    def decrypt(self, token: str) -> str: ...


#: (token source, mailbox id or None, called on 401) → a Graph client.
GraphFactory = Callable[[TokenSource, int | None, Callable[[], None] | None], GraphClient]


@dataclass(frozen=True)
class MailboxStatus:
    """What a user sees about their mailbox connection."""

    id: int
    email: str
    sender_name: str
    state: str
    connected_at: datetime
    last_error: str | None


@dataclass(frozen=True)
class DisconnectReport:
    """What ``disconnect`` deleted, so the reply can say it."""

    email: str
    pending_sign_ins: int
    campaigns: int = 0
    messages: int = 0


class Mailboxes:
    """The mailbox connection service."""

    def __init__(
        self,
        db: SessionFactory,
        login: MicrosoftLogin,
        graph: GraphFactory,
        cipher: Cipher,
        notifier: Notifier,
        clock: Clock,
    ) -> None:
        self._db = db
        self._login = login
        self._graph = graph
        self._cipher = cipher
        self._notifier = notifier
        self._clock = clock
        # Access tokens this process already holds, so a burst of Graph calls does not
        # decrypt and lock the token cache each time: mailbox id → (token, good until).
        self._tokens: dict[int, tuple[str, float]] = {}
        self._tokens_lock = threading.Lock()

    # -- connect -----------------------------------------------------------------------
    def begin_connect(self, team_id: str, user_id: str, email: str, sender_name: str) -> str:
        """Record a single-use sign-in for this user and return Microsoft's sign-in URL."""
        address = normalize_email(email)
        now = self._clock.now()
        with transaction(self._db) as session:
            owner = session.scalars(select(Mailbox).where(Mailbox.email == address)).first()
            if owner and (owner.team_id, owner.owner_user_id) != (team_id, user_id):
                raise MailboxTaken(address)
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
                )
            )
        return str(flow["auth_uri"])

    def complete_connect(self, auth_response: Mapping[str, str]) -> MailboxStatus:
        """Finish a sign-in from Microsoft's redirect; raise a ConnectError saying why not."""
        pending = self._consume_flow(auth_response.get("state", ""))
        if auth_response.get("error"):
            if auth_response["error"] == "access_denied":
                raise ConsentCancelled()
            raise SignInFailed(
                _first_line(auth_response.get("error_description")) or auth_response["error"]
            )
        cache = msal.SerializableTokenCache()
        flow = json.loads(self._cipher.decrypt(pending.flow_enc))
        try:
            result = self._login.redeem(flow, auth_response, cache)
        except ValueError as exc:  # MSAL: state mismatch or a response with neither code nor error
            raise SignInLinkUnknown() from exc
        except requests.RequestException as exc:
            raise SignInFailed("Microsoft could not be reached") from exc
        if "access_token" not in result:
            raise SignInFailed(
                _first_line(result.get("error_description")) or str(result.get("error"))
            )

        token = str(result["access_token"])
        graph = self._graph(lambda: token, None, None)
        me = graph.me()
        primary = primary_smtp_address(me)
        if pending.email != primary:
            if pending.email in all_addresses(me):
                raise AliasNotSupported(pending.email, primary)
            raise WrongMailbox(pending.email, primary)
        try:
            graph.ensure_category()
        except GraphError as exc:  # the category is a convenience; connecting must not hinge on it
            log.warning("could not create the Outlook category for mailbox: %s", exc.code)

        accounts = self._login.client(cache).get_accounts()
        status = self._store(pending, me, str(accounts[0]["home_account_id"]), cache.serialize())
        self._notifier.notify_user(
            pending.team_id, pending.user_id, MailboxConnected(status.email, status.sender_name)
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
            mine = session.scalars(
                select(Mailbox).where(
                    Mailbox.team_id == pending.team_id, Mailbox.owner_user_id == pending.user_id
                )
            ).first()
            if mine is not None and mine.email != pending.email:
                # Switching to another mailbox: the old one's data goes, as on disconnect.
                session.delete(mine)
                session.flush()
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
            self.forget_token(mine.id)  # a reconnect (or a reused id) must not use old tokens
            audit.record(
                session,
                now,
                pending.team_id,
                "mailbox.connected",
                actor=pending.user_id,
                mailbox_id=mine.id,
            )
            return _status(mine)

    # -- use ---------------------------------------------------------------------------
    def status(self, team_id: str, user_id: str) -> MailboxStatus | None:
        """The user's mailbox connection, if any."""
        with self._db() as session:
            mailbox = session.scalars(
                select(Mailbox).where(Mailbox.team_id == team_id, Mailbox.owner_user_id == user_id)
            ).first()
            return _status(mailbox) if mailbox else None

    def access_token(self, mailbox_id: int) -> str:
        """A valid Graph access token for the mailbox, refreshed through MSAL if needed.

        The row is locked while refreshing, so web and worker processes never write
        over each other's refreshed cache. A revoked grant marks the mailbox
        ``needs_reconnect``, forgets the account and DMs the owner.
        """
        with self._tokens_lock:
            held = self._tokens.get(mailbox_id)
        if held and held[1] > time.monotonic():
            return held[0]
        now = self._clock.now()
        with transaction(self._db) as session:
            mailbox = session.scalars(
                select(Mailbox).where(Mailbox.id == mailbox_id).with_for_update()
            ).first()
            if mailbox is None:
                raise NoMailbox()
            if mailbox.state == NEEDS_RECONNECT:
                raise MailboxNeedsReconnect()
            cache = msal.SerializableTokenCache()
            cache.deserialize(self._cipher.decrypt(mailbox.token_cache_enc))
            try:
                result = self._login.silent(cache, mailbox.ms_home_account_id)
            except requests.RequestException as exc:
                raise TokenUnavailable() from exc
            if cache.has_state_changed:
                mailbox.token_cache_enc = self._cipher.encrypt(cache.serialize())
                mailbox.updated_at = now
            if result.needs_reconnect:
                mailbox.state = NEEDS_RECONNECT
                mailbox.last_error = result.description or result.error
                audit.record(
                    session,
                    now,
                    mailbox.team_id,
                    "mailbox.needs_reconnect",
                    mailbox_id=mailbox.id,
                    error=result.error,
                )
            owner = (mailbox.team_id, mailbox.owner_user_id, mailbox.email)
        if result.access_token:
            if result.expires_in > TOKEN_MARGIN:
                with self._tokens_lock:
                    self._tokens[mailbox_id] = (
                        result.access_token,
                        time.monotonic() + result.expires_in - TOKEN_MARGIN,
                    )
            return result.access_token
        if result.needs_reconnect:
            self._notifier.notify_user(
                owner[0], owner[1], NeedsReconnectNotice(owner[2], result.description)
            )
            raise MailboxNeedsReconnect()
        raise TokenUnavailable()

    def forget_token(self, mailbox_id: int) -> None:
        """Drop the held access token (disconnect; Graph refused it)."""
        with self._tokens_lock:
            self._tokens.pop(mailbox_id, None)

    def graph_for(self, mailbox_id: int) -> GraphClient:
        """A Graph client acting as the mailbox, fetching tokens as it goes."""
        return self._graph(
            lambda: self.access_token(mailbox_id),
            mailbox_id,
            lambda: self.forget_token(mailbox_id),
        )

    # -- disconnect and wipe -----------------------------------------------------------
    def disconnect(self, team_id: str, user_id: str) -> DisconnectReport:
        """Delete the user's token cache and every stored datum of their mailbox."""
        now = self._clock.now()
        with transaction(self._db) as session:
            mailbox = session.scalars(
                select(Mailbox).where(Mailbox.team_id == team_id, Mailbox.owner_user_id == user_id)
            ).first()
            if mailbox is None:
                raise NoMailbox()
            flows = session.scalar(
                select(func.count())
                .select_from(OutlookAuthFlow)
                .where(OutlookAuthFlow.team_id == team_id, OutlookAuthFlow.user_id == user_id)
            )
            session.execute(
                delete(OutlookAuthFlow).where(
                    OutlookAuthFlow.team_id == team_id, OutlookAuthFlow.user_id == user_id
                )
            )
            campaigns = session.scalar(
                select(func.count()).select_from(Campaign).where(Campaign.mailbox_id == mailbox.id)
            )
            messages = session.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.mailbox_id == mailbox.id)
            )
            self.forget_token(mailbox.id)
            report = DisconnectReport(
                mailbox.email,
                pending_sign_ins=int(flows or 0),
                campaigns=int(campaigns or 0),
                messages=int(messages or 0),
            )
            # Campaigns, their enrollments and every outbox message of the mailbox go with it
            # (ON DELETE CASCADE); shortlists stay, they belong to the workspace.
            session.delete(mailbox)
            audit.record(session, now, team_id, "mailbox.disconnected", actor=user_id)
        return report

    def wipe_workspace(self, team_id: str) -> int:
        """Delete everything a workspace had here: mailboxes, campaigns, shortlists,
        suppressions, pending sign-ins, audit entries and the installation.

        Returns the number of mailboxes deleted.
        """
        with transaction(self._db) as session:
            count = (
                session.scalar(
                    select(func.count()).select_from(Mailbox).where(Mailbox.team_id == team_id)
                )
                or 0
            )
            session.execute(delete(Mailbox).where(Mailbox.team_id == team_id))
            session.execute(delete(Campaign).where(Campaign.team_id == team_id))
            session.execute(delete(Shortlist).where(Shortlist.team_id == team_id))
            session.execute(delete(Suppression).where(Suppression.team_id == team_id))
            session.execute(delete(OutlookAuthFlow).where(OutlookAuthFlow.team_id == team_id))
            session.execute(delete(AuditEntry).where(AuditEntry.team_id == team_id))
            session.execute(delete(Workspace).where(Workspace.team_id == team_id))
        return int(count)


def _status(mailbox: Mailbox) -> MailboxStatus:
    return MailboxStatus(
        id=mailbox.id,
        email=mailbox.email,
        sender_name=mailbox.sender_name,
        state=mailbox.state,
        connected_at=mailbox.connected_at,
        last_error=mailbox.last_error,
    )


def _first_line(text: str | None) -> str | None:
    return text.splitlines()[0][:300] if text else None
