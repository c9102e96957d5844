"""Sign in with Slack in the sandbox: the OpenID Connect endpoints, as Slack serves them.

https://api.slack.com/authentication/sign-in-with-slack: the browser opens
``/openid/connect/authorize`` (here a page where it chooses a sandbox person, as the
Microsoft sandbox's consent page lets it choose a username), comes back to the app's
redirect URI with ``code`` and ``state``; the app redeems the code with
``openid.connect.token`` (https://api.slack.com/methods/openid.connect.token: client id and
secret, the code once, the same redirect_uri) for an access token and an ``id_token`` (a
JWT, HS256 keyed by the client secret's SHA-256 here; RS256 at Slack), and reads the person with
``openid.connect.userInfo`` (https://api.slack.com/methods/openid.connect.userInfo).
Failures answer like the Web API: HTTP 200 with ``{"ok": false, "error": ...}``.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import jwt
from flask import Response, request
from markupsafe import escape

from bot.sandbox.slack import Workspace

JSON = dict[str, Any]


@dataclass
class OpenIDCode:
    """A code from the authorize page, redeemed once by ``openid.connect.token``."""

    team_id: str
    user_id: str
    redirect_uri: str
    nonce: str | None
    used: bool = False


class OpenIDError(Exception):
    """An ``openid.connect.*`` failure; ``error`` is Slack's code."""

    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


_PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>Sign in with Slack</title>
</head><body><h1>Sign in to <span id="team-name">{team}</span></h1>
<p id="app-name">{app}</p><p id="error">{error}</p>
<form method="post" action="/openid/connect/authorize">{hidden}
<fieldset><legend>Continue as</legend>{people}</fieldset>
<button type="submit" name="action" value="allow">Continue</button>
<button type="submit" name="action" value="cancel">Cancel</button></form></body></html>"""
_CARRIED = ("client_id", "redirect_uri", "state", "nonce", "team", "scope", "response_type")


class OpenIDProvider:
    """The OpenID Connect side of the sandbox Slack; mixed into ``SlackSandbox``.

    Uses the state of :class:`bot.sandbox.slack.SlackState` (its lock, workspaces, client
    id and secret) and keeps its own codes and user tokens.
    """

    client_id: str
    client_secret: str
    _lock: Any
    _workspaces: dict[str, Workspace]

    @property
    def _openid(self) -> tuple[dict[str, OpenIDCode], dict[str, JSON]]:
        if not hasattr(self, "_openid_state"):
            self._openid_state: tuple[dict[str, OpenIDCode], dict[str, JSON]] = ({}, {})
        return self._openid_state

    @property
    def openid_authorize_url(self) -> str:
        return f"{self.url}/openid/connect/authorize"  # type: ignore[attr-defined]

    # ---- the browser side --------------------------------------------------------------

    def _openid_authorize(self) -> Response:
        """GET shows the choice of person; POST (Continue/Cancel) redirects to the app."""
        q = request.form if request.method == "POST" else request.args
        if q.get("client_id") != self.client_id:
            return Response("invalid_client_id", 400, mimetype="text/plain")
        scopes = set(q.get("scope", "").replace(",", " ").split())
        if "openid" not in scopes or q.get("response_type", "code") != "code":
            return Response("invalid_scope", 400, mimetype="text/plain")
        redirect_uri = q.get("redirect_uri", "")
        if not redirect_uri.startswith(("http://", "https://")):
            return Response("bad_redirect_uri", 400, mimetype="text/plain")
        with self._lock:
            team_id = q.get("team") or next(iter(self._workspaces))
            ws = self._workspaces.get(team_id)
            if ws is None:
                return Response("team_not_found", 400, mimetype="text/plain")
            people = {u: i for u, i in ws.users.items() if not i.get("is_bot")}
            if request.method == "GET":
                return Response(self._openid_page(ws, people, q, ""), 200, mimetype="text/html")
            if q.get("action") != "allow":
                return _to(redirect_uri, error="access_denied", state=q.get("state", ""))
            user_id = q.get("user", "")
            if user_id not in people:
                page = self._openid_page(ws, people, q, "Choose who you are.")
                return Response(page, 200, mimetype="text/html")
            code = "sbx-oidc-" + secrets.token_urlsafe(24)
            self._openid[0][code] = OpenIDCode(team_id, user_id, redirect_uri, q.get("nonce"))
        return _to(redirect_uri, code=code, state=q.get("state", ""))

    def _openid_page(self, ws: Workspace, people: dict[str, JSON], q: Any, error: str) -> str:
        hidden = "".join(
            f'<input type="hidden" name="{k}" value="{escape(q.get(k, ""))}">'
            for k in _CARRIED
            if q.get(k) is not None
        )
        choices = "".join(
            f'<label><input type="radio" name="user" value="{escape(uid)}"> '
            f"{escape(info.get('real_name') or info.get('name'))}</label><br>"
            for uid, info in people.items()
        )
        return _PAGE.format(
            team=escape(ws.name), app="ScaleUp", error=escape(error), hidden=hidden, people=choices
        )

    # ---- the Web API side (called under the lock) ---------------------------------------

    def _openid_token(self, args: JSON) -> JSON:
        auth = request.authorization  # slack_sdk sends client_id:client_secret as Basic
        client_id = auth.username if auth else args.get("client_id")
        client_secret = auth.password if auth else args.get("client_secret")
        if client_id != self.client_id or client_secret != self.client_secret:
            raise OpenIDError("invalid_client")
        code = self._openid[0].get(str(args.get("code")))
        if code is None or code.used:
            raise OpenIDError("invalid_code")
        if args.get("redirect_uri") != code.redirect_uri:
            raise OpenIDError("bad_redirect_uri")
        code.used = True
        claims = self._claims(code.team_id, code.user_id)
        now = int(time.time())
        id_claims = {
            "iss": "https://slack.com",
            "aud": self.client_id,
            "iat": now,
            "exp": now + 3600,
            "auth_time": now,
            **claims,
        }
        if code.nonce:
            id_claims["nonce"] = code.nonce
        access = "xoxp-sbx-" + secrets.token_urlsafe(24)
        self._openid[1][access] = claims
        return {
            "access_token": access,
            "token_type": "Bearer",
            # HS256 keyed by a digest of the client secret (PyJWT wants 32 bytes or more).
            "id_token": jwt.encode(
                id_claims, hashlib.sha256(self.client_secret.encode()).digest(), algorithm="HS256"
            ),
        }

    def _openid_userinfo(self, token: str | None) -> JSON:
        if not token:
            raise OpenIDError("not_authed")
        claims = self._openid[1].get(token)
        if claims is None:
            raise OpenIDError("invalid_auth")
        return dict(claims)

    def _claims(self, team_id: str, user_id: str) -> JSON:
        ws = self._workspaces[team_id]
        user = ws.users[user_id]
        claims: JSON = {
            "sub": user_id,
            "https://slack.com/user_id": user_id,
            "https://slack.com/team_id": team_id,
            "name": user.get("real_name") or user.get("name"),
            "https://slack.com/team_name": ws.name,
            "https://slack.com/team_domain": ws.domain,
        }
        email = (user.get("profile") or {}).get("email")
        if email:
            claims.update(email=email, email_verified=True)
        return claims


def _to(uri: str, **params: str) -> Response:
    return Response("", 302, {"Location": f"{uri}{'&' if '?' in uri else '?'}{urlencode(params)}"})
