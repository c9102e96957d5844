"""Delegation and the do-not-contact list from Slack, end to end: a hiring manager lets a
recruiter send from their mailbox, hears when a campaign starts from it and revokes with
one click; anyone adds or removes an address from the workspace's do-not-contact list."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from bot.models import AuditEntry, Campaign, Delegation, Enrollment, OutboxMessage, Suppression
from bot.sandbox import COLLEAGUE, HIRING_MANAGER, RECRUITER
from handlers import campaign_form
from handlers import team_blocks as tb
from outreach.permissions import Action, Actor, CampaignTarget, allowed
from outreach.suppressions import DncEntry
from tests.conftest import RunningBot
from tests.e2e.campaign_helpers import connect, create_campaign, post_slack, seed_shortlist
from tests.e2e.test_campaign_slack import command, reply, shown
from tests.e2e.test_connect import TEAM

SAM, RILEY, ALEX = HIRING_MANAGER.slack_id, RECRUITER.slack_id, COLLEAGUE.slack_id
ADMIN = "U0ADMIN001"  # a workspace admin (Slack's is_admin), added where a test needs one
PEOPLE = [
    ("jana@talent.example", "Jana", "Europe/Berlin", "DE"),
    ("omar@talent.example", "Omar", "America/New_York", "US"),
]


def dms(bot: RunningBot, user_id: str, containing: str) -> list[dict[str, Any]]:
    """The bot's DMs to ``user_id`` whose text contains ``containing``, once there are any."""
    slack = bot.sandbox.slack
    return slack.wait_for(
        lambda: [m for m in slack.dm_messages(TEAM, user_id) if containing in shown(m)]
    )


def delegations(bot: RunningBot) -> list[tuple[str, str]]:
    with bot.db() as session:
        rows = session.scalars(select(Delegation).order_by(Delegation.id))
        return [(d.delegate_user_id, d.campaign_name) for d in rows]


def campaign_state(bot: RunningBot, name: str = "Backend Q4") -> str:
    with bot.db() as session:
        return session.scalars(select(Campaign.state).where(Campaign.name == name)).one()


def message_states(bot: RunningBot, to: str | None = None) -> list[str]:
    with bot.db() as session:
        query = select(OutboxMessage.state).order_by(OutboxMessage.id)
        if to is not None:
            query = query.where(OutboxMessage.to_email == to)
        return list(session.scalars(query))


# -- delegation ---------------------------------------------------------------------------


def test_a_recruiter_sends_from_the_managers_mailbox_until_the_manager_revokes(
    bot: RunningBot,
) -> None:
    slack = bot.sandbox.slack
    sam_box = connect(bot, bot.sandbox.hiring_manager)

    answer = command(bot, "delegate <@U0RECRUIT1|riley>", user=SAM)
    assert shown(answer).startswith(
        "<@U0RECRUIT1> can now send campaigns from sam.patel@acme.test."
    )
    [told] = dms(bot, RILEY, "lets you send")
    assert told["text"] == "<@U0HIRING01> lets you send campaigns from *sam.patel@acme.test*."
    assert "Pick sam.patel@acme.test as the sender in `/scaleup campaign create`." in shown(told)
    assert bot.container.campaigns.sender_choices(TEAM, RILEY) == [(sam_box, HIRING_MANAGER.email)]

    again = shown(command(bot, "delegate <@U0RECRUIT1>", user=SAM))
    assert (
        "<@U0RECRUIT1> can already send campaigns from sam.patel@acme.test; nothing changed."
        in (again)
    )
    assert delegations(bot) == [(RILEY, "")]
    assert len(dms(bot, RILEY, "lets you send")) == 1  # no second DM for no change

    # Riley creates a campaign from Sam's mailbox and starts it through Slack.
    channel = slack.add_channel(TEAM, "recruiting")
    create_campaign(bot, sam_box, seed_shortlist(bot, "backend", PEOPLE), channel_id=channel)
    started = shown(command(bot, "campaign start Backend Q4", user=RILEY))
    assert "*Backend Q4* started: 2 candidates enrolled" in started

    [notice] = dms(bot, SAM, "started campaign")
    assert notice["text"] == "Campaign Backend Q4 is sending from sam.patel@acme.test"
    assert (
        "<@U0RECRUIT1> started campaign *Backend Q4* from your mailbox *sam.patel@acme.test*: "
        "2 candidate(s)."
    ) in shown(notice)
    [buttons] = [b for b in notice["blocks"] if b["type"] == "actions"]
    [revoke] = buttons["elements"]
    assert revoke["action_id"] == tb.DELEGATION_REVOKE
    [(key, email, delegate)] = [tb.revoke_button_ref(revoke["value"])]
    assert (key.id, email, delegate) == (sam_box, HIRING_MANAGER.email, RILEY)

    # Someone else clicking Sam's button is refused by name; nothing changes.
    before = len(slack.responses())
    bot.slack.click(ALEX, tb.DELEGATION_REVOKE, message=notice)
    refused = reply(bot, before)
    assert refused["text"] == (
        "You can't take back someone's access to sam.patel@acme.test: only its owner can, "
        "or the person it was delegated to can give it up."
    )
    assert refused["replace_original"] is False
    assert (campaign_state(bot), delegations(bot)) == ("active", [(RILEY, "")])

    before = len(slack.responses())
    bot.slack.click(SAM, tb.DELEGATION_REVOKE, message=notice)
    done = reply(bot, before)
    assert done["replace_original"] is True
    assert done["text"] == "<@U0RECRUIT1> can no longer send from sam.patel@acme.test."
    assert "Paused their running campaign(s) from it: *Backend Q4*." in shown(done)
    [replaced] = [m for m in slack.dm_messages(TEAM, SAM) if m["ts"] == notice["ts"]]
    assert "can no longer send" in replaced["text"]  # the button is gone with it

    assert campaign_state(bot) == "paused"
    assert sorted(message_states(bot)) == ["paused"] * 2 + ["waiting"] * 4
    assert delegations(bot) == []
    assert bot.container.campaigns.sender_choices(TEAM, RILEY) == []
    [lost] = dms(bot, RILEY, "took back")
    assert lost["text"] == (
        "<@U0HIRING01> took back your access to send from *sam.patel@acme.test*. "
        "Paused: *Backend Q4*."
    )
    assert len(slack.messages(channel)) == 1  # the worker posts the thread's notice
    post_slack(bot)
    [parent, note] = slack.messages(channel)
    assert note["thread_ts"] == parent["ts"]
    assert note["text"] == (
        ":double_vertical_bar: Paused: the owner of sam.patel@acme.test took back "
        "<@U0RECRUIT1>'s access to send from it."
    )

    # Riley may no longer touch it; Sam, the owner, may.
    assert (
        "You can't resume 'Backend Q4': only the owner of sam.patel@acme.test and the "
        "recruiters they delegated it to can."
    ) in shown(command(bot, "campaign resume Backend Q4", user=RILEY))
    assert "Resumed *Backend Q4*" in shown(command(bot, "campaign resume Backend Q4", user=SAM))
    with bot.db() as session:
        actions = list(session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))
    assert "delegation.created" in actions and "delegation.revoked" in actions


def add_admin(bot: RunningBot) -> None:
    bot.sandbox.slack.add_user(TEAM, ADMIN, name="dana", real_name="Dana Admin", is_admin=True)


def test_a_delegate_for_one_campaign_cannot_stop_another_but_an_admin_can(
    bot: RunningBot,
) -> None:
    slack = bot.sandbox.slack
    add_admin(bot)
    sam_box = connect(bot, HIRING_MANAGER)
    command(bot, "delegate <@U0RECRUIT1|riley> alpha", user=SAM)
    channel = slack.add_channel(TEAM, "recruiting")
    shortlist = seed_shortlist(bot, "backend", PEOPLE)
    create_campaign(bot, sam_box, shortlist, "alpha", channel_id=channel, user_id=RILEY)
    create_campaign(bot, sam_box, shortlist, "beta", channel_id=channel, user_id=SAM)
    assert "*beta* started" in shown(command(bot, "campaign start beta", user=SAM))

    for verb in ("stop", "pause"):
        refused = shown(command(bot, f"campaign {verb} beta", user=RILEY))
        assert (
            f"You can't {verb} 'beta': sam.patel@acme.test was delegated to you for other "
            "campaigns only. Ask its owner to run `/scaleup delegate` for 'beta'."
        ) in refused
    assert "You can't pause a candidate of 'beta'" in shown(
        command(bot, "campaign pause beta jana@talent.example", user=RILEY)
    )
    assert "You can't send a test of 'beta'" in shown(
        command(bot, "campaign test beta", user=RILEY)
    )
    assert campaign_state(bot, "beta") == "active"
    assert message_states(bot).count("pending") == 2

    # Alpha is Riley's to run; a workspace admin may stop any campaign, but not start one.
    assert "*alpha* started" in shown(command(bot, "campaign start alpha", user=RILEY))
    assert "You can't stop 'beta'" in shown(command(bot, "campaign stop beta", user=ALEX))
    assert "You can't start 'alpha'" in shown(command(bot, "campaign start alpha", user=ADMIN))
    stopped = shown(command(bot, "campaign stop beta", user=ADMIN))
    assert "Stopped *beta*; 6 unsent emails cancelled." in stopped
    assert campaign_state(bot, "beta") == "stopped"
    assert campaign_state(bot, "alpha") == "active"


def test_only_admins_and_whoever_added_it_take_an_address_off_the_dnc_list(
    bot: RunningBot,
) -> None:
    add_admin(bot)
    command(bot, "dnc add jana@talent.example asked us", user=ALEX)
    refused = shown(command(bot, "dnc remove jana@talent.example", user=RILEY))
    assert (
        "You can't take jana@talent.example off the do-not-contact list: only workspace "
        "admins and the person who added it can."
    ) in refused
    assert "jana@talent.example" in shown(command(bot, "dnc list"))

    removed = shown(command(bot, "dnc remove jana@talent.example", user=ADMIN))
    assert "Removed jana@talent.example from the do-not-contact list." in removed
    assert "The do-not-contact list is empty." in shown(command(bot, "dnc list"))
    # Slack said who is an admin: the bot asked users.info for the person removing.
    asked = [c.params.get("user") for c in bot.sandbox.slack.calls("users.info")]
    assert RILEY in asked and ADMIN in asked


def test_starting_from_ones_own_mailbox_tells_no_one(bot: RunningBot) -> None:
    slack = bot.sandbox.slack
    riley_box = connect(bot, RECRUITER)
    channel = slack.add_channel(TEAM, "recruiting")
    create_campaign(bot, riley_box, seed_shortlist(bot, "backend", PEOPLE), channel_id=channel)
    assert "started" in shown(command(bot, "campaign start Backend Q4", user=RILEY))
    assert slack.messages(channel)  # the start is complete once the parent is posted
    everyone = [SAM, RILEY, ALEX]
    assert not [m for u in everyone for m in slack.dm_messages(TEAM, u) if "started" in m["text"]]


def test_delegation_mistakes_get_a_sentence(bot: RunningBot) -> None:
    no_mailbox = shown(command(bot, "delegate <@U0RECRUIT1|riley>", user=SAM))
    assert (
        "Connect your Outlook mailbox first with `/scaleup connect`; then you can let a "
        "recruiter send from it."
    ) in no_mailbox
    assert "Connect your Outlook mailbox first" in shown(
        command(bot, "undelegate <@U0RECRUIT1|riley>", user=SAM)
    )
    connect(bot, bot.sandbox.hiring_manager)

    to_self = shown(command(bot, "delegate <@U0HIRING01|sam>", user=SAM))
    assert "You can already send from your own mailbox: name the recruiter" in to_self
    bare = shown(command(bot, "delegate @riley Backend Q4", user=SAM))
    assert "I can't tell who @riley is. Type @ and pick the person from the list" in bare
    assert command(bot, "delegate", user=SAM)["text"] == tb.DELEGATE_USAGE
    with_name = shown(command(bot, "undelegate <@U0RECRUIT1|riley> Backend Q4", user=SAM))
    assert "it takes no campaign name" in with_name
    nothing = shown(command(bot, "undelegate <@U0RECRUIT1|riley>", user=SAM))
    assert "<@U0RECRUIT1> could not send from sam.patel@acme.test; nothing changed." in nothing
    assert delegations(bot) == []

    # One campaign only, then taken back.
    one = shown(command(bot, "delegate <@U0RECRUIT1|riley>   Backend  Q4", user=SAM))
    assert "<@U0RECRUIT1> can now send the campaign *Backend Q4* from sam.patel@acme.test." in one
    [told] = dms(bot, RILEY, "lets you send")
    assert "and name the campaign *Backend Q4*." in shown(told)
    assert "can already send" in shown(
        command(bot, "delegate <@U0RECRUIT1|riley> backend q4", user=SAM)
    )
    assert delegations(bot) == [(RILEY, "Backend Q4")]
    sam_box = bot.container.campaigns.sender_choices(TEAM, SAM)[0][0]

    def may_create(team: str, user: str, name: str) -> bool:
        with bot.db() as session:
            target = CampaignTarget(team, sam_box, name)
            return allowed(session, Actor(team, user), Action.CREATE, target)

    assert may_create(TEAM, RILEY, "backend q4")
    assert not may_create(TEAM, RILEY, "Frontend")
    assert may_create(TEAM, SAM, "Frontend")  # the owner always may
    assert not may_create("T0OTHER001", SAM, "Frontend")
    gone = shown(command(bot, "undelegate <@U0RECRUIT1|riley>", user=SAM))
    assert "<@U0RECRUIT1> can no longer send from sam.patel@acme.test." in gone
    assert delegations(bot) == []


# -- do not contact -----------------------------------------------------------------------


def test_dnc_add_stops_a_running_candidate_and_list_and_remove_say_what_is_there(
    bot: RunningBot,
) -> None:
    empty = shown(command(bot, "dnc list"))
    assert "The do-not-contact list is empty." in empty
    assert "'jane@' is not an email address." in shown(command(bot, "dnc add jane@"))
    assert command(bot, "dnc add")["text"] == tb.DNC_USAGE
    assert command(bot, "dnc")["text"] == tb.DNC_USAGE

    riley_box = connect(bot, RECRUITER)
    channel = bot.sandbox.slack.add_channel(TEAM, "recruiting")
    create_campaign(bot, riley_box, seed_shortlist(bot, "backend", PEOPLE), channel_id=channel)
    command(bot, "campaign start Backend Q4")
    assert message_states(bot, "jana@talent.example") == ["pending", "waiting", "waiting"]

    # With should_escape Slack sends a typed address as a mailto link, and & as &amp;.
    added = shown(
        command(
            bot,
            "dnc add <mailto:Jana@Talent.example|Jana@Talent.example> asked us to stop &amp; go",
            user=ALEX,
        )
    )
    assert (
        "Added jana@talent.example to the do-not-contact list; no campaign will email them. "
        "Stopped their sequence in *Backend Q4* (3 unsent emails cancelled)."
    ) in added
    assert message_states(bot, "jana@talent.example") == ["cancelled"] * 3
    assert message_states(bot, "omar@talent.example") == ["pending", "waiting", "waiting"]
    with bot.db() as session:
        stopped = {e.email: (e.state, e.reason) for e in session.scalars(select(Enrollment))}
        [entry] = session.scalars(select(Suppression)).all()
    assert stopped == {
        "jana@talent.example": ("stopped", "on the do-not-contact list"),
        "omar@talent.example": ("active", None),
    }
    assert (entry.kind, entry.reason, entry.added_by) == ("dnc", "asked us to stop & go", ALEX)

    again = shown(command(bot, "dnc add jana@talent.example"))
    assert "jana@talent.example is already on the do-not-contact list." in again
    assert "Stopped" not in again

    listed = shown(command(bot, "dnc list"))
    assert "*Do-not-contact list: 1 address*" in listed
    assert "• jana@talent.example: asked us to stop &amp; go _(added by <@U0COLLEAG1> <!date^" in (
        listed
    )

    removed = shown(command(bot, "dnc remove JANA@talent.example", user=ALEX))  # who added it
    assert "Removed jana@talent.example from the do-not-contact list." in removed
    assert "jana@talent.example was not on the do-not-contact list; nothing changed." in shown(
        command(bot, "dnc remove jana@talent.example")
    )
    assert "The do-not-contact list is empty." in shown(command(bot, "dnc list"))
    with bot.db() as session:  # taking the address off does not restart the sequence
        assert (
            session.scalars(
                select(Enrollment.state).where(Enrollment.email == "jana@talent.example")
            ).one()
            == "stopped"
        )


def test_dnc_list_fits_a_slack_message_however_long() -> None:
    at = datetime(2026, 3, 2, tzinfo=UTC)
    entries = [
        DncEntry(f"person{n:05}@example.com", "x" * 80, "U0RECRUIT1", at) for n in range(5000)
    ]
    summary, reply_blocks = tb.dnc_list(entries)
    assert summary == "Do-not-contact list: 5,000 addresses"
    assert len(reply_blocks) <= 50
    assert all(len(b.get("text", {}).get("text", "")) <= 3000 for b in reply_blocks)
    listed = sum(b["text"]["text"].count("• ") for b in reply_blocks if b["type"] == "section")
    more = reply_blocks[-1]["elements"][0]["text"]
    assert more == f"…and {5000 - listed:,} more."


def test_a_campaign_scoped_delegation_covers_that_campaign_only(bot: RunningBot) -> None:

    slack = bot.sandbox.slack
    connect(bot, HIRING_MANAGER)
    shortlist_id = seed_shortlist(bot, "backend", [("jana@talent.example", "Jana", None, None)])
    command(bot, f"delegate <@{RECRUITER.slack_id}|riley> Only This", user=HIRING_MANAGER.slack_id)
    channel = slack.add_channel(TEAM, "recruiting")
    bot.slack.slash(RECRUITER.slack_id, "campaign create", channel_id=channel)
    view = slack.wait_for(lambda: slack.last_view(RECRUITER.slack_id))
    sender = next(b for b in view["blocks"] if b.get("block_id") == campaign_form.SENDER)
    [option] = sender["element"]["options"]  # Riley has no mailbox: Sam's is the only one
    form: dict[str, Any] = {
        campaign_form.SHORTLIST: str(shortlist_id),
        campaign_form.SENDER: option["value"],
        campaign_form.CHANNEL: channel,
        **{campaign_form.step_block(n, "subject"): f"Step {n}" for n in (1, 2, 3)},
        **{campaign_form.step_block(n, "body"): f"Body {n}" for n in (1, 2, 3)},
    }
    other = bot.slack.submit_view(RECRUITER.slack_id, view, {**form, campaign_form.NAME: "Another"})
    assert other.json()["errors"] == {
        campaign_form.SENDER: "You can't create 'Another' from sam.patel@acme.test: it was delegated to "
        "you for other campaigns only. Ask its owner to run `/scaleup delegate` for 'Another'."
    }
    ok = bot.slack.submit_view(RECRUITER.slack_id, view, {**form, campaign_form.NAME: "only this"})
    assert ok.status_code == 200 and not ok.content


def test_dnc_and_message_read_an_address_as_the_importer_does(bot: RunningBot) -> None:
    """A zero-width space pasted with an address is removed (and named) by dnc add/remove
    and message exactly as the CSV importer removes it; a pattern is refused, not stored."""
    slack = bot.sandbox.slack
    pasted = "j\u200bana@talent.example"
    added = shown(command(bot, f"dnc add {pasted} asked us"))
    assert "Added jana@talent.example to the do-not-contact list" in added
    assert "Removed a zero-width space from the email address: jana@talent.example." in added

    for pattern, example in (("*@evil.example", "evil.example"), ("@evil.example", "evil.example")):
        refused = shown(command(bot, f"dnc add {pattern}"))
        assert (
            f"Do-not-contact takes whole addresses, e.g. jane@{example}; '{pattern}' is a pattern."
        ) in refused
    with bot.db() as session:
        assert session.scalars(select(Suppression.email)).all() == ["jana@talent.example"]

    removed = shown(command(bot, f"dnc remove {pasted}"))
    assert "Removed jana@talent.example from the do-not-contact list." in removed
    assert "Removed a zero-width space from the email address" in removed

    connect(bot, RECRUITER)
    answer = command(bot, "message om\u200bar@talent.example")
    assert answer["text"] == (
        "Removed a zero-width space from the email address: omar@talent.example."
    )
    view = slack.wait_for(lambda: slack.last_view(RECRUITER.slack_id))
    assert "To *omar@talent.example*" in view["blocks"][0]["text"]["text"]


def test_a_stopped_campaign_no_longer_holds_its_candidates(bot: RunningBot) -> None:
    """A candidate in a running campaign is skipped by another; once that campaign is
    stopped (its unsent steps cancelled), a new campaign may enroll them."""
    mailbox = connect(bot, RECRUITER)
    shortlist = seed_shortlist(bot, "Backend", [("jana@talent.example", "Jana", None, "DE")])
    create_campaign(bot, mailbox, shortlist, "First")
    create_campaign(bot, mailbox, shortlist, "Second")
    create_campaign(bot, mailbox, shortlist, "Third")
    campaigns = bot.container.campaigns
    assert campaigns.start(TEAM, RECRUITER.slack_id, "First").enrolled == 1

    held = campaigns.start(TEAM, RECRUITER.slack_id, "Second")
    assert (held.enrolled, held.skipped) == (
        0,
        [("jana@talent.example", "active in campaign 'First'")],
    )

    campaigns.stop(TEAM, RECRUITER.slack_id, "First")
    freed = campaigns.start(TEAM, RECRUITER.slack_id, "Third")
    assert (freed.enrolled, freed.skipped) == (1, [])
