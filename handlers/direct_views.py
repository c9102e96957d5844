"""The compose modal of ``/scaleup message EMAIL`` and its submission.

Blank fields go back on their own block; a refusal found only now (the address was
added to the do-not-contact list, the mailbox disconnected) goes back on the subject,
so the recruiter still has their text. A queued message is confirmed in the bot's DM
with them (and pointed to where they typed the command); that DM message is replaced
by the outcome when the worker has sent the email, or failed to.
"""

from __future__ import annotations

import json
import logging
from functools import partial
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from handlers.blocks import Block, context, esc, text, when
from handlers.deps import Deps
from handlers.mrkdwn import marked
from handlers.views import tell
from outreach.errors import OutreachError
from outreach.notify import MessageOutcome
from outreach.states import OutboxState

DIRECT_MODAL = "direct_modal"
SUBJECT, BODY = "direct_subject", "direct_body"
MAX_ERROR = 400
UPDATED_WHEN_SENT = "This message changes to say when the email has gone, or why not."

log = logging.getLogger(__name__)


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
        ),
        context(UPDATED_WHEN_SENT),
    ]


def confirmed_in_dm(what: str) -> str:
    """Where the confirmation went, for a command or modal used outside the bot's DM."""
    return f"{what} ScaleUp's DM with you says when it has gone."


def email_outcome(outcome: MessageOutcome) -> tuple[str, list[Block]]:
    """What became of a test or one-off email, replacing the message that queued it."""
    what = "The test of step 1" if outcome.kind == "test" else "Your email"
    to = esc(outcome.to_email)
    if outcome.state == OutboxState.SENT:
        line = f":white_check_mark: Sent {when(outcome.at)} to {to}: {what.lower()}."
    elif outcome.state == OutboxState.FAILED:
        why = esc(outcome.reason or "Outlook refused it.")
        line = f":x: {what} to {to} was not sent: {why}"
    else:
        line = (
            f":warning: {what} to {to} left Drafts but is not in Sent Items: it may or may "
            "not have gone out. Check the mailbox's Sent Items; ScaleUp will not resend it."
        )
    return line, [text(line)]


# -- the confirmation that becomes the outcome ------------------------------------------------
def confirm_in_dm(
    client: WebClient,
    deps: Deps,
    user_id: str,
    outbox_id: int,
    summary: str,
    reply: list[Block],
    channel_id: str | None,
) -> str | None:
    """Post the confirmation of a queued test or direct email as a DM from the bot and
    record it on the outbox row, so the worker replaces it with the outcome (an
    ephemeral message cannot be updated). The DM's channel id, or None when the DM
    failed and the confirmation went where the user typed instead (it stays as it is)."""
    try:
        dm = client.conversations_open(users=user_id)["channel"]["id"]
        posted = client.chat_postMessage(channel=dm, text=summary, blocks=reply)
    except SlackApiError as exc:
        log.info("DM confirmation failed (%s); answering in place", exc.response.get("error"))
        tell(client, user_id, channel_id, summary, reply)
        return None
    deps.campaigns.attach_message(outbox_id, str(posted["channel"]), str(posted["ts"]))
    return str(dm)


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
        outbox_id = deps.campaigns.queue_direct(team_id, user_id, to, subject, message)
    except OutreachError as exc:
        ack(response_action="errors", errors={SUBJECT: marked(exc.sentence)[:MAX_ERROR]})
        return
    ack()
    summary = (
        f"Your email to {target.email} is queued and will go out from "
        f"{target.mailbox_email} within a minute."
    )
    channel_id = metadata.get("channel_id")
    reply = direct_queued(target.email, target.mailbox_email)
    dm = confirm_in_dm(client, deps, user_id, outbox_id, summary, reply, channel_id)
    if dm is not None and channel_id and channel_id != dm:
        pointer = confirmed_in_dm(f"Your email to {esc(target.email)} is queued.")
        tell(client, user_id, channel_id, pointer, [text(pointer)])
