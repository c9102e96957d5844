"""Modal submissions. Input errors go back in the ack, on the field that caused them."""

from __future__ import annotations

import json
import logging
from functools import partial
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from handlers import blocks, mailbox_blocks, removal_blocks
from handlers.deps import Deps
from handlers.mrkdwn import esc_message, marked
from outreach.addresses import normalize_email
from outreach.errors import AnotherMailboxConnected, InvalidEmail, OutreachError
from outreach.sign_in_links import SignInLink

log = logging.getLogger(__name__)


def register(app: App, deps: Deps) -> None:
    app.view(mailbox_blocks.CONNECT_MODAL)(partial(connect_submitted, deps=deps))


def connect_submitted(
    ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient, deps: Deps
) -> None:
    values = view["state"]["values"]
    raw_email = (values[mailbox_blocks.EMAIL_BLOCK][mailbox_blocks.EMAIL_INPUT].get("value") or "").strip()
    name = (values[mailbox_blocks.NAME_BLOCK][mailbox_blocks.NAME_INPUT].get("value") or "").strip()
    team_id, user_id = body["user"]["team_id"], body["user"]["id"]
    try:
        email = normalize_email(raw_email)
    except InvalidEmail as exc:
        ack(response_action="errors", errors={mailbox_blocks.EMAIL_BLOCK: marked(exc.sentence)})
        return
    if not name:
        ack(response_action="errors", errors={mailbox_blocks.NAME_BLOCK: "Enter the name candidates see."})
        return
    ack()
    metadata = json.loads(view.get("private_metadata") or "{}")
    summary, reply = sign_in_reply(deps, team_id, user_id, email, name)
    tell(client, user_id, metadata.get("channel_id"), summary, reply)


def tell(
    client: WebClient, user_id: str, channel_id: str | None, summary: str, reply: list[Any]
) -> None:
    """Reply privately where the user started; fall back to a DM with the bot."""
    if channel_id:
        try:
            client.chat_postEphemeral(channel=channel_id, user=user_id, text=summary, blocks=reply)
            return
        except SlackApiError as exc:
            log.info("ephemeral reply failed (%s); sending a DM", exc.response.get("error"))
    dm = client.conversations_open(users=user_id)["channel"]["id"]
    client.chat_postMessage(channel=dm, text=summary, blocks=reply)


def sign_in_reply(
    deps: Deps, team_id: str, user_id: str, email: str, name: str
) -> tuple[str, list[blocks.Block]]:
    """The sign-in button, or why not; another mailbox connected: what replacing it deletes."""
    try:
        link = deps.sign_in_links.create(team_id, user_id, email, name)
    except AnotherMailboxConnected as exc:
        try:
            preview = deps.erasure.removal_preview(team_id, user_id)
        except OutreachError as gone:  # disconnected meanwhile
            return esc_message(gone.sentence), blocks.error(esc_message(gone.sentence))
        return (
            f"Replace {preview.email} with {exc.requested}?",
            removal_blocks.replace_confirm(preview, exc.requested, name),
        )
    except OutreachError as exc:
        return esc_message(exc.sentence), blocks.error(esc_message(exc.sentence))
    return sign_in_link_reply(link, email)


def sign_in_link_reply(link: SignInLink, email: str) -> tuple[str, list[blocks.Block]]:
    """The sign-in button for ``link``."""
    summary = "Sign in with Slack, then Microsoft" if link.slack_first else "Sign in with Microsoft"
    return summary, mailbox_blocks.sign_in_prompt(link.url, email.lower(), slack_first=link.slack_first)
