"""Sign-in with the Microsoft identity platform through MSAL (delegated, auth-code + PKCE).

MSAL does the protocol: PKCE, state and nonce checks, the token cache and refresh. This
module only builds the MSAL app for one mailbox's cache and names the outcomes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import msal
import requests

#: Errors after which only the user can restore access (revoked grant, MFA, consent).
RECONNECT_ERRORS = frozenset({"invalid_grant", "interaction_required", "consent_required"})

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


class MicrosoftLogin:
    """Builds MSAL confidential clients sharing one HTTP session and discovery cache."""

    def __init__(self, app: MicrosoftApp) -> None:
        self.app = app
        self._session = _PinnedSession(app.verify)
        # MSAL keeps OIDC discovery and its 400/429 throttling memory here.
        self._http_cache: dict[str, Any] = {}
        host = urlparse(app.authority).hostname or ""
        self._instance_discovery = None if host in _MICROSOFT_HOSTS else False

    def client(self, cache: msal.SerializableTokenCache | None = None) -> Any:
        """An MSAL app bound to ``cache`` (one cache per mailbox)."""
        return msal.ConfidentialClientApplication(
            self.app.client_id,
            client_credential=self.app.client_secret,
            authority=self.app.authority,
            token_cache=cache,
            http_client=self._session,
            http_cache=self._http_cache,
            instance_discovery=self._instance_discovery,
            timeout=30,
        )

    def start(self, state: str, login_hint: str) -> dict[str, Any]:
        """A new auth-code flow; keep the whole dict server-side (it holds the PKCE verifier)."""
        flow: dict[str, Any] = self.client().initiate_auth_code_flow(
            list(self.app.scopes),
            redirect_uri=self.app.redirect_uri,
            state=state,
            login_hint=login_hint,
            prompt="select_account",
            response_mode="form_post",
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

    def silent(self, cache: msal.SerializableTokenCache, home_account_id: str) -> SilentResult:
        """A valid access token from ``cache``, refreshing it when it is about to expire."""
        client = self.client(cache)
        account = next(
            (a for a in client.get_accounts() if a.get("home_account_id") == home_account_id),
            None,
        )
        if account is None:
            return SilentResult(None, "no_account", "the token cache holds no account")
        result = client.acquire_token_silent_with_error(list(self.app.scopes), account)
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
