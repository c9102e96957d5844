"""Connecting, using and disconnecting a recruiter's Outlook mailbox.

``connect`` is two halves: :meth:`Mailboxes.begin_connect` (from Slack) returns the
sign-in URL; :meth:`Mailboxes.complete_connect` (from the browser callback) redeems the
code, checks the mailbox is the requester's own (``outreach/signin.py``) and stores the
MSAL token cache encrypted. Nothing here deletes a mailbox except :meth:`Mailboxes.disconnect`,
which the user confirms after seeing what goes.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol
from urllib.parse import urlencode

import requests
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

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
from outreach.microsoft import MicrosoftLogin, TokenCache, refusal
from outreach.notify import MailboxConnected, MailboxConnectedByOther, Notifier, SlackDirectory
from outreach.notify import MailboxNeedsReconnect as NeedsReconnectNotice
from outreach.signin import (
    AnotherMailboxConnected,
    NotYourMailbox,
    NotYourMailboxButton,
    SlackSignInUnavailable,
    StaleMailboxButton,
    owns_mailbox,
)

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


@dataclass(frozen=True)
class SignInLink:
    """Where a sign-in starts: Microsoft's page, or Sign in with Slack first."""

    url: str
    slack_first: bool


@dataclass(frozen=True)
class RemovalPreview:
    """What disconnecting a mailbox would delete, for the confirmation that names it."""

    mailbox_id: int
    email: str
    campaigns: list[tuple[str, str]]  # (name, state), by name
    messages: int  # stored outgoing messages (the outbox) of the mailbox


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
        self._graph = graph
        self._cipher = cipher
        self._notifier = notifier
        self._clock = clock
        # Access tokens this process already holds, so a burst of Graph calls does not
        # decrypt and lock the token cache each time: mailbox id → (token, good until on
        # the clock). Mailboxes whose token Graph refused get a forced refresh next.
        self._tokens: dict[int, tuple[str, datetime]] = {}
        self._refused: set[int] = set()
        self._tokens_lock = threading.Lock()

    # -- connect -----------------------------------------------------------------------
    def begin_connect(
        self, team_id: str, user_id: str, email: str, sender_name: str
    ) -> SignInLink:
        """Record a single-use sign-in for this user and return the URL to open.

        That is Microsoft's sign-in URL when ``email`` is the user's Slack profile email,
        else the bot's ``/outlook/start`` (Sign in with Slack first). Raises MailboxTaken,
        AnotherMailboxConnected (the user must confirm replacing it first) or
        SlackSignInUnavailable (another address, and Sign in with Slack is not configured).
        """
        address = normalize_email(email)
        profile = self._directory.email_of(team_id, user_id) if self._directory else None
        needs_slack = not owns_mailbox(profile, [address])
        now = self._clock.now()
        with transaction(self._db) as session:
            owner = session.scalars(select(Mailbox).where(Mailbox.email == address)).first()
            if owner and (owner.team_id, owner.owner_user_id) != (team_id, user_id):
                raise MailboxTaken(address)
            mine = self._owned(session, team_id, user_id)
            if mine is not None and mine.email != address:
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
                )
            )
        if needs_slack:
            return SignInLink(f"{self._slack_start_url}?{urlencode({'state': state})}", True)
        return SignInLink(str(flow["auth_uri"]), False)

    def complete_connect(self, auth_response: Mapping[str, str]) -> MailboxStatus:
        """Finish a sign-in from Microsoft's redirect; raise a ConnectError saying why not."""
        pending = self._consume_flow(auth_response.get("state", ""))
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
        graph = self._graph(lambda: token, None, None)
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
            self._notifier.notify_user(
                pending.team_id,
                holder,
                MailboxConnectedByOther(status.email, status.id, pending.user_id),
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
            mine = self._owned(session, pending.team_id, pending.user_id)
            if mine is not None and mine.email != pending.email:
                # Never delete here: replacing a mailbox is confirmed in Slack first.
                raise AnotherMailboxConnected(mine.id, mine.email, pending.email)
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
            mailbox = self._owned(session, team_id, user_id)
            return _status(mailbox) if mailbox else None

    def access_token(self, mailbox_id: int) -> str:
        """A valid Graph access token for the mailbox, refreshed through MSAL if needed.

        The row is locked while refreshing, so web and worker processes never write
        over each other's refreshed cache. A token is held in memory until ``TOKEN_MARGIN``
        seconds before it expires on the clock; after Graph refused one
        (:meth:`token_refused`) the refresh token is redeemed even if MSAL's cache still
        thinks the access token good. A grant Microsoft no longer honours (revoked,
        admin consent, MFA, a disabled account) marks the mailbox ``needs_reconnect``,
        forgets the account and DMs the owner the sentence of :func:`refusal`.
        """
        now = self._clock.now()
        with self._tokens_lock:
            held = self._tokens.get(mailbox_id)
            force = mailbox_id in self._refused
        if held and held[1] > now:
            return held[0]
        with transaction(self._db) as session:
            mailbox = session.scalars(
                select(Mailbox).where(Mailbox.id == mailbox_id).with_for_update()
            ).first()
            if mailbox is None:
                raise NoMailbox()
            if mailbox.state == NEEDS_RECONNECT:
                raise MailboxNeedsReconnect()
            cache = TokenCache(self._clock)
            cache.deserialize(self._cipher.decrypt(mailbox.token_cache_enc))
            try:
                result = self._login.silent(cache, mailbox.ms_home_account_id, force_refresh=force)
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
            with self._tokens_lock:
                self._refused.discard(mailbox_id)
                if result.expires_in > TOKEN_MARGIN:
                    good_until = now + timedelta(seconds=result.expires_in - TOKEN_MARGIN)
                    self._tokens[mailbox_id] = (result.access_token, good_until)
            return result.access_token
        if result.needs_reconnect:
            reason = refusal(result.error, result.description)
            self._notifier.notify_user(
                owner[0],
                owner[1],
                NeedsReconnectNotice(
                    owner[2],
                    None if reason else result.description,
                    reason.message if reason else None,
                ),
            )
            raise MailboxNeedsReconnect()
        raise TokenUnavailable()

    def forget_token(self, mailbox_id: int) -> None:
        """Drop the held access token (disconnect, reconnect)."""
        with self._tokens_lock:
            self._tokens.pop(mailbox_id, None)
            self._refused.discard(mailbox_id)

    def token_refused(self, mailbox_id: int) -> None:
        """Graph answered 401 to the mailbox's token: drop it and force a refresh next.

        Graph refuses a token its clock calls expired, or one revoked early (continuous
        access evaluation), while MSAL's cache may still hold it as good.
        """
        with self._tokens_lock:
            self._tokens.pop(mailbox_id, None)
            self._refused.add(mailbox_id)

    def graph_for(self, mailbox_id: int) -> GraphClient:
        """A Graph client acting as the mailbox, fetching tokens as it goes; a request
        Graph answers 401 is retried once with a freshly refreshed token."""
        return self._graph(
            lambda: self.access_token(mailbox_id),
            mailbox_id,
            lambda: self.token_refused(mailbox_id),
        )

    # -- disconnect and wipe -----------------------------------------------------------
    def removal_preview(
        self, team_id: str, user_id: str, mailbox_id: int | None = None, email: str | None = None
    ) -> RemovalPreview:
        """What :meth:`disconnect` would delete, after the same checks of who asks.

        Without ``mailbox_id``: the user's own mailbox (NoMailbox if none).
        """
        with self._db() as session:
            mailbox = self._removable(session, team_id, user_id, mailbox_id, email)
            campaigns = session.execute(
                select(Campaign.name, Campaign.state)
                .where(Campaign.mailbox_id == mailbox.id)
                .order_by(Campaign.name)
            ).all()
            messages = session.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.mailbox_id == mailbox.id)
            )
            return RemovalPreview(
                mailbox.id, mailbox.email, [(n, st) for n, st in campaigns], int(messages or 0)
            )

    def disconnect(
        self, team_id: str, user_id: str, mailbox_id: int | None = None, email: str | None = None
    ) -> DisconnectReport:
        """Delete a mailbox's token cache and every stored datum of it.

        ``mailbox_id`` (and ``email``, the address the button showed) name the mailbox; the
        user must have connected it, or be the member whose Slack profile email it is.
        Without ``mailbox_id``: the user's own mailbox. Raises NoMailbox,
        StaleMailboxButton (gone, or now another address) or NotYourMailboxButton.
        """
        now = self._clock.now()
        with transaction(self._db) as session:
            mailbox = self._removable(session, team_id, user_id, mailbox_id, email)
            owner = mailbox.owner_user_id
            flows = session.scalar(
                select(func.count())
                .select_from(OutlookAuthFlow)
                .where(OutlookAuthFlow.team_id == team_id, OutlookAuthFlow.user_id == owner)
            )
            session.execute(
                delete(OutlookAuthFlow).where(
                    OutlookAuthFlow.team_id == team_id, OutlookAuthFlow.user_id == owner
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

    @staticmethod
    def _owned(session: Session, team_id: str, user_id: str) -> Mailbox | None:
        return session.scalars(
            select(Mailbox).where(Mailbox.team_id == team_id, Mailbox.owner_user_id == user_id)
        ).first()

    def _removable(
        self,
        session: Session,
        team_id: str,
        user_id: str,
        mailbox_id: int | None,
        email: str | None,
    ) -> Mailbox:
        """The mailbox a disconnect names, checked against who asks."""
        if mailbox_id is None:
            mine = self._owned(session, team_id, user_id)
            if mine is None:
                raise NoMailbox()
            return mine
        mailbox = session.get(Mailbox, mailbox_id)
        if mailbox is None or mailbox.team_id != team_id or email not in (None, mailbox.email):
            raise StaleMailboxButton(email or "this mailbox")
        if mailbox.owner_user_id == user_id:
            return mailbox
        # The member whose Slack profile email is the address owns it in truth.
        profile = self._directory.email_of(team_id, user_id) if self._directory else None
        if owns_mailbox(profile, [mailbox.email]):
            return mailbox
        raise NotYourMailboxButton(mailbox.email)

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
