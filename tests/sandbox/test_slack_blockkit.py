"""The sandbox Slack refuses what Slack refuses: Block Kit per surface, acks, rate limits,
and files.uploadV2 works as Slack's three steps (issue 9 item 2, issue 7 item 6)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from flask import Flask, request
from slack_bolt import Ack, App
from slack_bolt.adapter.flask import SlackRequestHandler
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.sandbox.server import serve
from bot.sandbox.slack import DEFAULT_SCOPES
from bot.sandbox.slack_api import SlackSandbox
from bot.sandbox.slack_driver import InvalidAck, SlackDriver
from bot.sandbox.slack_surfaces import ack_problems, message_problems, view_problems
from tests.sandbox.test_slack import ALICE, SECRET, Slack, error_of, modal

SECTION = {"type": "section", "text": {"type": "mrkdwn", "text": "hi"}}


@pytest.fixture
def slack() -> Iterator[Slack]:
    sandbox = SlackSandbox()
    server = sandbox.serve()
    ws = sandbox.add_workspace("T0ACME0001", "Acme", scopes=(*DEFAULT_SCOPES, "files:write"))
    sandbox.add_user(ws.team_id, ALICE, name="alice", real_name="Alice A", email="alice@acme.test")
    yield Slack(sandbox, server, ws)
    server.stop()


def button(label: str = "Go", **extra: Any) -> dict[str, Any]:
    return {
        "type": "button",
        "action_id": "go",
        "text": {"type": "plain_text", "text": label},
        **extra,
    }


def actions(*elements: dict[str, Any]) -> dict[str, Any]:
    return {"type": "actions", "elements": list(elements)}


def confirm(title: str = "Sure?", text: str = "Really.") -> dict[str, Any]:
    return {
        "title": {"type": "plain_text", "text": title},
        "text": {"type": "plain_text", "text": text},
        "confirm": {"type": "plain_text", "text": "Yes"},
        "deny": {"type": "plain_text", "text": "No"},
    }


def option(label: str, value: str = "v") -> dict[str, Any]:
    return {"text": {"type": "plain_text", "text": label}, "value": value}


def select(options: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"type": "static_select", "action_id": "pick", "options": options, **extra}


def text_input(**extra: Any) -> dict[str, Any]:
    return {"type": "plain_text_input", "action_id": "t", **extra}


def input_block(element: dict[str, Any], block_id: str = "in") -> dict[str, Any]:
    label = {"type": "plain_text", "text": "Label"}
    return {"type": "input", "block_id": block_id, "label": label, "element": element}


def section(text: str, kind: str = "mrkdwn", **extra: Any) -> dict[str, Any]:
    return {"type": "section", "text": {"type": kind, "text": text}, **extra}


# (blocks, the reason Slack gives) for messages that Slack refuses with invalid_blocks.
REFUSED = [
    ([actions(button("x" * 76))], "must be less than 76 characters [json-pointer:/blocks/0/elements/0/text]"),
    ([actions({**button(), "text": {"type": "mrkdwn", "text": "Go"}})], "must be a plain_text text object [json-pointer:/blocks/0/elements/0/text/type]"),
    ([actions(button(value="v" * 2001))], "must be less than 2001 characters [json-pointer:/blocks/0/elements/0/value]"),
    ([actions(button(url="https://x.test/" + "a" * 3000))], "must be less than 3001 characters [json-pointer:/blocks/0/elements/0/url]"),
    ([actions(button(confirm=confirm(text="t" * 301)))], "must be less than 301 characters [json-pointer:/blocks/0/elements/0/confirm/text]"),
    ([actions(button(confirm=confirm(title="t" * 101)))], "must be less than 101 characters [json-pointer:/blocks/0/elements/0/confirm/title]"),
    ([actions(*[button() for _ in range(2)])], "action_id must be unique [json-pointer:/blocks/0/elements/1/action_id]"),
    ([actions(*[{**button(), "action_id": f"a{i}"} for i in range(26)])], "must be less than 26 items [json-pointer:/blocks/0/elements]"),
    ([{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}], "must be less than 151 characters [json-pointer:/blocks/0/text]"),
    ([{"type": "header", "text": {"type": "mrkdwn", "text": "*h*"}}], "must be a plain_text text object [json-pointer:/blocks/0/text/type]"),
    ([section("s" * 3001)], "must be less than 3001 characters [json-pointer:/blocks/0/text]"),
    ([{"type": "section", "fields": [{"type": "mrkdwn", "text": "f"}] * 11}], "must be less than 11 items [json-pointer:/blocks/0/fields]"),
    ([{"type": "section", "fields": [{"type": "mrkdwn", "text": "f" * 2001}]}], "must be less than 2001 characters [json-pointer:/blocks/0/fields/0/text]"),
    ([section("a", accessory=select([option("o" * 76)]))], "must be less than 76 characters [json-pointer:/blocks/0/accessory/options/0/text]"),
    ([section("a", accessory=select([option(str(i), str(i)) for i in range(101)]))], "must be less than 101 items [json-pointer:/blocks/0/accessory/options]"),
    ([section("a", accessory=select([{"text": {"type": "mrkdwn", "text": "o"}, "value": "v"}]))], "must be a plain_text text object [json-pointer:/blocks/0/accessory/options/0/text/type]"),
    ([section("a", accessory=select([option("a", "a")], initial_option=option("b", "b")))], "must match one of the options [json-pointer:/blocks/0/accessory/initial_option]"),
    ([SECTION, {**SECTION, "block_id": "x"}, {**SECTION, "block_id": "x"}], "duplicate block_id [json-pointer:/blocks/2/block_id]"),
    ([{"type": "context", "elements": [button()]}], "unsupported type 'button' here [json-pointer:/blocks/0/elements/0/type]"),
    ([{"type": "section", "text": {"type": "markdown", "text": "x"}}], "must be one of plain_text, mrkdwn [json-pointer:/blocks/0/text/type]"),
    ([{"type": "carousel_of_doom"}], "unsupported type 'carousel_of_doom' in a message [json-pointer:/blocks/0/type]"),
    ([input_block(text_input(max_length=10, initial_value="x" * 11))], "must be less than 11 characters [json-pointer:/blocks/0/element/initial_value]"),
    ([SECTION] * 51, "must be less than 51 items [json-pointer:/blocks]"),
]  # fmt: skip


@pytest.mark.parametrize(("blocks", "reason"), REFUSED)
def test_messages_slack_refuses(blocks: list[dict[str, Any]], reason: str) -> None:
    assert message_problems({"text": "x", "blocks": blocks}) == ["invalid_blocks", reason]


ALLOWED = [
    [actions(button("x" * 75, value="v" * 2000, confirm=confirm("t" * 100, "t" * 300)))],
    [section("s" * 3000), {"type": "header", "text": {"type": "plain_text", "text": "h" * 150}}],
    [{"type": "section", "fields": [{"type": "mrkdwn", "text": "f" * 1000}] * 10}],
    [section("a", accessory=select([option(str(i), str(i)) for i in range(100)]))],
    # The block reference lists input blocks for messages too, so Slack takes them there.
    [input_block(text_input(max_length=10, initial_value="x" * 10))],
    [SECTION] * 50,
]


@pytest.mark.parametrize("blocks", ALLOWED)
def test_messages_at_the_limits_are_taken(blocks: list[dict[str, Any]]) -> None:
    assert message_problems({"text": "x", "blocks": blocks}) == []


def test_blocks_over_12000_characters_are_msg_blocks_too_long() -> None:
    under = [section("s" * 3000)] * 4
    assert message_problems({"text": "x", "blocks": under}) == []
    assert message_problems({"text": "x", "blocks": [*under, section("s")]}) == [
        "msg_blocks_too_long"
    ]


def test_view_rules() -> None:
    assert view_problems(modal(), ("modal",)) == []
    assert view_problems(modal("t" * 25), ("modal",)) == [
        "must be less than 25 characters [json-pointer:/view/title/text]"
    ]
    assert view_problems({**modal(), "private_metadata": "m" * 3001}, ("modal",)) == [
        "must be less than 3001 characters [json-pointer:/view/private_metadata]"
    ]
    assert view_problems({**modal(), "callback_id": "c" * 256}, ("modal",)) == [
        "must be less than 256 characters [json-pointer:/view/callback_id]"
    ]
    assert view_problems({**modal(), "submit": None}, ("modal",)) == [
        "submit is required with input blocks [json-pointer:/view/submit]"
    ]
    assert view_problems(modal(blocks=101), ("modal",)) == [
        "must be less than 101 items [json-pointer:/view/blocks]"
    ]
    home = {"type": "home", "blocks": [{"type": "file", "external_id": "x", "source": "remote"}]}
    assert view_problems(home, ("home",)) == [
        "unsupported type 'file' in a home [json-pointer:/view/blocks/0/type]"
    ]
    file_input = {"type": "file_input", "action_id": "f"}
    assert message_problems({"text": "x", "blocks": [input_block(file_input)]}) == [
        "invalid_blocks",
        "file_input works only in modals [json-pointer:/blocks/0/element]",
    ]


def test_ack_response_actions() -> None:
    view = modal()
    assert ack_problems(None, view) == [] and ack_problems({"response_action": "clear"}, view) == []
    assert ack_problems({"response_action": "errors", "errors": {"b0": "Bad."}}, view) == []
    assert ack_problems({"response_action": "errors", "errors": {"nope": "Bad."}}, view) == [
        "not the block_id of an input block in the view [json-pointer:/errors/nope]"
    ]
    assert ack_problems({"response_action": "update", "view": modal("t" * 25)}, view) == [
        "must be less than 25 characters [json-pointer:/view/title/text]"
    ]
    assert ack_problems({"response_action": "push", "view": modal()}, view, 3) == [
        "push_limit_reached"
    ]
    assert ack_problems({"response_action": "close"}, view) == [
        "must be one of ['errors', 'update', 'push', 'clear'] [json-pointer:/response_action]"
    ]


# ---- over HTTP, through slack_sdk ------------------------------------------------------


def test_invalid_blocks_answer_as_slack_does(slack: Slack) -> None:
    dm = slack.sandbox.dm_channel(slack.ws.team_id, ALICE)
    with pytest.raises(SlackApiError) as caught:
        slack.client().chat_postMessage(channel=dm, text="x", blocks=[actions(button("x" * 76))])
    body = caught.value.response.data
    assert body["error"] == "invalid_blocks"
    assert body["response_metadata"]["messages"] == [
        "[ERROR] must be less than 76 characters [json-pointer:/blocks/0/elements/0/text]"
    ]
    too_long = [section("s" * 3000)] * 5
    post = slack.client().chat_postMessage
    assert error_of(lambda: post(channel=dm, text="x", blocks=too_long)) == "msg_blocks_too_long"
    answer = post(channel=dm, text="t" * 40_001)
    assert answer["warning"] == "message_truncated" and len(answer["message"]["text"]) == 40_000
    opened = slack.sandbox.issue_trigger(slack.ws.team_id, ALICE)
    bad_view = lambda: slack.client().views_open(trigger_id=opened, view=modal("t" * 25))  # noqa: E731
    assert error_of(bad_view) == "invalid_arguments"


def test_response_url_refuses_invalid_blocks(slack: Slack) -> None:
    dm = slack.sandbox.dm_channel(slack.ws.team_id, ALICE)
    url = slack.sandbox.issue_response_url(slack.ws.team_id, ALICE, dm)
    answer = requests.post(url, json={"text": "x", "blocks": [SECTION] * 51}, timeout=5)
    assert (answer.status_code, answer.text) == (400, "invalid_blocks")
    assert slack.sandbox.responses(url) == []


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_chat_post_message_is_limited_per_channel_with_bursts(slack: Slack) -> None:
    clock = FakeClock()
    limits = slack.sandbox.rate_limits
    limits.clock = clock
    team = slack.ws.team_id
    general, other = (
        slack.sandbox.add_channel(team, "general"),
        slack.sandbox.add_channel(team, "other"),
    )
    client = WebClient(token=slack.ws.bot_token, base_url=slack.sandbox.api_url)  # no 429 retry
    for i in range(4):  # a short burst passes
        client.chat_postMessage(channel=general, text=f"m{i}")
    with pytest.raises(SlackApiError) as caught:
        client.chat_postMessage(channel=general, text="too fast")
    assert caught.value.response.status_code == 429
    assert caught.value.response.headers["Retry-After"] == "1"
    assert caught.value.response["error"] == "ratelimited"
    client.chat_postMessage(channel=other, text="another channel has its own second")
    clock.now += 1.0
    client.chat_postMessage(channel=general, text="one a second again")
    [hit] = limits.log
    assert (hit.method, hit.key, hit.retry_after) == (
        "chat.postMessage",
        (team, "chat.postMessage", general),
        1,
    )
    assert [m["text"] for m in slack.sandbox.messages(general)] == [
        "m0", "m1", "m2", "m3", "one a second again"
    ]  # fmt: skip


def test_tier_limits_per_method_per_workspace(slack: Slack) -> None:
    clock = FakeClock()
    slack.sandbox.rate_limits.clock = clock
    client = WebClient(token=slack.ws.bot_token, base_url=slack.sandbox.api_url)
    for _ in range(50):  # conversations.open is Tier 3: 50 a minute
        client.conversations_open(users=ALICE)
    assert error_of(lambda: client.conversations_open(users=ALICE)) == "ratelimited"
    assert client.users_info(user=ALICE)["ok"]  # another method, another bucket
    clock.now += 60 / 50
    assert client.conversations_open(users=ALICE)["ok"]
    slack.sandbox.rate_limits.enabled = False
    for _ in range(60):
        client.conversations_open(users=ALICE)


# ---- files.uploadV2 --------------------------------------------------------------------


def test_files_upload_v2_shares_the_file_in_the_channel(slack: Slack) -> None:
    dm = slack.sandbox.dm_channel(slack.ws.team_id, ALICE)
    done = slack.client().files_upload_v2(
        channel=dm, filename="rejected.csv", content=b"email,reason\njane@,bad\n", title="Rejected",
        initial_comment="The rows I left out",
    )  # fmt: skip
    assert done["file"]["title"] == "Rejected"
    [shared] = slack.sandbox.messages(dm)
    assert shared["text"] == "The rows I left out" and shared["files"][0]["name"] == "rejected.csv"
    download = requests.get(
        shared["files"][0]["url_private_download"],
        headers={"Authorization": f"Bearer {slack.ws.bot_token}"},
        timeout=5,
    )
    assert download.content == b"email,reason\njane@,bad\n"
    [stored] = slack.sandbox.uploaded_files()
    assert stored.filetype == "csv"
    methods = [c.method for c in slack.sandbox.calls()]
    assert methods == ["files.getUploadURLExternal", "files.completeUploadExternal"]


def test_files_upload_needs_the_upload_and_the_scope(slack: Slack) -> None:
    client = slack.client()
    never = client.files_getUploadURLExternal(filename="a.csv", length=3)["file_id"]
    complete = lambda: client.files_completeUploadExternal(files=[{"id": never, "title": "a"}])  # noqa: E731
    assert error_of(complete) == "file_not_found"
    scopes = tuple(s for s in DEFAULT_SCOPES if s != "files:write")
    plain = slack.sandbox.add_workspace("T0PLAIN001", "Plain", scopes=scopes)
    other = WebClient(token=plain.bot_token, base_url=slack.sandbox.api_url)
    upload = lambda: other.files_upload_v2(filename="a.csv", content=b"a")  # noqa: E731
    assert error_of(upload) == "missing_scope"


# ---- the driver: acks Slack would refuse -----------------------------------------------


@pytest.fixture
def driver(slack: Slack) -> Iterator[SlackDriver]:
    app = App(client=slack.client(), signing_secret=SECRET)

    @app.command("/long")
    def long(ack: Ack) -> None:
        ack(text="x", blocks=[SECTION] * 51)

    @app.command("/fine")
    def fine(ack: Ack) -> None:
        ack(text="x", blocks=[SECTION] * 50)

    @app.view("connect")
    def submitted(ack: Ack, view: dict[str, Any]) -> None:
        typed = view["state"]["values"]["b0"]["a"]["value"]
        if typed == "wrong-block":
            ack(response_action="errors", errors={"email": "Not an address."})
        elif typed == "long-title":
            ack(response_action="update", view=modal("A title far too long for Slack"))
        else:
            ack(response_action="update", view=modal("Next"))

    handler = SlackRequestHandler(app)
    web = Flask("tiny-bot")
    web.add_url_rule("/slack/events", "events", lambda: handler.handle(request), methods=["POST"])
    server = serve(web, name="tiny-bot")
    yield SlackDriver(
        f"{server.url}/slack/events", SECRET, slack.sandbox, slack.ws.team_id, slack.ws.app_id
    )
    server.stop()


def test_acks_slack_would_refuse_raise(slack: Slack, driver: SlackDriver) -> None:
    with pytest.raises(InvalidAck) as caught:
        driver.slash(ALICE, "", command="/long")
    assert caught.value.problems == [
        "invalid_blocks",
        "must be less than 51 items [json-pointer:/blocks]",
    ]
    assert driver.slash(ALICE, "", command="/fine").status_code == 200

    trigger = slack.sandbox.issue_trigger(slack.ws.team_id, ALICE)
    view = slack.client().views_open(trigger_id=trigger, view=modal())["view"]
    with pytest.raises(InvalidAck, match="not the block_id of an input block"):
        driver.submit_view(ALICE, view, {"b0": "wrong-block"})
    with pytest.raises(InvalidAck, match="must be less than 25 characters"):
        driver.submit_view(ALICE, view, {"b0": "long-title"})
    assert slack.sandbox.last_view(ALICE)["title"]["text"] == "Connect"  # type: ignore[index]
    driver.submit_view(ALICE, view, {"b0": "fine"})
    assert slack.sandbox.last_view(ALICE)["title"]["text"] == "Next"  # type: ignore[index]
    assert json.loads(json.dumps(view))["id"] == view["id"]
