"""The App Home lists the user's campaigns with their state and numbers (issue 10 item 5):
those they created, those sending from their mailbox and those they are delegated for."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.sandbox import COLLEAGUE, HIRING_MANAGER, RECRUITER
from bot.sandbox.slack_blockkit import blocks_problems
from bot.sandbox.testing import TEAM
from handlers import home_blocks, mailbox_blocks
from outreach.mailboxes import MailboxStatus
from outreach.metrics import CampaignNumbers, CampaignSummary, UserCampaigns
from tests.conftest import RunningBot
from tests.e2e.campaign_helpers import connect
from tests.e2e.replies_helpers import inbound, sent_id, start_and_send, sync
from tests.e2e.test_campaign_slack import command
from tests.fakes import FakeClock

PEOPLE = [
    ("jana@talent.example", "Jana", "Europe/Berlin", "DE"),
    ("omar@talent.example", "Omar", "Europe/Berlin", "DE"),
]


def home_text(bot: RunningBot, user_id: str) -> str:
    """Every text of the Home tab ``user_id`` sees after opening it."""
    slack = bot.sandbox.slack
    before = len(slack.calls("views.publish"))
    assert bot.slack.home_opened(user_id).status_code == 200
    slack.wait_for(lambda: len(slack.calls("views.publish")) > before)
    view = slack.home_view(user_id)
    assert view is not None
    return texts(view["blocks"])


def texts(view_blocks: list[dict[str, Any]]) -> str:
    found = []
    for block in view_blocks:
        found.append((block.get("text") or {}).get("text", ""))
        found += [e.get("text", "") for e in block.get("elements", []) if e.get("type") == "mrkdwn"]
    return "\n".join(found)


def test_the_home_lists_the_users_campaign_with_its_state_and_numbers(
    cbot: RunningBot, clock: FakeClock
) -> None:
    start_and_send(cbot, clock, PEOPLE)
    inbound(cbot).reply(
        RECRUITER.email, sent_id(cbot, "jana@talent.example"), text="Yes, I'm interested!"
    )
    assert sync(cbot).replies == 1

    shown = home_text(cbot, RECRUITER.slack_id)
    assert "*Your campaigns*" in shown
    assert f"*Backend Q4*: :large_green_circle: running · from {RECRUITER.email}" in shown
    assert "Enrolled 2 · sent step 1: 2" in shown
    assert "Replied 1 · interested 1 (50% of enrolled, 100% of replies)" in shown
    assert "Bounced 0 · unsubscribed 0 · out of office 0 · paused 0 · failed 0" in shown

    stranger = home_text(cbot, COLLEAGUE.slack_id)
    assert "Backend Q4" not in stranger
    assert "None yet" in stranger

    command(cbot, "campaign pause Backend Q4")
    assert "*Backend Q4*: :double_vertical_bar: paused" in home_text(cbot, RECRUITER.slack_id)


def test_the_mailbox_owner_and_the_delegates_see_a_campaign_sending_as_them(
    cbot: RunningBot, clock: FakeClock
) -> None:
    connect(cbot, HIRING_MANAGER)
    command(cbot, "delegate <@U0RECRUIT1|riley>", user=HIRING_MANAGER.slack_id)
    command(cbot, "delegate <@U0COLLEAG1|alex> Backend Q4", user=HIRING_MANAGER.slack_id)
    start_and_send(cbot, clock, PEOPLE, sender=HIRING_MANAGER, connect_sender=False)

    for person in (RECRUITER, HIRING_MANAGER, COLLEAGUE):  # creator, owner, delegate for it
        assert f"*Backend Q4*: :large_green_circle: running · from {HIRING_MANAGER.email}" in (
            home_text(cbot, person.slack_id)
        ), person.name


def test_a_disconnect_from_the_home_redraws_it_with_the_campaigns(
    cbot: RunningBot, clock: FakeClock
) -> None:
    start_and_send(cbot, clock, PEOPLE)
    slack = cbot.sandbox.slack
    assert cbot.slack.home_opened(RECRUITER.slack_id).status_code == 200
    home = slack.wait_for(lambda: slack.home_view(RECRUITER.slack_id))
    # App Home's "Disconnect…" answers with the confirmation naming what goes (by DM: a
    # home tab has no message to answer); its Disconnect button deletes and redraws.
    start = button(home, mailbox_blocks.DISCONNECT_START)
    cbot.slack.click(RECRUITER.slack_id, mailbox_blocks.DISCONNECT_START, start["value"], view=home)
    confirm = slack.wait_for(
        lambda: [
            m
            for m in slack.dm_messages(TEAM, RECRUITER.slack_id)
            if any(el.get("action_id") == mailbox_blocks.DISCONNECT_CONFIRM for el in elements(m))
        ]
    )[-1]
    before = len(slack.calls("views.publish"))
    cbot.slack.click(RECRUITER.slack_id, mailbox_blocks.DISCONNECT_CONFIRM, message=confirm)
    slack.wait_for(lambda: len(slack.calls("views.publish")) > before)
    redrawn = texts(slack.home_view(RECRUITER.slack_id)["blocks"])  # type: ignore[index]
    assert "Not connected" in redrawn
    assert "None yet" in redrawn  # the disconnect deleted the mailbox's campaigns


def elements(message: dict[str, Any]) -> list[dict[str, Any]]:
    return [el for b in message.get("blocks", []) for el in b.get("elements", []) or []]


def button(view: dict[str, Any], action_id: str) -> dict[str, Any]:
    [found] = [el for el in elements(view) if el.get("action_id") == action_id]
    return found


# -- the builder (pure) ---------------------------------------------------------------------
def summary(number: int) -> CampaignSummary:
    numbers = CampaignNumbers(
        enrolled=10_000, sent_per_step={1: 10_000, 2: 9_000, 3: 8_000, 4: 7_000, 5: 6_000},
        replied=1_234, interested=567, not_interested=89, bounced=12, unsubscribed=3,
        out_of_office=45, paused=6, failed=7,
    )  # fmt: skip
    created = datetime(2026, 3, 2, tzinfo=UTC) - timedelta(days=number)
    return CampaignSummary(f"Campaign {number} " + "x" * 60, "active", "a" * 300, created, numbers)


def test_the_home_fits_slacks_limits_and_counts_what_it_does_not_show() -> None:
    mine = UserCampaigns([summary(n) for n in range(20)], total=57)
    status = MailboxStatus(
        1, RECRUITER.email, "Riley Chen", "needs_reconnect", datetime(2026, 3, 1, tzinfo=UTC), "x"
    )
    view = home_blocks.home(status, home_blocks.campaigns_section(mine))
    assert blocks_problems(view["blocks"], "home") == []
    assert len(view["blocks"]) <= home_blocks.HOME_BLOCKS
    shown = texts(view["blocks"])
    assert shown.count("Campaign ") == 20
    assert "and 37 more — `/scaleup campaign list`" in shown
    assert "sent step 1: 10,000, step 2: 9,000" in shown
    assert json.dumps(view)  # serialisable as views.publish sends it
