"""A sign-in link connects only its requester's mailbox; nothing is deleted without a
confirmation that names what goes; every mailbox button acts on the mailbox it names.

End to end: signed Slack requests → the bot → Sign in with Slack and the Microsoft consent
page in the sandbox → the bot's callbacks, on both databases.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
from sqlalchemy import select

from bot.models import Campaign, OutlookAuthFlow
from bot.sandbox import COLLEAGUE, HIRING_MANAGER, RECRUITER
from bot.sandbox.browser import ConsentBrowser, Redirect
from handlers import home_blocks, mailbox_blocks
from tests.conftest import RunningBot
from tests.e2e.campaign_helpers import connect, create_campaign, post_slack, seed_shortlist
from tests.e2e.replies_helpers import inbound, replies, sent_id, start_and_send, sync
from tests.e2e.test_connect import (
    TEAM,
    find_button_url,
    mailboxes,
    sign_in,
    start_connect,
    through_slack,
)
from tests.fakes import FakeClock

SHARED = "recruiting@acme.test"  # a shared mailbox: no Slack member has this email


def emails(bot: RunningBot) -> dict[str, str]:
    return {m.email: m.owner_user_id for m in mailboxes(bot)}


def reply_after(bot: RunningBot, before: int) -> dict[str, Any]:
    """The newest response_url body after ``before`` of them."""
    slack = bot.sandbox.slack
    return slack.wait_for(lambda: slack.responses()[before:])[-1]


def button(message: dict[str, Any], action_id: str) -> dict[str, Any]:
    return next(
        e
        for b in message.get("blocks", [])
        for e in b.get("elements", [])
        if e.get("action_id") == action_id
    )


def click(bot: RunningBot, user: str, action_id: str, message: dict[str, Any]) -> dict[str, Any]:
    """``user`` clicks ``action_id`` in ``message``; the bot's answer (a response_url body)."""
    before = len(bot.sandbox.slack.responses())
    assert bot.slack.click(user, action_id, message=message).status_code == 200
    return reply_after(bot, before)


def test_a_forwarded_link_does_not_connect_someone_elses_mailbox(bot: RunningBot) -> None:
    # Riley asks for Sam's address and forwards the link; Sam follows it.
    url = start_connect(bot, RECRUITER.slack_id, HIRING_MANAGER.email)
    page = bot.browser.open_slack(url)  # not Riley's Slack email: Sign in with Slack first
    assert HIRING_MANAGER.slack_id in page.people
    callback = page.choose(HIRING_MANAGER.slack_id)
    answer = callback.follow()
    assert answer.status_code == 400
    assert "made by another Slack user" in answer.text
    assert mailboxes(bot) == []
    with bot.db() as session:
        assert session.scalars(select(OutlookAuthFlow)).all() == []  # the link is dead
    assert callback.follow().status_code == 400  # Slack's answer works once

    # Had the browser gone straight to Microsoft, skipping Slack, completion still refuses.
    start_connect(bot, RECRUITER.slack_id, HIRING_MANAGER.email)
    with bot.db() as session:
        flow = session.scalars(select(OutlookAuthFlow)).one()
    microsoft = json.loads(bot.container.cipher.decrypt(flow.flow_enc))["auth_uri"]
    result = sign_in(bot, microsoft, HIRING_MANAGER.email).follow()
    assert result.status_code == 400
    assert "not the Slack profile email of the person who asked" in result.text
    assert mailboxes(bot) == []
    # Sam can still connect his own mailbox afterwards.
    url = start_connect(bot, HIRING_MANAGER.slack_id, HIRING_MANAGER.email)
    assert sign_in(bot, url, HIRING_MANAGER.email).follow().status_code == 200
    assert emails(bot) == {HIRING_MANAGER.email: HIRING_MANAGER.slack_id}


def test_another_address_connects_after_sign_in_with_slack_and_its_owner_is_told(
    bot: RunningBot,
) -> None:
    # Morgan's Slack email is the team mailbox talent@; Alex connects it (he has its password).
    bot.sandbox.slack.add_user(
        TEAM, "U0MORGAN01", name="morgan", real_name="Morgan Lee", email="talent@acme.test"
    )
    bot.sandbox.directory.add_user("talent@acme.test", "Talent Team")
    url = start_connect(bot, COLLEAGUE.slack_id, "talent@acme.test")
    microsoft = through_slack(bot, url, COLLEAGUE.slack_id)
    assert sign_in(bot, microsoft, "talent@acme.test").follow().status_code == 200
    assert emails(bot) == {"talent@acme.test": COLLEAGUE.slack_id}

    slack = bot.sandbox.slack
    [dm] = slack.wait_for(lambda: slack.dm_messages(TEAM, "U0MORGAN01"))
    assert f"<@{COLLEAGUE.slack_id}> connected the mailbox *talent@acme.test*" in json.dumps(dm)
    # Someone else clicking that button is refused; Morgan, the address's owner, may.
    refused = click(bot, HIRING_MANAGER.slack_id, mailbox_blocks.DISCONNECT_CONFIRM, dm)
    assert "which another Slack user connected" in refused["text"]
    assert emails(bot) == {"talent@acme.test": COLLEAGUE.slack_id}
    done = click(bot, "U0MORGAN01", mailbox_blocks.DISCONNECT_CONFIRM, dm)
    assert "Disconnected" in done["text"]
    assert mailboxes(bot) == []


def test_connecting_a_second_mailbox_asks_first_naming_what_goes(bot: RunningBot) -> None:
    bot.sandbox.directory.add_user(SHARED, "Recruiting")
    mailbox_id = connect(bot, RECRUITER)
    create_campaign(
        bot, mailbox_id, seed_shortlist(bot, "backend", [("a@x.test", "A", None, None)])
    )

    before = len(bot.sandbox.slack.responses())
    bot.slack.slash(RECRUITER.slack_id, f"connect {SHARED}")
    confirm = reply_after(bot, before)
    text = json.dumps(confirm["blocks"])
    assert "*Backend Q4* (draft)" in text and "0 stored outgoing message(s)" in text
    assert find_button_url([confirm]) is None  # no sign-in link before the confirmation
    assert emails(bot) == {RECRUITER.email: RECRUITER.slack_id}

    done = click(bot, RECRUITER.slack_id, mailbox_blocks.REPLACE_CONFIRM, confirm)
    # The click deletes nothing: it starts the sign-in, which replaces on success only.
    assert f"{RECRUITER.email} stays connected until this sign-in succeeds" in json.dumps(done)
    assert emails(bot) == {RECRUITER.email: RECRUITER.slack_id}
    with bot.db() as session:
        assert len(session.scalars(select(Campaign)).all()) == 1
    url = find_button_url([done])
    assert url is not None
    microsoft = through_slack(bot, url, RECRUITER.slack_id)
    assert sign_in(bot, microsoft, SHARED).follow().status_code == 200
    assert emails(bot) == {SHARED: RECRUITER.slack_id}
    with bot.db() as session:
        assert session.scalars(select(Campaign)).all() == []  # went with the old mailbox


def test_an_old_link_for_another_address_deletes_nothing(bot: RunningBot) -> None:
    bot.sandbox.directory.add_user(SHARED, "Recruiting")
    old = start_connect(bot, RECRUITER.slack_id, SHARED)
    connect(bot, RECRUITER)  # meanwhile Riley connects their own mailbox
    result = sign_in(bot, through_slack(bot, old, RECRUITER.slack_id), SHARED).follow()
    assert result.status_code == 400
    assert f"{RECRUITER.email} is connected to your Slack account now" in result.text
    assert emails(bot) == {RECRUITER.email: RECRUITER.slack_id}


def test_reconnecting_the_same_address_keeps_its_campaigns(bot: RunningBot) -> None:
    mailbox_id = connect(bot, RECRUITER)
    create_campaign(
        bot, mailbox_id, seed_shortlist(bot, "backend", [("a@x.test", "A", None, None)])
    )
    assert connect(bot, RECRUITER) == mailbox_id
    with bot.db() as session:
        assert len(session.scalars(select(Campaign)).all()) == 1


def test_a_disconnect_button_acts_only_on_its_mailbox_for_its_owner(bot: RunningBot) -> None:
    bot.sandbox.directory.add_user(SHARED, "Recruiting")
    connect(bot, RECRUITER)
    connect(bot, COLLEAGUE)
    before = len(bot.sandbox.slack.responses())
    bot.slack.slash(RECRUITER.slack_id, "disconnect")
    confirm = reply_after(bot, before)
    ref = mailbox_blocks.parse_mailbox_value(button(confirm, mailbox_blocks.DISCONNECT_CONFIRM)["value"])
    assert ref is not None and ref.email == RECRUITER.email

    # Alex clicks Riley's button: refused, and Alex's own mailbox is not touched either.
    refused = click(bot, COLLEAGUE.slack_id, mailbox_blocks.DISCONNECT_CONFIRM, confirm)
    assert f"This button is for {RECRUITER.email}, which another Slack user" in refused["text"]
    assert set(emails(bot)) == {RECRUITER.email, COLLEAGUE.email}

    # Riley switches to the shared mailbox; the old button no longer names a live mailbox.
    before = len(bot.sandbox.slack.responses())
    bot.slack.slash(RECRUITER.slack_id, f"connect {SHARED}")
    replace = reply_after(bot, before)
    url = find_button_url([click(bot, RECRUITER.slack_id, mailbox_blocks.REPLACE_CONFIRM, replace)])
    assert url is not None
    assert sign_in(bot, through_slack(bot, url, RECRUITER.slack_id), SHARED).follow().ok
    stale = click(bot, RECRUITER.slack_id, mailbox_blocks.DISCONNECT_CONFIRM, confirm)
    assert stale["text"] == f"This button is for {RECRUITER.email}, which is no longer connected."
    assert emails(bot) == {SHARED: RECRUITER.slack_id, COLLEAGUE.email: COLLEAGUE.slack_id}


def test_sign_in_pages_are_not_cached_framed_or_referred(bot: RunningBot) -> None:
    for path in ("/outlook/callback", "/outlook/start?state=x", "/slack/oidc/callback?state=x"):
        page = requests.get(bot.url + path, timeout=10)
        assert page.status_code == 400
        assert page.headers["Cache-Control"] == "no-store"
        assert page.headers["X-Content-Type-Options"] == "nosniff"
        assert page.headers["Referrer-Policy"] == "no-referrer"
        assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    url = start_connect(bot, RECRUITER.slack_id, RECRUITER.email)
    done = sign_in(bot, url, RECRUITER.email).follow()
    assert done.status_code == 200 and done.headers["Cache-Control"] == "no-store"


# -- the Microsoft step belongs to the browser that passed Sign in with Slack ----------------


def other_browser(bot: RunningBot) -> ConsentBrowser:
    """Another person's browser: no cookies of the first."""
    return ConsentBrowser(str(bot.sandbox.certs.ca_path))


def test_a_microsoft_link_forwarded_after_sign_in_with_slack_is_refused(bot: RunningBot) -> None:
    # Alex asks for Sam's address, passes Sign in with Slack as himself, and forwards the
    # Microsoft page he is sent to; Sam signs in there as himself.
    url = start_connect(bot, COLLEAGUE.slack_id, HIRING_MANAGER.email)
    answer = bot.browser.open_slack(url).choose(COLLEAGUE.slack_id).follow()
    assert answer.status_code == 302
    microsoft = answer.headers["Location"]

    result = sign_in_with(other_browser(bot), microsoft, HIRING_MANAGER.email).follow()
    assert result.status_code == 400
    assert "was started in another browser" in result.text
    assert mailboxes(bot) == []
    with bot.db() as session:
        assert session.scalars(select(OutlookAuthFlow)).all() == []  # and the link is spent

    # How: Microsoft answers with a GET (so a SameSite=Lax cookie comes along), and the
    # browser that passed Sign in with Slack holds a cookie of which the bot kept the hash.
    assert parse_qs(urlsplit(microsoft).query)["response_mode"] == ["query"]
    cookie = answer.headers.get("Set-Cookie", "")
    assert cookie.startswith("scaleup_signin_"), cookie
    for part in ("HttpOnly", "SameSite=Lax", "Path=/outlook"):
        assert part in cookie, cookie
    assert re.search(r"Max-Age=(59\d|600)\b", cookie), cookie  # the link's 10 minutes
    assert "Secure" not in cookie  # PUBLIC_URL is http here


def test_a_microsoft_link_completes_in_the_browser_that_passed_sign_in_with_slack(
    bot: RunningBot,
) -> None:
    bot.sandbox.directory.add_user(SHARED, "Recruiting")
    url = start_connect(bot, RECRUITER.slack_id, SHARED)
    microsoft = through_slack(bot, url, RECRUITER.slack_id)
    [value] = [c.value for c in bot.browser.session.cookies if c.name.startswith("scaleup_")]
    with bot.db() as session:
        flow = session.scalars(select(OutlookAuthFlow)).one()
    assert flow.browser_hash == hashlib.sha256(value.encode()).hexdigest()  # only its hash
    done = sign_in(bot, microsoft, SHARED).follow()
    assert done.status_code == 200, done.text
    assert "Max-Age=0" in done.headers["Set-Cookie"]  # the cookie is cleared
    assert emails(bot) == {SHARED: RECRUITER.slack_id}


def test_a_forwarded_direct_microsoft_link_connects_only_the_requesters_own_mailbox(
    bot: RunningBot,
) -> None:
    # Alex's own address: no Slack step. Forwarded to Sam, only Alex's mailbox could finish it.
    url = start_connect(bot, COLLEAGUE.slack_id, COLLEAGUE.email)
    result = sign_in_with(other_browser(bot), url, HIRING_MANAGER.email).follow()
    assert result.status_code == 400
    assert f"You signed in as {HIRING_MANAGER.email}" in result.text or (
        HIRING_MANAGER.email in result.text and COLLEAGUE.email in result.text
    )
    assert mailboxes(bot) == []


def sign_in_with(browser: ConsentBrowser, url: str, username: str) -> Redirect:
    return browser.open(url).accept(username)


# -- a confirmation deletes only what it named -----------------------------------------------


def campaigns(bot: RunningBot) -> list[str]:
    with bot.db() as session:
        return sorted(session.scalars(select(Campaign.name)))


def ask(bot: RunningBot, user: str, text: str) -> dict[str, Any]:
    before = len(bot.sandbox.slack.responses())
    assert bot.slack.slash(user, text).status_code == 200
    return reply_after(bot, before)


def test_a_disconnect_confirmation_does_not_delete_a_campaign_created_after_it(
    bot: RunningBot,
) -> None:
    box = connect(bot, RECRUITER)
    shortlist = seed_shortlist(bot, "backend", [("a@x.test", "A", None, None)])
    create_campaign(bot, box, shortlist, name="one")
    confirm = ask(bot, RECRUITER.slack_id, "disconnect")
    assert "*one*" in json.dumps(confirm["blocks"])
    create_campaign(bot, box, shortlist, name="two")

    fresh = click(bot, RECRUITER.slack_id, mailbox_blocks.DISCONNECT_CONFIRM, confirm)
    assert fresh["replace_original"] is False
    assert "changed since this button was shown; nothing was deleted" in fresh["text"]
    assert "*two*" in json.dumps(fresh["blocks"])  # what goes now, named
    assert campaigns(bot) == ["one", "two"] and emails(bot) == {RECRUITER.email: RECRUITER.slack_id}

    done = click(bot, RECRUITER.slack_id, mailbox_blocks.DISCONNECT_CONFIRM, fresh)
    assert "2 campaign(s)" in json.dumps(done["blocks"])
    assert campaigns(bot) == [] and mailboxes(bot) == []


def test_an_old_disconnect_button_does_not_delete_the_connection_made_since(
    bot: RunningBot,
) -> None:
    connect(bot, RECRUITER)
    old = ask(bot, RECRUITER.slack_id, "disconnect")
    click(
        bot,
        RECRUITER.slack_id,
        mailbox_blocks.DISCONNECT_CONFIRM,
        ask(bot, RECRUITER.slack_id, "disconnect"),
    )
    assert mailboxes(bot) == []
    box = connect(bot, RECRUITER)  # on SQLite, very likely the same id as before
    create_campaign(bot, box, seed_shortlist(bot, "backend", [("a@x.test", "A", None, None)]))

    stale = click(bot, RECRUITER.slack_id, mailbox_blocks.DISCONNECT_CONFIRM, old)
    assert stale["text"] == f"This button is for {RECRUITER.email}, which is no longer connected."
    assert campaigns(bot) == ["Backend Q4"]
    assert emails(bot) == {RECRUITER.email: RECRUITER.slack_id}


def test_app_home_disconnect_answers_with_the_confirmation_instead_of_deleting(
    bot: RunningBot,
) -> None:
    box = connect(bot, RECRUITER)
    create_campaign(bot, box, seed_shortlist(bot, "backend", [("a@x.test", "A", None, None)]))
    home = home_blocks.home(bot.container.connections.status(TEAM, RECRUITER.slack_id))
    assert not any(
        e.get("action_id") == mailbox_blocks.DISCONNECT_CONFIRM
        for b in home["blocks"]
        for e in b.get("elements", [])
    )
    slack = bot.sandbox.slack
    assert bot.slack.click(RECRUITER.slack_id, mailbox_blocks.DISCONNECT_START, message=home).ok
    confirm = slack.wait_for(
        lambda: [
            m
            for m in [*slack.responses(), *slack.dm_messages(TEAM, RECRUITER.slack_id)]
            if "*Backend Q4* (draft)" in json.dumps(m.get("blocks"))
        ]
    )[-1]
    assert campaigns(bot) == ["Backend Q4"]  # nothing deleted by that click
    assert button(confirm, mailbox_blocks.DISCONNECT_CONFIRM)


def test_a_delegates_campaign_is_named_and_its_creator_told_when_the_owner_disconnects(
    bot: RunningBot,
) -> None:
    sam_box = connect(bot, HIRING_MANAGER)
    ask(bot, HIRING_MANAGER.slack_id, f"delegate <@{RECRUITER.slack_id}|riley>")
    shortlist = seed_shortlist(bot, "hm", [("a@x.test", "A", None, None)])
    create_campaign(bot, sam_box, shortlist, name="hm-alpha", user_id=RECRUITER.slack_id)

    confirm = ask(bot, HIRING_MANAGER.slack_id, "disconnect")
    named = json.dumps(confirm["blocks"])
    assert "including 1 campaign(s) other people run from it" in named
    assert f"*hm-alpha* (<@{RECRUITER.slack_id}>)" in named
    click(bot, HIRING_MANAGER.slack_id, mailbox_blocks.DISCONNECT_CONFIRM, confirm)
    assert campaigns(bot) == []

    post_slack(bot)
    slack = bot.sandbox.slack
    [dm] = [m for m in slack.dm_messages(TEAM, RECRUITER.slack_id) if "hm-alpha" in m["text"]]
    told = json.dumps(dm["blocks"])
    assert "Your campaign *hm-alpha* was deleted" in told
    assert f"<@{HIRING_MANAGER.slack_id}> disconnected the mailbox *{HIRING_MANAGER.email}*" in told


# -- Replace deletes only when the new sign-in succeeds --------------------------------------


def replace_with_shared(bot: RunningBot) -> tuple[int, str]:
    """Riley (with a campaign) confirms replacing their mailbox with the shared one; the
    mailbox id and the Microsoft URL after Sign in with Slack."""
    bot.sandbox.directory.add_user(SHARED, "Recruiting")
    box = connect(bot, RECRUITER)
    create_campaign(bot, box, seed_shortlist(bot, "backend", [("a@x.test", "A", None, None)]))
    confirm = ask(bot, RECRUITER.slack_id, f"connect {SHARED}")
    url = find_button_url([click(bot, RECRUITER.slack_id, mailbox_blocks.REPLACE_CONFIRM, confirm)])
    assert url is not None
    return box, through_slack(bot, url, RECRUITER.slack_id)


def test_a_replace_whose_sign_in_fails_keeps_the_old_mailbox(bot: RunningBot) -> None:
    _, microsoft = replace_with_shared(bot)
    assert emails(bot) == {RECRUITER.email: RECRUITER.slack_id}  # nothing deleted yet
    result = sign_in(bot, microsoft, COLLEAGUE.email).follow()  # the wrong mailbox
    assert result.status_code == 400
    assert emails(bot) == {RECRUITER.email: RECRUITER.slack_id}
    assert campaigns(bot) == ["Backend Q4"]


def test_a_replace_is_refused_when_the_old_mailbox_changed_meanwhile(bot: RunningBot) -> None:
    box, microsoft = replace_with_shared(bot)
    shortlist = seed_shortlist(bot, "later", [("b@x.test", "B", None, None)])
    create_campaign(bot, box, shortlist, name="added later")
    result = sign_in(bot, microsoft, SHARED).follow()
    assert result.status_code == 400
    assert f"{RECRUITER.email} changed since you confirmed replacing it" in result.text
    assert emails(bot) == {RECRUITER.email: RECRUITER.slack_id}
    assert campaigns(bot) == ["Backend Q4", "added later"]


def test_connecting_an_alias_of_the_connected_mailbox_is_refused_up_front(
    bot: RunningBot,
) -> None:
    connect(bot, RECRUITER)  # riley.chen@, whose mailbox also answers to riley@
    alias = RECRUITER.aliases[0]
    answer = ask(bot, RECRUITER.slack_id, f"connect {alias}")
    assert answer["text"] == (
        f"{alias} is an address of your connected mailbox {RECRUITER.email}; nothing to replace."
    )
    assert find_button_url([answer]) is None
    assert not any(
        e.get("action_id") == mailbox_blocks.REPLACE_CONFIRM
        for b in answer.get("blocks", [])
        for e in b.get("elements", [])
    )
    assert emails(bot) == {RECRUITER.email: RECRUITER.slack_id}


# -- what goes is named in full, and whoever loses something is told ------------------------


def dms(bot: RunningBot, user: str, needle: str) -> list[dict[str, Any]]:
    """``user``'s DMs whose text holds ``needle``, after the worker posted the queue."""
    post_slack(bot)
    return [m for m in bot.sandbox.slack.dm_messages(TEAM, user) if needle in m["text"]]


def test_a_reply_stored_after_the_confirmation_is_not_deleted_unnamed(
    cbot: RunningBot, clock: FakeClock
) -> None:
    bot = cbot
    start_and_send(bot, clock, [("jana@talent.example", "Jana", "Europe/Berlin", "DE")])
    confirm = ask(bot, RECRUITER.slack_id, "disconnect")
    assert "0 stored candidate reply(ies)" in json.dumps(confirm["blocks"])
    inbound(bot).reply(RECRUITER.email, sent_id(bot, "jana@talent.example"), text="Sure!")
    sync(bot)
    assert len(replies(bot)) == 1

    fresh = click(bot, RECRUITER.slack_id, mailbox_blocks.DISCONNECT_CONFIRM, confirm)
    assert "changed since this button was shown; nothing was deleted" in fresh["text"]
    assert "1 stored candidate reply(ies)" in json.dumps(fresh["blocks"])
    assert len(replies(bot)) == 1 and emails(bot) == {RECRUITER.email: RECRUITER.slack_id}

    done = click(bot, RECRUITER.slack_id, mailbox_blocks.DISCONNECT_CONFIRM, fresh)
    assert "1 stored candidate reply(ies)" in json.dumps(done["blocks"])
    assert replies(bot) == [] and mailboxes(bot) == []


def test_the_connector_is_told_when_the_addresss_owner_disconnects(bot: RunningBot) -> None:
    bot.sandbox.slack.add_user(
        TEAM, "U0MORGAN01", name="morgan", real_name="Morgan Lee", email="talent@acme.test"
    )
    bot.sandbox.directory.add_user("talent@acme.test", "Talent Team")
    url = start_connect(bot, COLLEAGUE.slack_id, "talent@acme.test")
    assert sign_in(bot, through_slack(bot, url, COLLEAGUE.slack_id), "talent@acme.test").follow().ok
    box = mailboxes(bot)[0].id
    shortlist = seed_shortlist(bot, "t", [("a@x.test", "A", None, None)])
    create_campaign(bot, box, shortlist, user_id=COLLEAGUE.slack_id)
    # The DM Morgan got names the campaign-less mailbox; a fresh confirmation names it now.
    [dm] = bot.sandbox.slack.wait_for(lambda: bot.sandbox.slack.dm_messages(TEAM, "U0MORGAN01"))
    fresh = click(bot, "U0MORGAN01", mailbox_blocks.DISCONNECT_CONFIRM, dm)
    assert mailboxes(bot) != []
    assert "Disconnected" in click(bot, "U0MORGAN01", mailbox_blocks.DISCONNECT_CONFIRM, fresh)["text"]
    assert mailboxes(bot) == []

    [told] = dms(bot, COLLEAGUE.slack_id, "talent@acme.test was disconnected")
    text = json.dumps(told["blocks"])
    assert "<@U0MORGAN01>, whose Slack email it is, disconnected the mailbox" in text
    assert "*talent@acme.test* you connected" in text
    assert "1 campaign(s), 0 stored outgoing message(s) and 0 stored candidate" in text
    assert dms(bot, "U0MORGAN01", "was disconnected") == []  # not told of their own click


def test_delegates_are_named_and_told_when_the_mailbox_goes(bot: RunningBot) -> None:
    connect(bot, HIRING_MANAGER)
    ask(bot, HIRING_MANAGER.slack_id, f"delegate <@{RECRUITER.slack_id}|riley>")
    confirm = ask(bot, HIRING_MANAGER.slack_id, "disconnect")
    named = json.dumps(confirm["blocks"])
    assert (
        f"the access of 1 person(s) who may send from it, who are told: <@{RECRUITER.slack_id}>"
        in named
    )
    ask(bot, HIRING_MANAGER.slack_id, f"delegate <@{COLLEAGUE.slack_id}|alex> hm-beta")

    fresh = click(bot, HIRING_MANAGER.slack_id, mailbox_blocks.DISCONNECT_CONFIRM, confirm)
    assert "nothing was deleted" in fresh["text"] and mailboxes(bot) != []
    assert f"<@{COLLEAGUE.slack_id}>" in json.dumps(fresh["blocks"])
    click(bot, HIRING_MANAGER.slack_id, mailbox_blocks.DISCONNECT_CONFIRM, fresh)
    assert mailboxes(bot) == []

    for delegate in (RECRUITER.slack_id, COLLEAGUE.slack_id):
        [dm] = dms(bot, delegate, f"You can no longer send from {HIRING_MANAGER.email}")
        assert f"<@{HIRING_MANAGER.slack_id}> disconnected the mailbox" in json.dumps(dm["blocks"])


def test_disconnect_keeps_a_sign_in_link_for_another_address(bot: RunningBot) -> None:
    bot.sandbox.directory.add_user(SHARED, "Recruiting")
    connect(bot, RECRUITER)
    start_connect(bot, RECRUITER.slack_id, RECRUITER.email)  # a reconnect link: it goes
    replace = ask(bot, RECRUITER.slack_id, f"connect {SHARED}")
    url = find_button_url([click(bot, RECRUITER.slack_id, mailbox_blocks.REPLACE_CONFIRM, replace)])
    assert url is not None

    done = click(
        bot,
        RECRUITER.slack_id,
        mailbox_blocks.DISCONNECT_CONFIRM,
        ask(bot, RECRUITER.slack_id, "disconnect"),
    )
    assert "1 unused sign-in link(s)" in json.dumps(done["blocks"])
    with bot.db() as session:
        assert [f.email for f in session.scalars(select(OutlookAuthFlow))] == [SHARED]
    assert sign_in(bot, through_slack(bot, url, RECRUITER.slack_id), SHARED).follow().ok
    assert emails(bot) == {SHARED: RECRUITER.slack_id}


def test_a_refused_replace_names_the_mailbox_the_confirmation_named(bot: RunningBot) -> None:
    other = "sourcing@acme.test"
    bot.sandbox.directory.add_user(other, "Sourcing")
    _, microsoft = replace_with_shared(bot)  # Riley's mailbox → SHARED, not finished
    # Meanwhile Riley replaces their mailbox with another one, and finishes that.
    confirm = ask(bot, RECRUITER.slack_id, f"connect {other}")
    url = find_button_url([click(bot, RECRUITER.slack_id, mailbox_blocks.REPLACE_CONFIRM, confirm)])
    assert url is not None
    assert sign_in(bot, through_slack(bot, url, RECRUITER.slack_id), other).follow().ok

    result = sign_in(bot, microsoft, SHARED).follow()
    assert result.status_code == 400
    assert f"{RECRUITER.email} changed since you confirmed replacing it" in result.text
    assert emails(bot) == {other: RECRUITER.slack_id}
