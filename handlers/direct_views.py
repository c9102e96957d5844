"""The compose modal of ``/scaleup message EMAIL`` and its submission.

Blank fields go back on their own block; a refusal found only now (the address was
added to the do-not-contact list, the mailbox disconnected) goes back on the subject,
so the recruiter still has their text. A queued message is confirmed where they typed
the command.
"""

from __future__ import annotations

import json
from functools import partial
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from handlers.blocks import Block, esc, text
from handlers.campaign_blocks import when
from handlers.deps import Deps
from handlers.views import tell
from outreach.errors import OutreachError
from outreach.notify import MessageOutcome

DIRECT_MODAL = "direct_modal"
SUBJECT, BODY = "direct_subject", "direct_body"
MAX_ERROR = 400


def register(app: App, deps: Deps) -> None:
    app.view(DIRECT_MODAL)(partial(direct_submitted, deps=deps))


# -- Block Kit (pure) -----------------------------------------------------------------------
def direct_modal(to: str, sender: str, channel_id: str | None) -> Block:
    """Subject and body of one email to ``to`` from ``sender``; both ride in the metadata."""

    def field(block_id: str, label: str, element: Block) -> Block:
        return {
            "type": "input",
            "block_id": block_id,
            "label": {"type": "plain_text", "text": label},
            "element": {"type": "plain_text_input", "action_id": block_id, **element},
        }

    return {
        "type": "modal",
        "callback_id": DIRECT_MODAL,
        "title": {"type": "plain_text", "text": "New email"},
        "submit": {"type": "plain_text", "text": "Send"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "private_metadata": json.dumps({"email": to, "channel_id": channel_id}),
        "blocks": [
            text(f"To *{esc(to)}*, from your mailbox {esc(sender)}."),
            field(SUBJECT, "Subject", {"max_length": 255}),
            field(BODY, "Message", {"multiline": True, "max_length": 3000}),
        ],
    }


def direct_queued(to: str, sender: str) -> list[Block]:
    """The confirmation once the email is in the outbox."""
    return [
        text(
            f":outbox_tray: Your email to {esc(to)} is queued and will go out from "
            f"{esc(sender)} within a minute."
        )
    ]


def email_outcome(outcome: MessageOutcome) -> tuple[str, list[Block]]:
    """What became of a test or one-off email, replacing the message that queued it."""
    what = "The test of step 1" if outcome.kind == "test" else "Your email"
    to = esc(outcome.to_email)
    if outcome.state == "sent":
        line = f":white_check_mark: {what} was sent {when(outcome.at)} to {to}."
    elif outcome.state == "failed":
        why = esc(outcome.reason or "Outlook refused it.")
        line = f":x: {what} to {to} was not sent: {why}"
    else:
        line = (
            f":warning: {what} to {to} left Drafts but is not in Sent Items: it may or may "
            "not have gone out. Check the mailbox's Sent Items; ScaleUp will not resend it."
        )
    return line, [text(line)]


# -- the listener ---------------------------------------------------------------------------
def direct_submitted(
    ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient, deps: Deps
) -> None:
    values = view["state"]["values"]
    subject = str(values.get(SUBJECT, {}).get(SUBJECT, {}).get("value") or "")
    message = str(values.get(BODY, {}).get(BODY, {}).get("value") or "")
    errors: dict[str, str] = {}
    if not subject.strip():
        errors[SUBJECT] = "Give the email a subject."
    if not message.strip():
        errors[BODY] = "Write the message."
    if errors:
        ack(response_action="errors", errors=errors)
        return
    team_id, user_id = body["user"]["team_id"], body["user"]["id"]
    metadata = json.loads(view.get("private_metadata") or "{}")
    to = str(metadata.get("email") or "")
    try:
        target = deps.campaigns.direct_target(team_id, user_id, to)
        deps.campaigns.queue_direct(team_id, user_id, to, subject, message)
    except OutreachError as exc:
        ack(response_action="errors", errors={SUBJECT: exc.message[:MAX_ERROR]})
        return
    ack()
    summary = (
        f"Your email to {target.email} is queued and will go out from "
        f"{target.mailbox_email} within a minute."
    )
    tell(
        client,
        user_id,
        metadata.get("channel_id"),
        summary,
        direct_queued(target.email, target.mailbox_email),
    )
