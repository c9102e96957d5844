"""The Slack client side of the sandbox: signed requests to the bot's ``/slack/events``.

:class:`SlackDriver` sends what Slack sends when a person types a slash command, clicks a
button, submits a modal or when an event happens: the same content types, fields and
``v0=`` HMAC-SHA256 signature over ``v0:{timestamp}:{raw body}``. Each method returns the
bot's HTTP answer, because the ack body is what Slack shows the person. The trigger_ids
and response_urls it hands out come from the :class:`~bot.sandbox.slack_api.SlackSandbox`,
so ``views.open`` and ``respond()`` are checked like the real ones.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urlencode

import requests
from slack_sdk.signature import SignatureVerifier

from bot.sandbox.slack import JSON, new_id
from bot.sandbox.slack_api import SlackSandbox
from bot.sandbox.slack_surfaces import ack_problems, message_problems

FORM = "application/x-www-form-urlencoded"

# element type -> (key in state.values, key of its initial value in the view)
_STATE_KEYS = {
    "plain_text_input": ("value", "initial_value"),
    "email_text_input": ("value", "initial_value"),
    "url_text_input": ("value", "initial_value"),
    "number_input": ("value", "initial_value"),
    "static_select": ("selected_option", "initial_option"),
    "external_select": ("selected_option", "initial_option"),
    "radio_buttons": ("selected_option", "initial_option"),
    "overflow": ("selected_option", "initial_option"),
    "multi_static_select": ("selected_options", "initial_options"),
    "multi_external_select": ("selected_options", "initial_options"),
    "checkboxes": ("selected_options", "initial_options"),
    "users_select": ("selected_user", "initial_user"),
    "multi_users_select": ("selected_users", "initial_users"),
    "conversations_select": ("selected_conversation", "initial_conversation"),
    "multi_conversations_select": ("selected_conversations", "initial_conversations"),
    "channels_select": ("selected_channel", "initial_channel"),
    "multi_channels_select": ("selected_channels", "initial_channels"),
    "datepicker": ("selected_date", "initial_date"),
    "timepicker": ("selected_time", "initial_time"),
}


class AckTimeout(Exception):
    """The bot did not answer within 3 seconds; Slack would have shown the person an error."""


class InvalidAck(Exception):
    """Slack refuses the bot's ack body: a message it would not show, or a ``response_action``
    it would not apply (the person sees "We had some trouble connecting"). ``problems`` are
    Slack's reasons (https://api.slack.com/surfaces/modals#responding,
    https://api.slack.com/interactivity/handling#message_responses)."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def _ack_body(response: requests.Response) -> Any:
    if not response.content or response.status_code != 200:
        return None
    try:
        return response.json()
    except ValueError:
        return None  # a plain-text ack is shown as the text itself


def check_message_ack(response: requests.Response) -> None:
    """Raise :class:`InvalidAck` when the ack of a command or click is a message Slack
    would refuse (the same rules as chat.postMessage)."""
    body = _ack_body(response)
    if isinstance(body, dict) and ("blocks" in body or "text" in body):
        problems = message_problems(body)
        if problems:
            raise InvalidAck(problems)


def _elements(blocks: list[JSON]) -> Iterator[tuple[JSON, JSON]]:
    """(block, element) for every interactive element in ``blocks``."""
    for block in blocks:
        for el in [*block.get("elements", []), block.get("accessory"), block.get("element")]:
            if isinstance(el, dict) and "action_id" in el:
                yield block, el


def _option(element: JSON, value: Any) -> JSON:
    if isinstance(value, Mapping):
        return dict(value)  # already a whole option object
    options = list(element.get("options", []))
    for group in element.get("option_groups", []):
        options += group.get("options", [])
    for option in options:
        if option.get("value") == value:
            return dict(option)
    if element["type"].endswith("external_select"):  # options come from the bot: any goes
        return {"text": {"type": "plain_text", "text": str(value)}, "value": str(value)}
    offered = [o.get("value") for o in options]
    raise ValueError(f"{value!r} is not an option of {element['action_id']!r}: {offered}")


def element_state(element: JSON, value: Any = None, current: str | None = None) -> JSON:
    """The state Slack reports for ``element`` filled with ``value`` (None: as shown);
    ``current`` is the conversation the modal was opened in."""
    kind = element["type"]
    if kind not in _STATE_KEYS:
        raise ValueError(f"the sandbox cannot fill a {kind} element ({element['action_id']!r})")
    key, initial = _STATE_KEYS[kind]
    if value is None and kind == "conversations_select":
        value = default_conversation(element, current)
    if value is None:
        value = element.get(initial)  # an untouched field submits what it showed
    if key == "selected_option":
        value = None if value is None else _option(element, value)
    elif key == "selected_options":
        value = [_option(element, v) for v in value or []]
    elif key == "value":
        value = None if value is None else str(value)
    elif key.endswith("s"):
        value = list(value or [])
    return {"type": kind, key: value}


def default_conversation(element: JSON, current: str | None) -> str | None:
    """What a ``conversations_select`` starts on: the conversation the modal was opened in
    when ``default_to_current_conversation`` is set and its ``filter`` allows that kind
    (which then wins over ``initial_conversation``, docs.slack.dev/reference/block-kit/
    block-elements/select-menu-element), else ``initial_conversation``."""
    if current and element.get("default_to_current_conversation"):
        include = (element.get("filter") or {}).get("include")
        kind = "im" if current.startswith("D") else "channel"
        if (
            not include
            or kind in include
            or (kind == "channel" and {"public", "private"} & set(include))
        ):
            return current
    found = element.get("initial_conversation")
    return str(found) if found else None


def state_values(
    view: JSON, fields: Mapping[str, Any], current: str | None = None
) -> dict[str, dict[str, JSON]]:
    """``view.state.values`` after a person fills input blocks: ``fields`` maps block_id to
    a value (text, option value, user/channel id, or a list for multi-selects); ``current``
    is the conversation the modal was opened in, if any."""
    inputs = {b["block_id"]: b for b in view.get("blocks", []) if b.get("type") == "input"}
    unknown = set(fields) - set(inputs)
    if unknown:
        raise KeyError(f"no input blocks {sorted(unknown)} in the view; it has {sorted(inputs)}")
    values: dict[str, dict[str, JSON]] = {}
    for block_id, block in inputs.items():
        element = block["element"]
        state = element_state(element, fields.get(block_id), current)
        filled = next(v for k, v in state.items() if k != "type")
        if not block.get("optional") and filled in (None, "", []):
            # The Slack client refuses to submit a modal with a required field empty.
            raise ValueError(f"required field {block_id!r} is empty; Slack would not submit")
        values[block_id] = {element["action_id"]: state}
    return values


def _is_state(values: Mapping[str, Any]) -> bool:
    """True for ``{block_id: {action_id: {"type": ...}}}`` rather than ``{block_id: value}``."""
    return all(
        isinstance(by_action, Mapping)
        and all(isinstance(s, Mapping) and "type" in s for s in by_action.values())
        for by_action in values.values()
    )


class SlackDriver:
    """Plays Slack towards the bot at ``bot_events_url`` for one workspace."""

    def __init__(
        self,
        bot_events_url: str,
        signing_secret: str,
        sandbox: SlackSandbox,
        team_id: str,
        api_app_id: str,
        *,
        ack_timeout: float = 3.0,
        verification_token: str = "sandbox-verification-token",
    ) -> None:
        self.bot_events_url = bot_events_url
        self.sandbox, self.team_id, self.api_app_id = sandbox, team_id, api_app_id
        self.ack_timeout = ack_timeout
        self.verification_token = verification_token
        self._verifier = SignatureVerifier(signing_secret)
        self._http = requests.Session()

    # ---- the wire ---------------------------------------------------------------------

    def post(
        self,
        body: str,
        content_type: str,
        *,
        timestamp: str | None = None,
        signature: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> requests.Response:
        """Post ``body`` signed as Slack signs it; ``timestamp``/``signature`` forge it."""
        ts = timestamp if timestamp is not None else str(int(time.time()))
        sent = {
            "Content-Type": content_type,
            "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
            "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": signature
            if signature is not None
            else str(self._verifier.generate_signature(timestamp=ts, body=body)),
            **(headers or {}),
        }
        try:
            return self._http.post(
                self.bot_events_url, data=body.encode(), headers=sent, timeout=self.ack_timeout
            )
        except requests.Timeout as e:
            raise AckTimeout(f"{AckTimeout.__doc__} ({self.ack_timeout} s)") from e

    def _interaction(self, payload: JSON) -> requests.Response:
        response = self.post(urlencode({"payload": json.dumps(payload)}), FORM)
        if payload.get("type") == "block_actions":
            check_message_ack(response)
        return response

    def _user(self, user_id: str) -> JSON:
        user = self.sandbox.user(self.team_id, user_id)
        return {
            "id": user_id,
            "username": user["name"],
            "name": user["name"],
            "team_id": self.team_id,
        }

    def _team(self) -> JSON:
        return {"id": self.team_id, "domain": self.sandbox.workspace(self.team_id).domain}

    # ---- what a person does -------------------------------------------------------------

    def slash(
        self, user_id: str, text: str, *, command: str = "/scaleup", channel_id: str | None = None
    ) -> requests.Response:
        """``{command} {text}`` typed by ``user_id`` (in their DM with the bot by default)."""
        channel_id = channel_id or self.sandbox.dm_channel(self.team_id, user_id)
        fields = {
            "token": self.verification_token,
            "team_id": self.team_id,
            "team_domain": self._team()["domain"],
            "channel_id": channel_id,
            "channel_name": self.sandbox.channel_name(self.team_id, channel_id),
            "user_id": user_id,
            "user_name": self._user(user_id)["username"],
            "command": command,
            "text": text,
            "api_app_id": self.api_app_id,
            "is_enterprise_install": "false",
            "response_url": self.sandbox.issue_response_url(self.team_id, user_id, channel_id),
            "trigger_id": self.sandbox.issue_trigger(self.team_id, user_id, channel_id),
        }
        response = self.post(urlencode(fields), FORM)
        check_message_ack(response)
        return response

    def click(
        self,
        user_id: str,
        action_id: str,
        value: Any = None,
        *,
        message: JSON | None = None,
        view: JSON | None = None,
        block_id: str | None = None,
        channel_id: str | None = None,
    ) -> requests.Response:
        """``user_id`` uses the element ``action_id`` in ``message`` or ``view``.

        A message from :meth:`SlackSandbox.messages` is in-channel; one the sandbox doesn't
        hold (a response_url body) is ephemeral. With neither, a bare button is clicked.
        For selects, ``value`` is the option value; for buttons it defaults to the button's.
        """
        blocks = (message or view or {}).get("blocks", [])
        found = [
            (b, el)
            for b, el in _elements(blocks)
            if el["action_id"] == action_id and block_id in (None, b.get("block_id"))
        ]
        if (message or view) and not found:
            raise LookupError(f"no element {action_id!r} in that {'view' if view else 'message'}")
        block, element = found[0] if found else ({}, {"type": "button", "action_id": action_id})
        action: JSON = {
            "action_id": action_id,
            "block_id": block_id
            or block.get("block_id")
            or new_id("")[:5],  # Slack invents a short id
            "action_ts": f"{time.time():.6f}",
        }
        if element["type"] == "button":
            action.update(type="button", value=value if value is not None else element.get("value"))
            action["text"] = element.get("text", {"type": "plain_text", "text": action_id})
        else:
            action.update(element_state(element, value))
        payload: JSON = {
            "type": "block_actions",
            "user": self._user(user_id),
            "api_app_id": self.api_app_id,
            "token": self.verification_token,
            "trigger_id": self.sandbox.issue_trigger(self.team_id, user_id),
            "team": self._team(),
            "enterprise": None,
            "is_enterprise_install": False,
            "actions": [action],
        }
        if view is not None:
            payload["container"] = {"type": "view", "view_id": view.get("id")}
            payload["view"] = view
        else:
            payload.update(self._message_context(user_id, message, channel_id))
        return self._interaction(payload)

    def _message_context(self, user_id: str, message: JSON | None, channel_id: str | None) -> JSON:
        ts = (message or {}).get("ts")
        located = self.sandbox.message_channel(ts) if ts else None
        channel_id = located or channel_id or self.sandbox.dm_channel(self.team_id, user_id)
        context: JSON = {
            "channel": {
                "id": channel_id,
                "name": self.sandbox.channel_name(self.team_id, channel_id),
            },
            "response_url": self.sandbox.issue_response_url(
                self.team_id, user_id, channel_id, ts if located else None
            ),
        }
        if located:
            context["container"] = {
                "type": "message",
                "message_ts": ts,
                "channel_id": channel_id,
                "is_ephemeral": False,
            }
            context["message"] = message
        else:  # Slack does not send the body of an ephemeral message back
            context["container"] = {
                "type": "message",
                "message_ts": f"{time.time():.6f}",
                "channel_id": channel_id,
                "is_ephemeral": True,
            }
        return context

    def submit_view(self, user_id: str, view: JSON, values: Mapping[str, Any]) -> requests.Response:
        """``user_id`` presses Submit on ``view`` (as returned by views.open).

        ``values`` is either raw ``{block_id: {action_id: {"type": ..., ...}}}`` or the
        simple ``{block_id: value}`` that :func:`state_values` turns into it. The bot's ack
        is applied to the sandbox's modal stack (closed, updated, pushed or left with errors).
        """
        current = self.sandbox.view_conversation(str(view.get("id", "")))
        state = (
            dict(values) if values and _is_state(values) else state_values(view, values, current)
        )
        payload: JSON = {
            "type": "view_submission",
            "team": self._team(),
            "user": self._user(user_id),
            "api_app_id": self.api_app_id,
            "token": self.verification_token,
            "trigger_id": self.sandbox.issue_trigger(self.team_id, user_id),
            "view": {**view, "state": {"values": state}},
            "response_urls": [],
            "enterprise": None,
            "is_enterprise_install": False,
        }
        response = self._interaction(payload)
        if response.status_code == 200:
            ack = _ack_body(response)
            stack = self.sandbox._stacks.get(user_id, [])
            depth = stack.index(view["id"]) + 1 if view.get("id") in stack else 1
            problems = ack_problems(ack, view, depth)
            if problems:  # Slack leaves the modal as it was and shows an error
                raise InvalidAck(problems)
        if response.status_code == 200 and view.get("id"):
            ack = _ack_body(response)
            self.sandbox.resolve_submission(
                user_id, view["id"], ack if isinstance(ack, dict) else None
            )
        return response

    def submit(self, user_id: str, fields: Mapping[str, Any] | None = None) -> requests.Response:
        """Fill ``fields`` into the modal on top of ``user_id``'s screen and submit it."""
        view = self.sandbox.last_view(user_id)
        if view is None:
            raise LookupError(f"{user_id} has no modal open")
        current = self.sandbox.view_conversation(view["id"])
        return self.submit_view(user_id, view, state_values(view, fields or {}, current))

    # ---- events -----------------------------------------------------------------------

    def event(
        self,
        event: JSON,
        *,
        event_id: str | None = None,
        retry_num: int | None = None,
        retry_reason: str = "http_timeout",
    ) -> requests.Response:
        """Deliver ``event`` through the Events API; ``retry_num`` marks a redelivery."""
        ws = self.sandbox.workspace(self.team_id)
        now = time.time()
        body = {
            "token": self.verification_token,
            "team_id": self.team_id,
            "api_app_id": self.api_app_id,
            "event": {"event_ts": f"{now:.6f}", **event},
            "type": "event_callback",
            "event_id": event_id or new_id("Ev"),
            "event_time": int(now),
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": self.team_id,
                    "user_id": ws.bot_user_id,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
        }
        headers = {}
        if retry_num is not None:
            headers = {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": retry_reason}
        return self.post(json.dumps(body), "application/json", headers=headers)

    def home_opened(self, user_id: str) -> requests.Response:
        """``user_id`` opens the app's Home tab."""
        event = {"type": "app_home_opened", "user": user_id, "tab": "home"}
        channel = self.sandbox.dm_channel(self.team_id, user_id)
        return self.event({**event, "channel": channel})

    def share_file(self, user_id: str, file_id: str, text: str = "") -> requests.Response:
        """``user_id`` drops an uploaded file into their DM with the bot, ``text`` typed with it.

        The ``message``/``file_share`` event as Slack sends it for ``message.im``; its
        ``event_ts`` is the message's ``ts``.
        """
        channel = self.sandbox.dm_channel(self.team_id, user_id)
        ts = f"{time.time():.6f}"
        event = {
            "type": "message",
            "subtype": "file_share",
            "text": text,
            "files": [self.sandbox.file_object(file_id)],
            "upload": True,
            "user": user_id,
            "display_as_bot": False,
            "ts": ts,
            "client_msg_id": str(uuid.uuid4()),
            "channel": channel,
            "event_ts": ts,
            "channel_type": "im",
        }
        return self.event(event)

    def uninstall(self) -> list[requests.Response]:
        """Remove the app: the bot token stops working, then both events arrive."""
        ws = self.sandbox.workspace(self.team_id)
        self.sandbox.revoke(self.team_id)
        return [
            self.event({"type": "tokens_revoked", "tokens": {"bot": [ws.bot_user_id]}}),
            self.event({"type": "app_uninstalled"}),
        ]
