"""Slack mrkdwn as escaped HTML: the one inline converter the console's templates use.

Only the tags mrkdwn itself stands for (``<b>``, ``<i>``, ``<s>``, ``<code>``, links and
mentions) are written here, always around text that was escaped first; the structure of
the page lives in ``templates/``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import emoji
from markupsafe import Markup, escape

from bot.sandbox.console.dates import slack_date

__all__ = ["mrkdwn"]

_TOKEN = re.compile(r"<([^<>\s][^<>]*)>")
_CODE = re.compile(r"`([^`\n]+)`")
_STYLES = [
    (re.compile(rf"(?<![\w{c}]){c}(?=\S)([^{c}\n]+?){c}(?![\w{c}])"), tag)
    for c, tag in (("\\*", "b"), ("_", "i"), ("~", "s"))
]
_EMOJI_NAME = re.compile(r":([a-z0-9_+-]+):")
# Slack's names (from emoji-data) that the emoji package's aliases spell otherwise.
_SLACK_EMOJI = {"large_green_circle": "🟢", "large_blue_circle": "🔵", "red_circle": "🔴"}


def _unslack(text: str) -> str:
    # Slack mrkdwn escapes only these three; everything else arrives as typed.
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _styled(text: str) -> Markup:
    parts = []
    for i, part in enumerate(_CODE.split(text)):
        if i % 2:  # inside backticks: shown as typed
            parts.append(Markup("<code>{}</code>").format(_unslack(part)))
            continue
        html = str(escape(_unslack(part)))  # tags are added around escaped text only
        html = emoji.emojize(html, language="alias")
        html = _EMOJI_NAME.sub(lambda m: _SLACK_EMOJI.get(m[1], m[0]), html)
        for pattern, tag in _STYLES:
            html = pattern.sub(rf"<{tag}>\1</{tag}>", html)
        parts.append(Markup(html))
    return Markup("").join(parts)


def _date(target: str, fallback: str) -> Markup:
    _, timestamp, template, *_link = [*target.split("^"), "", ""]
    shown = slack_date(timestamp, _unslack(template)) if template else None
    if shown is None:
        return escape(_unslack(fallback))
    when, text = shown
    return Markup('<time datetime="{}" title="{}">{}</time>').format(
        when.isoformat(), _unslack(fallback), text
    )


def _token(inner: str, people: Mapping[str, str], channels: Mapping[str, str]) -> Markup:
    target, _, label = inner.partition("|")
    if target.startswith("@"):
        return Markup("<b>@{}</b>").format(people.get(target[1:]) or label or target[1:])
    if target.startswith("#"):
        return Markup("<b>#{}</b>").format(channels.get(target[1:]) or label or target[1:])
    if target.startswith("!date^"):
        return _date(target, label)
    if target.startswith("!"):
        return escape("@" + (label or target[1:]))
    url = _unslack(target)
    if url.startswith(("http://", "https://", "mailto:")):
        return Markup('<a href="{}" target="_blank" rel="noopener">{}</a>').format(
            url, _unslack(label) or url
        )
    return escape(f"<{_unslack(inner)}>")


def mrkdwn(
    text: str,
    people: Mapping[str, str] | None = None,
    channels: Mapping[str, str] | None = None,
) -> Markup:
    """Slack mrkdwn as escaped HTML: *bold*, _italic_, ~strike~, `code`, links, emoji
    shortcodes, ``<@U…>`` and ``<#C…>`` by name (``people``/``channels`` map ids to
    names) and ``<!date^…>`` as a date."""
    parts, pos = [], 0
    for match in _TOKEN.finditer(text):
        parts += [_styled(text[pos : match.start()]), _token(match[1], people or {}, channels or {})]
        pos = match.end()
    parts.append(_styled(text[pos:]))
    return Markup("").join(parts)
