"""Slack messages as plain text, for ``scaleup demo``'s transcript of a campaign thread.

Block Kit is read the way a person reads it in Slack: headers, sections with their fields,
context lines, buttons as ``[Label]``; mrkdwn keeps its words (mentions and channels by
name, ``<!date>`` as its fallback text, links as their label) and emoji shortcodes become
emoji, as Slack shows them.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import emoji

JSON = Mapping[str, Any]

_ESCAPE = re.compile(r"<([^<>|]+)(?:\|([^<>]*))?>")


def plain(text: str, name_of: Callable[[str], str] = str) -> str:
    """mrkdwn as a person reads it: ``<@U…>`` as ``@name`` (``name_of`` the Slack id),
    ``<#C…|x>`` as ``#x``, ``<!date^…|fallback>`` as the fallback, a link as its label."""

    def one(match: re.Match[str]) -> str:
        target, label = match.group(1), match.group(2)
        if target.startswith("@"):
            return "@" + (label or name_of(target[1:]))
        if target.startswith("#"):
            return "#" + (label or name_of(target[1:]))
        if target.startswith("!"):
            return label if label is not None else "@" + target[1:].split("^", 1)[0]
        return label or target.removeprefix("mailto:")

    return emoji.emojize(html.unescape(_ESCAPE.sub(one, text)), language="alias")


def _text(obj: Any, name_of: Callable[[str], str]) -> str:
    if not isinstance(obj, Mapping):
        return ""
    value = str(obj.get("text", ""))
    return (
        plain(value, name_of)
        if obj.get("type") == "mrkdwn"
        else emoji.emojize(value, language="alias")
    )


def _element(element: JSON, name_of: Callable[[str], str]) -> str:
    kind = element.get("type")
    if kind == "button":
        return f"[{_text(element.get('text'), name_of)}]"
    if kind == "image":
        return f"[image: {element.get('alt_text', '')}]"
    if kind in ("mrkdwn", "plain_text"):
        return _text(element, name_of)
    placeholder = _text(element.get("placeholder"), name_of)
    return f"[{placeholder or kind} ▾]"


def block_lines(block: JSON, name_of: Callable[[str], str] = str) -> list[str]:
    """The lines a person reads in one block (none for a block with nothing to read)."""
    kind = block.get("type")
    if kind == "divider":
        return ["────────"]
    if kind == "header":
        return [_text(block.get("text"), name_of).upper()]
    if kind == "image":
        return [f"[image: {block.get('alt_text', '')}]"]
    if kind == "section":
        lines = _text(block.get("text"), name_of).splitlines()
        fields = [_text(f, name_of) for f in block.get("fields", [])]
        lines += [" · ".join(f.replace("\n", " ") for f in fields)] if fields else []
        if isinstance(block.get("accessory"), Mapping):
            lines.append(_element(block["accessory"], name_of))
        return lines
    if kind in ("context", "actions"):
        parts = [_element(e, name_of) for e in block.get("elements", [])]
        return [(" · " if kind == "context" else " ").join(p for p in parts if p)]
    return []


def message_lines(message: JSON, name_of: Callable[[str], str] = str) -> list[str]:
    """A message's blocks as lines, or its ``text`` when it has no blocks."""
    blocks = message.get("blocks") or []
    if not blocks:
        return plain(str(message.get("text", "")), name_of).splitlines()
    return [line for block in blocks for line in block_lines(block, name_of)]


def thread_transcript(
    messages: Iterable[JSON], parent_ts: str, name_of: Callable[[str], str] = str
) -> list[str]:
    """The parent message ``parent_ts`` and its thread in order, each reply indented."""
    ordered = sorted(messages, key=lambda m: float(m.get("ts", 0)))
    lines: list[str] = []
    for message in ordered:
        if message.get("ts") == parent_ts:
            lines += message_lines(message, name_of)
    for message in ordered:
        if message.get("thread_ts") == parent_ts and message.get("ts") != parent_ts:
            body = message_lines(message, name_of) or [""]
            lines.append("")
            lines += ["  │ " + line for line in body]
    return lines
