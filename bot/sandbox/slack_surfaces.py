"""Slack's checks of whole surfaces: a message, a view, the ack of a modal submission.

Pure functions over :mod:`bot.sandbox.slack_blockkit`'s block rules, so a unit test can
validate a builder's output exactly as the sandbox's Web API, response_url and driver do::

    assert message_problems({"text": "Hi", "blocks": blocks.help_blocks()}) == []
    assert view_problems(blocks.connect_modal(...), ("modal",)) == []

Sources: https://api.slack.com/methods/chat.postMessage#errors (message errors),
https://api.slack.com/reference/surfaces/views (view fields and limits),
https://api.slack.com/surfaces/modals#responding (``response_action`` acks: ``errors``
keyed by the block_id of an input block of the submitted view, ``update``/``push`` with a
valid modal, ``clear``; at most 3 views in a stack, "limited to pushing 2 additional views").
"""

from __future__ import annotations

import json
from typing import Any

from slack_sdk.models.views import View

from bot.sandbox.slack_blockkit import (
    JSON,
    MESSAGE_BLOCKS_CHARS,
    TEXT_TRUNCATED_AT,
    VIEW_BYTES,
    _pointer_problem,
    _sdk_problems,
    blocks_problems,
    blocks_text_length,
)

_ONE = {"type": "divider"}
RESPONSE_ACTIONS = ("errors", "update", "push", "clear")
MAX_STACK = 3


class Refused(Exception):
    """Slack refuses the call: ``error`` is its error code, ``problems`` its reasons."""

    def __init__(self, error: str, problems: list[str] | None = None) -> None:
        super().__init__(error if not problems else f"{error}: {'; '.join(problems)}")
        self.error, self.problems = error, list(problems or [])


def message_content(args: JSON) -> tuple[JSON, list[str]]:
    """``text``/``blocks``/``attachments`` as Slack stores them, with warnings; raises
    :class:`Refused` with chat.postMessage's error where Slack refuses the message."""
    text = args.get("text") or ""
    if not isinstance(text, str):
        raise Refused("invalid_arguments", [_pointer_problem("must be a string", "/text")])
    content: JSON = {"text": text}
    warnings: list[str] = []
    blocks = args.get("blocks")
    if blocks is not None:
        if isinstance(blocks, str):
            raise Refused("invalid_blocks_format")
        problems = blocks_problems(blocks, "message")
        if problems:
            raise Refused("invalid_blocks", problems)
        if blocks_text_length(blocks) > MESSAGE_BLOCKS_CHARS:
            raise Refused("msg_blocks_too_long")
        content["blocks"] = blocks
    if args.get("attachments"):
        content["attachments"] = args["attachments"]
    if not (text or content.get("blocks") or content.get("attachments")):
        raise Refused("no_text")
    if len(text) > TEXT_TRUNCATED_AT:  # chat.postMessage#truncating: cut, not refused
        content["text"] = text[:TEXT_TRUNCATED_AT]
        warnings.append("message_truncated")
    return content, warnings


def message_problems(args: JSON) -> list[str]:
    """[] when Slack posts ``args`` as a message; else its error and each reason."""
    try:
        message_content(args)
    except Refused as e:
        return [e.error, *e.problems]
    return []


def view_problems(view: Any, kinds: tuple[str, ...], pointer: str = "/view") -> list[str]:
    """What Slack refuses in ``view`` for a method taking ``kinds`` (modal, home)."""
    if not isinstance(view, dict) or view.get("type") not in kinds:
        return [_pointer_problem(f"type must be one of {list(kinds)}", f"{pointer}/type")]
    surface = view["type"]
    blocks = view.get("blocks", [])
    problems = blocks_problems(blocks, surface, f"{pointer}/blocks")
    try:
        parsed = View(**{k: v for k, v in view.items() if k != "blocks"}, blocks=[_ONE])
    except Exception as e:  # slack_sdk cannot even build it
        return [*problems, _pointer_problem(f"invalid view ({e})", pointer)]
    # The blocks were checked above (slack_sdk would also refuse an empty Home tab, which
    # Slack takes); title, submit and close below, in Slack's words.
    own = ("title ", "submit ", "close ")
    problems += [p for p in _sdk_problems(parsed, pointer) if not p.startswith(own)]
    for key in ("title", "submit", "close"):
        text = view.get(key)
        if text is None:
            continue
        if not isinstance(text, dict) or text.get("type") != "plain_text":
            problems.append(
                _pointer_problem("must be a plain_text text object", f"{pointer}/{key}")
            )
        elif len(str(text.get("text") or "")) > 24:
            problems.append(
                _pointer_problem("must be less than 25 characters", f"{pointer}/{key}/text")
            )
    if surface == "modal":
        if not view.get("title"):
            problems.append(_pointer_problem("missing required field: title", f"{pointer}/title"))
        has_input = any(isinstance(b, dict) and b.get("type") == "input" for b in blocks or [])
        if has_input and not view.get("submit"):
            problems.append(
                _pointer_problem("submit is required with input blocks", f"{pointer}/submit")
            )
    if len(str(view.get("external_id") or "")) > 255:
        problems.append(
            _pointer_problem("must be less than 256 characters", f"{pointer}/external_id")
        )
    return sorted(set(problems), key=problems.index)


def checked_view(view: Any, kinds: tuple[str, ...]) -> JSON:
    """``view`` if Slack takes it for ``views.open/push/update/publish``, else :class:`Refused`."""
    problems = view_problems(view, kinds)
    if problems:
        raise Refused("invalid_arguments", problems)
    if len(json.dumps(view)) > VIEW_BYTES:
        raise Refused("view_too_large")
    assert isinstance(view, dict)
    return view


def ack_problems(ack: Any, submitted: JSON, stack_depth: int = 1) -> list[str]:
    """What Slack refuses in the bot's answer to a ``view_submission`` of ``submitted``
    (the modal that was on screen, ``stack_depth`` views deep). An empty answer closes
    the modal and is always fine."""
    if ack is None or ack == {}:
        return []
    if not isinstance(ack, dict):
        return [_pointer_problem("must be an object", "")]
    action = ack.get("response_action")
    if action not in RESPONSE_ACTIONS:
        return [_pointer_problem(f"must be one of {list(RESPONSE_ACTIONS)}", "/response_action")]
    if action == "errors":
        errors = ack.get("errors")
        inputs = {
            b.get("block_id")
            for b in submitted.get("blocks") or []
            if isinstance(b, dict) and b.get("type") == "input"
        }
        if not isinstance(errors, dict) or not errors:
            return [_pointer_problem("must be a non-empty object", "/errors")]
        return [
            _pointer_problem("not the block_id of an input block in the view", f"/errors/{key}")
            for key in errors
            if key not in inputs
        ] + [
            _pointer_problem("must be a non-empty string", f"/errors/{key}")
            for key, message in errors.items()
            if not isinstance(message, str) or not message
        ]
    if action in ("update", "push"):
        problems = view_problems(ack.get("view"), ("modal",))
        if action == "push" and stack_depth >= MAX_STACK:
            problems.append("push_limit_reached")
        return problems
    return []
