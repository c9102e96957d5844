"""The sandbox Slack's Sign in with Slack, driven by unmodified slack_sdk over loopback.

Slack's rules: https://api.slack.com/authentication/sign-in-with-slack,
https://api.slack.com/methods/openid.connect.token, .../openid.connect.userInfo and
.../users.lookupByEmail.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import jwt
import pytest
import requests
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.oauth import OpenIDConnectAuthorizeUrlGenerator

from bot.sandbox import HIRING_MANAGER, RECRUITER, Sandbox
from bot.sandbox.browser import ConsentBrowser

REDIRECT = "http://127.0.0.1:9/slack/oidc/callback"


def code_for(sandbox: Sandbox, user_id: str, nonce: str = "n-1") -> str:
    url = OpenIDConnectAuthorizeUrlGenerator(
        client_id=sandbox.slack.client_id,
        redirect_uri=REDIRECT,
        scopes=["openid", "email", "profile"],
        authorization_url=sandbox.slack.openid_authorize_url,
    ).generate(state="s-1", nonce=nonce, team=sandbox.workspace.team_id)
    redirect = ConsentBrowser(str(sandbox.certs.ca_path)).open_slack(url).choose(user_id)
    assert redirect.url == REDIRECT and redirect.params["state"] == "s-1"
    return redirect.params["code"]


def exchange(sandbox: Sandbox, code: str, *, secret: str | None = None, redirect: str = REDIRECT):  # type: ignore[no-untyped-def]
    return WebClient(base_url=sandbox.slack.api_url).openid_connect_token(
        client_id=sandbox.slack.client_id,
        client_secret=secret or sandbox.slack.client_secret,
        code=code,
        redirect_uri=redirect,
    )


def test_sign_in_with_slack_names_the_chosen_person(sandbox: Sandbox) -> None:
    tokens = exchange(sandbox, code_for(sandbox, HIRING_MANAGER.slack_id, nonce="abc"))
    claims = jwt.decode(tokens["id_token"], options={"verify_signature": False})
    assert claims["nonce"] == "abc" and claims["sub"] == HIRING_MANAGER.slack_id
    info = WebClient(token=tokens["access_token"], base_url=sandbox.slack.api_url)
    who = info.openid_connect_userInfo()
    assert who["sub"] == who["https://slack.com/user_id"] == HIRING_MANAGER.slack_id
    assert who["https://slack.com/team_id"] == sandbox.workspace.team_id
    assert who["email"] == HIRING_MANAGER.email and who["name"] == HIRING_MANAGER.real_name


def test_a_cancelled_sign_in_returns_access_denied(sandbox: Sandbox) -> None:
    url = OpenIDConnectAuthorizeUrlGenerator(
        client_id=sandbox.slack.client_id,
        redirect_uri=REDIRECT,
        scopes=["openid"],
        authorization_url=sandbox.slack.openid_authorize_url,
    ).generate(state="s-2")
    redirect = ConsentBrowser(str(sandbox.certs.ca_path)).open_slack(url).cancel()
    assert dict(redirect.params) == {"error": "access_denied", "state": "s-2"}


@pytest.mark.parametrize(
    ("how", "error"),
    [("secret", "invalid_client"), ("reuse", "invalid_code"), ("redirect", "bad_redirect_uri")],
)
def test_the_token_exchange_refuses_like_slack(sandbox: Sandbox, how: str, error: str) -> None:
    code = code_for(sandbox, RECRUITER.slack_id)
    if how == "reuse":
        exchange(sandbox, code)
    with pytest.raises(SlackApiError) as caught:
        exchange(
            sandbox,
            code,
            secret="wrong-secret" if how == "secret" else None,
            redirect=REDIRECT + "/other" if how == "redirect" else REDIRECT,
        )
    assert caught.value.response["error"] == error


def test_user_info_needs_a_sign_in_token(sandbox: Sandbox) -> None:
    with pytest.raises(SlackApiError) as caught:
        WebClient(
            token=sandbox.workspace.bot_token, base_url=sandbox.slack.api_url
        ).openid_connect_userInfo()
    assert caught.value.response["error"] == "invalid_auth"


def test_users_lookup_by_email(sandbox: Sandbox) -> None:
    client = WebClient(token=sandbox.workspace.bot_token, base_url=sandbox.slack.api_url)
    assert (
        client.users_lookupByEmail(email="RILEY.CHEN@acme.test")["user"]["id"] == RECRUITER.slack_id
    )
    with pytest.raises(SlackApiError) as caught:
        client.users_lookupByEmail(email="nobody@acme.test")
    assert caught.value.response["error"] == "users_not_found"


def test_the_authorize_page_checks_the_client(sandbox: Sandbox) -> None:
    url = OpenIDConnectAuthorizeUrlGenerator(
        client_id="not-our-app",
        redirect_uri=REDIRECT,
        scopes=["openid"],
        authorization_url=sandbox.slack.openid_authorize_url,
    ).generate(state="s")
    answer = requests.get(url, allow_redirects=False, timeout=10)
    assert answer.status_code == 400 and "invalid_client_id" in answer.text
    assert not dict(parse_qsl(urlsplit(answer.headers.get("Location", "")).query))
