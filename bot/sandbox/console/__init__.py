"""The sandbox Slack console: a web page where a person plays a seeded Slack member.

``scaleup dev`` has no Slack client, so the sandbox Slack server also serves ``/``: pick
Riley, Sam or Alex, type a ``/scaleup`` command, click buttons, fill in modals and open
App Home, and see what the bot did — its acks, response_url posts, ephemeral messages,
DMs, channel messages, the Home tab and the open modal — rendered from Block Kit as
plain HTML. Every action goes through :class:`~bot.sandbox.slack_driver.SlackDriver`, so
the bot gets exactly what the tests send it.

The page polls ``/console/updates`` every 2 s and redraws itself when the bot did
something (its only script, inline). The modules, by what they hold: ``mrkdwn`` (inline
mrkdwn to HTML: emoji, mentions and channels by name) and ``dates`` (``<!date^…>``),
``elements`` (Block Kit element kinds and form values), ``render`` with ``templates/``
(Block Kit and the page as HTML, Jinja2 with autoescape), ``exchanges`` (what a person
did, the recording driver), ``timeline`` (what a person saw), ``origin`` (forms only from
the console's own page) and ``routes`` (the Flask routes and state).

``upload`` shares a file in the person's DM with the bot, as dropping it there in Slack
does. ``/outlook`` is the mail side (``outlook``: each sandbox mailbox's folders and threads;
``candidate``: what a candidate answers), and ``clock`` moves the time of ``scaleup dev``'s
bot and sandbox forward.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import Flask

from bot.sandbox.console import clock, upload
from bot.sandbox.console.elements import REQUIRED, form_values
from bot.sandbox.console.mrkdwn import mrkdwn
from bot.sandbox.console.outlook import Outlook
from bot.sandbox.console.render import Where, block_html, message_html, modal_html
from bot.sandbox.console.routes import Console

if TYPE_CHECKING:
    from bot.sandbox import Sandbox

__all__ = [
    "REQUIRED",
    "Console",
    "Where",
    "block_html",
    "console_of",
    "console_url",
    "form_values",
    "message_html",
    "modal_html",
    "mount_console",
    "mrkdwn",
]


def console_url(sandbox: Sandbox) -> str:
    """Where a person opens the console: the root of the sandbox Slack server."""
    return f"{sandbox.slack.url}/"


def mount_console(app: Flask, sandbox: Sandbox) -> Console:
    """Serve the console on ``app`` (the sandbox Slack's ``wsgi_app``).

    Flask refuses new routes once an app has answered a request, so mount it before the
    bot starts calling the Web API.
    """
    console = Console(sandbox)
    console.register(app)
    Outlook(console).register(app)
    clock.register(app, console)
    upload.register(app, console)
    app.extensions[_EXTENSION] = console
    return console


_EXTENSION = "scaleup.console"


def console_of(sandbox: Sandbox) -> Console:
    """The console mounted on ``sandbox``'s Slack server."""
    console: Console = sandbox.slack.wsgi_app.extensions[_EXTENSION]
    return console
