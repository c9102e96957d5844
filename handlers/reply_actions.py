"""The buttons of a reply card. Each acts on the reply its value names, if the clicker
may (outreach/permissions.py); the card is then shown again in place, and a refusal or a
stale button gets a sentence only the clicker sees."""

from __future__ import annotations

from functools import partial
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from handlers import reply_blocks as rb
from handlers.blocks import text
from handlers.deps import Deps
from handlers.mrkdwn import esc_message
from handlers.people import is_workspace_admin
from outreach.errors import OutreachError
from outreach.reply_triage import INTERESTED, NOT_INTERESTED


def register(app: App, deps: Deps) -> None:
    for action_id in rb.REPLY_ACTIONS:
        app.action(action_id)(partial(reply_button, deps=deps))
    app.action(rb.REPLY_OPEN)(lambda ack: ack())  # a link button: the browser does the rest


def reply_button(
    ack: Ack,
    body: dict[str, Any],
    action: dict[str, Any],
    respond: Respond,
    client: WebClient,
    deps: Deps,
) -> None:
    """Interested, Not interested, Pause, Resume or Not a reply on one reply card."""
    ack()
    team_id, user_id = body["user"]["team_id"], body["user"]["id"]
    key = rb.reply_ref(action.get("value"))
    replies = deps.replies
    if key is None or replies is None:
        line = rb.OUTDATED_REPLY_BUTTON
    else:
        action_id = action["action_id"]
        try:
            if action_id == rb.REPLY_INTERESTED:
                shown = replies.label(team_id, user_id, key, INTERESTED)
            elif action_id == rb.REPLY_NOT_INTERESTED:
                shown = replies.label(team_id, user_id, key, NOT_INTERESTED)
            elif action_id == rb.REPLY_PAUSE:
                admin = is_workspace_admin(client, user_id)
                shown = replies.pause_candidate(team_id, user_id, key, is_admin=admin)
            elif action_id == rb.REPLY_RESUME:
                shown = replies.resume_candidate(team_id, user_id, key)
            else:
                shown = replies.not_a_reply(team_id, user_id, key)
        except OutreachError as exc:
            line = esc_message(exc.sentence)
        else:
            summary, blocks = rb.reply_card(shown)
            respond(text=summary, blocks=blocks, replace_original=True)
            return
    respond(text=line, blocks=[text(line)], response_type="ephemeral", replace_original=False)
