"""Block Kit primitives every builder shares: sections, context, buttons, confirm
dialogs, modals and their inputs, and a few sentence helpers.

Builders are pure functions of data, testable without Slack (Sentry's ``message_builder``
is the model): :mod:`handlers.mailbox_blocks`, :mod:`handlers.removal_blocks`,
:mod:`handlers.shortlist_blocks`, :mod:`handlers.campaign_blocks`,
:mod:`handlers.campaign_form`, :mod:`handlers.preview_blocks`, :mod:`handlers.home_blocks`,
:mod:`handlers.team_blocks`, :mod:`handlers.reply_blocks`, :mod:`handlers.notice_blocks`.
Each keeps its action ids as constants beside its builders, so listeners and builders
cannot drift apart.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from handlers.limits import (
    BUTTON_CHARS,
    CONFIRM_BUTTON,
    CONFIRM_TEXT,
    CONFIRM_TITLE,
    LINE_CHARS,
    SECTION_CHARS,
    TEXT_BUDGET,
    clip,
    fit_lines,
    plain,
    sections,
)
from handlers.mrkdwn import esc as esc  # the one escaping function, re-exported

Block = dict[str, Any]


def text(markdown: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": clip(markdown, SECTION_CHARS)}}


def context(markdown: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": clip(markdown, 3000)}]}


def button(
    label: str,
    action_id: str,
    *,
    value: str | None = None,
    url: str | None = None,
    style: str | None = None,
    confirm: Block | None = None,
) -> Block:
    element: Block = {
        "type": "button",
        "text": {"type": "plain_text", "text": clip(label, BUTTON_CHARS)},
        "action_id": action_id,
    }
    for key, item in (("value", value), ("url", url), ("style", style), ("confirm", confirm)):
        if item is not None:
            element[key] = item
    return element


def actions(*elements: Block) -> Block:
    return {"type": "actions", "elements": list(elements)}


def header(title: str) -> Block:
    """A header block (plain text, at most 150 characters)."""
    return {"type": "header", "text": {"type": "plain_text", "text": clip(title, 150)}}


def confirm_dialog(title: str, text: str, confirm: str, deny: str) -> Block:
    """A confirm dialog (``style`` danger) whose every part fits Slack's limits."""
    return {
        "title": plain(title, CONFIRM_TITLE),
        "text": plain(text, CONFIRM_TEXT),
        "confirm": plain(confirm, CONFIRM_BUTTON),
        "deny": plain(deny, CONFIRM_BUTTON),
        "style": "danger",
    }


def error(message: str) -> list[Block]:
    return [text(f":x: {message}")]


def paragraphs(
    markdown: str, most: int = LINE_CHARS, budget: int = TEXT_BUDGET, noun: str = "line"
) -> list[Block]:
    """Long mrkdwn as sections under Slack's 3,000-character limit, split at line ends;
    lines past ``budget`` characters in all are counted instead ("…and N more lines."),
    so the message stays under Slack's ~12,000 (see :mod:`handlers.limits`)."""
    return [text(chunk) for chunk in sections(fit_lines(markdown.splitlines(), budget, noun), most)]


def sentence(message: str) -> list[Block]:
    """A user-facing error sentence (already mrkdwn-safe) as blocks."""
    return paragraphs(f":x: {message}")


def count(number: int, noun: str) -> str:
    """``1 candidate``, ``1,200 candidates``."""
    return f"{number:,} {noun}{'' if number == 1 else 's'}"


def when(moment: datetime) -> str:
    """A time every reader sees in their own time zone (the fallback is UTC)."""
    fallback = f"{moment:%Y-%m-%d %H:%M} UTC"
    return f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} at {{time}}|{fallback}>"


# -- modals ----------------------------------------------------------------------------------
def modal(
    callback_id: str, title: str, submit: str, metadata: dict[str, Any], blocks: list[Block]
) -> Block:
    """A modal with a Cancel button; ``metadata`` rides along as JSON in private_metadata."""
    return {
        "type": "modal",
        "callback_id": callback_id,
        "title": {"type": "plain_text", "text": title},
        "submit": {"type": "plain_text", "text": submit},
        "close": {"type": "plain_text", "text": "Cancel"},
        "private_metadata": json.dumps(metadata),
        "blocks": blocks,
    }


def input_block(
    block_id: str, label: str, element: Block, *, hint: str = "", optional: bool = False
) -> Block:
    """An input block whose element's action id is its block id."""
    block: Block = {
        "type": "input",
        "block_id": block_id,
        "label": {"type": "plain_text", "text": label},
        "element": {"action_id": block_id, **element},
        "optional": optional,
    }
    if hint:
        block["hint"] = {"type": "plain_text", "text": hint}
    return block


def option(label: str, value: str) -> Block:
    """A select or checkbox option; the label is cut to Slack's 75 characters."""
    return {"text": {"type": "plain_text", "text": label[:75]}, "value": value}


def static_select(options: list[Block], initial: Block | None = None) -> Block:
    """A static select of at most 100 options (Slack's limit)."""
    element: Block = {"type": "static_select", "options": options[:100]}
    if initial is not None:
        element["initial_option"] = initial
    return element


def number_input(initial: int, low: int, high: int) -> Block:
    """A whole-number input from ``low`` to ``high``."""
    return {
        "type": "number_input",
        "is_decimal_allowed": False,
        "initial_value": str(initial),
        "min_value": str(low),
        "max_value": str(high),
    }
