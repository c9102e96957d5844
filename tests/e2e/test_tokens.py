"""Access tokens that expire: the bot's clock, MSAL's cache and the sandbox agree on when,
MSAL's refresh keeps a campaign going, a token Graph refuses is refreshed and the request
retried, and a grant Microsoft stops honouring asks the owner to reconnect, saying why."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import select

from bot.models import AuditEntry, Mailbox
from bot.sandbox import RECRUITER, Sandbox
from bot.worker import check_mailboxes
from handlers import mailbox_blocks
from handlers.mrkdwn import esc_message
from outreach.errors import (
    AccountDisabled,
    ConsentMissing,
    MailboxNeedsReconnect,
    MfaRequired,
    MfaSetupRequired,
    OutreachError,
)
from outreach.tokens import TOKEN_MARGIN
from tests.conftest import TOKEN_LIFETIME, RunningBot, start_bot
from tests.e2e.campaign_helpers import connect, create_campaign, dispatcher, seed_shortlist
from tests.e2e.test_connect import TEAM
from tests.fakes import FakeClock

CANDIDATES = [
    ("jana@talent.example", "Jana", "Europe/Berlin", "DE"),
    ("omar@talent.example", "Omar", "America/New_York", "US"),
]


def refreshes(bot: RunningBot) -> list[Any]:
    return bot.sandbox.identity.token_log("refresh_token")


def graph_statuses(bot: RunningBot, path: str) -> list[int]:
    return [r.status for r in bot.sandbox.graph.faults.log() if r.path == path]


def start_campaign(bot: RunningBot) -> int:
    mailbox_id = connect(bot, RECRUITER)
    shortlist_id = seed_shortlist(bot, "backend", CANDIDATES)
    channel = bot.sandbox.slack.add_channel(TEAM, "recruiting")
    create_campaign(bot, mailbox_id, shortlist_id, channel_id=channel)
    report = bot.container.campaigns.start(TEAM, RECRUITER.slack_id, "Backend Q4")
    assert report.enrolled == 2
    return mailbox_id


def delivered(bot: RunningBot, address: str) -> list[str]:
    return [m.subject for m in bot.sandbox.store.inbox(address)]  # type: ignore[attr-defined]


def test_a_campaign_keeps_sending_across_many_token_lifetimes(
    cbot: RunningBot, clock: FakeClock
) -> None:
    start_campaign(cbot)
    worker = dispatcher(cbot)
    day = datetime(2026, 3, 2, tzinfo=UTC)
    while day < datetime(2026, 3, 13, tzinfo=UTC):  # two working weeks, hour by hour
        for hour in range(6, 20):
            clock.set(day + timedelta(hours=hour))
            worker.tick()
        day += timedelta(days=1)

    for address, _, _, _ in CANDIDATES:
        assert len(delivered(cbot, address)) == 3, address
    grants = refreshes(cbot)
    # Every working hour with a send came long after the last token expired: MSAL redeemed
    # the refresh token each time, and only one sign-in was ever needed.
    assert len(grants) >= 5 and all(g.error is None for g in grants), grants
    assert len(cbot.sandbox.identity.token_log("authorization_code")) == 1
    assert 401 not in [r.status for r in cbot.sandbox.graph.faults.log()]  # the clocks agree
    with cbot.db() as session:
        assert session.scalars(select(Mailbox.state)).one() == "connected"


def test_the_held_token_lasts_until_expiry_minus_the_margin_on_the_clock(
    cbot: RunningBot, clock: FakeClock
) -> None:
    mailbox_id = connect(cbot, RECRUITER)
    tokens = cbot.container.tokens
    first = tokens.access_token(mailbox_id)

    clock.advance(seconds=TOKEN_LIFETIME - TOKEN_MARGIN - 1)
    assert tokens.access_token(mailbox_id) == first
    assert refreshes(cbot) == []

    clock.advance(seconds=2)  # past expiry minus the margin: the hold is dropped
    second = tokens.access_token(mailbox_id)
    assert second != first
    [grant] = refreshes(cbot)
    assert grant.error is None and grant.at == clock.now().timestamp()
    assert tokens.graph_for(mailbox_id).me()["mail"] == RECRUITER.email


def test_graph_refuses_a_token_expired_on_the_sandbox_clock(
    cbot: RunningBot, clock: FakeClock
) -> None:
    mailbox_id = connect(cbot, RECRUITER)
    token = cbot.container.tokens.access_token(mailbox_id)
    me = f"{cbot.settings.graph_api_url}/me"
    assert requests.get(me, headers={"Authorization": f"Bearer {token}"}, timeout=5).ok

    clock.advance(seconds=TOKEN_LIFETIME)
    answer = requests.get(me, headers={"Authorization": f"Bearer {token}"}, timeout=5)
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "InvalidAuthenticationToken"


def test_a_token_graph_refuses_is_refreshed_and_the_send_retried_once(
    cbot: RunningBot, clock: FakeClock
) -> None:
    start_campaign(cbot)
    clock.set(datetime(2026, 3, 2, 7, 58, tzinfo=UTC))
    check_mailboxes(cbot.container)  # a fresh token, held by the bot until 08:03
    # Microsoft's clock runs a day ahead of the bot's host: MSAL's cache and the bot's hold
    # call the token good, Graph calls it expired.
    cbot.sandbox.identity_clock.follow(FakeClock(clock.now() + timedelta(days=1)))
    before = len(refreshes(cbot))
    clock.set(datetime(2026, 3, 2, 8, 0, tzinfo=UTC))  # 09:00 in Berlin: Jana is due

    assert dispatcher(cbot).tick().sent == 1

    assert delivered(cbot, "jana@talent.example") == ["Role at Acme, Jana?"]
    assert len(cbot.sandbox.store.sent_items(RECRUITER.email)) == 1
    statuses = [r.status for r in cbot.sandbox.graph.faults.log()]
    assert statuses.count(401) == 1  # refused once, then the retry went through
    assert len(refreshes(cbot)) == before + 1  # the forced refresh


def test_a_revoked_refresh_token_asks_the_owner_to_reconnect(
    cbot: RunningBot, clock: FakeClock
) -> None:
    mailbox_id = connect(cbot, RECRUITER)
    owner = cbot.sandbox.directory.find_user(RECRUITER.email)
    assert owner is not None
    cbot.sandbox.directory.revoke_grant(owner.id)
    assert cbot.container.tokens.graph_for(mailbox_id).me()  # issued tokens still work

    clock.advance(seconds=TOKEN_LIFETIME)
    with pytest.raises(MailboxNeedsReconnect):
        cbot.container.tokens.access_token(mailbox_id)

    assert refreshes(cbot)[-1].error == "AADSTS50173"
    assert reconnect_dm(cbot)


def reconnect_dm(bot: RunningBot) -> str:
    """The text of the Reconnect DM the owner got (it carries a Reconnect button)."""
    slack = bot.sandbox.slack
    [dm] = slack.wait_for(
        lambda: [
            m
            for m in slack.dm_messages(TEAM, RECRUITER.slack_id)
            if m.get("text", "").startswith("Reconnect")
        ]
    )
    actions = [e["action_id"] for b in dm["blocks"] for e in b.get("elements", [])]
    assert mailbox_blocks.CONNECT_START in actions
    return json.dumps(dm["blocks"])


@pytest.mark.parametrize(
    ("policy", "code", "sentence"),
    [
        ("admin_consent", "AADSTS65001", ConsentMissing),
        ("mfa", "AADSTS50076", MfaRequired),
        ("mfa_enrollment", "AADSTS50079", MfaSetupRequired),
        ("disabled", "AADSTS50057", AccountDisabled),
    ],
)
def test_a_refresh_the_tenant_refuses_marks_needs_reconnect_and_says_why(
    cbot: RunningBot, clock: FakeClock, policy: str, code: str, sentence: type[OutreachError]
) -> None:
    mailbox_id = connect(cbot, RECRUITER)
    cbot.sandbox.set_policy(RECRUITER.email, policy)
    clock.advance(seconds=TOKEN_LIFETIME)

    check_mailboxes(cbot.container)

    assert refreshes(cbot)[-1].error == code
    with cbot.db() as session:
        mailbox = session.get(Mailbox, mailbox_id)
        assert mailbox is not None and mailbox.state == "needs_reconnect"
        assert (mailbox.last_error or "").startswith(code)
    text = reconnect_dm(cbot)
    assert json.dumps(esc_message(sentence().sentence))[1:-1] in text  # as Slack got it
    with pytest.raises(MailboxNeedsReconnect):  # and nothing is sent until they reconnect
        cbot.container.tokens.access_token(mailbox_id)


# -- the production authority form ------------------------------------------------------------


@pytest.fixture
def org_bot(
    sandbox: Sandbox, database_url: str, tmp_path: Path, clock: FakeClock
) -> Iterator[RunningBot]:
    """The bot configured as in production: ``MS_AUTHORITY=https://<host>/organizations``."""
    sandbox.authority_tenant = "organizations"
    running, server = start_bot(
        sandbox,
        {"DATABASE_URL": database_url, "SCALEUP_DATA_DIR": str(tmp_path / "data")},
        clock=clock,
    )
    yield running
    server.stop()
    running.container.close()


def _claims(jwt: str) -> dict[str, Any]:
    payload = jwt.split(".")[1]
    claims: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    return claims


def test_the_organizations_authority_connects_refreshes_and_reports_revocation(
    org_bot: RunningBot, clock: FakeClock
) -> None:
    sandbox = org_bot.sandbox
    assert org_bot.settings.ms_authority.endswith("/organizations")
    mailbox_id = connect(org_bot, RECRUITER)

    paths = sandbox.identity.paths_requested()
    # MSAL validated the authority at the instance discovery endpoint, then read the
    # organizations OpenID configuration it pointed to, before any sign-in.
    assert paths[:2] == [
        "/common/discovery/instance",
        "/organizations/v2.0/.well-known/openid-configuration",
    ]
    assert "/organizations/oauth2/v2.0/token" in paths
    with org_bot.db() as session:
        mailbox = session.get(Mailbox, mailbox_id)
        assert mailbox is not None
        cache = json.loads(org_bot.container.cipher.decrypt(mailbox.token_cache_enc))
    [id_token] = cache["IdToken"].values()
    tenant = sandbox.directory.tenant_id
    assert _claims(id_token["secret"])["iss"].endswith(f"/{tenant}/v2.0")  # the user's tenant

    clock.advance(seconds=TOKEN_LIFETIME)
    assert org_bot.container.tokens.graph_for(mailbox_id).me()["mail"] == RECRUITER.email
    assert [g.error for g in refreshes(org_bot)] == [None]

    owner = sandbox.directory.find_user(RECRUITER.email)
    assert owner is not None
    sandbox.directory.revoke_grant(owner.id)
    clock.advance(seconds=TOKEN_LIFETIME)
    # After a failed refresh MSAL looks up the authority's aliases: at the sandbox's own
    # instance discovery, never at login.microsoftonline.com.
    with pytest.raises(MailboxNeedsReconnect):
        org_bot.container.tokens.access_token(mailbox_id)
    assert reconnect_dm(org_bot)
    assert sandbox.identity.paths_requested().count("/common/discovery/instance") == 2


def test_requests_that_find_the_grant_revoked_together_send_one_reconnect_dm(
    cbot: RunningBot, clock: FakeClock
) -> None:
    """A web request, the dispatcher and the reply sync may refresh the same mailbox at
    once; on SQLite ``FOR UPDATE`` serialises nothing. Only the refresh that marks the
    mailbox tells its owner. (A race: on SQLite, without the compare-and-set, it failed
    in each of three runs.)"""
    mailbox_id = connect(cbot, RECRUITER)
    cbot.sandbox.set_policy(RECRUITER.email, "disabled")
    clock.advance(seconds=TOKEN_LIFETIME)
    start = threading.Barrier(4)
    outcomes: list[str] = []

    def refresh() -> None:
        start.wait()
        try:
            cbot.container.tokens.access_token(mailbox_id)
        except MailboxNeedsReconnect:
            outcomes.append("needs_reconnect")

    threads = [threading.Thread(target=refresh) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert outcomes == ["needs_reconnect"] * 4
    reconnect_dm(cbot)  # the DM is there (it also unpacks exactly one)
    dms = [
        m
        for m in cbot.sandbox.slack.dm_messages(TEAM, RECRUITER.slack_id)
        if m.get("text", "").startswith("Reconnect")
    ]
    assert len(dms) == 1
    with cbot.db() as session:
        entries = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "mailbox.needs_reconnect")
        ).all()
    assert len(entries) == 1
