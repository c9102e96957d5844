"""The sandbox identity platform, driven by unmodified MSAL over real loopback HTTPS."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import msal
import pytest
import requests
from flask import Flask, request

from bot.sandbox.browser import ConsentBrowser, ConsentRejected, Redirect, SignInError
from bot.sandbox.directory import Directory, SandboxUser
from bot.sandbox.identity import UNKNOWN_USER, IdentityPlatform
from bot.sandbox.server import RunningServer, serve
from bot.sandbox.tls import Certificates, make_certificates

CLIENT_ID = "11111111-2222-3333-4444-555555555555"
SECRET = "sandbox-secret"
TENANT = "contoso-sandbox"
SCOPES = ["User.Read", "Mail.ReadWrite", "Mail.Send", "MailboxSettings.ReadWrite"]


@dataclass
class Clock:
    now: float = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Sandbox:
    directory: Directory
    platform: IdentityPlatform
    certs: Certificates
    user: SandboxUser
    authority: str
    redirect_uri: str
    clock: Clock
    callbacks: list[tuple[str, dict[str, str]]] = field(default_factory=list)

    def app(self, secret: str = SECRET) -> Any:
        return msal.ConfidentialClientApplication(
            CLIENT_ID,
            client_credential=secret,
            authority=self.authority,
            verify=str(self.certs.ca_path),
            instance_discovery=False,
            token_cache=msal.SerializableTokenCache(),
            http_cache={},
        )

    def browser(self) -> ConsentBrowser:
        return ConsentBrowser(verify=str(self.certs.ca_path))

    def start(self, app: Any, **kwargs: Any) -> dict[str, Any]:
        flow: dict[str, Any] = app.initiate_auth_code_flow(
            scopes=SCOPES,
            redirect_uri=self.redirect_uri,
            response_mode=kwargs.pop("response_mode", "form_post"),
            login_hint=kwargs.pop("login_hint", self.user.mail),
            **kwargs,
        )
        return flow

    def sign_in(self, app: Any) -> dict[str, Any]:
        flow = self.start(app)
        redirect = self.browser().open(flow["auth_uri"]).accept()
        result: dict[str, Any] = app.acquire_token_by_auth_code_flow(flow, redirect.data)
        return result


@dataclass
class Servers:
    """One identity server and one bot callback server for the whole module.

    Stopping a server waits out its 0.5 s poll, so each test swaps in a fresh
    ``IdentityPlatform`` behind the running server instead of starting its own.
    """

    certs: Certificates
    identity_url: str
    redirect_uri: str
    platform: list[IdentityPlatform]
    received: list[tuple[str, dict[str, str]]]


def _callback_app(received: list[tuple[str, dict[str, str]]]) -> Flask:
    app = Flask("callback")

    @app.route("/outlook/callback", methods=["GET", "POST"])
    def callback() -> str:
        received.append((request.method, dict(request.values)))
        return "connected"

    return app


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    certs = make_certificates(tmp_path_factory.mktemp("tls"))
    current: list[IdentityPlatform] = []
    received: list[tuple[str, dict[str, str]]] = []

    def identity(environ: dict[str, Any], start_response: Any) -> Any:
        return current[-1].wsgi_app(environ, start_response)

    bot: RunningServer = serve(_callback_app(received), name="bot")
    idp = serve(identity, ssl_context=certs.server_context(), name="identity")
    try:
        yield Servers(certs, idp.url, f"{bot.url}/outlook/callback", current, received)
    finally:
        idp.stop()
        bot.stop()


@pytest.fixture
def sandbox(servers: Servers, monkeypatch: pytest.MonkeyPatch) -> Sandbox:
    # requests prefers these to a session's verify (psf/requests#3829), and MSAL sets
    # verify on its session: with them set, MSAL would not trust the sandbox CA.
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    clock = Clock()
    directory = Directory(clock=clock)
    platform = IdentityPlatform(directory, clock=clock)
    user = directory.add_user(
        "jane.doe@contoso.test", "Jane Doe", aliases=["recruiting@contoso.test"]
    )
    platform.register_client(CLIENT_ID, SECRET, [servers.redirect_uri])
    servers.platform[:] = [platform]
    servers.received.clear()
    return Sandbox(
        directory,
        platform,
        servers.certs,
        user,
        f"{servers.identity_url}/{TENANT}",
        servers.redirect_uri,
        clock,
        servers.received,
    )


def _claims(jwt: str) -> dict[str, Any]:
    payload = jwt.split(".")[1]
    decoded: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    return decoded


def test_discovery_names_endpoints_under_the_requested_tenant(sandbox: Sandbox) -> None:
    config = requests.get(
        f"{sandbox.authority}/v2.0/.well-known/openid-configuration",
        verify=str(sandbox.certs.ca_path),
        timeout=5,
    ).json()
    assert config["issuer"] == f"{sandbox.authority}/v2.0"
    assert config["authorization_endpoint"] == f"{sandbox.authority}/oauth2/v2.0/authorize"
    assert config["token_endpoint"] == f"{sandbox.authority}/oauth2/v2.0/token"
    assert config["code_challenge_methods_supported"] == ["S256"]


def test_consent_page_shows_app_scopes_in_words_and_login_hint(sandbox: Sandbox) -> None:
    page = sandbox.browser().open(sandbox.start(sandbox.app())["auth_uri"])
    assert (page.app_name, page.client_id) == ("ScaleUp", CLIENT_ID)
    assert "Send mail as you" in page.scopes
    assert "Read and write access to your mail" in page.scopes
    assert page.username == sandbox.user.mail


def test_accepting_consent_gives_msal_tokens_and_an_account(sandbox: Sandbox) -> None:
    app = sandbox.app()
    result = sandbox.sign_in(app)

    assert "access_token" in result, result
    found = sandbox.directory.user_for_access_token(result["access_token"])
    assert found is not None and found[0] == sandbox.user and "Mail.Send" in found[1]
    assert result["id_token_claims"]["oid"] == sandbox.user.id
    assert result["id_token_claims"]["iss"] == f"{sandbox.authority}/v2.0"
    assert set(result["scope"].split()) == set(SCOPES)
    [account] = app.get_accounts()
    assert account["username"] == sandbox.user.user_principal_name
    assert account["home_account_id"] == f"{sandbox.user.id}.{sandbox.directory.tenant_id}"
    assert sandbox.directory.has_grant(sandbox.user.id, CLIENT_ID)


def test_form_post_answer_reaches_the_redirect_uri_as_a_post(sandbox: Sandbox) -> None:
    flow = sandbox.start(sandbox.app())
    redirect = sandbox.browser().open(flow["auth_uri"]).accept()
    assert (redirect.url, redirect.method) == (sandbox.redirect_uri, "POST")

    assert redirect.follow().text == "connected"
    assert sandbox.callbacks == [("POST", redirect.data)]
    assert redirect.data["state"] == flow["state"] and "code" in redirect.data


def test_query_mode_redirects_with_the_code_in_the_url(sandbox: Sandbox) -> None:
    app = sandbox.app()
    with pytest.warns(UserWarning, match="form_post"):  # MSAL nudges towards form_post.
        flow = sandbox.start(app, response_mode="query")
    redirect = sandbox.browser().open(flow["auth_uri"]).accept()
    assert (redirect.url, redirect.method) == (sandbox.redirect_uri, "GET")

    redirect.follow()
    assert sandbox.callbacks == [("GET", redirect.params)]
    assert "access_token" in app.acquire_token_by_auth_code_flow(flow, redirect.auth_response)


def test_any_address_of_the_user_signs_in(sandbox: Sandbox) -> None:
    app = sandbox.app()
    flow = sandbox.start(app)
    redirect = sandbox.browser().open(flow["auth_uri"]).accept("Recruiting@Contoso.test")
    result = app.acquire_token_by_auth_code_flow(flow, redirect.data)
    assert result["id_token_claims"]["preferred_username"] == sandbox.user.user_principal_name


def test_unknown_username_shows_the_page_again(sandbox: Sandbox) -> None:
    app = sandbox.app()
    flow = sandbox.start(app)
    with pytest.raises(ConsentRejected) as rejected:
        sandbox.browser().open(flow["auth_uri"]).accept("nobody@contoso.test")
    page = rejected.value.page
    assert page.error == UNKNOWN_USER
    assert page.username == "nobody@contoso.test"

    redirect = page.accept(sandbox.user.mail)  # The hidden fields survived the round trip.
    assert "access_token" in app.acquire_token_by_auth_code_flow(flow, redirect.data)


def test_cancel_tells_the_app_access_denied(sandbox: Sandbox) -> None:
    app = sandbox.app()
    flow = sandbox.start(app)
    redirect = sandbox.browser().open(flow["auth_uri"]).cancel()

    assert redirect.data["error"] == "access_denied"
    assert redirect.data["error_description"].startswith(
        "AADSTS65004: User declined to consent to access the app."
    )
    assert redirect.data["state"] == flow["state"]
    assert app.acquire_token_by_auth_code_flow(flow, redirect.data)["error"] == "access_denied"
    assert not sandbox.directory.has_grant(sandbox.user.id, CLIENT_ID)


def test_pkce_mismatch_is_refused(sandbox: Sandbox) -> None:
    app = sandbox.app()
    flow = sandbox.start(app)
    redirect = sandbox.browser().open(flow["auth_uri"]).accept()
    flow["code_verifier"] = "x" * 43

    result = app.acquire_token_by_auth_code_flow(flow, redirect.data)
    assert result["error"] == "invalid_grant"
    assert result["error_codes"] == [501481]


def test_a_code_works_once(sandbox: Sandbox) -> None:
    app = sandbox.app()
    flow = sandbox.start(app)
    redirect = sandbox.browser().open(flow["auth_uri"]).accept()
    assert "access_token" in app.acquire_token_by_auth_code_flow(flow, redirect.data)

    again = app.acquire_token_by_auth_code_flow(flow, redirect.data)
    assert (again["error"], again["error_codes"]) == ("invalid_grant", [54005])


def test_a_code_expires_after_ten_minutes(sandbox: Sandbox) -> None:
    app = sandbox.app()
    flow = sandbox.start(app)
    redirect = sandbox.browser().open(flow["auth_uri"]).accept()
    sandbox.clock.now += 601

    result = app.acquire_token_by_auth_code_flow(flow, redirect.data)
    assert result["error_codes"] == [70008]


def test_wrong_client_secret_is_invalid_client(sandbox: Sandbox) -> None:
    app = sandbox.app(secret="not-the-secret")
    flow = sandbox.start(app)
    redirect = sandbox.browser().open(flow["auth_uri"]).accept()

    result = app.acquire_token_by_auth_code_flow(flow, redirect.data)
    assert (result["error"], result["error_codes"]) == ("invalid_client", [7000215])


@pytest.mark.parametrize("suffix", ["/", "/../evil", "?next=x"])
def test_unregistered_redirect_uri_gets_an_error_page_not_a_redirect(
    sandbox: Sandbox, suffix: str
) -> None:
    flow = sandbox.app().initiate_auth_code_flow(
        SCOPES, redirect_uri=sandbox.redirect_uri + suffix, response_mode="form_post"
    )
    answer = requests.get(
        flow["auth_uri"], verify=str(sandbox.certs.ca_path), allow_redirects=False, timeout=5
    )
    assert answer.status_code == 400
    assert "Location" not in answer.headers and "<form" not in answer.text
    assert "AADSTS50011" in answer.text

    with pytest.raises(SignInError, match="AADSTS50011"):
        sandbox.browser().open(flow["auth_uri"])


def test_unknown_client_gets_an_error_page(sandbox: Sandbox) -> None:
    url = sandbox.start(sandbox.app())["auth_uri"].replace(CLIENT_ID, "someone-else")
    with pytest.raises(SignInError, match="AADSTS700016"):
        sandbox.browser().open(url)


def test_expiring_access_token_is_refreshed_silently(sandbox: Sandbox) -> None:
    sandbox.directory.access_token_lifetime = 60  # Under MSAL's five-minute refresh margin.
    app = sandbox.app()
    first = sandbox.sign_in(app)
    [account] = app.get_accounts()

    again = app.acquire_token_silent_with_error(SCOPES, account)
    assert again["access_token"] != first["access_token"]
    assert sandbox.directory.user_for_access_token(again["access_token"]) is not None


def test_revoked_grant_makes_the_silent_refresh_fail(sandbox: Sandbox) -> None:
    sandbox.directory.access_token_lifetime = 60
    app = sandbox.app()
    sandbox.sign_in(app)
    [account] = app.get_accounts()
    sandbox.directory.revoke_grant(sandbox.user.id)

    result = app.acquire_token_silent_with_error(SCOPES, account)
    assert result["error"] == "invalid_grant"
    assert result["error_description"].startswith("AADSTS50173: ")
    assert "suberror" not in result or not result["suberror"]


def _token_request(sandbox: Sandbox, **kwargs: Any) -> requests.Response:
    return requests.post(
        f"{sandbox.authority}/oauth2/v2.0/token",
        verify=str(sandbox.certs.ca_path),
        timeout=5,
        **kwargs,
    )


def test_refresh_accepts_http_basic_client_authentication(sandbox: Sandbox) -> None:
    refresh = sandbox.sign_in(sandbox.app())["refresh_token"]
    answer = _token_request(
        sandbox,
        auth=(CLIENT_ID, SECRET),
        data={"grant_type": "refresh_token", "refresh_token": refresh, "scope": "Mail.Send"},
    )
    assert answer.status_code == 200
    body = answer.json()
    assert body["scope"] == "Mail.Send" and body["token_type"] == "Bearer"
    assert json.loads(base64.urlsafe_b64decode(body["client_info"] + "==")) == {
        "uid": sandbox.user.id,
        "utid": sandbox.directory.tenant_id,
    }
    assert _claims(body["id_token"])["aud"] == CLIENT_ID


def test_errors_are_entra_shaped_json(sandbox: Sandbox) -> None:
    answer = _token_request(
        sandbox,
        data={"grant_type": "password", "client_id": CLIENT_ID, "client_secret": SECRET},
        headers={"client-request-id": "abc-123"},
    )
    assert answer.status_code == 400
    body = answer.json()
    assert body["error"] == "unsupported_grant_type"
    assert body["error_description"].startswith(f"AADSTS{body['error_codes'][0]}: ")
    assert body["correlation_id"] == "abc-123"
    assert {"timestamp", "trace_id"} <= body.keys()

    for answer in (
        requests.get(f"{sandbox.authority}/nowhere", verify=str(sandbox.certs.ca_path), timeout=5),
        requests.get(
            f"{sandbox.authority}/oauth2/v2.0/token", verify=str(sandbox.certs.ca_path), timeout=5
        ),
    ):
        assert answer.status_code in (404, 405)
        assert answer.headers["Content-Type"] == "application/json"
        assert "Traceback" not in answer.text


def test_page_escapes_what_the_request_puts_in_it(sandbox: Sandbox) -> None:
    flow = sandbox.start(sandbox.app(), login_hint='"><script>alert(1)</script>')
    html = requests.get(flow["auth_uri"], verify=str(sandbox.certs.ca_path), timeout=5).text
    assert "<script>" not in html
    assert sandbox.browser().open(flow["auth_uri"]).username == '"><script>alert(1)</script>'


def test_redirect_follow_uses_the_given_session(sandbox: Sandbox) -> None:
    redirect = Redirect(sandbox.redirect_uri, "GET", params={"error": "access_denied"})
    with requests.Session() as session:
        assert redirect.follow(session).status_code == 200
    assert sandbox.callbacks == [("GET", {"error": "access_denied"})]


def test_authorize_without_pkce_sends_the_app_an_error(sandbox: Sandbox) -> None:
    flow = sandbox.start(sandbox.app())
    parts = urlsplit(flow["auth_uri"])
    query = [(k, v) for k, v in parse_qsl(parts.query) if not k.startswith("code_challenge")]
    answer = requests.get(
        urlunsplit(parts._replace(query=urlencode(query))), verify=str(sandbox.certs.ca_path)
    )
    # form_post: the error goes back to the app in the auto-submitting form, not a page.
    assert 'name="error" value="invalid_request"' in answer.text
    assert "AADSTS9002325" in answer.text and sandbox.redirect_uri in answer.text
    with pytest.raises(SignInError, match="AADSTS9002325"):
        sandbox.browser().open(answer.url)


# -- token lifetimes, the token log, discovery and tenant policies -----------------------------


def _host(sandbox: Sandbox) -> str:
    return sandbox.authority.rsplit("/", 1)[0]  # https://127.0.0.1:PORT


def test_the_token_log_keeps_each_grant_and_its_outcome(sandbox: Sandbox) -> None:
    sandbox.directory.access_token_lifetime = 60  # MSAL refreshes at once
    app = sandbox.app()
    sandbox.sign_in(app)
    [account] = app.get_accounts()
    assert "access_token" in app.acquire_token_silent_with_error(SCOPES, account)
    sandbox.directory.revoke_grant(sandbox.user.id)
    assert "error" in app.acquire_token_silent_with_error(SCOPES, account)

    log = [(t.grant_type, t.user_id, t.error) for t in sandbox.platform.token_log()]
    assert log == [
        ("authorization_code", sandbox.user.id, None),
        ("refresh_token", sandbox.user.id, None),
        ("refresh_token", None, "AADSTS50173"),
    ]
    assert len(sandbox.platform.token_log("refresh_token")) == 2


def test_instance_discovery_answers_as_entra_does(sandbox: Sandbox) -> None:
    host = _host(sandbox)
    hostname = urlsplit(host).hostname
    url = f"{host}/common/discovery/instance"
    ca = str(sandbox.certs.ca_path)
    answer = requests.get(
        url,
        params={
            "api-version": "1.1",
            # MSAL names the authority's host without its port, as Entra's hosts have none.
            "authorization_endpoint": f"https://{hostname}/organizations/oauth2/v2.0/authorize",
        },
        verify=ca,
        timeout=5,
    )
    assert answer.status_code == 200
    body = answer.json()
    assert body["tenant_discovery_endpoint"] == (
        f"{host}/organizations/v2.0/.well-known/openid-configuration"
    )
    assert body["metadata"] == [
        {"preferred_network": hostname, "preferred_cache": hostname, "aliases": [hostname]}
    ]

    elsewhere = requests.get(
        url,
        params={"authorization_endpoint": "https://login.example.com/common/oauth2/authorize"},
        verify=ca,
        timeout=5,
    )
    assert elsewhere.status_code == 400
    assert elsewhere.json()["error"] == "invalid_instance"  # what MSAL checks for
    assert elsewhere.json()["error_description"].startswith("AADSTS50049: ")


def test_multi_tenant_configuration_has_the_tenantid_issuer_template(sandbox: Sandbox) -> None:
    host = _host(sandbox)
    for tenant in ("organizations", "common"):
        config = requests.get(
            f"{host}/{tenant}/v2.0/.well-known/openid-configuration",
            verify=str(sandbox.certs.ca_path),
            timeout=5,
        ).json()
        assert config["issuer"] == f"{host}/{{tenantid}}/v2.0"
        assert config["token_endpoint"] == f"{host}/{tenant}/oauth2/v2.0/token"


def test_msal_signs_in_through_organizations_with_instance_discovery(sandbox: Sandbox) -> None:
    host = _host(sandbox)
    app = msal.ConfidentialClientApplication(
        CLIENT_ID,
        client_credential=SECRET,
        authority=f"{host}/organizations",
        verify=str(sandbox.certs.ca_path),
        instance_discovery=f"{host}/common/discovery/instance",
        token_cache=msal.SerializableTokenCache(),
        http_cache={},
    )
    result = sandbox.sign_in(app)

    assert "access_token" in result, result
    # The ID token names the user's own tenant, not "organizations".
    assert result["id_token_claims"]["iss"] == f"{host}/{sandbox.directory.tenant_id}/v2.0"
    [account] = app.get_accounts()
    assert account["home_account_id"] == f"{sandbox.user.id}.{sandbox.directory.tenant_id}"


@pytest.mark.parametrize(
    ("policy", "at_sign_in", "at_refresh"),
    [
        (
            "admin_consent",
            ("consent_required", 90094),
            ("invalid_grant", 65001, "consent_required"),
        ),
        ("mfa", ("interaction_required", 50076), ("interaction_required", 50076, "basic_action")),
        (
            "mfa_enrollment",
            ("interaction_required", 50079),
            ("interaction_required", 50079, "additional_action"),
        ),
        ("disabled", ("access_denied", 50057), ("invalid_grant", 50057, None)),
    ],
)
def test_a_tenant_policy_refuses_sign_in_and_refresh_as_entra_does(
    sandbox: Sandbox,
    policy: str,
    at_sign_in: tuple[str, int],
    at_refresh: tuple[str, int, str | None],
) -> None:
    sandbox.directory.access_token_lifetime = 60  # MSAL refreshes at once
    app = sandbox.app()
    sandbox.sign_in(app)
    [account] = app.get_accounts()
    sandbox.platform.set_policy(sandbox.user.id, policy)

    result = app.acquire_token_silent_with_error(SCOPES, account)
    error, code, suberror = at_refresh
    assert (result["error"], result["error_codes"]) == (error, [code])
    assert result["error_description"].startswith(f"AADSTS{code}: ")
    assert result.get("suberror") == suberror

    flow = sandbox.start(sandbox.app())
    redirect = sandbox.browser().open(flow["auth_uri"]).accept()
    error, code = at_sign_in
    assert redirect.data["error"] == error
    assert redirect.data["error_description"].startswith(f"AADSTS{code}: ")
    assert "code" not in redirect.data and redirect.data["state"] == flow["state"]

    sandbox.platform.set_policy(sandbox.user.id, None)
    assert "access_token" in sandbox.sign_in(sandbox.app())
