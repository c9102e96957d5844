"""Every button acts on the object it names, end to end.

Each case sets up what makes the bot post a button, finds that button by walking every
block the bot posted to the sandbox Slack, and clicks it three ways: as the object's
owner (it acts), as a stranger (an ephemeral sentence naming the object; nothing
changes) and after the object changed (a sentence naming the object as the button knew
it; the object that is there now is untouched).

The mailbox's own buttons are here too: Disconnect and "Replace X with Y" in the matrix,
Reconnect (which opens a modal rather than answering) in a test of its own.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import delete, select

from bot.db import transaction
from bot.models import Campaign, Delegation, Mailbox, OutlookAuthFlow
from bot.models import Mailbox as MailboxRow
from bot.sandbox import COLLEAGUE, HIRING_MANAGER, RECRUITER
from bot.worker import check_mailboxes
from handlers import campaign_blocks as cb
from handlers import mailbox_blocks
from handlers import reply_blocks as rb
from handlers import team_blocks as tb
from tests.conftest import RunningBot
from tests.e2e.campaign_helpers import connect, create_campaign, seed_shortlist
from tests.e2e.test_campaign_slack import command, reply
from tests.e2e.test_connect import TEAM

SAM, RILEY, ALEX = HIRING_MANAGER.slack_id, RECRUITER.slack_id, COLLEAGUE.slack_id
NAME = "Backend Q4"
PEOPLE = [
    ("jana@talent.example", "Jana", "Europe/Berlin", "DE"),
    ("omar@talent.example", "Omar", "America/New_York", "US"),
]
#: Links, which open a page and act on nothing; Cancel, which only deletes the message it
#: is on; Connect without a value, which names no object (Reconnect is tested below).
NOT_COVERED_HERE = {mailbox_blocks.SIGN_IN, mailbox_blocks.DISCONNECT_CANCEL, mailbox_blocks.CONNECT_START}


# -- what the bot posted --------------------------------------------------------------------


def posted(bot: RunningBot) -> Iterator[dict[str, Any]]:
    """Every message body the bot posted: response_url bodies (ephemeral replies), then
    the messages in every channel and DM as they stand, then chat.postEphemeral ones."""
    slack = bot.sandbox.slack
    yield from slack.responses()
    ws = slack.workspace(TEAM)
    for channel in [*ws.channels, *ws.dms.values()]:
        yield from slack.messages(channel)
    yield from slack.ephemeral_messages()


def buttons(bot: RunningBot) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """(message, button element) for every button in every message the bot posted."""
    for message in posted(bot):
        for block in message.get("blocks") or []:
            for element in [*block.get("elements", []), block.get("accessory")]:
                if isinstance(element, dict) and element.get("type") == "button":
                    yield message, element


def newest(bot: RunningBot, action_id: str) -> dict[str, Any]:
    """The newest message the bot posted holding a button ``action_id``."""
    found = [message for message, el in buttons(bot) if el["action_id"] == action_id]
    assert found, f"the bot posted no {action_id!r} button"
    return found[-1]


# -- objects --------------------------------------------------------------------------------


def state(bot: RunningBot, name: str = NAME) -> list[str]:
    """The states of every campaign called ``name`` (one, unless something went wrong)."""
    with bot.db() as session:
        return list(session.scalars(select(Campaign.state).where(Campaign.name == name)))


def delegations(bot: RunningBot) -> list[tuple[str, str]]:
    with bot.db() as session:
        rows = session.execute(
            select(Mailbox.email, Delegation.delegate_user_id).join(
                Mailbox, Mailbox.id == Delegation.mailbox_id
            )
        )
        return sorted((email, user) for email, user in rows)


def running(bot: RunningBot) -> None:
    """Riley's own campaign, started; its status (Pause, Stop) posted."""
    box = connect(bot, RECRUITER)
    channel = bot.sandbox.slack.add_channel(TEAM, "recruiting")
    create_campaign(bot, box, seed_shortlist(bot, "backend", PEOPLE), channel_id=channel)
    command(bot, f"campaign start {NAME}")
    command(bot, f"campaign status {NAME}")


def paused(bot: RunningBot) -> None:
    """As :func:`running`, then paused: the reply has Resume and Stop."""
    running(bot)
    command(bot, f"campaign pause {NAME}")


def recreate(bot: RunningBot) -> None:
    """The campaign is deleted (as a disconnect deletes it) and one of the same name is
    created and started in its place."""
    with transaction(bot.db) as session:
        session.execute(delete(Campaign).where(Campaign.name == NAME))
        box = session.scalars(select(Mailbox.id).where(Mailbox.email == RECRUITER.email)).one()
        shortlist = session.scalars(select(Campaign.shortlist_id)).first()
    channel = bot.sandbox.slack.add_channel(TEAM, "recruiting-2")
    create_campaign(bot, box, shortlist or seed_shortlist(bot, "b2", PEOPLE), channel_id=channel)
    command(bot, f"campaign start {NAME}")


def delegated(bot: RunningBot) -> None:
    """Sam lets Riley send; Riley starts a campaign from Sam's mailbox; Sam is DM'd with a
    Revoke button."""
    box = connect(bot, HIRING_MANAGER)
    command(bot, f"delegate <@{RILEY}|riley>", user=SAM)
    channel = bot.sandbox.slack.add_channel(TEAM, "recruiting")
    create_campaign(bot, box, seed_shortlist(bot, "backend", PEOPLE), channel_id=channel)
    command(bot, f"campaign start {NAME}", user=RILEY)
    slack = bot.sandbox.slack
    slack.wait_for(lambda: any(b["action_id"] == tb.DELEGATION_REVOKE for _, b in buttons(bot)))


def disconnect_and_reconnect_sam(bot: RunningBot) -> None:
    """Sam's mailbox goes (with its delegations), then Sam connects again and lets Riley
    send again: a new mailbox and a new delegation that the old button must not touch."""
    with transaction(bot.db) as session:
        session.execute(delete(Mailbox).where(Mailbox.email == HIRING_MANAGER.email))
    connect(bot, HIRING_MANAGER)
    command(bot, f"delegate <@{RILEY}|riley>", user=SAM)


def mailboxes(bot: RunningBot) -> list[str]:
    with bot.db() as session:
        return sorted(session.scalars(select(Mailbox.email)))


def replacing(bot: RunningBot) -> list[str]:
    """The addresses of the mailboxes pending sign-ins are to replace."""
    with bot.db() as session:
        ids = [f.replaces["mailbox"] for f in session.scalars(select(OutlookAuthFlow)) if f.replaces]
        return sorted(session.scalars(select(Mailbox.email).where(Mailbox.id.in_(ids))))


def disconnect_asked(bot: RunningBot) -> None:
    """Riley's mailbox is connected and Riley asked to disconnect it: Disconnect, Cancel."""
    connect(bot, RECRUITER)
    command(bot, "disconnect")


def replace_asked(bot: RunningBot) -> None:
    """Riley's mailbox is connected and Riley asked to connect another address: the
    confirmation names what goes, with "Replace X with Y"."""
    connect(bot, RECRUITER)
    command(bot, "connect recruiting@acme.test")


def riley_gone_alex_in(bot: RunningBot) -> None:
    """Riley's mailbox row goes and Alex connects: on SQLite Alex's row may well get the
    id Riley's had, which the button must not mistake for Riley's mailbox."""
    with transaction(bot.db) as session:
        session.execute(delete(Mailbox).where(Mailbox.email == RECRUITER.email))
    connect(bot, COLLEAGUE)


# -- the cases --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    """The button's object changed before the click."""

    label: str
    make: Callable[[RunningBot], object]
    #: The sentence the clicker gets.
    says: str
    #: What there is now, which the click must leave as it was.
    now: Callable[[RunningBot], object]


@dataclass(frozen=True)
class ButtonCase:
    action_id: str
    setup: Callable[[RunningBot], None]
    owner: str
    #: What the owner's click leads to, and what stays after a refused click.
    after: Callable[[RunningBot], object]
    done: object
    untouched: object
    stranger: str
    refusal: str
    changes: list[Change] = field(default_factory=list)


def _stale(verb_state: str) -> str:
    return f"This button is for campaign '{NAME}', which is {verb_state}; nothing changed."


DELETED = (
    f"This button is for campaign '{NAME}', which was deleted; nothing changed. "
    "`/scaleup campaign list` shows the campaigns there are."
)
ADMINS = "the recruiters they delegated it to and workspace admins can."
CASES = [
    ButtonCase(
        cb.CAMPAIGN_PAUSE,
        running,
        RILEY,
        state,
        ["paused"],
        ["active"],
        ALEX,
        f"You can't pause '{NAME}': only the owner of {RECRUITER.email}, {ADMINS}",
        [
            Change("stopped since", lambda b: command(b, f"campaign stop {NAME}"),
                   _stale("stopped"), state),
            Change("recreated under the same name", recreate, DELETED, state),
        ],
    ),
    ButtonCase(
        cb.CAMPAIGN_RESUME,
        paused,
        RILEY,
        state,
        ["active"],
        ["paused"],
        ALEX,
        f"You can't resume '{NAME}': only the owner of {RECRUITER.email} and the recruiters "
        "they delegated it to can.",
        [
            Change("resumed since", lambda b: command(b, f"campaign resume {NAME}"),
                   _stale("already running"), state),
        ],
    ),
    ButtonCase(
        cb.CAMPAIGN_STOP,
        running,
        RILEY,
        state,
        ["stopped"],
        ["active"],
        ALEX,
        f"You can't stop '{NAME}': only the owner of {RECRUITER.email}, {ADMINS}",
        [
            Change("stopped since", lambda b: command(b, f"campaign stop {NAME}"),
                   _stale("already stopped"), state),
            Change("recreated under the same name", recreate, DELETED, state),
        ],
    ),
    ButtonCase(
        tb.DELEGATION_REVOKE,
        delegated,
        SAM,
        lambda b: (delegations(b), state(b)),
        ([], ["paused"]),
        ([(HIRING_MANAGER.email, RILEY)], ["active"]),
        ALEX,
        f"You can't take back someone's access to {HIRING_MANAGER.email}: only its owner "
        "can, or the person it was delegated to can give it up.",
        [
            Change("taken back since",
                   lambda b: command(b, f"undelegate <@{RILEY}|riley>", user=SAM),
                   f"This button is for <@{RILEY}>'s access to {HIRING_MANAGER.email}, which "
                   "was already taken back; nothing changed.",
                   lambda b: (delegations(b), state(b))),
            Change("mailbox disconnected and connected again", disconnect_and_reconnect_sam,
                   f"This button is for {HIRING_MANAGER.email}, which is no longer connected; "
                   "nothing changed.",
                   delegations),
        ],
    ),
]  # fmt: skip
GONE = f"This button is for {RECRUITER.email}, which is no longer connected."
NOT_YOURS = (
    f"This button is for {RECRUITER.email}, which another Slack user connected; only they, or "
    f"the person whose Slack email is {RECRUITER.email}, can do this."
)
CASES += [
    ButtonCase(
        mailbox_blocks.DISCONNECT_CONFIRM,
        disconnect_asked,
        RILEY,
        mailboxes,
        [],
        [RECRUITER.email],
        ALEX,
        NOT_YOURS,
        [Change("mailbox gone and its id taken by another", riley_gone_alex_in, GONE, mailboxes)],
    ),
    ButtonCase(
        # Replace deletes nothing itself: it starts the sign-in that replaces on success.
        mailbox_blocks.REPLACE_CONFIRM,
        replace_asked,
        RILEY,
        lambda b: (mailboxes(b), replacing(b)),
        ([RECRUITER.email], [RECRUITER.email]),
        ([RECRUITER.email], []),
        ALEX,
        NOT_YOURS,
        [Change("mailbox gone and its id taken by another", riley_gone_alex_in, GONE, mailboxes)],
    ),
]
CLICKS = [
    pytest.param(case, who, id=f"{case.action_id}-{who}")
    for case in CASES
    for who in ["owner", "stranger", *(c.label for c in case.changes)]
]


def click(bot: RunningBot, user: str, action_id: str, message: dict[str, Any]) -> dict[str, Any]:
    before = len(bot.sandbox.slack.responses())
    assert bot.slack.click(user, action_id, message=message).status_code == 200
    return reply(bot, before)


@pytest.mark.parametrize(("case", "who"), CLICKS)
def test_a_button_acts_on_its_object_for_its_owner_only(
    bot: RunningBot, case: ButtonCase, who: str
) -> None:
    case.setup(bot)
    message = newest(bot, case.action_id)
    if who == "owner":
        answer = click(bot, case.owner, case.action_id, message)
        assert answer["replace_original"] is True
        assert case.after(bot) == case.done
    elif who == "stranger":
        answer = click(bot, case.stranger, case.action_id, message)
        assert (answer["text"], answer["replace_original"]) == (case.refusal, False)
        assert case.after(bot) == case.untouched
    else:
        [change] = [c for c in case.changes if c.label == who]
        change.make(bot)
        there = change.now(bot)
        answer = click(bot, case.owner, case.action_id, message)
        assert (answer["text"], answer["replace_original"]) == (change.says, False)
        assert change.now(bot) == there


def test_every_button_the_bot_posts_is_one_of_the_cases(bot: RunningBot) -> None:
    """Walk everything the bot posted in the delegation and campaign flows: each button
    is covered above (or by the connect tests), and each case's button really appears."""
    delegated(bot)
    command(bot, f"campaign status {NAME}", user=RILEY)
    command(bot, f"campaign pause {NAME}", user=RILEY)
    command(bot, "disconnect", user=SAM)
    command(bot, "connect recruiting@acme.test", user=SAM)
    seen = {el["action_id"] for _, el in buttons(bot)}
    covered = {case.action_id for case in CASES}
    assert covered <= seen
    assert seen <= covered | NOT_COVERED_HERE, seen - covered - NOT_COVERED_HERE
    for message, el in buttons(bot):
        if el["action_id"] in covered:  # each carries the id of its object, not a name
            if el["action_id"] in (mailbox_blocks.DISCONNECT_CONFIRM, mailbox_blocks.REPLACE_CONFIRM):
                mailbox = mailbox_blocks.parse_mailbox_value(el["value"])
                assert mailbox is not None and mailbox.key.id > 0 and mailbox.named, message
                continue
            ref = (
                tb.revoke_button_ref(el["value"])
                if el["action_id"] == tb.DELEGATION_REVOKE
                else cb.campaign_button_ref(el["value"])
            )
            assert ref is not None and ref[0].id > 0, message


def test_reconnect_opens_the_sign_in_for_its_address_only_for_its_owner(bot: RunningBot) -> None:
    """Reconnect answers by opening the connect modal, so it is not in the matrix above."""
    bot.sandbox.directory.access_token_lifetime = 60  # MSAL refreshes tokens this short-lived
    connect(bot, RECRUITER)
    owner = bot.sandbox.directory.find_user(RECRUITER.email)
    assert owner is not None
    bot.sandbox.directory.revoke_grant(owner.id)
    check_mailboxes(bot.container)  # the refresh is refused: needs reconnect, and a DM
    slack = bot.sandbox.slack
    message = slack.wait_for(lambda: [m for m in slack.dm_messages(TEAM, RILEY)
                                      if any(el["action_id"] == mailbox_blocks.CONNECT_START
                                             for b in m.get("blocks", [])
                                             for el in b.get("elements", []))])[-1]

    refused = click(bot, ALEX, mailbox_blocks.CONNECT_START, message)
    assert refused["text"].startswith(f"This button is for {RECRUITER.email}, which is no longer "
                                      "connected to your Slack account.")
    assert slack.last_view(ALEX) is None

    assert bot.slack.click(RILEY, mailbox_blocks.CONNECT_START, message=message).status_code == 200
    modal = slack.wait_for(lambda: slack.last_view(RILEY))
    assert RECRUITER.email in str(modal)

    with transaction(bot.db) as session:
        session.execute(delete(MailboxRow))
    stale = click(bot, RILEY, mailbox_blocks.CONNECT_START, message)
    assert stale["text"].startswith(f"This button is for {RECRUITER.email}, which is no longer "
                                    "connected")


def mailbox_id(bot: RunningBot) -> int:
    with bot.db() as session:
        return session.scalars(select(Mailbox.id)).one()


# -- values no version of ScaleUp wrote -----------------------------------------------------

AT = "2026-03-02T06:00:00+00:00"
HUGE = 10**30
_MAILBOX = {"connected": AT, "email": RECRUITER.email, "named": "0" * 16, "new": "x@acme.test"}
_OUTDATED_MAILBOX = mailbox_blocks.OUTDATED_MAILBOX_BUTTON
_OUTDATED_REPLACE = "This button is out of date. Run /scaleup connect again."
JUNK: list[tuple[str, str, str]] = []
for _raw in [HUGE, -1, 0, True, "²", "99999999999999999999999", "1e3", None]:
    JUNK += [
        (mailbox_blocks.DISCONNECT_CONFIRM, json.dumps({**_MAILBOX, "mailbox": _raw}), _OUTDATED_MAILBOX),
        (mailbox_blocks.DISCONNECT_START, json.dumps({**_MAILBOX, "mailbox": _raw}), _OUTDATED_MAILBOX),
        (mailbox_blocks.REPLACE_CONFIRM, json.dumps({**_MAILBOX, "mailbox": _raw}), _OUTDATED_REPLACE),
        (cb.CAMPAIGN_PAUSE, json.dumps({"campaign": _raw, "created": AT, "name": NAME}),
         cb.OUTDATED_BUTTON),
        (cb.CAMPAIGN_RESUME, json.dumps({"campaign": _raw, "created": AT, "name": NAME}),
         cb.OUTDATED_BUTTON),
        (cb.CAMPAIGN_STOP, json.dumps({"campaign": _raw, "created": AT, "name": NAME}),
         cb.OUTDATED_BUTTON),
        (tb.DELEGATION_REVOKE,
         json.dumps({"mailbox": _raw, "connected": AT, "email": "x", "delegate": RILEY}),
         tb.OUTDATED_REVOKE_BUTTON),
        *[(action, f"{_raw}|{AT}", rb.OUTDATED_REPLY_BUTTON) for action in rb.REPLY_ACTIONS],
    ]  # fmt: skip
JUNK += [
    (mailbox_blocks.DISCONNECT_CONFIRM, "99999999999999999999999:x", _OUTDATED_MAILBOX),  # before keys
    (mailbox_blocks.DISCONNECT_CONFIRM, "²:x", _OUTDATED_MAILBOX),
    (mailbox_blocks.DISCONNECT_CONFIRM, "[" * 1900, _OUTDATED_MAILBOX),
    (cb.CAMPAIGN_PAUSE, "[" * 1900, cb.OUTDATED_BUTTON),
    (tb.DELEGATION_REVOKE, json.dumps({"mailbox": 1, "connected": "x" * 500}),
     tb.OUTDATED_REVOKE_BUTTON),
]  # fmt: skip


@pytest.mark.parametrize(
    ("action_id", "value", "says"),
    [pytest.param(a, v, s, id=f"{a}-{v[:40]}") for a, v, s in JUNK],
)
def test_a_button_value_no_version_wrote_is_answered_and_changes_nothing(
    bot: RunningBot, action_id: str, value: str, says: str
) -> None:
    """Out-of-range ids (beyond SQLite's 64-bit integers), digits ``int`` refuses (``²``),
    other types and deep nesting: one sentence to the clicker, never a crash."""
    connect(bot, RECRUITER)
    before = len(bot.sandbox.slack.responses())
    assert bot.slack.click(RILEY, action_id, value).status_code == 200
    answer = reply(bot, before)
    assert answer["text"] == says
    assert mailboxes(bot) == [RECRUITER.email]


def test_a_forged_address_in_a_button_is_shown_inert_in_the_refusal(bot: RunningBot) -> None:
    """The refusal quotes the address the button carried: a forged one cannot ping the
    channel or link anywhere (``&``, ``<``, ``>`` escaped, as Slack's formatting docs ask)."""
    connect(bot, RECRUITER)
    forged = json.dumps({**_MAILBOX, "mailbox": mailbox_id(bot), "email": "<!channel> & co"})
    before = len(bot.sandbox.slack.responses())
    assert bot.slack.click(ALEX, mailbox_blocks.DISCONNECT_CONFIRM, forged).status_code == 200
    answer = reply(bot, before)
    shown = json.dumps(answer)
    assert "<!channel>" not in shown
    assert answer["text"] == (
        "This button is for &lt;!channel&gt; &amp; co, which is no longer connected."
    )
    assert mailboxes(bot) == [RECRUITER.email]


def test_a_forged_reconnect_button_is_answered_inert(bot: RunningBot) -> None:
    """A Reconnect button names an address; a forged one cannot ping or link, and the
    sentence shows the command to run as code."""
    before = len(bot.sandbox.slack.responses())
    assert bot.slack.click(ALEX, mailbox_blocks.CONNECT_START, "<!channel> & co").status_code == 200
    answer = reply(bot, before)
    assert "<!channel>" not in json.dumps(answer)
    assert answer["text"] == (
        "This button is for &lt;!channel&gt; &amp; co, which is no longer connected to your "
        "Slack account. Run `/scaleup connect &lt;!channel&gt; &amp; co` to connect it again."
    )
