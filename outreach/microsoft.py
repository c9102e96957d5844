"""Sign-in with the Microsoft identity platform through MSAL (delegated, auth-code + PKCE).

MSAL does the protocol: PKCE, state and nonce checks, instance and tenant discovery, the
token cache and refresh. This module builds the MSAL app for one mailbox's cache, makes
that cache judge token lifetimes on the injected :class:`~bot.clock.Clock`
(:class:`TokenCache`), and names the outcomes, including which refusal the user can act on
(:func:`refusal`).
"""

from __future__ import annotations

import json
import re
import time
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import msal
import requests

from bot.clock import Clock
from outreach.errors import (
    AccountDisabled,
    AdminApprovalRequired,
    ConnectError,
    ConsentCancelled,
    ConsentMissing,
    MfaRequired,
    MfaSetupRequired,
)

#: Errors after which only the user can restore access (revoked grant, MFA, consent).
RECONNECT_ERRORS = frozenset({"invalid_grant", "interaction_required", "consent_required"})

#: AADSTS codes a user (or their admin) can act on, and the sentence telling them how.
#: https://learn.microsoft.com/entra/identity-platform/reference-error-codes
_REFUSALS: dict[int, Callable[[], ConnectError]] = {
    50057: AccountDisabled,  # UserDisabled
    50076: MfaRequired,  # UserStrongAuthClientAuthNRequired
    50079: MfaSetupRequired,  # UserStrongAuthEnrollmentRequired
    65001: ConsentMissing,  # DelegationDoesNotExist
    65004: ConsentCancelled,  # UserDeclinedConsent
    90093: AdminApprovalRequired,  # GraphUserUnauthorized: the user may not grant these
    90094: AdminApprovalRequired,  # AdminConsentRequired
}
_AADSTS = re.compile(r"AADSTS(\d+)")

_MICROSOFT_HOSTS = (
    "login.microsoftonline.com",
    "login.microsoftonline.us",
    "login.partner.microsoftonline.cn",
    "login.windows.net",
)


@dataclass(frozen=True)
class MicrosoftApp:
    """The Entra app registration the bot signs users in with."""

    client_id: str
    client_secret: str
    authority: str
    redirect_uri: str
    scopes: Sequence[str]
    #: ``True``, or the path of a CA bundle (the sandbox's self-signed authority).
    verify: bool | str = True


@dataclass(frozen=True)
class SilentResult:
    """What a silent token acquisition gave: a token, or why not."""

    access_token: str | None
    error: str | None = None
    description: str | None = None
    expires_in: float = 0.0

    @property
    def needs_reconnect(self) -> bool:
        return self.error in RECONNECT_ERRORS or self.error == "no_account"


def refusal(error: str | None, description: str | None) -> ConnectError | None:
    """What the user can do about Microsoft refusing a sign-in or a refresh, or None.

    ``error``/``description`` are the OAuth ``error`` and ``error_description`` (from the
    authorize redirect or the token endpoint). The AADSTS code decides, since Entra names
    one condition with different OAuth errors at the two endpoints; without a known code,
    ``consent_required`` and ``interaction_required`` still say enough.
    """
    found = _AADSTS.search(description or "")
    make = _REFUSALS.get(int(found.group(1))) if found else None
    if make is not None:
        return make()
    if error == "consent_required":
        return AdminApprovalRequired()
    if error == "interaction_required":
        return MfaRequired()
    return None


class TokenCache(msal.SerializableTokenCache):  # type: ignore[misc]  # msal is untyped
    """MSAL's serializable token cache, judging access-token lifetimes on ``clock``.

    MSAL stamps a token's ``expires_on`` with ``time.time()`` when it caches it and compares
    it with ``time.time()`` before handing it out (msal 1.39: ``TokenCache.add``,
    ``ClientApplication._acquire_token_silent_from_cache_and_possibly_refresh_it``). Here
    ``add`` stamps with the clock, and ``search`` hands MSAL each access token with its
    times moved into MSAL's frame, so "expired" means expired on the clock the rest of
    the bot (and, in tests, the sandbox) reads. With the system clock nothing moves.
    """

    def __init__(self, clock: Clock) -> None:
        super().__init__()
        self._clock = clock

    def add(self, event: dict[str, Any], now: float | None = None) -> Any:
        return super().add(event, now=self._now() if now is None else now)

    def search(
        self,
        credential_type: str,
        target: Any = None,
        query: Any = None,
        *,
        now: float | None = None,
    ) -> Iterator[dict[str, Any]]:
        clock_now = self._now()
        # The one other reading of the wall clock: MSAL's own frame, to translate into.
        skew = int(time.time() - clock_now)
        found = super().search(
            credential_type, target=target, query=query, now=clock_now if now is None else now
        )
        for entry in found:
            if skew and credential_type == self.CredentialType.ACCESS_TOKEN:
                entry = dict(entry)  # a copy: the stored entry stays on the clock
                for key in ("expires_on", "refresh_on"):
                    if key in entry:
                        entry[key] = str(int(entry[key]) + skew)
            yield entry

    def _now(self) -> int:
        return int(self._clock.now().timestamp())


class _PinnedSession(requests.Session):
    """A session that passes ``verify`` on every request.

    ``requests`` lets ``REQUESTS_CA_BUNDLE`` override a session's own ``verify``
    (psf/requests#3829); a per-request value wins, so the CA we were given is the one used.
    """

    def __init__(self, verify: bool | str) -> None:
        super().__init__()
        self._pinned_verify = verify

    def request(
        self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any
    ) -> requests.Response:
        kwargs.setdefault("verify", self._pinned_verify)
        return super().request(method, url, *args, **kwargs)


class _Client(msal.ConfidentialClientApplication):  # type: ignore[misc]  # msal is untyped
    """MSAL's confidential client, asking ``discovery_url`` for an authority's aliases.

    MSAL validates an authority on a host it does not know at the instance discovery URL
    it is given, but looks the host's aliases up at login.microsoftonline.com regardless
    (msal 1.39 ``_get_instance_metadata``, which its source keeps as a seam "so it can be
    mocked"). A non-Microsoft authority (the sandbox) answers both itself, as Entra does.
    """

    discovery_url: str | None = None

    def _get_instance_metadata(self, instance: str) -> Any:
        if self.discovery_url is None:
            return super()._get_instance_metadata(instance)
        authorize = f"https://{instance}/common/oauth2/authorize"
        response = self.http_client.get(
            self.discovery_url,
            params={"api-version": "1.1", "authorization_endpoint": authorize},
            headers={"Accept": "application/json"},
        )
        response.raise_for_status()
        return json.loads(response.text)["metadata"]  # as MSAL reads it (its own wrapper)


class MicrosoftLogin:
    """Builds MSAL confidential clients sharing one HTTP session and discovery cache.

    The authority may be a tenant (``https://login.microsoftonline.com/<tenant id>``) or the
    multi-tenant production form (``…/organizations``, ``…/common``). On Microsoft's hosts
    MSAL's own instance discovery runs; any other host (the sandbox) is validated at its own
    ``/common/discovery/instance``, as Entra's is.
    """

    def __init__(self, app: MicrosoftApp) -> None:
        self.app = app
        self._session = _PinnedSession(app.verify)
        # MSAL keeps OIDC discovery and its 400/429 throttling memory here.
        self._http_cache: dict[str, Any] = {}
        host = urlparse(app.authority).netloc
        self._discovery_url = (
            None
            if urlparse(app.authority).hostname in _MICROSOFT_HOSTS
            else f"https://{host}/common/discovery/instance"
        )

    def client(self, cache: msal.SerializableTokenCache | None = None) -> Any:
        """An MSAL app bound to ``cache`` (one cache per mailbox)."""
        client = _Client(
            self.app.client_id,
            client_credential=self.app.client_secret,
            authority=self.app.authority,
            token_cache=cache,
            http_client=self._session,
            http_cache=self._http_cache,
            instance_discovery=self._discovery_url,
            timeout=30,
        )
        client.discovery_url = self._discovery_url
        return client

    def start(self, state: str, login_hint: str) -> dict[str, Any]:
        """A new auth-code flow; keep the whole dict server-side (it holds the PKCE verifier)."""
        # query, not form_post: Microsoft's answer must be a top-level GET so that the
        # SameSite=Lax cookie binding it to the browser that passed Sign in with Slack
        # comes along (a cross-site POST carries no Lax cookie). MSAL warns about query
        # (RFC 9700 4.3: a code in the URL may leak through history or Referer); here the
        # code is single use and bound to the PKCE verifier and the client secret, and the
        # callback page is sent with Referrer-Policy: no-referrer and Cache-Control: no-store.
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="response_mode='form_post'")
            flow: dict[str, Any] = self.client().initiate_auth_code_flow(
                list(self.app.scopes),
                redirect_uri=self.app.redirect_uri,
                state=state,
                login_hint=login_hint,
                prompt="select_account",
                response_mode="query",
            )
        return flow

    def redeem(
        self,
        flow: dict[str, Any],
        auth_response: Mapping[str, str],
        cache: msal.SerializableTokenCache,
    ) -> dict[str, Any]:
        """Exchange the code; MSAL checks state and nonce and fills ``cache``."""
        result: dict[str, Any] = self.client(cache).acquire_token_by_auth_code_flow(
            flow, dict(auth_response)
        )
        return result

    def silent(
        self,
        cache: msal.SerializableTokenCache,
        home_account_id: str,
        *,
        force_refresh: bool = False,
    ) -> SilentResult:
        """A valid access token from ``cache``, refreshing it when it is about to expire.

        ``force_refresh`` redeems the refresh token even though the cached access token
        looks valid (Graph refused it: revoked, or the clocks disagree).
        """
        client = self.client(cache)
        account = next(
            (a for a in client.get_accounts() if a.get("home_account_id") == home_account_id),
            None,
        )
        if account is None:
            return SilentResult(None, "no_account", "the token cache holds no account")
        result = client.acquire_token_silent_with_error(
            list(self.app.scopes), account, force_refresh=force_refresh
        )
        if result and "access_token" in result:
            return SilentResult(
                result["access_token"], expires_in=float(result.get("expires_in", 0))
            )
        if result is None:
            return SilentResult(None, "no_account", "no refresh token for this account")
        error = str(result.get("error") or "unknown_error")
        if error in RECONNECT_ERRORS:
            client.remove_account(account)  # MSAL keeps a rejected refresh token otherwise
        return SilentResult(None, error, _short(result.get("error_description")))


def _short(description: Any) -> str | None:
    """The first line of an AADSTS description (the rest is trace ids)."""
    if not description:
        return None
    return str(description).splitlines()[0][:300]
