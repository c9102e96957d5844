"""The one escaping function for Slack mrkdwn: every value that came from a user, a
candidate or Microsoft goes through :func:`esc` before it is put in a message.

Slack reads ``<…>`` as a mention, a channel ping or a link and ``&`` as the start of an
entity, so those three become ``&amp;``, ``&lt;`` and ``&gt;`` as
https://api.slack.com/reference/surfaces/formatting#escaping asks. ``<!channel> camp``
then shows as text and pings nobody; ``<https://evil.example|x>`` shows its real address.

Slack has no escape for ``*bold*``, ``_italic_``, ``~strike~`` or `` `code` ``: a marker
only formats when it stands at a word boundary. :func:`esc` puts a ZERO WIDTH JOINER
(U+200D, invisible, not a space) on both sides of each marker that could do so, which
glues it into a "word" and leaves it literal. A marker between two letters or digits
(``jana_doe@acme.test``, ``2*3``) cannot format and is left alone, so addresses copy
out of Slack unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from outreach.sentences import Code, Part, Sentence, Strong

ZWJ = "\u200d"

# A marker that is not flanked by letters/digits on both sides could open or close a span.
_LOOSE_MARKER = re.compile(r"`|(?<![^\W_])[*_~]|[*_~](?![^\W_])")


def esc(value: object) -> str:
    """``value`` as text that Slack shows literally: no mention, link, entity or format."""
    return _LOOSE_MARKER.sub(lambda marker: f"{ZWJ}{marker.group()}{ZWJ}", esc_message(value))


def esc_message(message: object) -> str:
    """A whole sentence the domain wrote (an error's ``sentence``, an import report) as
    Slack mrkdwn: its :class:`~outreach.sentences.Code` parts in backticks, its
    :class:`~outreach.sentences.Strong` parts in ``*bold*``, and every part escaped so the
    values quoted in it can no longer mention, ping or link (``&``, ``<``, ``>``). Any other
    value is its ``str()`` so escaped. For a single value use :func:`esc`."""
    if isinstance(message, Sentence):
        return "".join(_marked(part) for part in message.parts)
    return _entities(str(message))


def marked(message: object) -> str:
    """As :func:`esc_message` but nothing escaped: a sentence's code in backticks, its
    strong parts in ``*bold*``. For a line that is escaped later, the ``text`` beside
    blocks where the domain's message went as it was, and a modal's error field (plain
    text, where the backticks still say "type this as it stands")."""
    if isinstance(message, Sentence):
        return "".join(_marked(part, str) for part in message.parts)
    return str(message)


def _marked(part: Part, escape: Callable[[str], str] = lambda text: _entities(text)) -> str:
    if isinstance(part, Code):
        return f"`{escape(part.text)}`"
    if isinstance(part, Strong):
        return f"*{escape(part.text)}*"
    return escape(part)


def _entities(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


_USER_ID = re.compile(r"[UW][A-Z0-9]{2,20}")


def mention(user_id: str) -> str:
    """``<@U…>`` for a Slack user id; anything else is shown as escaped text, never parsed."""
    return f"<@{user_id}>" if _USER_ID.fullmatch(user_id) else esc(user_id)
