"""Connecting, using and disconnecting a recruiter's Outlook mailbox.

``connect`` is two halves: :meth:`Mailboxes.begin_connect` (from Slack) returns the
sign-in URL; :meth:`Mailboxes.complete_connect` (from the browser callback) redeems the
code, checks the mailbox is the requester's own (``outreach/signin.py``) and stores the
MSAL token cache encrypted. Nothing here deletes a mailbox except :meth:`Mailboxes.disconnect`,
which the user confirms after seeing what goes.
"""

from __future__ import annotations

import hmac
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
    OutlookAuthFlow,
    Shortlist,
    Suppression,
    Workspace,
)
from outreach import audit
from outreach.addresses import normalize_email
from outreach.errors import (
    AliasNotSupported,
    AlreadyYourMailbox,
    AnotherMailboxConnected,
    ConsentCancelled,
    GraphError,
    MailboxNeedsReconnect,
    MailboxTaken,
    NoMailbox,
    NotYourBrowser,
    NotYourMailbox,
    NotYourMailboxButton,
    OutreachError,
    RemovalChanged,
    ReplacedMailboxChanged,
    SignInFailed,
    SignInLinkExpired,
    SignInLinkUnknown,
    SlackSignInUnavailable,
    StaleMailboxButton,
    TokenUnavailable,
    WrongMailbox,
)
from outreach.graph import GraphClient, TokenSource, all_addresses, primary_smtp_address
from outreach.keys import MailboxKey
from outreach.microsoft import MicrosoftLogin, TokenCache, refusal
from outreach.notify import MailboxConnected, MailboxConnectedByOther, Notifier, SlackDirectory
from outreach.notify import MailboxNeedsReconnect as NeedsReconnectNotice
from outreach.removal import RemovalPreview as RemovalPreview  # builders import it from here
from outreach.removal import preview_of, tell_connector, tell_other_creators
from outreach.signin import browser_hash, owns_mailbox

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
    replies: int = 0


@dataclass(frozen=True)
class SignInLink:
    """Where a sign-in starts: Microsoft's page, or Sign in with Slack first."""

    url: str
    slack_first: bool


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
        (:meth:`complete_connect`). Raises StaleMailboxButton / NotYourMailboxButton when
        the key no longer names the user's mailbox, RemovalChanged when what it deletes
        is no longer what the confirmation named.
        """
        address = normalize_email(email)
        with self._db() as session:
            current = self._owned(session, team_id, user_id)
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
                old = self._keyed(
                    session, team_id, user_id, replaces, replaces_email, owner_only=True
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
            mine = self._owned(session, team_id, user_id)
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
            me = self.graph_for(mailbox_id).me()
        except (OutreachError, requests.RequestException) as exc:
            log.info("could not read the connected mailbox's addresses: %s", type(exc).__name__)
            return
        if requested in {a.lower() for a in all_addresses(me)}:
            raise AlreadyYourMailbox(requested, connected)

    def complete_connect(
        self, auth_response: Mapping[str, str], browser_secret: str | None = None
    ) -> MailboxStatus:
        """Finish a sign-in from Microsoft's redirect; raise a ConnectError saying why not.

        ``browser_secret`` is the cookie the Sign in with Slack step gave the browser
        (:meth:`outreach.signin.SlackStep.finish`). A sign-in that went through that step
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
            mine = self._owned(session, pending.team_id, pending.user_id)
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
        self.forget_token(mine.id)
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
                    reason.sentence if reason else None,
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
        self, team_id: str, user_id: str, key: MailboxKey | None = None, email: str | None = None
    ) -> RemovalPreview:
        """What :meth:`disconnect` would delete, after the same checks of who asks.

        Without ``key``: the user's own mailbox (NoMailbox if none). ``email`` is the
        address the button showed, for the stale-button sentence.
        """
        with self._db() as session:
            return preview_of(session, self._keyed(session, team_id, user_id, key, email))

    def disconnect(
        self,
        team_id: str,
        user_id: str,
        key: MailboxKey | None = None,
        email: str | None = None,
        named: str | None = None,
    ) -> DisconnectReport:
        """Delete a mailbox's token cache and every stored datum of it.

        ``key`` (and ``email``, the address the button showed) name the mailbox; the user
        must have connected it, or be the member whose Slack profile email it is. Without
        ``key``: the user's own mailbox. ``named`` is the fingerprint of what the
        confirmation named (:attr:`RemovalPreview.named`); when what goes now differs,
        nothing is deleted and RemovalChanged carries what goes now. Campaigns other
        people run from the mailbox go too; each of them is told by DM, as is each
        delegate, and the person who connected it when someone else removes it. Pending
        sign-in links go only for the mailbox's address. Raises NoMailbox,
        StaleMailboxButton (gone, or connected again since) or NotYourMailboxButton.
        """
        now = self._clock.now()
        with transaction(self._db) as session:
            mailbox = self._keyed(session, team_id, user_id, key, email)
            preview = preview_of(session, mailbox)
            if named is not None and named != preview.named:
                raise RemovalChanged(preview)
            owner = mailbox.owner_user_id
            # Only the owner's links for this address: one for another address stays.
            links = (
                OutlookAuthFlow.team_id == team_id,
                OutlookAuthFlow.user_id == owner,
                OutlookAuthFlow.email == mailbox.email,
            )
            flows = session.scalar(select(func.count()).select_from(OutlookAuthFlow).where(*links))
            session.execute(delete(OutlookAuthFlow).where(*links))
            self.forget_token(mailbox.id)
            report = DisconnectReport(
                mailbox.email,
                pending_sign_ins=int(flows or 0),
                campaigns=len(preview.campaigns),
                messages=preview.messages,
                replies=preview.replies,
            )
            tell_other_creators(session, preview, team_id, user_id, now)
            tell_connector(session, preview, team_id, owner, user_id, now)
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

    def _keyed(
        self,
        session: Session,
        team_id: str,
        user_id: str,
        key: MailboxKey | None,
        email: str | None,
        *,
        owner_only: bool = False,
    ) -> Mailbox:
        """The mailbox a button names, checked against who asks: its owner, or (unless
        ``owner_only``) the member whose Slack profile email is its address."""
        if key is None:
            mine = self._owned(session, team_id, user_id)
            if mine is None:
                raise NoMailbox()
            return mine
        mailbox = session.get(Mailbox, key.id)
        if (
            mailbox is None
            or mailbox.team_id != team_id
            or mailbox.connected_at != key.connected_at
            or email not in (None, mailbox.email)
        ):
            raise StaleMailboxButton(email or "this mailbox")
        if mailbox.owner_user_id == user_id:
            return mailbox
        # The member whose Slack profile email is the address owns it in truth.
        profile = self._directory.email_of(team_id, user_id) if self._directory else None
        if not owner_only and owns_mailbox(profile, [mailbox.email]):
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


def _same_browser(stored: str | None, secret: str | None) -> bool:
    if not stored or not secret:
        return False
    return hmac.compare_digest(stored, browser_hash(secret))


def _first_line(text: str | None) -> str | None:
    return text.splitlines()[0][:300] if text else None
