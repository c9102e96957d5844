"""Button clicks on the mailbox. Each acts on the mailbox its value names, after checking
that the clicker may; a stale or foreign button gets a sentence only the clicker sees."""

from __future__ import annotations

import json
from functools import partial
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from handlers import blocks
from handlers.commands import open_connect_modal
from handlers.deps import Deps
from handlers.events import publish_home
from handlers.views import sign_in_reply, tell
from outreach.errors import OutreachError


def register(app: App, deps: Deps) -> None:
    app.action(blocks.CONNECT_START)(partial(connect_start, deps=deps))
    app.action(blocks.SIGN_IN)(sign_in_clicked)
    app.action(blocks.DISCONNECT_CONFIRM)(partial(disconnect_confirmed, deps=deps))
    app.action(blocks.DISCONNECT_CANCEL)(disconnect_cancelled)
    app.action(blocks.REPLACE_CONFIRM)(partial(replace_confirmed, deps=deps))


def _value(body: dict[str, Any]) -> str | None:
    found = (body.get("actions") or [{}])[0].get("value")
    return str(found) if found else None


def _answer(
    body: dict[str, Any],
    respond: Respond,
    client: WebClient,
    summary: str,
    reply: list[blocks.Block],
    *,
    replace: bool = False,
) -> None:
    """Reply to the clicker only: in place of the clicked message, beside it, or by DM
    (App Home has no message to answer)."""
    if body.get("response_url"):
        if replace:
            respond(text=summary, blocks=reply, replace_original=True)
        else:
            respond(text=summary, blocks=reply, response_type="ephemeral", replace_original=False)
    else:
        tell(client, body["user"]["id"], None, summary, reply)


def connect_start(
    ack: Ack, body: dict[str, Any], respond: Respond, client: WebClient, deps: Deps
) -> None:
    """Connect (no value) or Reconnect (the value names the address to sign in again)."""
    ack()
    team_id, user_id = body["user"]["team_id"], body["user"]["id"]
    address = _value(body)
    if address:
        status = deps.mailboxes.status(team_id, user_id)
        if status is None or status.email != address.lower():
            message = (
                f"This button is for {address}, which is no longer connected to your Slack "
                f"account. Run /scaleup connect {address} to connect it again."
            )
            _answer(body, respond, client, message, blocks.error(message))
            return
    channel = (body.get("channel") or {}).get("id")
    open_connect_modal(client, deps, body["trigger_id"], user_id, channel, address)


def sign_in_clicked(ack: Ack) -> None:
    """A URL button still sends an action; the browser does the rest."""
    ack()


def disconnect_confirmed(
    ack: Ack, body: dict[str, Any], respond: Respond, client: WebClient, deps: Deps
) -> None:
    ack()
    team_id, user_id = body["user"]["team_id"], body["user"]["id"]
    mailbox_id, email = blocks.parse_mailbox_value(_value(body))
    try:
        if mailbox_id is None and email is not None:  # a button from before ids: its address
            mine = deps.mailboxes.status(team_id, user_id)
            if mine is None or mine.email != email:
                mailbox_id, email = -1, email  # gone: answered as stale below
            else:
                mailbox_id = mine.id
        report = deps.mailboxes.disconnect(team_id, user_id, mailbox_id, email)
    except OutreachError as exc:
        _answer(body, respond, client, exc.message, blocks.error(exc.message))
        return
    _answer(
        body,
        respond,
        client,
        f"Disconnected {report.email}",
        blocks.disconnected(report),
        replace=True,
    )
    publish_home(client, deps, team_id, user_id)


def replace_confirmed(
    ack: Ack, body: dict[str, Any], respond: Respond, client: WebClient, deps: Deps
) -> None:
    """ "Replace X with Y": disconnect X (the mailbox the button names), then sign in to Y."""
    ack()
    team_id, user_id = body["user"]["team_id"], body["user"]["id"]
    try:
        value = json.loads(_value(body) or "{}")
        mailbox_id, old, new = int(value["id"]), str(value["email"]), str(value["new"])
        name = str(value.get("name") or new)
    except (ValueError, KeyError, TypeError):
        message = "This button is no longer valid. Run /scaleup connect again."
        _answer(body, respond, client, message, blocks.error(message))
        return
    try:
        report = deps.mailboxes.disconnect(team_id, user_id, mailbox_id, old)
    except OutreachError as exc:
        _answer(body, respond, client, exc.message, blocks.error(exc.message))
        return
    summary, reply = sign_in_reply(deps, team_id, user_id, new, name)
    _answer(body, respond, client, summary, blocks.disconnected(report) + reply, replace=True)
    publish_home(client, deps, team_id, user_id)


def disconnect_cancelled(ack: Ack, respond: Respond) -> None:
    ack()
    respond(delete_original=True)
