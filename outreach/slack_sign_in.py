"""Whose mailbox a sign-in link may connect, and the Sign in with Slack step that proves it.

A sign-in link connects only the mailbox of the Slack user who asked for it: a promise the README makes.
The mailbox's primary SMTP address, or one of its ``smtp:`` proxy addresses, must be the
requester's Slack profile email (``users.info``, ``users:read.email``). Where it is not
(some companies keep other addresses in Slack), the link first goes through **Sign in with
Slack** (OpenID Connect; https://api.slack.com/authentication/sign-in-with-slack): the bot's
``/outlook/start`` sends the browser to Slack's ``/openid/connect/authorize`` with a state
and nonce of its own, and ``/slack/oidc/callback`` checks that the person Slack names
(``sub`` / ``https://slack.com/user_id`` and ``https://slack.com/team_id`` of
``openid.connect.userInfo``) is the flow's user in the flow's team before it sends the
browser on to Microsoft.

The Slack side is behind :class:`SlackSignIn`, implemented in ``bot/`` with ``slack_sdk``.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import delete, select, update

from bot.clock import Clock
from bot.db import SessionFactory, transaction
from bot.models import OutlookAuthFlow
from outreach.errors import (
    NotYourSlackAccount,
    SignInLinkExpired,
    SignInLinkUnknown,
    SlackSignInCancelled,
    SlackSignInFailed,
)


# -- the Slack side -------------------------------------------------------------------------
@dataclass(frozen=True)
class SlackIdentity:
    """Who Sign in with Slack says the browser is (``openid.connect.userInfo``)."""

    user_id: str  # ``sub`` / ``https://slack.com/user_id``
    team_id: str  # ``https://slack.com/team_id``
    email: str | None
    nonce: str | None  # from the id_token of ``openid.connect.token``


class SlackSignIn(Protocol):
    """Sign in with Slack (OpenID Connect), implemented in ``bot/`` with ``slack_sdk``."""

    def authorize_url(self, state: str, nonce: str, team_id: str) -> str:
        """Slack's ``/openid/connect/authorize`` URL, scopes ``openid email profile``."""
        ...

    def identify(self, code: str) -> SlackIdentity:
        """Redeem ``code`` (``openid.connect.token``) and read ``openid.connect.userInfo``.

        Raises :class:`SlackSignInFailed` naming Slack's error.
        """
        ...


def browser_hash(secret: str) -> str:
    """What is stored of a browser's sign-in cookie: its SHA-256, hex (64 characters)."""
    return hashlib.sha256(secret.encode()).hexdigest()


#: The cookie that binds the Microsoft step to the browser that passed Sign in with Slack;
#: one per pending sign-in, so two links open in one browser do not displace each other.
COOKIE_PREFIX = "scaleup_signin_"


def browser_cookie_name(state: str) -> str:
    """The name of the sign-in cookie of the pending sign-in ``state``."""
    return COOKIE_PREFIX + hashlib.sha256(state.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class SlackPassed:
    """Sign in with Slack confirmed the requester: where the browser goes next, and the
    cookie it must carry back to ``/outlook/callback``."""

    microsoft_url: str
    cookie_name: str
    cookie_value: str
    max_age: int  # seconds the pending sign-in has left


def owns_mailbox(profile_email: str | None, addresses: Iterable[str]) -> bool:
    """True when the Slack profile email is one of the mailbox's SMTP addresses (any case)."""
    if not profile_email:
        return False
    return profile_email.strip().lower() in {a.lower() for a in addresses}


class SlackStep:
    """The Sign in with Slack step of a pending Outlook sign-in (``OutlookAuthFlow``)."""

    def __init__(
        self, db: SessionFactory, signin: SlackSignIn, decrypt: _Decrypt, clock: Clock
    ) -> None:
        self._db = db
        self._signin = signin
        self._decrypt = decrypt
        self._clock = clock

    def start(self, state: str) -> str:
        """Give the pending sign-in ``state`` a fresh single-use Slack state and nonce, and
        return Slack's authorize URL. Raises SignInLinkUnknown / SignInLinkExpired."""
        now = self._clock.now()
        slack_state, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
        with transaction(self._db) as session:
            flow = session.get(OutlookAuthFlow, state) if state else None
            if flow is None:
                raise SignInLinkUnknown()
            if flow.expires_at <= now:
                raise SignInLinkExpired()
            # Opening the link again replaces an unfinished Slack step: only the newest counts.
            flow.slack_state, flow.slack_nonce = slack_state, nonce
            team_id = flow.team_id
        return self._signin.authorize_url(slack_state, nonce, team_id)

    def finish(self, params: Mapping[str, str]) -> SlackPassed:
        """Check Slack's answer; the Microsoft sign-in URL to send the browser to, and a
        fresh random cookie for that browser, of which only the hash is kept with the
        pending sign-in (:meth:`outreach.connections.MailboxConnections.complete_connect`
        requires it).

        The Slack state works once. A different Slack person (or team) deletes the pending
        sign-in and raises :class:`NotYourSlackAccount`; cancelling raises
        :class:`SlackSignInCancelled` and leaves the link usable.
        """
        slack_state = params.get("state", "")
        if not slack_state:
            raise SignInLinkUnknown()
        with transaction(self._db) as session:
            flow = session.scalars(
                select(OutlookAuthFlow).where(OutlookAuthFlow.slack_state == slack_state)
            ).first()
            if flow is None:
                raise SignInLinkUnknown()
            state, nonce = flow.state, flow.slack_nonce
            team_id, user_id, email = flow.team_id, flow.user_id, flow.email
            expired = flow.expires_at <= self._clock.now()
            session.execute(
                update(OutlookAuthFlow)
                .where(OutlookAuthFlow.state == state)
                .values(slack_state=None, slack_nonce=None)
            )
        if expired:
            raise SignInLinkExpired()
        if params.get("error"):
            if params["error"] == "access_denied":
                raise SlackSignInCancelled()
            raise SlackSignInFailed(params["error"])
        who = self._signin.identify(params.get("code", ""))
        if who.nonce != nonce:
            raise SlackSignInFailed("the answer was not for this sign-in")
        if (who.team_id, who.user_id) != (team_id, user_id):
            with transaction(self._db) as session:
                session.execute(delete(OutlookAuthFlow).where(OutlookAuthFlow.state == state))
            raise NotYourSlackAccount(email)
        secret = secrets.token_urlsafe(32)
        now = self._clock.now()
        with transaction(self._db) as session:
            flow = session.get(OutlookAuthFlow, state)
            if flow is None:  # used or swept meanwhile
                raise SignInLinkUnknown()
            flow.slack_verified_at = now
            flow.browser_hash = browser_hash(secret)
            flow_enc, expires_at = flow.flow_enc, flow.expires_at
        url = str(json.loads(self._decrypt(flow_enc))["auth_uri"])
        left = max(1, int((expires_at - now).total_seconds()))
        return SlackPassed(url, browser_cookie_name(state), secret, left)


class _Decrypt(Protocol):
    def __call__(self, token: str) -> str: ...
