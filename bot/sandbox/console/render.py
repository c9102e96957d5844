"""Block Kit and the console page as HTML, through the Jinja2 templates in ``templates/``.

Autoescape is on: every value from the bot or the person is escaped, and only
:func:`~bot.sandbox.console.mrkdwn.mrkdwn` adds tags, around escaped text.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup, escape

from bot.sandbox.console import elements
from bot.sandbox.console.mrkdwn import mrkdwn
from bot.sandbox.slack import JSON

if TYPE_CHECKING:
    from bot.sandbox.console.exchanges import Exchange

__all__ = ["Where", "block_html", "entry_html", "exchange_html", "message_html", "modal_html"]


@dataclass(frozen=True)
class Where:
    """What rendering needs: who looks, and where a click or a submitted field goes."""

    user: str
    people: Mapping[str, str]  # Slack id -> real name
    sign_in_url: str = ""  # links here get the self-signed certificate note
    ca_path: str = ""
    source: str = ""  # how /console/click finds the message or view again
    form: str | None = None  # the modal's form, for input fields
    shown: Mapping[str, Any] = field(default_factory=dict)  # block_id -> value typed
    errors: Mapping[str, str] = field(default_factory=dict)  # block_id -> error
    channels: Mapping[str, str] = field(default_factory=dict)  # channel id -> name
    picker: tuple[tuple[str, str], ...] = ()  # (id, "#name") a channel picker offers them


def _text(obj: Any, where: Where) -> Markup:
    if isinstance(obj, dict) and obj.get("type") == "mrkdwn":
        return mrkdwn(str(obj.get("text", "")), where.people, where.channels)
    return escape(elements.plain(obj))


def _clock(at: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(at))


_ENV = Environment(
    loader=PackageLoader("bot.sandbox.console", "templates"),
    autoescape=True,
    trim_blocks=True,
    lstrip_blocks=True,
    undefined=StrictUndefined,
)
_ENV.globals.update(
    plain=elements.plain,
    options=elements.options,
    shown=elements.shown,
    values_of=elements.values_of,
    id_hint=elements.id_hint,
    INITIAL=elements.INITIAL,
    OPTION_KINDS=elements.OPTION_KINDS,
    MULTI_OPTION_KINDS=elements.MULTI_OPTION_KINDS,
    MULTI_ID_KINDS=elements.MULTI_ID_KINDS,
    HTML_TYPES=elements.HTML_TYPES,
    text=_text,
    mrkdwn=mrkdwn,
    clock=_clock,
    with_=replace,
)


def _macro(template: str, name: str) -> Any:
    return getattr(_ENV.get_template(template).module, name)


def block_html(block: JSON, where: Where) -> Markup:
    """One Block Kit block as HTML."""
    return Markup(_macro("blocks.html", "block")(block, where))


def message_html(message: JSON, where: Where) -> Markup:
    """A message (or a response_url body): its blocks, or its text when it has none."""
    return Markup(_macro("blocks.html", "message")(message, where))


def modal_html(view: JSON, where: Where) -> Markup:
    """The open modal: a form whose fields live in its blocks (joined by ``form=``)."""
    return Markup(_macro("blocks.html", "modal")(view, where))


def entry_html(who: str, title: str, at: float, body: Markup) -> Markup:
    """One line of the timeline: who, where, when, and what."""
    return Markup(_macro("timeline.html", "entry")(who, title, at, body))


def shown_message_html(message: JSON, where: Where, gone: str | None) -> Markup:
    """``message``, or why it is no longer there."""
    return Markup(_macro("timeline.html", "shown_message")(message, where, gone))


def exchange_html(
    exchange: Exchange, replies: list[JSON], where: Where, gone: Mapping[str, str]
) -> Markup:
    """What the person did, the bot's ack and its response_url replies."""
    return Markup(_macro("timeline.html", "exchange")(exchange, replies, where, gone))


def render(template: str, **context: Any) -> str:
    """A whole page from ``templates/`` (``outlook.html``…), with the console's globals."""
    return _ENV.get_template(template).render(**context)


def page_html(**context: Any) -> str:
    """The whole console page (see ``templates/page.html`` for what it takes)."""
    return _ENV.get_template("page.html").render(**context)
