"""Reading back what a person saw: their exchanges, ephemeral messages, their DM with the
bot and public channels, newest first; and the message or view a click names."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from markupsafe import Markup

from bot.sandbox.console.exchanges import Exchange
from bot.sandbox.console.render import (
    Where,
    entry_html,
    exchange_html,
    message_html,
    shown_message_html,
)
from bot.sandbox.slack import JSON
from bot.sandbox.slack_api import SlackSandbox

__all__ = ["find", "timeline"]

Found = tuple[JSON | None, JSON | None, str | None]  # (message, view, channel)


def _gone(exchanges: list[Exchange], replies: Mapping[int, list[JSON]]) -> dict[str, str]:
    """Sources of ephemeral messages a reply replaced or deleted, and what became of them.

    A reply with replace/delete_original to a click on an ephemeral message changes that
    message; the sandbox keeps only in-channel messages.
    """
    gone: dict[str, str] = {}
    for ex in exchanges:
        for body in replies[ex.id]:
            if ex.source and not ex.source.startswith(("message:", "view:")):
                if body.get("delete_original"):
                    gone[ex.source] = "deleted by ScaleUp"
                elif body.get("replace_original"):
                    gone[ex.source] = "replaced by ScaleUp's answer to your click"
    return gone


def timeline(
    slack: SlackSandbox, team: str, user: str, exchanges: list[Exchange], where: Where
) -> list[tuple[float, Markup]]:
    """(time, HTML) of everything ``user`` saw: exchanges, ephemeral messages, their DM
    with the bot and public channels, in no particular order."""
    replies = {ex.id: slack.responses(ex.response_url) if ex.response_url else [] for ex in exchanges}
    gone = _gone(exchanges, replies)
    items = [(ex.at, exchange_html(ex, replies[ex.id], where, gone)) for ex in exchanges]
    for m in slack.ephemeral_messages(user):
        source = f"ephemeral:{m['ts']}"
        channel = slack.channel_name(team, m["channel"])
        title = "only visible to you · " + (
            "your DM" if channel == "directmessage" else f"#{channel}"
        )
        body = shown_message_html(m, replace(where, source=source), gone.get(source))
        items.append((float(m["ts"]), entry_html("ScaleUp", title, float(m["ts"]), body)))
    channels = [slack.dm_channel(team, user)] + [
        c for c, info in list(slack.workspace(team).channels.items()) if not info.get("is_im")
    ]
    for channel in channels:
        name = slack.channel_name(team, channel)
        title = "your DM with ScaleUp" if name == "directmessage" else f"#{name}"
        for m in slack.messages(channel):
            at = float(m["ts"])
            who = "ScaleUp" if m.get("bot_id") else where.people.get(m.get("user", ""), "someone")
            html = message_html(m, replace(where, source=f"message:{channel}:{m['ts']}"))
            items.append((at, entry_html(who, title, at, html)))
    return items


def find(slack: SlackSandbox, exchanges: list[Exchange], user: str, source: str) -> Found | None:
    """(message, view, channel) that ``source`` names, as ``user`` sees it now."""
    kind, _, key = source.partition(":")
    if kind == "view":
        view = slack.view(key)
        mine = [slack.last_view(user), slack.home_view(user)]
        return (None, view, None) if view and any(v and v["id"] == key for v in mine) else None
    if kind == "ack":
        ex = next((e for e in exchanges if str(e.id) == key and e.user == user), None)
        return (ex.ack, None, None) if ex and ex.ack else None
    if kind == "response":
        response_id, _, index = key.rpartition(":")
        bodies = slack.responses(response_id)
        if index.isdigit() and int(index) < len(bodies):
            return (bodies[int(index)], None, None)
        return None
    if kind == "ephemeral":
        found = [m for m in slack.ephemeral_messages(user) if m["ts"] == key]
        return (found[0], None, found[0]["channel"]) if found else None
    if kind == "message":
        channel, _, ts = key.partition(":")
        in_channel = [m for m in slack.messages(channel) if m["ts"] == ts]
        return (in_channel[0], None, channel) if in_channel else None
    return None
