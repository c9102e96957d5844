"""Who is who in Slack, through ``slack_sdk``: profile emails and Sign in with Slack.

:class:`SlackProfiles` implements :class:`outreach.notify.SlackDirectory` with
``users.info`` and ``users.lookupByEmail`` (https://api.slack.com/methods/users.lookupByEmail),
both needing ``users:read.email``. :class:`SlackOpenID` implements
:class:`outreach.slack_sign_in.SlackSignIn` (https://api.slack.com/authentication/sign-in-with-slack):
the authorize URL from ``slack_sdk.oauth.OpenIDConnectAuthorizeUrlGenerator``, the code
exchange with ``openid.connect.token`` (https://api.slack.com/methods/openid.connect.token)
and the identity from ``openid.connect.userInfo``
(https://api.slack.com/methods/openid.connect.userInfo).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from urllib.parse import quote

import jwt
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.oauth import OpenIDConnectAuthorizeUrlGenerator

from bot.settings import DEFAULT_SLACK_API_URL, Settings
from outreach.errors import SlackSignInFailed
from outreach.slack_sign_in import SlackIdentity

log = logging.getLogger(__name__)

#: The scopes of Sign in with Slack (app_manifest.yaml lists them as user scopes).
OPENID_SCOPES = ("openid", "email", "profile")


class SlackProfiles:
    """Slack profile emails of a workspace's members, with that workspace's bot token."""

    def __init__(self, client_for: Callable[[str], WebClient | None]) -> None:
        self._client_for = client_for

    def email_of(self, team_id: str, user_id: str) -> str | None:
        client = self._client_for(team_id)
        if client is None:
            return None
        try:
            user = client.users_info(user=user_id)["user"]
        except (SlackApiError, KeyError, TypeError) as exc:
            log.info("users.info gave no profile email for %s: %s", user_id, _error(exc))
            return None
        email = (user.get("profile") or {}).get("email")
        return str(email) if email else None

    def user_by_email(self, team_id: str, email: str) -> str | None:
        client = self._client_for(team_id)
        if client is None:
            return None
        try:
            user = client.users_lookupByEmail(email=email)["user"]
        except (SlackApiError, KeyError, TypeError) as exc:  # users_not_found: nobody has it
            log.debug("users.lookupByEmail found nobody: %s", _error(exc))
            return None
        return str(user["id"]) if user.get("id") else None


class SlackOpenID:
    """Sign in with Slack for one Slack app (``SLACK_CLIENT_ID``/``SLACK_CLIENT_SECRET``)."""

    def __init__(self, settings: Settings) -> None:
        if not (settings.slack_client_id and settings.slack_client_secret):
            raise ValueError("Sign in with Slack needs SLACK_CLIENT_ID and SLACK_CLIENT_SECRET")
        self._client_id = settings.slack_client_id
        self._client_secret = settings.slack_client_secret
        self._api_url = settings.slack_api_url
        self.redirect_uri = settings.slack_oidc_redirect_uri
        self._urls = OpenIDConnectAuthorizeUrlGenerator(
            client_id=self._client_id,
            # slack_sdk puts redirect_uri into the query as given: quote it for it.
            redirect_uri=quote(self.redirect_uri, safe=""),
            scopes=list(OPENID_SCOPES),
            authorization_url=openid_authorize_url(settings.slack_api_url),
        )

    def authorize_url(self, state: str, nonce: str, team_id: str) -> str:
        return self._urls.generate(state=state, nonce=nonce, team=team_id)

    def identify(self, code: str) -> SlackIdentity:
        client = WebClient(base_url=self._api_url)
        try:
            tokens = client.openid_connect_token(
                client_id=self._client_id,
                client_secret=self._client_secret,
                code=code,
                redirect_uri=self.redirect_uri,
            )
            info = WebClient(
                token=str(tokens["access_token"]), base_url=self._api_url
            ).openid_connect_userInfo()
        except SlackApiError as exc:
            raise SlackSignInFailed(_error(exc)) from exc
        # The id_token came straight from Slack's token endpoint over TLS, authenticated by
        # our client secret, so its claims are read without checking the signature (OpenID
        # Connect Core 3.1.3.7); the nonce binds it to this sign-in.
        try:
            claims = jwt.decode(str(tokens.get("id_token")), options={"verify_signature": False})
        except jwt.PyJWTError as exc:
            raise SlackSignInFailed("Slack sent no readable id_token") from exc
        user_id = str(info.get("https://slack.com/user_id") or info.get("sub") or "")
        if info.get("sub") not in (None, user_id):
            raise SlackSignInFailed("Slack named two different users")
        return SlackIdentity(
            user_id=user_id,
            team_id=str(info.get("https://slack.com/team_id") or ""),
            email=info.get("email"),
            nonce=claims.get("nonce"),
        )


def openid_authorize_url(api_url: str) -> str:
    """Slack's (or the sandbox's) ``/openid/connect/authorize``."""
    if api_url == DEFAULT_SLACK_API_URL:
        return "https://slack.com/openid/connect/authorize"
    return api_url.rstrip("/").removesuffix("/api") + "/openid/connect/authorize"


def _error(exc: Exception) -> str:
    if isinstance(exc, SlackApiError):
        return str(exc.response.get("error") or "unknown_error")
    return type(exc).__name__
