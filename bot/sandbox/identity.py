"""The sandbox Microsoft identity platform: the part of Entra ID that MSAL Python talks to.

Serves instance and OpenID discovery (``identity_discovery.py``), the authorize endpoint (a
sign-in and consent page) and the token endpoint over HTTPS on loopback, so the bot's
``ConfidentialClientApplication`` runs unchanged against it, with a tenant id or the
multi-tenant ``/organizations`` and ``/common`` authorities. Users, grants and tokens live in
the shared :class:`~bot.sandbox.directory.Directory`, so revoking a grant there breaks the
next refresh here.

Access tokens live ``Directory.access_token_lifetime`` seconds of the platform's clock, and
the sandbox Graph refuses an expired one with 401 ``InvalidAuthenticationToken``, so MSAL's
refresh with the refresh token is what keeps a long campaign going. Every token request is
kept in :attr:`IdentityPlatform.token_log`.

Errors follow Entra's shape (``identity_errors.py``, every AADSTS code listed in
:data:`~bot.sandbox.identity_errors.AADSTS`). Per-user tenant conditions (admin consent
required, MFA, a disabled account: :meth:`IdentityPlatform.set_policy`) answer at sign-in and
at refresh as Entra does. A bad client id or redirect URI gets an error page, never a
redirect, so the sandbox cannot serve as an open redirector.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import unquote_plus, urlencode

from flask import Flask, Response, jsonify, redirect, render_template_string, request
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response as BaseResponse

from bot.sandbox.directory import Directory
from bot.sandbox.identity_discovery import (
    RESERVED_SCOPES,
    instance_discovery,
    issuer,
    openid_configuration,
)
from bot.sandbox.identity_errors import (
    POLICIES,
    Fault,
    crash,
    fault_response,
    http_error,
    policy_fault,
)

CODE_LIFETIME = 600  # Entra's authorization codes live about ten minutes.
ID_TOKEN_LIFETIME = 3600
GRAPH_PREFIX = "https://graph.microsoft.com/"
UNKNOWN_USER = "We couldn't find an account with that username."

# What the consent page says for each scope, in the words Entra uses.
SCOPE_WORDS = {
    "openid": "Sign you in",
    "profile": "View your basic profile",
    "email": "View your email address",
    "offline_access": "Maintain access to data you have given it access to",
    "User.Read": "Sign you in and read your profile",
    "Mail.ReadWrite": "Read and write access to your mail",
    "Mail.Send": "Send mail as you",
    "MailboxSettings.ReadWrite": "Read and write your mailbox settings",
}

# The authorize parameters the consent form carries from its GET to its POST.
_CARRIED = (
    "client_id redirect_uri response_type response_mode scope state nonce login_hint prompt "
    "code_challenge code_challenge_method"
).split()

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{ title }}</title></head>
<body{% if autosubmit %} onload="document.forms[0].submit()"{% endif %}>
{% if app_name %}<h1>Permissions requested</h1>
<p><strong id="app-name">{{ app_name }}</strong> (<code id="client-id">{{ client_id }}</code>)
would like to:</p>
<ul id="scopes">{% for words in scopes %}<li>{{ words }}</li>{% endfor %}</ul>{% endif %}
{% if error %}<p id="error" role="alert">{{ error }}</p>{% endif %}
{% if action %}<form method="post" action="{{ action }}">
{% for name, value in fields %}<input type="hidden" name="{{ name }}" value="{{ value }}">
{% endfor %}{% if app_name %}<label>Email address
<input type="email" name="username" value="{{ username }}"></label>
<button type="submit" name="action" value="accept">Accept</button>
<button type="submit" name="action" value="cancel">Cancel</button>
{% else %}<noscript><input type="submit" value="Continue"></noscript>{% endif %}
</form>{% endif %}
</body></html>
"""


@dataclass(frozen=True)
class ClientApp:
    """An app registration: its secret and the redirect URIs it may receive codes at."""

    client_id: str
    client_secret: str
    redirect_uris: frozenset[str]
    display_name: str


@dataclass
class _AuthCode:
    client_id: str
    redirect_uri: str
    code_challenge: str
    nonce: str | None
    scopes: tuple[str, ...]
    user_id: str
    expires_at: float
    redeemed: bool = False


@dataclass(frozen=True)
class TokenRequest:
    """One call to the token endpoint, as the platform answered it (for tests to count)."""

    grant_type: str
    user_id: str | None  # None when the request was refused before a user was known
    error: str | None  # ``AADSTSnnnn`` or the OAuth error; None when tokens were issued
    at: float  # the platform's clock


@dataclass(frozen=True)
class _AuthRequest:
    """An authorize request whose client and redirect URI check out."""

    client: ClientApp
    redirect_uri: str
    response_mode: str
    scopes: tuple[str, ...]
    params: dict[str, str]  # What the consent form carries on, in hidden fields.


class IdentityPlatform:
    """The sandbox tenant's login endpoints; serve ``wsgi_app`` over HTTPS."""

    def __init__(self, directory: Directory, *, clock: Callable[[], float] = time.time) -> None:
        """``clock`` (epoch seconds) should be the one ``directory`` judges tokens by."""
        self.directory = directory
        self._clock = clock
        self._lock = threading.Lock()
        self._clients: dict[str, ClientApp] = {}
        self._codes: dict[str, _AuthCode] = {}
        self._policies: dict[str, str] = {}  # user id -> a key of POLICIES
        self._token_log: list[TokenRequest] = []
        self._paths: list[str] = []  # every path asked for, to show which documents MSAL read
        self.wsgi_app = self._build_app()

    def set_policy(self, user_id: str, policy: str | None) -> None:
        """Put one user under a tenant condition of :data:`~bot.sandbox.identity_errors.POLICIES`
        (``admin_consent``, ``mfa``, ``mfa_enrollment``, ``disabled``), or lift it (None).

        While it holds, accepting the consent page sends the app the condition's error, and a
        refresh of the user's tokens fails with it. Tokens already issued keep working until
        they expire, as in Entra ID.
        """
        if policy is not None and policy not in POLICIES:
            raise ValueError(f"unknown policy {policy!r}; one of {sorted(POLICIES)}")
        with self._lock:
            if policy is None:
                self._policies.pop(user_id, None)
            else:
                self._policies[user_id] = policy

    def token_log(self, grant_type: str | None = None) -> list[TokenRequest]:
        """The token endpoint's requests so far, oldest first (of one grant type if given)."""
        with self._lock:
            return [t for t in self._token_log if grant_type in (None, t.grant_type)]

    def paths_requested(self) -> list[str]:
        """The path of every request so far (discovery, authorize, token), oldest first."""
        with self._lock:
            return list(self._paths)

    def _note_path(self) -> None:
        with self._lock:
            self._paths.append(request.path)

    def _policy_of(self, user_id: str) -> str | None:
        with self._lock:
            return self._policies.get(user_id)

    def register_client(
        self,
        client_id: str,
        client_secret: str,
        redirect_uris: Iterable[str],
        *,
        display_name: str = "ScaleUp",
    ) -> ClientApp:
        """Register an app; codes go only to a redirect URI listed here, matched exactly."""
        client = ClientApp(client_id, client_secret, frozenset(redirect_uris), display_name)
        with self._lock:
            self._clients[client_id] = client
        return client

    def _build_app(self) -> Flask:
        app = Flask(__name__)
        app.before_request(self._note_path)
        tenant = "/<tenant>"
        app.add_url_rule("/common/discovery/instance", None, instance_discovery)
        app.add_url_rule(
            f"{tenant}/v2.0/.well-known/openid-configuration", None, openid_configuration
        )
        app.add_url_rule(f"{tenant}/discovery/v2.0/keys", None, lambda tenant: {"keys": []})
        app.add_url_rule(
            f"{tenant}/oauth2/v2.0/authorize", None, self._authorize, methods=["GET", "POST"]
        )
        app.add_url_rule(f"{tenant}/oauth2/v2.0/token", None, self._token, methods=["POST"])
        app.register_error_handler(Fault, fault_response)
        app.register_error_handler(HTTPException, http_error)
        app.register_error_handler(Exception, crash)
        return app

    # -- authorize -------------------------------------------------------------------
    def _authorize(self, tenant: str) -> BaseResponse | str | tuple[str, int]:
        params = request.form if request.method == "POST" else request.args
        try:
            auth = self._check_client(params)
        except Fault as fault:
            return _page(title="Sign in to your account", error=str(fault)), 400
        try:
            _require_pkce(params)
        except Fault as fault:  # The redirect URI is trusted now, so the app hears of it.
            return _deliver(auth, {"error": fault.error, "error_description": str(fault)})
        if request.method == "GET":
            return self._consent_page(auth, params.get("login_hint", ""))
        if params.get("action") != "accept":
            declined = Fault(65004)
            return _deliver(auth, {"error": declined.error, "error_description": str(declined)})
        username = params.get("username", "")
        user = self.directory.find_user(username)
        if user is None:
            return self._consent_page(auth, username, error=UNKNOWN_USER)
        policy = self._policy_of(user.id)
        if policy is not None:  # Entra stops here; the app hears why, nothing is granted.
            refused = policy_fault(policy, auth.client.client_id, at_sign_in=True)
            return _deliver(auth, {"error": refused.error, "error_description": str(refused)})
        client_id = auth.client.client_id
        self.directory.consent(user.id, client_id, map(_short, auth.scopes))
        code = secrets.token_urlsafe(48)
        expires_at = self._clock() + CODE_LIFETIME
        with self._lock:
            self._codes[code] = _AuthCode(
                client_id=client_id,
                redirect_uri=auth.redirect_uri,
                code_challenge=params["code_challenge"],
                nonce=params.get("nonce"),
                scopes=auth.scopes,
                user_id=user.id,
                expires_at=expires_at,
            )
        return _deliver(auth, {"code": code, "session_state": str(uuid.uuid4())})

    def _check_client(self, params: Mapping[str, str]) -> _AuthRequest:
        client_id = params.get("client_id", "")
        client = self._clients.get(client_id)
        if client is None:
            raise Fault(700016, client_id=client_id, tenant_id=self.directory.tenant_id)
        redirect_uri = params.get("redirect_uri", "")
        if redirect_uri not in client.redirect_uris:
            raise Fault(50011, redirect_uri=redirect_uri, client_id=client_id)
        response_mode = params.get("response_mode") or "query"
        if response_mode not in ("query", "form_post"):
            # Legal in Entra, but a fragment never reaches a server-side redirect URI.
            raise Fault(None, error="invalid_request", message="Use query or form_post.")
        carried = {k: params[k] for k in _CARRIED if params.get(k)}
        scopes = tuple(params.get("scope", "").split())
        return _AuthRequest(client, redirect_uri, response_mode, scopes, carried)

    def _consent_page(self, auth: _AuthRequest, username: str, error: str = "") -> str:
        return _page(
            title="Permissions requested",
            app_name=auth.client.display_name,
            client_id=auth.client.client_id,
            username=username,
            error=error,
            scopes=[SCOPE_WORDS.get(_short(s), s) for s in auth.scopes],
            action=request.path,
            fields=sorted(auth.params.items()),
        )

    # -- token -----------------------------------------------------------------------
    def _token(self, tenant: str) -> Response:
        grant_type = request.form.get("grant_type", "")
        try:
            user_id, response = self._issue(tenant, grant_type)
        except Fault as fault:
            self._log_token(grant_type, None, f"AADSTS{fault.code}" if fault.code else fault.error)
            raise
        self._log_token(grant_type, user_id, None)
        return response

    def _log_token(self, grant_type: str, user_id: str | None, error: str | None) -> None:
        with self._lock:
            self._token_log.append(TokenRequest(grant_type, user_id, error, self._clock()))

    def _issue(self, tenant: str, grant_type: str) -> tuple[str, Response]:
        client = self._authenticate_client()
        if grant_type == "authorization_code":
            user_id, scopes, nonce = self._redeem_code(client)
        elif grant_type == "refresh_token":
            user_id, scopes, nonce = self._redeem_refresh(client)
        else:
            raise Fault(70003)
        granted = self.directory.scopes_of(user_id, client.client_id) - RESERVED_SCOPES
        if not granted:  # Revoked since the code or refresh token was checked.
            raise Fault(50173)
        # Entra answers with the resource scopes asked for, all of which need consent.
        asked = [s for s in scopes if _short(s) not in RESERVED_SCOPES]
        if not {_short(s).lower() for s in asked} <= {s.lower() for s in granted}:
            raise Fault(65001, client_id=client.client_id)
        try:
            access, refresh, lifetime = self.directory.issue_tokens(user_id, client.client_id)
        except KeyError:  # Revoked a moment ago.
            raise Fault(50173) from None
        user = self.directory.user(user_id)
        tid = self.directory.tenant_id
        now = int(self._clock())
        claims = {
            "iss": issuer(tenant, tid),
            "aud": client.client_id,
            # Entra's sub is pairwise: the same user looks different to each app.
            "sub": _b64(hashlib.sha256(f"{user.id}:{client.client_id}".encode()).digest()),
            "oid": user.id,
            "tid": tid,
            "preferred_username": user.user_principal_name,
            "name": user.display_name,
            "email": user.mail,
            "ver": "2.0",
            "iat": now,
            "nbf": now,
            "exp": now + ID_TOKEN_LIFETIME,
            **({"nonce": nonce} if nonce else {}),  # MSAL compares it with its flow's nonce.
        }
        return user_id, jsonify(
            token_type="Bearer",
            scope=" ".join(asked or sorted(granted)),
            expires_in=lifetime,
            ext_expires_in=lifetime,
            access_token=access,
            refresh_token=refresh,
            # Unsigned: MSAL only decodes the payload, and nothing else reads it.
            id_token=f"{_b64_json({'alg': 'none', 'typ': 'JWT'})}.{_b64_json(claims)}.",
            # MSAL builds the account's home_account_id ("uid.utid") from this.
            client_info=_b64_json({"uid": user.id, "utid": tid}),
        )

    def _authenticate_client(self) -> ClientApp:
        client_id = request.form.get("client_id", "")
        secret = request.form.get("client_secret")
        basic = request.authorization
        if basic is not None and basic.type == "basic":
            # RFC 6749 2.3.1: Basic credentials are form-encoded before base64.
            client_id = unquote_plus(basic.username or "")
            secret = unquote_plus(basic.password or "")
        client = self._clients.get(client_id)
        if client is None:
            raise Fault(700016, client_id=client_id, tenant_id=self.directory.tenant_id)
        if not secret:
            raise Fault(7000218, status=401)
        if not secrets.compare_digest(secret.encode(), client.client_secret.encode()):
            raise Fault(7000215, status=401, client_id=client_id)
        return client

    def _redeem_code(self, client: ClientApp) -> tuple[str, tuple[str, ...], str | None]:
        verifier = request.form.get("code_verifier", "")
        redirect_uri = request.form.get("redirect_uri", "")
        with self._lock:  # Check and spend in one step: of two racing redemptions, one wins.
            code = self._codes.get(request.form.get("code", ""))
            if code is None or code.expires_at <= self._clock():
                raise Fault(70008)
            if code.redeemed:
                raise Fault(54005)
            if code.client_id != client.client_id:
                raise Fault(70002)
            if redirect_uri != code.redirect_uri:
                raise Fault(50011, redirect_uri=redirect_uri, client_id=client.client_id)
            if not verifier:
                raise Fault(900144, name="code_verifier")
            if _b64(hashlib.sha256(verifier.encode()).digest()) != code.code_challenge:
                raise Fault(501481)
            code.redeemed = True
        return code.user_id, code.scopes, code.nonce

    def _redeem_refresh(self, client: ClientApp) -> tuple[str, tuple[str, ...], None]:
        token = request.form.get("refresh_token", "")
        user_id = self.directory.redeem_refresh_token(token, client.client_id)
        if user_id is None:  # Revoked, or never issued: Entra says the same to both.
            raise Fault(50173)
        policy = self._policy_of(user_id)
        if policy is not None:
            raise policy_fault(policy, client.client_id, at_sign_in=False)
        return user_id, tuple(request.form.get("scope", "").split()), None


def _require_pkce(params: Mapping[str, str]) -> None:
    if params.get("response_type") != "code":
        raise Fault(700054, response_type=params.get("response_type", ""))
    if not params.get("code_challenge") or params.get("code_challenge_method") != "S256":
        raise Fault(9002325)


def _deliver(auth: _AuthRequest, result: dict[str, str]) -> BaseResponse:
    """Send the outcome to the app the way it asked: a 302 or an auto-submitting form."""
    if "state" in auth.params:
        result["state"] = auth.params["state"]
    if auth.response_mode == "form_post":
        fields = list(result.items())
        return Response(
            _page(title="Working...", autosubmit=True, action=auth.redirect_uri, fields=fields)
        )
    joiner = "&" if "?" in auth.redirect_uri else "?"
    return redirect(f"{auth.redirect_uri}{joiner}{urlencode(result)}", code=302)


def _page(**context: object) -> str:
    return render_template_string(_PAGE, **context)  # Flask autoescapes string templates.


def _short(scope: str) -> str:
    """``https://graph.microsoft.com/Mail.Send`` and ``Mail.Send`` are one permission."""
    return scope.removeprefix(GRAPH_PREFIX)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64_json(value: Mapping[str, object]) -> str:
    return _b64(json.dumps(value, separators=(",", ":")).encode())
