"""Slack's Block Kit rules, as pure functions: what Slack refuses in a message, a view or a
modal submission's ack, with the error and ``[json-pointer:…]`` messages Slack gives.

slack_sdk's Block Kit models (``Block.parse``, ``View``; their ``validate_json`` raises
``SlackObjectFormationError``) already check many limits: button text 75, value 2,000,
url 3,000, ``action_id`` 255, option text 75 and value 150, ≤ 100 options, overflow 1 to 5,
confirm title 100 / text 300 / confirm and deny 30, section text 3,000 and ≤ 10 fields,
header 150, actions ≤ 25 and context ≤ 10 elements, ``block_id`` 255, input label and
hint 2,000, view title/submit/close 24, ``private_metadata`` 3,000, ``callback_id`` 255.
:func:`_sdk_problems` runs them on every object and turns their wording into Slack's. This
module adds what they miss, each from the reference page named:

- https://api.slack.com/reference/block-kit/blocks: 50 blocks in a message, 100 in a modal
  or Home tab; which blocks each surface takes (``file``, ``call`` and ``markdown`` only in
  messages; the current table lists ``input`` for modals, messages *and* Home tabs, so an
  input block in a message is allowed, as Slack allows it); which elements each block
  takes; ``block_id`` unique in a message or view; header text ``plain_text`` only; each
  section field ≤ 2,000 characters.
- https://api.slack.com/reference/block-kit/block-elements: button text ``plain_text``
  only and ``style`` primary/danger; ``action_id`` unique among the elements of a block;
  checkboxes and radio buttons ≤ 10 options; an ``initial_option(s)`` must be one of the
  options; a plain-text input's ``max_length`` ≤ 3,000 and ``initial_value`` no longer than
  it; ``file_input`` and ``response_url_enabled`` in modals only.
- https://api.slack.com/reference/block-kit/composition-objects: option text in select and
  overflow menus ``plain_text`` only; a confirm dialog's title, confirm and deny
  ``plain_text``; a text object's type is ``plain_text`` or ``mrkdwn``.
- https://api.slack.com/reference/surfaces/views: modal title required, ``submit`` required
  with an input block, title/submit/close ``plain_text``, ``external_id`` ≤ 255, a view
  payload under 250 kB (``view_too_large``).
- https://api.slack.com/methods/chat.postMessage#errors: ``invalid_blocks`` (reasons in
  ``response_metadata.messages``), ``invalid_blocks_format``, ``no_text``,
  ``msg_blocks_too_long`` ("the blocks are too long": Slack publishes no figure; the
  limit here is :data:`MESSAGE_BLOCKS_CHARS` characters of text across the blocks, the
  ~12,000 the issue measured). ``text`` over 40,000 characters is *truncated*, not refused
  (…/chat.postMessage#truncating), with a ``message_truncated`` warning; a Slack
  maintainer notes the platform may now refuse long texts sooner (``msg_too_long``,
  seratch/ChatGPT-in-Slack#102), so the bot keeps its fallbacks near 4,000.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.basic_objects import JsonObject
from slack_sdk.models.blocks import Block, Option, OptionGroup

JSON = dict[str, Any]

MESSAGE_BLOCKS, VIEW_BLOCKS = 50, 100
MESSAGE_BLOCKS_CHARS = 12_000
TEXT_TRUNCATED_AT = 40_000
VIEW_BYTES = 250_000
SECTION_FIELD_CHARS = 2_000
INPUT_MAX_LENGTH = 3_000
ALL = frozenset({"message", "modal", "home"})

#: Block type -> surfaces that take it.
BLOCK_SURFACES = {
    **dict.fromkeys(
        ("actions", "context", "divider", "header", "image", "input", "rich_text", "section"),
        ALL,
    ),
    "video": ALL,
    "file": frozenset({"message"}),
    "call": frozenset({"message"}),
    "markdown": frozenset({"message"}),
}
_SELECTS = {
    f"{multi}{kind}_select"
    for multi in ("", "multi_")
    for kind in ("static", "external", "users", "conversations", "channels")
}
_CHOICES = {"checkboxes", "radio_buttons", "overflow"}
_PICKERS = {"datepicker", "timepicker", "datetimepicker"}
#: Where each element may go: the elements of an actions block, a section's accessory,
#: an input block's element, a context block's elements.
ACTIONS_ELEMENTS = {"button", "workflow_button", *_SELECTS, *_CHOICES, *_PICKERS}
ACCESSORY_ELEMENTS = (ACTIONS_ELEMENTS - {"datetimepicker"}) | {"image"}
INPUT_ELEMENTS = (
    _SELECTS
    | _PICKERS
    | {"checkboxes", "radio_buttons", "plain_text_input", "email_text_input"}
    | {"url_text_input", "number_input", "rich_text_input", "file_input"}
)
CONTEXT_ELEMENTS = {"image", "plain_text", "mrkdwn"}
_PLAIN_ONLY_OPTIONS = _SELECTS | {"overflow"}

_RAW_OBJECTS: dict[str, Any] = {
    "options": Option,
    "initial_options": Option,
    "initial_option": Option,
    "option_groups": OptionGroup,
}
_SDK_LIMIT = re.compile(r"^(\w+)(?: attribute)? cannot exceed (\d+) (\w+)")


def _pointer_problem(message: str, at: str) -> str:
    return f"{message} [json-pointer:{at}]"


def _sdk_words(message: str, at: str) -> str:
    """slack_sdk's "text attribute cannot exceed 75 characters" in Slack's own words."""
    found = _SDK_LIMIT.match(message)
    if not found:
        return _pointer_problem(message, at)
    field, most, unit = found.group(1), int(found.group(2)), found.group(3)
    unit = "characters" if unit == "characters" else "items"
    return _pointer_problem(f"must be less than {most + 1} {unit}", f"{at}/{field}")


def _sdk_problems(obj: JsonObject, at: str) -> list[str]:
    """Every slack_sdk validator failing on ``obj`` and on the objects inside it."""
    problems: list[str] = []
    # Each validator on its own (validate_json stops at the first), as Slack lists all.
    for name in sorted(dir(obj)):
        validator = getattr(obj, name, None) if not name.startswith("__") else None
        if callable(validator) and getattr(validator, "validator", False):
            try:
                validator()
            except SlackObjectFormationError as e:
                problems.append(_sdk_words(str(e), at))
    for name in sorted(obj.attributes):
        value = getattr(obj, name, None)
        items = value if isinstance(value, (list, tuple)) else [value]
        for i, item in enumerate(items):
            if isinstance(item, dict) and name in _RAW_OBJECTS:  # some models keep dicts
                try:
                    item = _RAW_OBJECTS[name](**item)
                except Exception:  # malformed: the block rules name it
                    continue
            if isinstance(item, JsonObject):
                where = f"{at}/{name}/{i}" if isinstance(value, (list, tuple)) else f"{at}/{name}"
                problems += _sdk_problems(item, where)
    return problems


def _text_of(value: Any) -> str:
    return str(value.get("text") or "") if isinstance(value, dict) else ""


def _plain(obj: Any, at: str) -> list[str]:
    if isinstance(obj, dict) and obj.get("type") != "plain_text":
        return [_pointer_problem("must be a plain_text text object", f"{at}/type")]
    return []


def _text_object(obj: Any, at: str) -> list[str]:
    if isinstance(obj, dict) and obj.get("type") not in ("plain_text", "mrkdwn"):
        return [_pointer_problem("must be one of plain_text, mrkdwn", f"{at}/type")]
    return []


def _options(element: JSON) -> list[JSON]:
    found = [o for o in element.get("options") or [] if isinstance(o, dict)]
    for group in element.get("option_groups") or []:
        found += [o for o in (group or {}).get("options") or [] if isinstance(o, dict)]
    return found


def element_problems(element: Any, at: str, surface: str, allowed: set[str]) -> list[str]:
    """What Slack refuses in one block element (beyond slack_sdk's checks)."""
    if not isinstance(element, dict):
        return [_pointer_problem("must be an object", at)]
    kind = element.get("type")
    if kind not in allowed:
        return [_pointer_problem(f"unsupported type {kind!r} here", f"{at}/type")]
    problems: list[str] = []
    if kind in ("plain_text", "mrkdwn"):
        return problems
    if (kind == "file_input" and surface != "modal") or (
        element.get("response_url_enabled") and surface != "modal"
    ):
        problems.append(_pointer_problem(f"{kind} works only in modals", at))
    if kind == "button":
        problems += _plain(element.get("text"), f"{at}/text")
        if element.get("style") not in (None, "primary", "danger"):
            problems.append(_pointer_problem("must be one of primary, danger", f"{at}/style"))
    for key in ("placeholder",):
        problems += _plain(element.get(key), f"{at}/{key}")
    confirm = element.get("confirm")
    if isinstance(confirm, dict):
        for key in ("title", "confirm", "deny"):
            problems += _plain(confirm.get(key), f"{at}/confirm/{key}")
        problems += _text_object(confirm.get("text"), f"{at}/confirm/text")
    options = _options(element)
    if kind in _PLAIN_ONLY_OPTIONS:
        for i, option in enumerate(options):
            problems += _plain(option.get("text"), f"{at}/options/{i}/text")
    if kind in ("checkboxes", "radio_buttons") and len(options) > 10:
        problems.append(_pointer_problem("must be less than 11 items", f"{at}/options"))
    values = [json.dumps(o, sort_keys=True) for o in options]
    initial = element.get("initial_options") or []
    initial = [element["initial_option"]] if element.get("initial_option") else initial
    if options and any(json.dumps(o, sort_keys=True) not in values for o in initial):
        problems.append(_pointer_problem("must match one of the options", f"{at}/initial_option"))
    if kind == "plain_text_input":
        most = element.get("max_length", INPUT_MAX_LENGTH)
        if not isinstance(most, int) or not 1 <= most <= INPUT_MAX_LENGTH:
            problems.append(_pointer_problem("must be between 1 and 3000", f"{at}/max_length"))
            most = INPUT_MAX_LENGTH
        initial_value = element.get("initial_value")
        if isinstance(initial_value, str) and len(initial_value) > most:
            problems.append(
                _pointer_problem(f"must be less than {most + 1} characters", f"{at}/initial_value")
            )
    return problems


def _block_elements(block: JSON, at: str) -> Iterator[tuple[Any, str, set[str]]]:
    kind = block.get("type")
    if kind == "actions":
        for i, el in enumerate(block.get("elements") or []):
            yield el, f"{at}/elements/{i}", ACTIONS_ELEMENTS
    elif kind == "context":
        for i, el in enumerate(block.get("elements") or []):
            yield el, f"{at}/elements/{i}", CONTEXT_ELEMENTS
    elif kind == "section" and block.get("accessory") is not None:
        yield block["accessory"], f"{at}/accessory", ACCESSORY_ELEMENTS
    elif kind == "input":
        yield block.get("element"), f"{at}/element", INPUT_ELEMENTS


def block_problems(block: Any, at: str, surface: str) -> list[str]:
    """What Slack refuses in one block on ``surface`` (message, modal or home)."""
    if not isinstance(block, dict) or not isinstance(block.get("type"), str):
        return [_pointer_problem("missing required field: type", at)]
    kind = block["type"]
    if surface not in BLOCK_SURFACES.get(kind, frozenset()):
        return [_pointer_problem(f"unsupported type {kind!r} in a {surface}", f"{at}/type")]
    try:
        parsed = Block.parse(block)
    except Exception as e:  # slack_sdk refuses to build it at all: Slack's "invalid"
        return [_pointer_problem(f"invalid {kind} block ({e})", at)]
    problems = _sdk_problems(parsed, at) if parsed is not None else []
    if kind == "header":
        problems += _plain(block.get("text"), f"{at}/text")
    if kind == "section":
        problems += _text_object(block.get("text"), f"{at}/text")
        for i, field in enumerate(block.get("fields") or []):
            problems += _text_object(field, f"{at}/fields/{i}")
            if len(_text_of(field)) > SECTION_FIELD_CHARS:
                problems.append(
                    _pointer_problem("must be less than 2001 characters", f"{at}/fields/{i}/text")
                )
    if kind == "input":
        problems += _plain(block.get("label"), f"{at}/label") + _plain(
            block.get("hint"), f"{at}/hint"
        )
        if not block.get("label") or not block.get("element"):
            problems.append(_pointer_problem("missing required field: label or element", at))
    action_ids: set[Any] = set()
    for element, where, allowed in _block_elements(block, at):
        problems += element_problems(element, where, surface, allowed)
        action_id = element.get("action_id") if isinstance(element, dict) else None
        if action_id is not None and action_id in action_ids:
            problems.append(_pointer_problem("action_id must be unique", f"{where}/action_id"))
        action_ids.add(action_id)
    return problems


def blocks_problems(blocks: Any, surface: str, pointer: str = "/blocks") -> list[str]:
    """What Slack refuses in a list of blocks on ``surface``; [] when Slack takes it."""
    if not isinstance(blocks, list):
        return [_pointer_problem("must be an array", pointer)]
    most = MESSAGE_BLOCKS if surface == "message" else VIEW_BLOCKS
    if len(blocks) > most:
        return [_pointer_problem(f"must be less than {most + 1} items", pointer)]
    problems: list[str] = []
    block_ids: set[str] = set()
    for i, block in enumerate(blocks):
        problems += block_problems(block, f"{pointer}/{i}", surface)
        block_id = block.get("block_id") if isinstance(block, dict) else None
        if block_id is not None:
            if block_id in block_ids:
                problems.append(_pointer_problem("duplicate block_id", f"{pointer}/{i}/block_id"))
            block_ids.add(block_id)
    return problems


def blocks_text_length(blocks: Any) -> int:
    """Characters of text in ``blocks``: every ``text`` string, at any depth."""
    if isinstance(blocks, list):
        return sum(blocks_text_length(b) for b in blocks)
    if isinstance(blocks, dict):
        own = len(blocks["text"]) if isinstance(blocks.get("text"), str) else 0
        return own + sum(
            blocks_text_length(v) for v in blocks.values() if isinstance(v, (dict, list))
        )
    return 0
