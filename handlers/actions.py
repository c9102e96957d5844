"""Button clicks. Each acts on the clicking user's own data, never on a value it carries."""

from __future__ import annotations

from functools import partial
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from handlers import blocks
from handlers.commands import open_connect_modal
from handlers.deps import Deps
from handlers.views import tell
from outreach.errors import NoMailbox


def register(app: App, deps: Deps) -> None:
    app.action(blocks.CONNECT_START)(partial(connect_start, deps=deps))
    app.action(blocks.SIGN_IN)(sign_in_clicked)
    app.action(blocks.DISCONNECT_CONFIRM)(partial(disconnect_confirmed, deps=deps))
    app.action(blocks.DISCONNECT_CANCEL)(disconnect_cancelled)


def connect_start(ack: Ack, body: dict[str, Any], client: WebClient, deps: Deps) -> None:
    ack()
    channel = (body.get("channel") or {}).get("id")
    open_connect_modal(client, deps, body["trigger_id"], body["user"]["id"], channel)


def sign_in_clicked(ack: Ack) -> None:
    """A URL button still sends an action; the browser does the rest."""
    ack()


def disconnect_confirmed(
    ack: Ack, body: dict[str, Any], respond: Respond, client: WebClient, deps: Deps
) -> None:
    ack()
    team_id, user_id = body["user"]["team_id"], body["user"]["id"]
    try:
        report = deps.mailboxes.disconnect(team_id, user_id)
        reply, summary = blocks.disconnected(report), f"Disconnected {report.email}"
    except NoMailbox as exc:
        reply, summary = blocks.error(exc.message), exc.message
    if body.get("response_url"):
        respond(text=summary, blocks=reply, replace_original=True)
    else:  # clicked in App Home: no message to replace
        tell(client, user_id, None, summary, reply)
    client.views_publish(user_id=user_id, view=blocks.home(deps.mailboxes.status(team_id, user_id)))


def disconnect_cancelled(ack: Ack, respond: Respond) -> None:
    ack()
    respond(delete_original=True)
