"""The Slack surface: signatures, the manifest, App Home, uninstall, install, health."""

from __future__ import annotations

import json
import time
from pathlib import Path
from urllib.parse import urlencode

import requests
import yaml
from sqlalchemy import select

from bot.models import Mailbox, OutlookAuthFlow
from bot.sandbox import RECRUITER
from handlers import home_blocks, mailbox_blocks
from tests.conftest import RunningBot
from tests.e2e.test_connect import TEAM, sign_in, start_connect

MANIFEST = yaml.safe_load((Path(__file__).parents[2] / "app_manifest.yaml").read_text())


def slash_body(text: str) -> str:
    return urlencode(
        {
            "token": "x",
            "team_id": TEAM,
            "team_domain": "acme",
            "channel_id": "C0GENERAL1",
            "channel_name": "general",
            "user_id": RECRUITER.slack_id,
            "user_name": RECRUITER.name,
            "command": "/scaleup",
            "text": text,
            "api_app_id": "A1",
            "response_url": "http://127.0.0.1:9/none",
            "trigger_id": "1.2.3",
        }
    )


def test_forged_or_stale_signatures_get_401_and_store_nothing(bot: RunningBot) -> None:
    body = slash_body(f"connect {RECRUITER.email}")
    forged = bot.slack.post(body, "application/x-www-form-urlencoded", signature="v0=" + "0" * 64)
    assert forged.status_code == 401
    stale = bot.slack.post(
        body, "application/x-www-form-urlencoded", timestamp=str(int(time.time()) - 600)
    )
    assert stale.status_code == 401
    unsigned = requests.post(
        bot.url + "/slack/events",
        data=body,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        timeout=5,
    )
    assert unsigned.status_code == 401
    time.sleep(0.2)  # a listener that wrongly ran would have written by now
    with bot.db() as session:
        assert session.scalars(select(OutlookAuthFlow)).all() == []
    assert bot.sandbox.slack.calls("users.info") == []


def test_every_manifest_command_and_event_has_a_listener(bot: RunningBot) -> None:
    """Bolt answers 404 to a request no listener matches; every manifest entry must match."""
    for command in MANIFEST["features"]["slash_commands"]:
        response = bot.slack.slash(RECRUITER.slack_id, "help", command=command["command"])
        assert response.status_code == 200, command
    for event_type in MANIFEST["settings"]["event_subscriptions"]["bot_events"]:
        event = {"type": event_type, "user": RECRUITER.slack_id, "tab": "home"}
        if event_type == "tokens_revoked":
            event = {"type": event_type, "tokens": {"oauth": [RECRUITER.slack_id]}}
        if event_type.startswith("message."):  # message.im arrives as type "message"
            event = {
                "type": "message",
                "channel_type": event_type.partition(".")[2],
                "channel": "D0SURFACE1",
                "user": RECRUITER.slack_id,
                "text": "hello",
                "ts": f"{time.time():.6f}",
            }
        response = bot.slack.event(event)
        assert response.status_code == 200, event_type


def test_help_lists_every_command(bot: RunningBot) -> None:
    response = bot.slack.slash(RECRUITER.slack_id, "")
    text = json.dumps(response.json())
    for usage, _ in home_blocks.HELP:
        assert f"/scaleup {usage}" in text
    unknown = bot.slack.slash(RECRUITER.slack_id, "frobnicate")
    assert "I don't know `/scaleup frobnicate`" in json.dumps(unknown.json())


def test_status_before_and_after_connecting(bot: RunningBot) -> None:
    slack = bot.sandbox.slack
    bot.slack.slash(RECRUITER.slack_id, "status")
    first = slack.wait_for(lambda: slack.responses())
    assert "not connected" in json.dumps(first[-1])
    url = start_connect(bot, RECRUITER.slack_id, RECRUITER.email)
    assert sign_in(bot, url, RECRUITER.email).follow().status_code == 200
    count = len(slack.responses())
    bot.slack.slash(RECRUITER.slack_id, "status")
    after = slack.wait_for(lambda: slack.responses()[count:])
    assert f"*{RECRUITER.email}* connected since" in json.dumps(after[-1])


def test_app_home_shows_the_mailbox_and_its_buttons(bot: RunningBot) -> None:
    slack = bot.sandbox.slack
    bot.slack.event({"type": "app_home_opened", "user": RECRUITER.slack_id, "tab": "home"})
    home = slack.wait_for(lambda: slack.home_view(RECRUITER.slack_id))
    assert "Not connected" in json.dumps(home["blocks"])

    url = start_connect(bot, RECRUITER.slack_id, RECRUITER.email)
    assert sign_in(bot, url, RECRUITER.email).follow().status_code == 200
    bot.slack.event({"type": "app_home_opened", "user": RECRUITER.slack_id, "tab": "home"})
    home = slack.wait_for(
        lambda: (
            (v := slack.home_view(RECRUITER.slack_id)) and RECRUITER.email in json.dumps(v) and v
        )
    )
    actions = [e.get("action_id") for b in home["blocks"] for e in b.get("elements", [])]
    assert mailbox_blocks.CONNECT_START in actions and mailbox_blocks.DISCONNECT_START in actions

    # The Home button deletes nothing: it answers (by DM, Home has no message to answer)
    # with the confirmation naming what goes, whose Disconnect then disconnects.
    bot.slack.click(RECRUITER.slack_id, mailbox_blocks.DISCONNECT_START, view=home)
    confirm = slack.wait_for(
        lambda: [
            m
            for m in slack.dm_messages(TEAM, RECRUITER.slack_id)
            if m.get("text") == f"Disconnect {RECRUITER.email}?"
        ]
    )[-1]
    with bot.db() as session:
        assert len(session.scalars(select(Mailbox)).all()) == 1
    bot.slack.click(RECRUITER.slack_id, mailbox_blocks.DISCONNECT_CONFIRM, message=confirm)
    slack.wait_for(
        lambda: [
            m
            for m in slack.dm_messages(TEAM, RECRUITER.slack_id)
            if "Disconnected" in m.get("text", "")
        ]
    )
    with bot.db() as session:
        assert session.scalars(select(Mailbox)).all() == []


def test_a_repeated_event_delivery_is_handled_once(bot: RunningBot) -> None:
    slack = bot.sandbox.slack
    event = {"type": "app_home_opened", "user": RECRUITER.slack_id, "tab": "home"}
    bot.slack.event(event, event_id="Ev0REPEAT01")
    slack.wait_for(lambda: slack.calls("views.publish"))
    bot.slack.event(event, event_id="Ev0REPEAT01")
    time.sleep(0.3)
    assert len(slack.calls("views.publish")) == 1


def test_uninstalling_wipes_the_workspace(bot: RunningBot) -> None:
    url = start_connect(bot, RECRUITER.slack_id, RECRUITER.email)
    assert sign_in(bot, url, RECRUITER.email).follow().status_code == 200
    bot.slack.event({"type": "app_uninstalled"})

    def wiped() -> bool:
        with bot.db() as session:
            return not session.scalars(select(Mailbox)).all()

    assert bot.sandbox.slack.wait_for(wiped)


def test_healthz(bot: RunningBot) -> None:
    response = requests.get(bot.url + "/healthz", timeout=5)
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}
