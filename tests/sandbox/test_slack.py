"""The sandbox Slack, driven by an unmodified slack_sdk WebClient and a real Bolt app."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import yaml
from flask import Flask, request
from slack_bolt import Ack, App, Respond
from slack_bolt.adapter.flask import SlackRequestHandler
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.sandbox.server import RunningServer, serve
from bot.sandbox.slack import DEFAULT_SCOPES, Workspace
from bot.sandbox.slack_api import SlackSandbox
from bot.sandbox.slack_driver import AckTimeout, SlackDriver, state_values

SECRET = "signing-secret"
ALICE, BOB = "U0ALICE001", "U0BOB00001"


@dataclass
class Slack:
    sandbox: SlackSandbox
    server: RunningServer
    ws: Workspace

    def client(self, token: str | None = None) -> WebClient:
        return WebClient(token=token or self.ws.bot_token, base_url=self.sandbox.api_url)


@pytest.fixture
def slack() -> Iterator[Slack]:
    sandbox = SlackSandbox()
    server = sandbox.serve()
    ws = sandbox.add_workspace("T0ACME0001", "Acme", scopes=(*DEFAULT_SCOPES, "files:read"))
    sandbox.add_user(ws.team_id, ALICE, name="alice", real_name="Alice A", email="alice@acme.test")
    sandbox.add_user(ws.team_id, BOB, name="bob", real_name="Bob B")  # e-mail hidden
    yield Slack(sandbox, server, ws)
    server.stop()


def error_of(call: Any) -> str:
    with pytest.raises(SlackApiError) as caught:
        call()
    return str(caught.value.response["error"])


def modal(title: str = "Connect", blocks: int = 1) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": "connect",
        "title": {"type": "plain_text", "text": title},
        "submit": {"type": "plain_text", "text": "Connect"},
        "blocks": [
            {
                "type": "input",
                "block_id": f"b{i}",
                "label": {"type": "plain_text", "text": "Email"},
                "element": {"type": "plain_text_input", "action_id": "a"},
            }
            for i in range(blocks)
        ],
    }


SECTION = {"type": "section", "text": {"type": "mrkdwn", "text": "hi"}}


# ---- Web API, through slack_sdk --------------------------------------------------------


def test_default_scopes_are_the_manifests() -> None:
    manifest = yaml.safe_load((Path(__file__).parents[2] / "app_manifest.yaml").read_text())
    assert set(DEFAULT_SCOPES) == set(manifest["oauth_config"]["scopes"]["bot"])


def test_auth_test_and_bad_tokens(slack: Slack) -> None:
    me = slack.client().auth_test()
    assert (me["team_id"], me["user_id"], me["bot_id"]) == (
        "T0ACME0001",
        slack.ws.bot_user_id,
        slack.ws.bot_id,
    )
    assert slack.ws.bot_token.startswith("xoxb-")
    assert error_of(slack.client("xoxb-nope").auth_test) == "invalid_auth"
    assert error_of(WebClient(base_url=slack.sandbox.api_url).auth_test) == "not_authed"
    assert error_of(lambda: slack.client().api_call("chat.frobnicate")) == "unknown_method"
    # A form-encoded caller with a token field is understood too.
    form = requests.post(slack.sandbox.api_url + "auth.test", data={"token": slack.ws.bot_token})
    assert form.status_code == 200 and form.json()["ok"] is True
    assert [c.method for c in slack.sandbox.calls()][-1] == "auth.test"


def test_post_update_thread_and_ephemeral(slack: Slack) -> None:
    client = slack.client()
    general = slack.sandbox.add_channel(slack.ws.team_id, "general")
    root = client.chat_postMessage(channel=general, text="Campaign Q3", blocks=[SECTION])
    assert root["channel"] == general and root["message"]["text"] == "Campaign Q3"
    reply = client.chat_postMessage(channel=general, text="reply", thread_ts=root["ts"])
    assert float(reply["ts"]) > float(root["ts"])
    client.chat_update(channel=general, ts=root["ts"], text="Campaign Q3 (paused)")

    [first, second] = slack.sandbox.messages(general)
    assert first["text"] == "Campaign Q3 (paused)" and first["blocks"] == [SECTION]
    assert second["thread_ts"] == root["ts"]
    [call, *_] = slack.sandbox.calls("chat.postMessage")
    assert call.params["channel"] == general and call.token == slack.ws.bot_token

    ephemeral = client.chat_postEphemeral(channel=general, user=ALICE, text="only you")
    assert ephemeral["message_ts"]
    assert slack.sandbox.ephemeral_messages(ALICE)[0]["text"] == "only you"


def test_message_arguments_are_checked_like_slack(slack: Slack) -> None:
    client = slack.client()
    general = slack.sandbox.add_channel(slack.ws.team_id, "general")
    assert error_of(lambda: client.chat_postMessage(channel="C0NOPE", text="x")) == (
        "channel_not_found"
    )
    assert error_of(lambda: client.api_call("chat.postMessage", json={"text": "x"})) == (
        "channel_not_found"
    )

    def post(**args: Any) -> Any:
        # api_call: chat_postMessage itself warns before sending a message without text.
        return lambda: client.api_call("chat.postMessage", json=args)

    assert error_of(post(channel=general)) == "no_text"
    assert error_of(post(channel=general, text="x", blocks=[SECTION] * 51)) == "invalid_blocks"
    assert slack.sandbox.messages(general) == []
    # Form-encoded blocks arrive as a JSON string and are read as blocks.
    form = requests.post(
        slack.sandbox.api_url + "chat.postMessage",
        data={"channel": general, "blocks": json.dumps([SECTION])},
        headers={"Authorization": f"Bearer {slack.ws.bot_token}"},
    )
    assert form.json()["ok"] is True
    assert slack.sandbox.messages(general)[0]["blocks"] == [SECTION]


def test_conversations_open_and_dm_messages(slack: Slack) -> None:
    client = slack.client()
    dm = client.conversations_open(users=ALICE)["channel"]["id"]
    assert dm.startswith("D") and client.conversations_open(users=ALICE)["channel"]["id"] == dm
    client.chat_postMessage(channel=dm, text="hello")
    client.chat_postMessage(channel=ALICE, text="to the user id lands in the DM")
    assert [m["text"] for m in slack.sandbox.dm_messages(slack.ws.team_id, ALICE)] == [
        "hello",
        "to the user id lands in the DM",
    ]
    assert error_of(lambda: client.conversations_open(users="U0NOBODY1")) == "user_not_found"


def test_users_info_shows_email_only_when_visible(slack: Slack) -> None:
    client = slack.client()
    alice = client.users_info(user=ALICE)["user"]
    assert alice["profile"]["email"] == "alice@acme.test" and alice["tz"] == "Europe/Berlin"
    assert "email" not in client.users_info(user=BOB)["user"]["profile"]
    assert error_of(lambda: client.users_info(user="U0NOBODY1")) == "user_not_found"

    scopes = ("users:read", "chat:write")  # installed without users:read.email
    other = slack.sandbox.add_workspace(name="Other", scopes=scopes)
    slack.sandbox.add_user(other.team_id, "U0CAROL001", name="carol", real_name="C", email="c@x.y")
    profile = slack.client(other.bot_token).users_info(user="U0CAROL001")["user"]["profile"]
    assert "email" not in profile
    assert error_of(lambda: slack.client(other.bot_token).files_info(file="F1")) == (
        "missing_scope"
    )


def test_views_open_needs_a_fresh_unused_trigger(slack: Slack) -> None:
    client, sandbox = slack.client(), slack.sandbox
    trigger = sandbox.issue_trigger(slack.ws.team_id, ALICE)
    view = client.views_open(trigger_id=trigger, view=modal())["view"]
    assert view["id"].startswith("V") and view["hash"] and view["callback_id"] == "connect"
    assert sandbox.last_view(ALICE)["id"] == view["id"]  # type: ignore[index]
    assert error_of(lambda: client.views_open(trigger_id=trigger, view=modal())) == (
        "exchanged_trigger_id"
    )
    assert error_of(lambda: client.views_open(trigger_id="1.2.3", view=modal())) == (
        "invalid_trigger_id"
    )
    sandbox.trigger_ttl = 0.05
    late = sandbox.issue_trigger(slack.ws.team_id, ALICE)
    time.sleep(0.1)
    assert error_of(lambda: client.views_open(trigger_id=late, view=modal())) == (
        "expired_trigger_id"
    )


def test_views_are_checked_like_slack(slack: Slack) -> None:
    client, sandbox = slack.client(), slack.sandbox

    def open_(view: dict[str, Any]) -> Any:
        trigger = sandbox.issue_trigger(slack.ws.team_id, ALICE)
        return lambda: client.views_open(trigger_id=trigger, view=view)

    with pytest.raises(SlackApiError) as caught:
        open_(modal(title="A title that is far too long"))()
    assert caught.value.response["error"] == "invalid_arguments"
    assert "/view/title/text" in caught.value.response["response_metadata"]["messages"][0]
    assert error_of(open_(modal(blocks=101))) == "invalid_arguments"
    assert error_of(open_({**modal(), "submit": None})) == "invalid_arguments"
    assert sandbox.last_view(ALICE) is None
    assert open_(modal(blocks=100))()["ok"]


def test_views_update_push_and_publish(slack: Slack) -> None:
    client, sandbox = slack.client(), slack.sandbox
    trigger = sandbox.issue_trigger(slack.ws.team_id, ALICE)
    opened = client.views_open(trigger_id=trigger, view=modal("Loading…"))["view"]
    updated = client.views_update(view_id=opened["id"], hash=opened["hash"], view=modal("Ready"))
    assert updated["view"]["id"] == opened["id"] and updated["view"]["hash"] != opened["hash"]
    stale = lambda: client.views_update(view_id=opened["id"], hash=opened["hash"], view=modal())  # noqa: E731
    assert error_of(stale) == "hash_conflict"

    for title in ("Step 2", "Step 3"):
        pushed = client.views_push(
            trigger_id=sandbox.issue_trigger(slack.ws.team_id, ALICE), view=modal(title)
        )
        assert pushed["view"]["root_view_id"] == opened["id"]
    fourth = sandbox.issue_trigger(slack.ws.team_id, ALICE)
    assert error_of(lambda: client.views_push(trigger_id=fourth, view=modal())) == (
        "push_limit_reached"
    )
    assert sandbox.last_view(ALICE)["title"]["text"] == "Step 3"  # type: ignore[index]

    home = {"type": "home", "blocks": [SECTION]}
    first = client.views_publish(user_id=ALICE, view=home)["view"]
    again = client.views_publish(user_id=ALICE, view={**home, "blocks": []})["view"]
    assert again["id"] == first["id"]
    assert sandbox.home_view(ALICE)["blocks"] == []  # type: ignore[index]
    assert error_of(lambda: client.views_publish(user_id=ALICE, view=modal())) == (
        "invalid_arguments"
    )


def test_files_info_and_download_need_the_bot_token(slack: Slack) -> None:
    file_id = slack.sandbox.add_file(slack.ws.team_id, ALICE, "shortlist.csv", b"email\na@b.c\n")
    info = slack.client().files_info(file=file_id)["file"]
    assert info["name"] == "shortlist.csv" and info["filetype"] == "csv" and info["size"] == 12
    url = info["url_private_download"]
    auth = {"Authorization": f"Bearer {slack.ws.bot_token}"}
    download = requests.get(url, headers=auth, timeout=5)
    assert download.content == b"email\na@b.c\n" and download.headers["Content-Type"].startswith(
        "text/csv"
    )
    anonymous = requests.get(url, timeout=5)  # Slack's sign-in page, with status 200
    assert anonymous.status_code == 200 and anonymous.headers["Content-Type"].startswith(
        "text/html"
    )
    assert error_of(lambda: slack.client().files_info(file="F0NOPE")) == "file_not_found"


def test_rate_limit_answers_429_once(slack: Slack) -> None:
    slack.sandbox.rate_limit("chat.postMessage", retry_after=7)
    with pytest.raises(SlackApiError) as caught:
        slack.client().chat_postMessage(channel=ALICE, text="x")
    assert caught.value.response.status_code == 429
    assert caught.value.response.headers["Retry-After"] == "7"
    assert slack.client().chat_postMessage(channel=ALICE, text="x")["ok"]


def test_response_url_works_five_times_and_edits_messages(slack: Slack) -> None:
    sandbox, team = slack.sandbox, slack.ws.team_id
    general = sandbox.add_channel(team, "general")
    url = sandbox.issue_response_url(team, ALICE, general)
    for i in range(5):
        assert requests.post(url, json={"text": f"r{i}"}, timeout=5).text == "ok"
    used = requests.post(url, json={"text": "sixth"}, timeout=5)
    assert (used.status_code, used.text) == (404, "used_url")
    assert [r["text"] for r in sandbox.responses(url)] == [f"r{i}" for i in range(5)]
    assert sandbox.messages(general) == []  # ephemeral by default

    shout = sandbox.issue_response_url(team, ALICE, general)
    requests.post(shout, json={"text": "for all", "response_type": "in_channel"}, timeout=5)
    [posted] = sandbox.messages(general)
    edit = sandbox.issue_response_url(team, ALICE, general, posted["ts"])
    requests.post(edit, json={"text": "replaced", "replace_original": True}, timeout=5)
    assert [m["text"] for m in sandbox.messages(general)] == ["replaced"]
    requests.post(edit, json={"delete_original": True}, timeout=5)
    assert sandbox.messages(general) == []


def test_oauth_v2_install_flow(slack: Slack) -> None:
    sandbox = slack.sandbox
    redirect_uri = "https://bot.example/slack/oauth_redirect"
    consent = requests.get(
        sandbox.authorize_url,
        params={
            "client_id": sandbox.client_id,
            "scope": "commands,chat:write,users:read",
            "state": "s1",
            "redirect_uri": redirect_uri,
        },
        allow_redirects=False,
        timeout=5,
    )
    assert consent.status_code == 302
    location = consent.headers["Location"]
    assert location.startswith(redirect_uri)
    query = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
    assert query["state"] == "s1"

    anonymous = WebClient(base_url=sandbox.api_url)
    bad_secret = lambda: anonymous.oauth_v2_access(  # noqa: E731
        client_id=sandbox.client_id, client_secret="wrong", code=query["code"]
    )
    assert error_of(bad_secret) == "bad_client_secret"
    installed = anonymous.oauth_v2_access(
        client_id=sandbox.client_id,
        client_secret=sandbox.client_secret,
        code=query["code"],
        redirect_uri=redirect_uri,
    )
    assert installed["token_type"] == "bot" and installed["access_token"].startswith("xoxb-")
    assert installed["scope"] == "commands,chat:write,users:read"
    assert installed["team"]["id"] != slack.ws.team_id and installed["authed_user"]["id"]
    again = lambda: anonymous.oauth_v2_access(  # noqa: E731
        client_id=sandbox.client_id, client_secret=sandbox.client_secret, code=query["code"]
    )
    assert error_of(again) == "invalid_code"

    client = slack.client(installed["access_token"])
    assert client.auth_test()["team_id"] == installed["team"]["id"]
    assert client.auth_revoke()["revoked"] is True
    assert error_of(client.auth_test) == "token_revoked"


# ---- the driver, against a tiny Bolt app ------------------------------------------------


@dataclass
class Bot:
    slack: Slack
    driver: SlackDriver
    seen: list[dict[str, Any]]


@pytest.fixture
def bot(slack: Slack) -> Iterator[Bot]:
    seen: list[dict[str, Any]] = []
    app = App(client=slack.client(), signing_secret=SECRET)  # auth.test against the sandbox

    @app.command("/scaleup")
    def command(ack: Ack, command: dict[str, Any], client: WebClient, respond: Respond) -> None:
        ack()
        client.views_open(trigger_id=command["trigger_id"], view=modal())
        respond(text=f"Opening {command['text']}…")

    @app.view("connect")
    def submitted(ack: Ack, view: dict[str, Any], body: dict[str, Any], client: WebClient) -> None:
        email = view["state"]["values"]["b0"]["a"]["value"]
        if "@" not in email:
            ack(response_action="errors", errors={"b0": f"'{email}' is not an email address."})
            return
        ack()
        client.chat_postMessage(channel=body["user"]["id"], text=f"Connected {email}")

    @app.action("pause")
    def pause(ack: Ack, action: dict[str, Any], respond: Respond) -> None:
        ack()
        respond(replace_original=True, text=f"Paused {action['value']}")

    @app.event("app_home_opened")
    def home(event: dict[str, Any], client: WebClient) -> None:
        seen.append(event)
        client.views_publish(user_id=event["user"], view={"type": "home", "blocks": [SECTION]})

    @app.event({"type": "message", "subtype": "file_share"})
    def file_shared(event: dict[str, Any], client: WebClient, context: dict[str, Any]) -> None:
        info = client.files_info(file=event["files"][0]["id"])["file"]
        auth = {"Authorization": f"Bearer {context['bot_token']}"}
        csv = requests.get(info["url_private_download"], headers=auth, timeout=5).text
        seen.append({**event, "csv": csv})

    @app.event("tokens_revoked")
    @app.event("app_uninstalled")
    def uninstalled(event: dict[str, Any]) -> None:
        seen.append(event)

    @app.command("/slow")
    def slow(ack: Ack) -> None:
        time.sleep(0.5)
        ack()

    handler = SlackRequestHandler(app)
    web = Flask("tiny-bot")
    web.add_url_rule("/slack/events", "events", lambda: handler.handle(request), methods=["POST"])
    server = serve(web, name="tiny-bot")
    driver = SlackDriver(
        f"{server.url}/slack/events", SECRET, slack.sandbox, slack.ws.team_id, slack.ws.app_id
    )
    yield Bot(slack, driver, seen)
    server.stop()


def test_slash_command_to_modal_to_submission(bot: Bot) -> None:
    sandbox = bot.slack.sandbox
    answer = bot.driver.slash(ALICE, "connect")
    assert answer.status_code == 200 and answer.text == ""
    view = sandbox.wait_for(lambda: sandbox.last_view(ALICE))
    assert view is not None and view["callback_id"] == "connect"
    [reply] = sandbox.wait_for(lambda: sandbox.responses())
    assert reply["text"] == "Opening connect…"

    bad = bot.driver.submit_view(ALICE, view, {"b0": "alice"})
    assert bad.json() == {
        "response_action": "errors",
        "errors": {"b0": "'alice' is not an email address."},
    }
    assert sandbox.last_view(ALICE) is not None  # errors keep the modal open
    ok = bot.driver.submit(ALICE, {"b0": "alice@acme.test"})  # the modal on top of the screen
    assert ok.status_code == 200 and sandbox.last_view(ALICE) is None
    dm = sandbox.wait_for(lambda: sandbox.dm_messages(bot.slack.ws.team_id, ALICE))
    assert dm[0]["text"] == "Connected alice@acme.test"


def test_forged_or_stale_signatures_get_401(bot: Bot) -> None:
    body = "token=x&team_id=T0ACME0001&user_id=U0ALICE001&command=%2Fscaleup&text=connect"
    form = "application/x-www-form-urlencoded"
    assert bot.driver.post(body, form, signature="v0=" + "0" * 64).status_code == 401
    stale = str(int(time.time()) - 600)
    assert bot.driver.post(body, form, timestamp=stale).status_code == 401
    assert bot.slack.sandbox.calls("views.open") == []


def test_a_button_click_reaches_its_listener(bot: Bot) -> None:
    sandbox, client = bot.slack.sandbox, bot.slack.client()
    general = sandbox.add_channel(bot.slack.ws.team_id, "general")
    button = {
        "type": "button",
        "action_id": "pause",
        "value": "cand-7",
        "text": {"type": "plain_text", "text": "Pause"},
    }
    client.chat_postMessage(
        channel=general, text="Jane", blocks=[{"type": "actions", "elements": [button]}]
    )
    [message] = sandbox.messages(general)
    assert bot.driver.click(ALICE, "pause", message=message).status_code == 200
    sandbox.wait_for(lambda: sandbox.messages(general)[0]["text"] == "Paused cand-7")
    with pytest.raises(LookupError):
        bot.driver.click(ALICE, "resume", message=message)


def test_an_event_reaches_its_listener(bot: Bot) -> None:
    assert bot.driver.home_opened(ALICE).status_code == 200
    home = bot.slack.sandbox.wait_for(lambda: bot.slack.sandbox.home_view(ALICE))
    assert home is not None and home["blocks"] == [SECTION]
    assert bot.seen[0]["user"] == ALICE


def test_a_shared_file_can_be_read_with_the_bot_token(bot: Bot) -> None:
    sandbox = bot.slack.sandbox
    file_id = sandbox.add_file(bot.slack.ws.team_id, ALICE, "list.csv", b"email\nx@y.z\n")
    assert bot.driver.share_file(ALICE, file_id).status_code == 200
    [event] = sandbox.wait_for(lambda: bot.seen)
    assert event["channel"] == sandbox.dm_channel(bot.slack.ws.team_id, ALICE)
    assert event["csv"] == "email\nx@y.z\n"


def test_uninstall_revokes_the_token_and_sends_both_events(bot: Bot) -> None:
    answers = bot.driver.uninstall()
    assert [a.status_code for a in answers] == [200, 200]
    bot.slack.sandbox.wait_for(lambda: len(bot.seen) == 2)
    assert sorted(e["type"] for e in bot.seen) == ["app_uninstalled", "tokens_revoked"]
    assert error_of(bot.slack.client().auth_test) == "token_revoked"


def test_a_slow_ack_is_a_timeout_as_in_slack(bot: Bot) -> None:
    bot.driver.ack_timeout = 0.2
    with pytest.raises(AckTimeout):
        bot.driver.slash(ALICE, "", command="/slow")


def test_state_values_fill_each_element_type() -> None:
    def block(block_id: str, element: dict[str, Any], optional: bool = False) -> dict[str, Any]:
        label = {"type": "plain_text", "text": block_id}
        element = {"action_id": "a", **element}
        return {
            "type": "input",
            "block_id": block_id,
            "label": label,
            "element": element,
            "optional": optional,
        }

    option = {"text": {"type": "plain_text", "text": "Q3"}, "value": "q3"}
    view = {
        "blocks": [
            block("name", {"type": "plain_text_input", "initial_value": "Riley"}),
            block("campaign", {"type": "static_select", "options": [option]}),
            block("channel", {"type": "conversations_select"}),
            block("owner", {"type": "users_select"}),
            block("flags", {"type": "checkboxes", "options": [option]}, optional=True),
        ]
    }
    values = state_values(view, {"campaign": "q3", "channel": "C1", "owner": ALICE})
    assert values["name"]["a"] == {"type": "plain_text_input", "value": "Riley"}
    assert values["campaign"]["a"]["selected_option"] == option
    assert values["channel"]["a"]["selected_conversation"] == "C1"
    assert values["owner"]["a"]["selected_user"] == ALICE
    assert values["flags"]["a"] == {"type": "checkboxes", "selected_options": []}
    with pytest.raises(ValueError, match="not an option"):
        state_values(view, {"campaign": "q4", "channel": "C1", "owner": ALICE})
    with pytest.raises(ValueError, match="required field 'owner'"):
        state_values(view, {"campaign": "q3", "channel": "C1"})


# -- channels: members, conversations.*, and who may post where ----------------------------


def test_the_bot_posts_only_where_it_is_a_member(slack: Slack) -> None:
    client, team = slack.client(), slack.ws.team_id
    public = slack.sandbox.add_channel(team, "recruiting", members=(ALICE,), bot=False)
    private = slack.sandbox.add_channel(team, "exec", private=True, members=(ALICE,), bot=False)
    for method in (
        lambda c: client.chat_postMessage(channel=c, text="x"),
        lambda c: client.chat_postEphemeral(channel=c, user=ALICE, text="x"),
        lambda c: client.chat_update(channel=c, ts="1.0", text="x"),
    ):
        assert error_of(partial(method, public)) == "not_in_channel"
        assert error_of(partial(method, private)) == "channel_not_found"  # it can't see it
    assert slack.sandbox.messages(public) == [] and slack.sandbox.messages(private) == []

    slack.sandbox.invite(team, private, ALICE, [slack.ws.bot_user_id])
    client.chat_postMessage(channel=private, text="now I can")
    assert error_of(lambda: client.chat_postEphemeral(channel=private, user=BOB, text="x")) == (
        "user_not_in_channel"
    )
    slack.sandbox.archive_channel(team, private)
    assert error_of(lambda: client.chat_postMessage(channel=private, text="x")) == "is_archived"
    # The DM with a person needs no membership.
    assert client.chat_postMessage(channel=ALICE, text="hi")["ok"]


def test_chat_write_public_posts_in_public_channels_only(slack: Slack) -> None:
    team = slack.ws.team_id
    slack.ws.scopes.add("chat:write.public")
    client = slack.client()
    public = slack.sandbox.add_channel(team, "recruiting", bot=False)
    private = slack.sandbox.add_channel(team, "exec", private=True, bot=False)
    posted = client.chat_postMessage(channel=public, text="without joining")
    assert slack.sandbox.is_member(team, public, slack.ws.bot_user_id) is False
    assert error_of(lambda: client.chat_postMessage(channel=private, text="x")) == (
        "channel_not_found"
    )
    # The scope covers chat.postMessage only.
    assert error_of(lambda: client.chat_update(channel=public, ts=posted["ts"], text="y")) == (
        "not_in_channel"
    )


def test_conversations_join_public_only(slack: Slack) -> None:
    client, team = slack.client(), slack.ws.team_id
    public = slack.sandbox.add_channel(team, "recruiting", bot=False)
    private = slack.sandbox.add_channel(team, "exec", private=True, bot=False)
    joined = client.conversations_join(channel=public)
    assert joined["channel"]["is_member"] is True and "warning" not in joined.data
    again = client.conversations_join(channel=public)
    assert again["warning"] == "already_in_channel"
    assert again["response_metadata"]["warnings"] == ["already_in_channel"]
    assert client.chat_postMessage(channel=public, text="joined")["ok"]
    assert error_of(lambda: client.conversations_join(channel=private)) == (
        "method_not_supported_for_channel_type"
    )
    assert error_of(lambda: client.conversations_join(channel="C0NOPE")) == "channel_not_found"
    slack.sandbox.archive_channel(team, slack.sandbox.add_channel(team, "old", bot=False))
    assert error_of(
        lambda: client.conversations_join(channel=slack.sandbox.channel_id(team, "old"))
    ) == ("is_archived")
    slack.ws.scopes.discard("channels:join")
    assert error_of(lambda: client.conversations_join(channel=public)) == "missing_scope"


def test_conversations_info_and_members(slack: Slack) -> None:
    client, team = slack.client(), slack.ws.team_id
    public = slack.sandbox.add_channel(team, "recruiting", members=(ALICE, BOB), bot=False)
    private = slack.sandbox.add_channel(team, "exec", private=True, members=(ALICE,), bot=False)
    info = client.conversations_info(channel=public)["channel"]
    assert (info["name"], info["is_private"], info["is_member"], info["is_archived"]) == (
        "recruiting",
        False,
        False,
        False,
    )
    assert error_of(lambda: client.conversations_info(channel=private)) == "channel_not_found"
    assert error_of(lambda: client.conversations_members(channel=private)) == "channel_not_found"
    first = client.conversations_members(channel=public, limit=1)
    assert first["members"] == [ALICE] and first["response_metadata"]["next_cursor"]
    rest = client.conversations_members(
        channel=public, limit=1, cursor=first["response_metadata"]["next_cursor"]
    )
    assert rest["members"] == [BOB] and rest["response_metadata"]["next_cursor"] == ""
    assert error_of(lambda: client.conversations_members(channel=public, cursor="!!")) == (
        "invalid_cursor"
    )
    slack.sandbox.invite(team, private, ALICE, [slack.ws.bot_user_id])
    assert client.conversations_info(channel=private)["channel"]["is_member"] is True
    slack.ws.scopes.discard("groups:read")
    assert error_of(lambda: client.conversations_info(channel=private)) == "missing_scope"
    assert client.conversations_info(channel=public)["ok"]  # channels:read still there


def test_conversations_list_types_archived_and_pages(slack: Slack) -> None:
    client, team = slack.client(), slack.ws.team_id
    names = [f"team-{n}" for n in range(5)]
    for name in names:
        slack.sandbox.add_channel(team, name, bot=False)
    slack.sandbox.archive_channel(team, slack.sandbox.channel_id(team, "team-4"))
    hidden = slack.sandbox.add_channel(team, "secret", private=True, members=(ALICE,), bot=False)
    mine = slack.sandbox.add_channel(team, "mine", private=True, members=(ALICE,))

    def listed(**args: Any) -> list[str]:
        seen, cursor = [], ""
        while True:
            page = client.conversations_list(cursor=cursor, limit=2, **args)
            seen += [c["name"] for c in page["channels"]]
            cursor = page["response_metadata"]["next_cursor"]
            if not cursor:
                return sorted(seen)

    assert listed() == names  # public channels by default, archived ones included
    assert listed(exclude_archived=True) == names[:4]
    both = listed(types="public_channel,private_channel")
    assert "mine" in both and "secret" not in both  # a private channel it is not in is hidden
    assert hidden not in [c["id"] for c in client.conversations_list(types="private_channel")]
    assert mine in [c["id"] for c in client.conversations_list(types="private_channel")["channels"]]
    assert error_of(lambda: client.conversations_list(types="public_channel,nope")) == (
        "invalid_types"
    )
    slack.ws.scopes.discard("groups:read")
    assert error_of(lambda: client.conversations_list(types="private_channel")) == ("missing_scope")


def test_conversations_invite_as_slack_rules_it(slack: Slack) -> None:
    team, bot_user = slack.ws.team_id, slack.ws.bot_user_id
    private = slack.sandbox.add_channel(team, "exec", private=True, members=(ALICE,), bot=False)
    public = slack.sandbox.add_channel(team, "recruiting", members=(ALICE,), bot=False)

    def invite(channel: str, inviter: str, *users: str) -> str:
        with pytest.raises(Exception) as caught:
            slack.sandbox.invite(team, channel, inviter, list(users))
        return str(caught.value)

    assert invite(private, BOB, bot_user) == "channel_not_found"  # Bob can't see it
    assert invite(public, BOB, bot_user) == "not_in_channel"
    assert invite(public, ALICE, ALICE) == "cant_invite_self"
    assert invite(public, ALICE, "U0NOBODY01") == "user_not_found"
    assert invite(public, ALICE) == "no_user"
    slack.sandbox.invite(team, private, ALICE, [bot_user])
    assert invite(private, ALICE, bot_user) == "already_in_channel"
    assert slack.sandbox.channel_members(team, private) == sorted([ALICE, bot_user])

    # The bot itself inviting, through the Web API: it needs groups:write for a private one.
    client = slack.client()
    assert error_of(lambda: client.conversations_invite(channel=private, users=BOB)) == (
        "missing_scope"
    )
    slack.ws.scopes.add("groups:write")
    assert client.conversations_invite(channel=private, users=BOB)["channel"]["id"] == private
    slack.sandbox.archive_channel(team, private)
    slack.sandbox.add_user(team, "U0CAROL001", name="carol", real_name="Carol C")
    assert invite(private, ALICE, "U0CAROL001") == "is_archived"


def test_a_modal_opened_in_a_channel_defaults_its_conversation_picker(slack: Slack) -> None:
    team = slack.ws.team_id
    channel = slack.sandbox.add_channel(team, "recruiting", bot=False)
    picker = {
        "type": "input",
        "block_id": "where",
        "label": {"type": "plain_text", "text": "Channel"},
        "element": {
            "type": "conversations_select",
            "action_id": "where",
            "default_to_current_conversation": True,
            "filter": {"include": ["public", "private"]},
        },
    }
    view = {**modal(), "blocks": [picker]}
    opened = slack.client().views_open(
        trigger_id=slack.sandbox.issue_trigger(team, ALICE, channel), view=view
    )["view"]
    assert slack.sandbox.view_conversation(opened["id"]) == channel
    assert state_values(opened, {}, channel)["where"]["where"]["selected_conversation"] == channel
    # Opened from the DM: the filter leaves DMs out, so nothing is picked and the person
    # must choose before Slack submits.
    dm = slack.sandbox.dm_channel(team, ALICE)
    with pytest.raises(ValueError, match="required field 'where' is empty"):
        state_values(opened, {}, dm)
