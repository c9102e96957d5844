"""Slack's size limits, and the few pure helpers that make any input fit them.

Figures from https://api.slack.com/reference/block-kit/blocks (section text 3,000, 50
blocks a message), …/block-elements (button text 75, ``max_length`` of a text input),
…/composition-objects (confirm dialog: title 100, text 300, buttons 30) and
https://api.slack.com/methods/chat.postMessage#errors (``msg_blocks_too_long`` past about
12,000 characters of text in a message's blocks). The sandbox Slack refuses what Slack
refuses (``bot/sandbox/slack_blockkit.py``); these helpers are how builders stay inside:
a display-only value is cut with an ellipsis, a list shows what fits and says how many
more there are, never silently less.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

SECTION_CHARS = 3_000
LINE_CHARS = 2_900  # one line of a section, leaving room to join lines
TEXT_BUDGET = 10_000  # text of one message's blocks; Slack refuses from about 12,000
BUTTON_CHARS = 75
CONFIRM_TITLE, CONFIRM_TEXT, CONFIRM_BUTTON = 100, 300, 30
ELLIPSIS = "…"


def clip(value: str, most: int) -> str:
    """``value`` shortened to ``most`` characters, ending in "…" if it was cut. For text
    that is only shown: never for a value the user submits or the bot reads back."""
    if len(value) <= most:
        return value
    return value[: most - 1].rstrip() + ELLIPSIS


def plain(value: str, most: int) -> dict[str, Any]:
    """A ``plain_text`` object holding at most ``most`` characters."""
    return {"type": "plain_text", "text": clip(value, most)}


def fitting(lines: Sequence[str], budget: int = TEXT_BUDGET) -> int:
    """How many of the first ``lines`` (each clipped to :data:`LINE_CHARS`) fit in
    ``budget`` characters, keeping room for a closing "…and N more" line."""
    used = 0
    for count, line in enumerate(lines):
        used += min(len(line), LINE_CHARS) + 1
        if used > budget - 60:
            return count
    return len(lines)


def fit_lines(
    lines: Sequence[str], budget: int = TEXT_BUDGET, noun: str = "line", plural: str = ""
) -> list[str]:
    """The first ``lines`` (each clipped to :data:`LINE_CHARS`) that fit in ``budget``
    characters, then "…and N more {noun}s." for the rest; all of them when they fit."""
    count = fitting(lines, budget)
    shown = [clip(line, LINE_CHARS) for line in lines[:count]]
    left = len(lines) - count
    if left:
        shown.append(f"…and {left:,} more {noun if left == 1 else plural or noun + 's'}.")
    return shown


def sections(lines: Sequence[str], most: int = LINE_CHARS) -> list[str]:
    """``lines`` joined into as few section texts of at most ``most`` characters as they fit."""
    chunks: list[str] = []
    for line in lines:
        line = clip(line, most)
        if chunks and len(chunks[-1]) + len(line) + 1 <= most:
            chunks[-1] += "\n" + line
        else:
            chunks.append(line)
    return [chunk for chunk in chunks if chunk.strip()]
