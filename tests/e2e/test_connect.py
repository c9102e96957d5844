"""``/scaleup connect`` end to end: signed Slack requests → the bot → the sandbox's
Microsoft sign-in and Graph → the callback → an encrypted mailbox and a DM."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import pytest
from markupsafe import escape
from sqlalchemy import select, update

from bot.logs import configure_logging
from bot.models import AuditEntry, Mailbox, OutlookAuthFlow
from bot.sandbox import COLLEAGUE, HIRING_MANAGER, RECRUITER
from bot.sandbox.browser import Redirect
from bot.sandbox.testing import TEAM, RunningBot, find_button_url, sign_in, start_connect
from bot.worker import check_mailboxes
from handlers import mailbox_blocks
from outreach.errors import (
    AccountDisabled,
    AdminApprovalRequired,
    ConnectError,
    MfaRequired,
    MfaSetupRequired,
)


def through_slack(bot: RunningBot, url: str, slack_user: str) -> str:
    """Sign in with Slack as ``slack_user`` on a link that asks for it; the Microsoft URL
    the bot then sends the browser to."""
    answer = bot.browser.open_slack(url).choose(slack_user).follow()
    assert answer.status_code == 302, answer.text
    return answer.headers["Location"]


def mailboxes(bot: RunningBot) -> list[Mailbox]:
    with bot.db() as session:
        return list(session.scalars(select(Mailbox)))


def test_connect_with_email_end_to_end(bot: RunningBot) -> None:
    url = start_connect(bot, RECRUITER.slack_id, RECRUITER.email)
    page = bot.browser.open(url)
    assert page.username == RECRUITER.email  # login_hint pre-fills Microsoft's page
    result = page.accept(RECRUITER.email).follow()

    assert result.status_code == 200, result.text
    assert "Outlook connected" in result.text
    [mailbox] = mailboxes(bot)
    assert (mailbox.team_id, mailbox.owner_user_id) == (TEAM, RECRUITER.slack_id)
    assert mailbox.email == RECRUITER.email and mailbox.state == "connected"
    assert mailbox.sender_name == RECRUITER.real_name  # from the Slack profile
    cache = json.loads(bot.container.cipher.decrypt(mailbox.token_cache_enc))
    [refresh] = cache["RefreshToken"].values()
    assert refresh["secret"] not in mailbox.token_cache_enc  # encrypted at rest
    dm = bot.sandbox.slack.wait_for(
        lambda: [
            m
            for m in bot.sandbox.slack.dm_messages(TEAM, RECRUITER.slack_id)
            if "Connected as riley.chen@acme.test" in m.get("text", "")
        ]
    )
    assert dm
    owner = bot.sandbox.directory.find_user(RECRUITER.email)
    assert owner is not None
    names = [c.display_name for c in bot.sandbox.store.categories(owner)]
    assert "ScaleUp" in names
    # The bot can act as the mailbox afterwards, through MSAL's cache.
    assert bot.container.tokens.graph_for(mailbox.id).me()["mail"] == RECRUITER.email


def test_connect_modal_is_prefilled_and_leads_to_the_sign_in_button(bot: RunningBot) -> None:
    slack = bot.sandbox.slack
    assert bot.slack.slash(RECRUITER.slack_id, "connect").status_code == 200
    view = slack.wait_for(lambda: slack.last_view(RECRUITER.slack_id))
    assert view["callback_id"] == mailbox_blocks.CONNECT_MODAL
    inputs = {b["block_id"]: b["element"].get("initial_value") for b in view["blocks"]}
    assert inputs == {mailbox_blocks.EMAIL_BLOCK: RECRUITER.email, mailbox_blocks.NAME_BLOCK: RECRUITER.real_name}

    bad = bot.slack.submit_view(
        RECRUITER.slack_id, view, {mailbox_blocks.EMAIL_BLOCK: "riley@", mailbox_blocks.NAME_BLOCK: "Riley"}
    )
    assert bad.json() == {
        "response_action": "errors",
        "errors": {mailbox_blocks.EMAIL_BLOCK: "'riley@' is not an email address."},
    }
    assert mailboxes(bot) == []

    ok = bot.slack.submit_view(
        RECRUITER.slack_id,
        view,
        {mailbox_blocks.EMAIL_BLOCK: RECRUITER.email, mailbox_blocks.NAME_BLOCK: "Riley C."},
    )
    assert ok.status_code == 200
    url = slack.wait_for(lambda: find_button_url(slack.ephemeral_messages(RECRUITER.slack_id)))
    assert sign_in(bot, url, RECRUITER.email).follow().status_code == 200
    [mailbox] = mailboxes(bot)
    assert mailbox.sender_name == "Riley C."


def test_an_alias_is_refused_naming_the_primary_address(bot: RunningBot) -> None:
    url = start_connect(bot, RECRUITER.slack_id, "riley@acme.test")
    # riley@ is not Riley's Slack profile email, so Sign in with Slack comes first.
    result = sign_in(bot, through_slack(bot, url, RECRUITER.slack_id), "riley@acme.test").follow()
    assert result.status_code == 400
    assert "riley@acme.test is an alias of the mailbox riley.chen@acme.test" in result.text
    assert "/scaleup connect riley.chen@acme.test" in result.text
    assert mailboxes(bot) == []


def test_signing_in_to_another_mailbox_is_refused(bot: RunningBot) -> None:
    url = start_connect(bot, RECRUITER.slack_id, RECRUITER.email)
    result = sign_in(bot, url, HIRING_MANAGER.email).follow()
    assert result.status_code == 400
    assert "signed in to Microsoft as sam.patel@acme.test" in result.text
    assert mailboxes(bot) == []


def test_cancel_on_the_consent_page_gives_a_clear_page(bot: RunningBot) -> None:
    url = start_connect(bot, RECRUITER.slack_id, RECRUITER.email)
    result = bot.browser.open(url).cancel().follow()
    assert result.status_code == 400
    assert "You cancelled the Microsoft sign-in" in result.text
    assert mailboxes(bot) == []


def test_a_sign_in_link_works_once(bot: RunningBot) -> None:
    url = start_connect(bot, RECRUITER.slack_id, RECRUITER.email)
    redirect = sign_in(bot, url, RECRUITER.email)
    assert redirect.follow().status_code == 200
    replay = redirect.follow()
    assert replay.status_code == 400
    assert "already used or is not valid" in replay.text


def test_an_expired_sign_in_link_is_refused(bot: RunningBot) -> None:
    url = start_connect(bot, RECRUITER.slack_id, RECRUITER.email)
    redirect = sign_in(bot, url, RECRUITER.email)
    with bot.db() as session, session.begin():
        flow = session.scalars(select(OutlookAuthFlow)).one()
        session.execute(
            update(OutlookAuthFlow).values(expires_at=flow.created_at - timedelta(seconds=1))
        )
    result = redirect.follow()
    assert result.status_code == 400
    assert "expired" in result.text
    assert mailboxes(bot) == []


def test_another_users_state_cannot_carry_a_code(bot: RunningBot) -> None:
    """A code from Riley's sign-in posted with Sam's state fails PKCE: nothing is stored."""
    riley = sign_in(bot, start_connect(bot, RECRUITER.slack_id, RECRUITER.email), RECRUITER.email)
    sam_url = start_connect(bot, HIRING_MANAGER.slack_id, HIRING_MANAGER.email)
    sam_state = sam_url.split("state=", 1)[1].split("&", 1)[0]
    assert riley.method == "GET"  # response_mode=query: the answer is in the query string
    forged = Redirect(riley.url, "GET", {**riley.params, "state": sam_state})
    result = forged.follow()
    assert result.status_code == 400
    assert "Microsoft did not accept the sign-in" in result.text
    assert mailboxes(bot) == []


def test_a_mailbox_connected_by_someone_else_is_refused(bot: RunningBot) -> None:
    url = start_connect(bot, RECRUITER.slack_id, RECRUITER.email)
    assert sign_in(bot, url, RECRUITER.email).follow().status_code == 200
    before = len(bot.sandbox.slack.responses())
    bot.slack.slash(COLLEAGUE.slack_id, f"connect {RECRUITER.email}")
    reply = bot.sandbox.slack.wait_for(lambda: bot.sandbox.slack.responses()[before:])
    assert "already connected by another Slack user" in reply[-1]["text"]
    [mailbox] = mailboxes(bot)
    assert mailbox.owner_user_id == RECRUITER.slack_id


def test_a_revoked_grant_marks_the_mailbox_and_dms_the_owner(bot: RunningBot) -> None:
    bot.sandbox.directory.access_token_lifetime = 60  # MSAL refreshes tokens this short-lived
    url = start_connect(bot, RECRUITER.slack_id, RECRUITER.email)
    assert sign_in(bot, url, RECRUITER.email).follow().status_code == 200
    owner = bot.sandbox.directory.find_user(RECRUITER.email)
    assert owner is not None
    bot.sandbox.directory.revoke_grant(owner.id)

    check_mailboxes(bot.container)

    [mailbox] = mailboxes(bot)
    assert mailbox.state == "needs_reconnect"
    assert "AADSTS50173" in (mailbox.last_error or "")
    cache = json.loads(bot.container.cipher.decrypt(mailbox.token_cache_enc))
    assert cache.get("Account", {}) == {} and cache.get("RefreshToken", {}) == {}
    dm = bot.sandbox.slack.wait_for(
        lambda: [
            m
            for m in bot.sandbox.slack.dm_messages(TEAM, RECRUITER.slack_id)
            if "Reconnect" in m.get("text", "")
        ]
    )
    actions = [e["action_id"] for b in dm[-1]["blocks"] for e in b.get("elements", [])]
    assert mailbox_blocks.CONNECT_START in actions


def test_disconnect_asks_then_deletes_every_datum(bot: RunningBot) -> None:
    url = start_connect(bot, RECRUITER.slack_id, RECRUITER.email)
    assert sign_in(bot, url, RECRUITER.email).follow().status_code == 200
    start_connect(bot, RECRUITER.slack_id, RECRUITER.email)  # an unused link is data too

    before = len(bot.sandbox.slack.responses())
    bot.slack.slash(RECRUITER.slack_id, "disconnect")
    [confirm] = bot.sandbox.slack.wait_for(lambda: bot.sandbox.slack.responses()[before:])
    assert mailboxes(bot), "nothing is deleted before the confirmation"
    button = next(
        e
        for b in confirm["blocks"]
        for e in b.get("elements", [])
        if e.get("action_id") == mailbox_blocks.DISCONNECT_CONFIRM
    )
    bot.slack.click(RECRUITER.slack_id, mailbox_blocks.DISCONNECT_CONFIRM, button["value"], message=confirm)
    done = bot.sandbox.slack.wait_for(
        lambda: [r for r in bot.sandbox.slack.responses() if "Disconnected" in r.get("text", "")]
    )
    text = json.dumps(done[-1]["blocks"])
    assert "1 unused sign-in link" in text and "My Apps" in text
    with bot.db() as session:
        assert session.scalars(select(Mailbox)).all() == []
        assert session.scalars(select(OutlookAuthFlow)).all() == []
        assert all(e.mailbox_id is None for e in session.scalars(select(AuditEntry)))


def test_tokens_never_reach_the_logs(bot: RunningBot, caplog: pytest.LogCaptureFixture) -> None:
    configure_logging("DEBUG")  # as an admin debugging production would run it
    caplog.set_level(logging.DEBUG)
    url = start_connect(bot, RECRUITER.slack_id, RECRUITER.email)
    redirect = sign_in(bot, url, RECRUITER.email)
    assert redirect.follow().status_code == 200
    [mailbox] = mailboxes(bot)
    cache = json.loads(bot.container.cipher.decrypt(mailbox.token_cache_enc))
    secrets_seen = [redirect.auth_response["code"]]
    for kind in ("AccessToken", "RefreshToken", "IdToken"):
        secrets_seen += [entry["secret"] for entry in cache[kind].values()]
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert logged, "the flow logs something, so this check reads real output"
    for secret in secrets_seen:
        assert secret[:24] not in logged
    assert mailbox.token_cache_enc[:24] not in logged


@pytest.mark.parametrize(
    ("policy", "code", "sentence"),
    [
        ("admin_consent", "AADSTS90094", AdminApprovalRequired),
        ("mfa", "AADSTS50076", MfaRequired),
        ("mfa_enrollment", "AADSTS50079", MfaSetupRequired),
        ("disabled", "AADSTS50057", AccountDisabled),
    ],
)
def test_a_sign_in_the_tenant_refuses_says_what_to_do(
    bot: RunningBot, policy: str, code: str, sentence: type[ConnectError]
) -> None:
    bot.sandbox.set_policy(RECRUITER.email, policy)
    url = start_connect(bot, RECRUITER.slack_id, RECRUITER.email)
    redirect = sign_in(bot, url, RECRUITER.email)
    assert redirect.auth_response["error_description"].startswith(f"{code}: ")

    result = redirect.follow()
    assert result.status_code == 400
    assert str(escape(sentence().message)) in result.text
    assert mailboxes(bot) == []
    owner = bot.sandbox.directory.find_user(RECRUITER.email)
    assert owner is not None and not bot.sandbox.directory.has_grant(
        owner.id, bot.settings.ms_client_id or ""
    )
    assert bot.sandbox.identity.token_log() == []  # no code was issued to redeem

    bot.sandbox.set_policy(RECRUITER.email, None)  # once the admin has acted, it connects
    url = start_connect(bot, RECRUITER.slack_id, RECRUITER.email)
    assert sign_in(bot, url, RECRUITER.email).follow().status_code == 200
