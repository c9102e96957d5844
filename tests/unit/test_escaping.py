"""Every value from a user, a candidate or Microsoft is inert in Slack text: no mention,
link, entity or formatting survives any builder, and one function does the escaping."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.notifier import render
from bot.sandbox import RECRUITER
from handlers import (
    blocks,
    campaign_blocks,
    home_blocks,
    mailbox_blocks,
    mrkdwn,
    notice_blocks,
    removal_blocks,
    team_blocks,
)
from outreach.delegations import PausedCampaign, Revoked
from outreach.erasure import DisconnectReport
from outreach.mailboxes import MailboxStatus
from outreach.notify import (
    CampaignDeletedWithMailbox,
    CampaignPaused,
    DelegationGoneWithMailbox,
    DelegationRevoked,
    MailboxConnected,
    MailboxConnectedByOther,
    MailboxNeedsReconnect,
    MailboxRemoved,
    SendFailed,
    SendingFromYourMailbox,
    SendUnconfirmed,
)
from outreach.removal import RemovalPreview
from tests.conftest import RunningBot
from tests.e2e.campaign_helpers import (
    connect,
    create_campaign,
    dispatcher,
    post_slack,
    seed_shortlist,
)
from tests.e2e.test_connect import TEAM
from tests.e2e.test_dispatch import CANDIDATES
from tests.fakes import FakeClock

HOSTILE = ["<!channel>", "<https://evil.example|x>", "*bold*", "&amp;", "<@U0EVIL001>", "_it_"]
SURVIVORS = [
    "<!channel>",
    "<https://evil",
    "|x>",
    "*bold*",
    "<@U0EVIL001>",
    "_it_",
    "<!here>",
    "*expired*",
]


def mrkdwn_texts(value: Any, top: bool = True) -> Iterator[str]:
    """Every string Slack parses as mrkdwn in ``value``: mrkdwn text objects, and a
    builder's notification fallback (a top-level string). Button values are data."""
    if isinstance(value, str):
        if top:
            yield value
    elif isinstance(value, dict):
        if value.get("type") == "mrkdwn":
            yield str(value.get("text", ""))
            return
        for item in value.values():
            yield from mrkdwn_texts(item, top=False)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from mrkdwn_texts(item, top=top and isinstance(value, tuple))


def assert_inert(rendered: Any) -> None:
    for text in mrkdwn_texts(rendered):
        for survivor in SURVIVORS:
            assert survivor not in text, f"{survivor!r} survived in {text!r}"
        assert "&amp;" not in text.replace("&amp;amp;", ""), text  # "&amp;" shows as typed


def status(value: str) -> MailboxStatus:
    return MailboxStatus(
        1, value, value, "needs_reconnect", datetime(2026, 3, 2, tzinfo=UTC), value
    )


BUILDERS: dict[str, Callable[[str], Any]] = {
    "SendFailed": lambda v: render(SendFailed(1, v, v)),
    "SendUnconfirmed": lambda v: render(SendUnconfirmed(2, v, v)),
    "CampaignPaused": lambda v: render(CampaignPaused(v, v)),
    "DelegationRevoked": lambda v: render(DelegationRevoked(v, v, v)),
    "MailboxConnected": lambda v: render(MailboxConnected(v, v)),
    "MailboxNeedsReconnect": lambda v: render(MailboxNeedsReconnect(v, v)),
    "SendingFromYourMailbox": lambda v: render(SendingFromYourMailbox(v, v, v, 3)),
    "sign_in_prompt": lambda v: mailbox_blocks.sign_in_prompt("https://login.example/x", v),
    "mailbox_status": lambda v: mailbox_blocks.mailbox_status(status(v)),
    "disconnect_confirm": lambda v: removal_blocks.disconnect_confirm(
        RemovalPreview(
            1, v, [(v, v)], 2, others=[(v, "U0DELEG01")], delegations=(("U0DELEG01", v),)
        )
    ),
    "CampaignDeletedWithMailbox": lambda v: render(CampaignDeletedWithMailbox(v, v, "U0OWNER01")),
    "DelegationGoneWithMailbox": lambda v: render(DelegationGoneWithMailbox(v, "U0OWNER01")),
    "MailboxRemoved": lambda v: render(MailboxRemoved(v, "U0OWNER01", 1, 2, 3)),
    "replace_confirm": lambda v: removal_blocks.replace_confirm(RemovalPreview(1, v, [(v, v)], 2), v, v),
    "MailboxConnectedByOther": lambda v: render(MailboxConnectedByOther(v, 1, "U0OWNER01")),
    "disconnected": lambda v: removal_blocks.disconnected(DisconnectReport(v, 1, 2, 3)),
    "home": lambda v: home_blocks.home(status(v)),
    "campaign_created": campaign_blocks.campaign_created,
    "campaign_list": lambda v: campaign_blocks.campaign_list([(v, "active")]),
    "revoked": lambda v: team_blocks.revoked(
        Revoked(v, "U0DELEG01", 1, [PausedCampaign(v, "C1", None)])
    ),
    "revoked_dm": lambda v: team_blocks.revoked_dm(
        "U0OWNER01", Revoked(v, "U0DELEG01", 1, [PausedCampaign(v, "C1", None)])
    ),
    "dnc_removed": lambda v: team_blocks.dnc_removed(v, True),
}


@pytest.mark.parametrize("value", HOSTILE)
@pytest.mark.parametrize("builder", sorted(BUILDERS))
def test_hostile_values_are_inert_in_every_builder(builder: str, value: str) -> None:
    rendered = BUILDERS[builder](value)
    assert json.dumps(rendered)  # plain data, postable as is
    assert_inert(rendered)


def test_notice_builders_cover_every_thread_notice() -> None:
    for notice in (
        SendFailed(1, "a@b.test", "r"),
        SendUnconfirmed(1, "a@b.test", "c"),
        CampaignPaused("c", "r"),
        DelegationRevoked("c", "a@b.test", "U0DELEG01"),
    ):
        summary, made = notice_blocks.thread_notice(notice)
        assert summary and made


def test_one_escaping_function() -> None:
    assert blocks.esc is mrkdwn.esc
    assert mrkdwn.esc("<!channel> & *bold*") == (
        "&lt;!channel&gt; &amp; \u200d*\u200dbold\u200d*\u200d"
    )
    assert mrkdwn.esc("jana_doe@talent.example") == "jana_doe@talent.example"  # copies intact
    assert mrkdwn.mention("U0RECRUIT1") == "<@U0RECRUIT1>"
    assert mrkdwn.mention("U1> <!channel") == "U1&gt; &lt;!channel"


def test_a_mailbox_reason_from_microsoft_is_quoted_inert() -> None:
    _, made = render(MailboxNeedsReconnect("a@b.test", "AADSTS50173 <!here> *expired*"))
    assert_inert(made)
    assert "<!here>" not in json.dumps(made)


def test_a_paused_campaign_named_channel_pings_nobody(cbot: RunningBot, clock: FakeClock) -> None:
    """End to end: the revoked mailbox pauses ``<!channel> camp`` and says so in Slack."""
    cbot.sandbox.directory.access_token_lifetime = 60  # MSAL refreshes before every call
    mailbox_id = connect(cbot, RECRUITER)
    shortlist_id = seed_shortlist(cbot, "backend", CANDIDATES)
    channel = cbot.sandbox.slack.add_channel(TEAM, "recruiting")
    create_campaign(cbot, mailbox_id, shortlist_id, name="<!channel> camp", channel_id=channel)
    assert cbot.container.campaigns.start(TEAM, RECRUITER.slack_id, "<!channel> camp").enrolled
    owner = cbot.sandbox.directory.find_user(RECRUITER.email)
    assert owner is not None
    cbot.sandbox.directory.revoke_grant(owner.id)
    clock.set(datetime(2026, 3, 2, 8, 0, tzinfo=UTC))
    assert dispatcher(cbot).tick().sent == 0

    def paused() -> list[dict[str, Any]]:
        return [m for m in cbot.sandbox.slack.messages(channel) if "Paused" in m.get("text", "")]

    post_slack(cbot)  # the worker posts what the dispatcher queued
    [note] = cbot.sandbox.slack.wait_for(paused)
    assert "&lt;!channel&gt; camp" in note["text"]
    assert "<!channel>" not in json.dumps(note)
