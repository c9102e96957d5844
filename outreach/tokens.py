"""A connected mailbox's Microsoft tokens: the encrypted MSAL cache, the access tokens this
process holds, and Graph clients that act as the mailbox with them.

The MSAL token cache is stored encrypted on the mailbox row
(:class:`outreach.connections.MailboxConnections` writes it at sign-in); it reads time
from the injected clock (:class:`outreach.microsoft.TokenCache`).
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import requests
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.clock import Clock
from bot.db import SessionFactory, transaction
from bot.models import Mailbox
from outreach import audit
from outreach.errors import MailboxNeedsReconnect, NoMailbox, TokenUnavailable
from outreach.graph import GraphClient
from outreach.graph_clients import GraphClients
from outreach.mailboxes import NEEDS_RECONNECT, Cipher
from outreach.microsoft import MicrosoftLogin, TokenCache, refusal
from outreach.notify import MailboxNeedsReconnect as NeedsReconnectNotice
from outreach.notify import Notifier

#: Hand out a held access token only while it has this many seconds left.
TOKEN_MARGIN = 300


class MailboxTokens:
    """Access tokens for connected mailboxes, and Graph clients that use them."""

    def __init__(
        self,
        db: SessionFactory,
        login: MicrosoftLogin,
        graph: GraphClients,
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
        # decrypt and lock the token cache each time: mailbox id → (token, good until on
        # the clock). Mailboxes whose token Graph refused get a forced refresh next.
        self._tokens: dict[int, tuple[str, datetime]] = {}
        self._refused: set[int] = set()
        self._tokens_lock = threading.Lock()

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
            # Only the refresh that flips the state tells the owner. On SQLite FOR UPDATE
            # locks nothing, and a web request, the dispatcher and the reply sync may all
            # refresh at once: each would otherwise DM the same Reconnect button.
            flipped = result.needs_reconnect and _mark_needs_reconnect(
                session, mailbox_id, result.description or result.error
            )
            if flipped:
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
        if result.needs_reconnect and not flipped:
            raise MailboxNeedsReconnect()  # another request flipped it and told the owner
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
        return self._graph.for_mailbox(
            mailbox_id,
            lambda: self.access_token(mailbox_id),
            lambda: self.token_refused(mailbox_id),
        )


def _mark_needs_reconnect(session: Session, mailbox_id: int, error: str | None) -> bool:
    """Set the mailbox ``needs_reconnect`` unless it already is; True if this call did."""
    flipped = session.execute(
        update(Mailbox)
        .where(Mailbox.id == mailbox_id, Mailbox.state != NEEDS_RECONNECT)
        .values(state=NEEDS_RECONNECT, last_error=error)
        .execution_options(synchronize_session=False)
    )
    return bool(flipped.rowcount)  # type: ignore[attr-defined]
