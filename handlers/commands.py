"""``/scaleup`` and its subcommands: ack within 3 s, then do the work and respond."""

from __future__ import annotations

import html
import logging
import re
from functools import partial
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from handlers import (
    campaign_commands,
    direct_commands,
    home_blocks,
    mailbox_blocks,
    removal_blocks,
    shortlist_commands,
    team_commands,
)
from handlers.deps import Deps
from handlers.views import sign_in_reply
from outreach.errors import NoMailbox

log = logging.getLogger(__name__)


def register(app: App, deps: Deps) -> None:
    app.command("/scaleup")(partial(scaleup, deps=deps))


def scaleup(
    ack: Ack, command: dict[str, Any], respond: Respond, client: WebClient, deps: Deps
) -> None:
    """Route ``/scaleup <subcommand> [args]``."""
    words = [clean_word(w) for w in (command.get("text") or "").split()]
    sub, args = (words[0].lower(), words[1:]) if words else ("help", [])
    if sub == "help":
        ack(text="ScaleUp commands", blocks=home_blocks.help_blocks())
    elif sub == "connect":
        connect(ack, command, respond, client, deps, args)
    elif sub == "status":
        ack()
        status = deps.connections.status(command["team_id"], command["user_id"])
        respond(text="Your mailbox", blocks=mailbox_blocks.mailbox_status(status))
    elif sub == "disconnect":
        ack()
        try:
            preview = deps.erasure.removal_preview(command["team_id"], command["user_id"])
        except NoMailbox:
            respond(text="Nothing to disconnect", blocks=mailbox_blocks.mailbox_status(None))
        else:
            respond(text=f"Disconnect {preview.email}?", blocks=removal_blocks.disconnect_confirm(preview))
    elif sub == "shortlist":
        shortlist_commands.route(ack, command, respond, client, deps, args)
    elif sub == "campaign":
        campaign_commands.route(ack, command, respond, client, deps, args)
    elif sub == "message":
        direct_commands.route(ack, command, respond, client, deps, args)
    elif sub in ("delegate", "undelegate", "dnc"):
        team_commands.route(ack, command, respond, client, deps, sub, args)
    elif any(c.split()[0].startswith(sub) for c in home_blocks.COMING):
        ack(
            text=f"`/scaleup {sub}` is not available yet.",
            blocks=home_blocks.help_blocks(f"`/scaleup {sub}` is not available in this version yet."),
        )
    else:
        ack(
            text=f"Unknown command `{sub}`.",
            blocks=home_blocks.help_blocks(f"I don't know `/scaleup {sub}`. Here is what I can do:"),
        )


_MAILTO = re.compile(r"^<mailto:([^|>]+)(?:\|[^>]*)?>$")
_LINK = re.compile(r"^<((?:https?|ftp)://[^|>]+)(?:\|([^>]*))?>$")


def clean_word(word: str) -> str:
    """One word of command text as the user typed it.

    With ``should_escape`` Slack sends ``<mailto:a@b.c|a@b.c>`` for an address and
    ``<http://x|x>`` for a link, and always escapes ``&``, ``<`` and ``>``. Mentions
    (``<@U…|name>``) stay as they are: delegation reads the user id from them.
    """
    if match := _MAILTO.match(word):
        return match.group(1)
    if match := _LINK.match(word):
        return html.unescape(match.group(2) or match.group(1))
    if word.startswith(("<@", "<#", "<!")):
        return word
    return html.unescape(word)


def connect(
    ack: Ack,
    command: dict[str, Any],
    respond: Respond,
    client: WebClient,
    deps: Deps,
    args: list[str],
) -> None:
    """``connect EMAIL`` answers with the sign-in button; bare ``connect`` opens the modal."""
    team_id, user_id = command["team_id"], command["user_id"]
    if args:
        ack()
        name = profile(client, user_id).get("real_name") or args[0]
        send_sign_in(respond, deps, team_id, user_id, args[0], name)
        return
    ack()
    open_connect_modal(client, deps, command["trigger_id"], user_id, command.get("channel_id"))


def open_connect_modal(
    client: WebClient,
    deps: Deps,
    trigger_id: str,
    user_id: str,
    channel_id: str | None,
    email: str | None = None,
) -> None:
    """Open the connect modal, pre-filled with ``email`` (a Reconnect) or from the Slack
    profile where Slack shares it."""
    who = profile(client, user_id)
    metadata = {"channel_id": channel_id} if channel_id else {}
    client.views_open(
        trigger_id=trigger_id,
        view=mailbox_blocks.connect_modal(email or who.get("email"), who.get("real_name"), metadata),
    )


def send_sign_in(
    respond: Respond, deps: Deps, team_id: str, user_id: str, email: str, name: str
) -> None:
    summary, reply = sign_in_reply(deps, team_id, user_id, email, name)
    respond(text=summary, blocks=reply)


def profile(client: WebClient, user_id: str) -> dict[str, str]:
    """The user's name and email from Slack; email only with ``users:read.email``."""
    try:
        user = client.users_info(user=user_id)["user"]
    except (SlackApiError, KeyError, TypeError):
        log.info("users.info gave no profile for %s", user_id)
        return {}
    found = user.get("profile", {})
    name = found.get("real_name") or user.get("real_name") or found.get("display_name")
    return {k: v for k, v in (("email", found.get("email")), ("real_name", name)) if v}
