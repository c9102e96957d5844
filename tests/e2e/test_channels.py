"""A campaign never starts into nowhere: the bot posts only in channels it is a member of.

Through the sandbox Slack, which refuses ``chat.postMessage`` where the bot is not a
member, as Slack does: the bot joins a public channel at create, refuses a private one it
was not invited to on the modal's field, refuses to start while its thread cannot be
posted, and sends a thread notice it cannot post to the campaign owner's DM.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from bot.models import Campaign, CampaignStep, Enrollment, OutboxMessage
from bot.sandbox import HIRING_MANAGER, RECRUITER
from handlers import campaign_blocks as cb
from outreach.campaigns import StartReport
from tests.conftest import RunningBot
from tests.e2e.campaign_helpers import (
    connect,
    create_campaign,
    dispatcher,
    post_slack,
    seed_shortlist,
)
from tests.e2e.test_campaign_slack import PEOPLE, campaign, command, shown
from tests.e2e.test_connect import TEAM
from tests.fakes import FakeClock

STEP_1 = {
    cb.step_block(1, "subject"): "Role at Acme, {{ first_name }}?",
    cb.step_block(1, "body"): "Hi {{ first_name }}, would you talk?",
}


def open_modal(bot: RunningBot, channel_id: str | None = None) -> dict[str, Any]:
    """``/scaleup campaign create`` typed in ``channel_id`` (the DM by default)."""
    slack = bot.sandbox.slack
    bot.slack.slash(RECRUITER.slack_id, "campaign create", channel_id=channel_id)
    view: dict[str, Any] = slack.wait_for(lambda: slack.last_view(RECRUITER.slack_id))
    return view


def submit(bot: RunningBot, view: dict[str, Any], **fields: Any) -> dict[str, Any]:
    shortlist = next(b for b in view["blocks"] if b.get("block_id") == cb.SHORTLIST)
    form = {
        cb.NAME: "Backend Q4",
        cb.SHORTLIST: shortlist["element"]["options"][0]["value"],
        **STEP_1,
        **fields,
    }
    answer = bot.slack.submit_view(RECRUITER.slack_id, view, form)
    assert answer.status_code == 200
    return answer.json() if answer.content else {}


def counts(bot: RunningBot) -> tuple[int, int, int]:
    with bot.db() as session:
        return (
            session.scalar(select(func.count()).select_from(Campaign)) or 0,
            session.scalar(select(func.count()).select_from(Enrollment)) or 0,
            session.scalar(select(func.count()).select_from(OutboxMessage)) or 0,
        )


def test_a_private_channel_the_bot_is_not_in_is_refused_on_the_field(bot: RunningBot) -> None:
    slack = bot.sandbox.slack
    connect(bot, RECRUITER)
    seed_shortlist(bot, "backend", PEOPLE)
    private = slack.channel_id(TEAM, "exec-hiring")

    view = open_modal(bot)
    assert submit(bot, view, **{cb.CHANNEL: private}) == {
        "response_action": "errors",
        "errors": {
            cb.CHANNEL: "Invite @ScaleUp to that channel first (/invite @ScaleUp in the "
            "channel), or pick another."
        },
    }
    assert counts(bot) == (0, 0, 0)
    assert bot.sandbox.workspace.bot_user_id not in slack.channel_members(TEAM, private)

    # Riley invites the bot, as `/invite @ScaleUp` in the channel does: now it is accepted.
    slack.invite(TEAM, private, RECRUITER.slack_id, [bot.sandbox.workspace.bot_user_id])
    assert submit(bot, view, **{cb.CHANNEL: private}) == {}
    assert campaign(bot).channel_id == private


def test_a_public_channel_is_joined_at_create_and_gets_the_parent_at_start(
    bot: RunningBot,
) -> None:
    slack, bot_user = bot.sandbox.slack, bot.sandbox.workspace.bot_user_id
    connect(bot, RECRUITER)
    seed_shortlist(bot, "backend", PEOPLE)
    public = slack.channel_id(TEAM, "hiring-backend")
    assert bot_user not in slack.channel_members(TEAM, public)

    # Typed in #hiring-backend: the picker starts there (default_to_current_conversation),
    # so the person submits without touching it.
    view = open_modal(bot, public)
    assert submit(bot, view) == {}
    assert campaign(bot).channel_id == public
    assert bot_user in slack.channel_members(TEAM, public)
    assert [c.params["channel"] for c in slack.calls("conversations.join")] == [public]

    answer = shown(command(bot, "campaign start Backend Q4"))
    assert "Replies will arrive in the thread in" in answer
    [parent] = slack.messages(public)
    assert parent["text"].startswith(":mega: Campaign *Backend Q4* started")
    assert campaign(bot).thread_ts == parent["ts"]


def test_start_is_refused_while_the_thread_cannot_be_posted(bot: RunningBot) -> None:
    slack, bot_user = bot.sandbox.slack, bot.sandbox.workspace.bot_user_id
    mailbox_id = connect(bot, RECRUITER)
    shortlist_id = seed_shortlist(bot, "backend", PEOPLE)
    private = slack.channel_id(TEAM, "exec-hiring")
    slack.invite(TEAM, private, HIRING_MANAGER.slack_id, [bot_user])
    create_campaign(bot, mailbox_id, shortlist_id, channel_id=private)
    slack.remove_member(TEAM, private, bot_user)  # someone removed @ScaleUp since

    answer = shown(command(bot, "campaign start Backend Q4"))
    assert (
        f"*Backend Q4* did not start: nothing was sent, because I can't post its thread in "
        f"<#{private}>. Invite @ScaleUp there (`/invite @ScaleUp` in the channel), then "
        "start it again."
    ) in answer
    assert counts(bot) == (1, 0, 0) and campaign(bot).state == "draft"
    assert slack.messages(private) == []

    # An archived public channel: the bot cannot join it back.
    public = slack.channel_id(TEAM, "recruiting")
    create_campaign(bot, mailbox_id, shortlist_id, "Archived", channel_id=public)
    slack.archive_channel(TEAM, public)
    answer = shown(command(bot, "campaign start Archived"))
    assert f"<#{public}> is archived and its thread could not be posted." in answer
    assert counts(bot) == (2, 0, 0)

    # Invited back: it starts.
    slack.invite(TEAM, private, HIRING_MANAGER.slack_id, [bot_user])
    assert "started: 2 candidates enrolled" in shown(command(bot, "campaign start Backend Q4"))


def test_the_parent_is_posted_before_the_start_commits(bot: RunningBot) -> None:
    """The worker cannot see step 1 before the thread exists; a failed post starts nothing."""
    mailbox_id = connect(bot, RECRUITER)
    shortlist_id = seed_shortlist(bot, "backend", PEOPLE)
    create_campaign(bot, mailbox_id, shortlist_id)
    seen: list[int] = []

    def sendable() -> int:
        """Outbox rows a worker could send now, seen from another connection (a start
        stages its rows as waiting first; only going live makes step 1 pending)."""
        with bot.db() as session:
            return session.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.state == "pending")
            ) or 0

    def announce(report: StartReport) -> str:
        seen.append(sendable())
        raise RuntimeError("Slack said not_in_channel")

    try:
        bot.container.campaigns.start(TEAM, RECRUITER.slack_id, "Backend Q4", announce=announce)
    except RuntimeError:
        pass
    assert seen == [0] and counts(bot) == (1, 0, 0) and campaign(bot).state == "draft"

    def posted(report: StartReport) -> str:
        seen.append(sendable())
        return "1700000000.000100"

    bot.container.campaigns.start(TEAM, RECRUITER.slack_id, "Backend Q4", announce=posted)
    assert seen == [0, 0] and counts(bot)[2] == 6
    assert campaign(bot).thread_ts == "1700000000.000100"


def test_a_notice_the_thread_cannot_take_reaches_the_owner(
    cbot: RunningBot, clock: FakeClock
) -> None:
    """The revoked mailbox pauses the campaign; the bot was removed from its channel."""
    slack = cbot.sandbox.slack
    cbot.sandbox.directory.access_token_lifetime = 60  # MSAL refreshes before every call
    mailbox_id = connect(cbot, RECRUITER)
    shortlist_id = seed_shortlist(cbot, "backend", PEOPLE)
    channel = slack.add_channel(TEAM, "recruiting")
    create_campaign(cbot, mailbox_id, shortlist_id, channel_id=channel)
    assert "started" in shown(command(cbot, "campaign start Backend Q4"))
    slack.remove_member(TEAM, channel, cbot.sandbox.workspace.bot_user_id)
    owner = cbot.sandbox.directory.find_user(RECRUITER.email)
    assert owner is not None
    cbot.sandbox.directory.revoke_grant(owner.id)
    clock.set(datetime(2026, 3, 2, 8, 0, tzinfo=UTC))
    assert dispatcher(cbot).tick().sent == 0
    post_slack(cbot)  # the worker's Slack poster: the thread refuses, the owner's DM takes it

    def paused() -> list[dict[str, Any]]:
        return [
            m for m in slack.dm_messages(TEAM, RECRUITER.slack_id) if "Paused" in m.get("text", "")
        ]

    [note] = slack.wait_for(paused)
    said = json.dumps(note)
    assert "Backend Q4" in said
    assert f"I could not post this in the campaign's thread in <#{channel}>" in said
    assert [m for m in slack.messages(channel) if "Paused" in m.get("text", "")] == []


def test_a_campaign_of_one_step_and_a_reply_step_without_subject(bot: RunningBot) -> None:
    connect(bot, RECRUITER)
    seed_shortlist(bot, "backend", PEOPLE)
    channel = bot.sandbox.slack.channel_id(TEAM, "recruiting")

    assert submit(bot, open_modal(bot, channel), **{cb.NAME: "One step"}) == {}
    two = {
        cb.NAME: "Two steps",
        cb.step_block(2, "body"): "Hi {{ first_name }}, any thoughts?",
        cb.step_block(2, "wait"): "2",
    }
    assert submit(bot, open_modal(bot, channel), **two) == {}
    with bot.db() as session:
        steps = {
            name: [
                (s.position, s.subject, s.as_reply)
                for s in session.scalars(
                    select(CampaignStep)
                    .join(Campaign, Campaign.id == CampaignStep.campaign_id)
                    .where(Campaign.name == name)
                    .order_by(CampaignStep.position)
                )
            ]
            for name in ("One step", "Two steps")
        }
    assert steps == {
        "One step": [(1, "Role at Acme, {{ first_name }}?", False)],
        "Two steps": [(1, "Role at Acme, {{ first_name }}?", False), (2, "", True)],
    }
