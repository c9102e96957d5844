"""Button clicks on the mailbox. Each acts on the mailbox its value names, after checking
that the clicker may; a stale or foreign button gets a sentence only the clicker sees."""

from __future__ import annotations

from functools import partial
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from handlers import blocks, mailbox_blocks, removal_blocks
from handlers.commands import open_connect_modal
from handlers.deps import Deps
from handlers.events import publish_home
from handlers.mrkdwn import esc, esc_message
from handlers.views import sign_in_link_reply, tell
from outreach.errors import OutreachError, RemovalChanged


def register(app: App, deps: Deps) -> None:
    app.action(mailbox_blocks.CONNECT_START)(partial(connect_start, deps=deps))
    app.action(mailbox_blocks.SIGN_IN)(sign_in_clicked)
    app.action(mailbox_blocks.DISCONNECT_CONFIRM)(partial(disconnect_confirmed, deps=deps))
    app.action(mailbox_blocks.DISCONNECT_START)(partial(disconnect_started, deps=deps))
    app.action(mailbox_blocks.DISCONNECT_CANCEL)(disconnect_cancelled)
    app.action(mailbox_blocks.REPLACE_CONFIRM)(partial(replace_confirmed, deps=deps))


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


def _refuse(body: dict[str, Any], respond: Respond, client: WebClient, exc: OutreachError) -> None:
    """Answer a click with the domain's sentence, escaped for Slack."""
    line = esc_message(exc.sentence)
    _answer(body, respond, client, line, blocks.error(line))


def connect_start(
    ack: Ack, body: dict[str, Any], respond: Respond, client: WebClient, deps: Deps
) -> None:
    """Connect (no value) or Reconnect (the value names the address to sign in again)."""
    ack()
    team_id, user_id = body["user"]["team_id"], body["user"]["id"]
    address = _value(body)
    if address:
        status = deps.connections.status(team_id, user_id)
        if status is None or status.email != address.lower():
            message = (
                f"This button is for {esc(address)}, which is no longer connected to your "
                f"Slack account. Run `/scaleup connect {esc(address)}` to connect it again."
            )
            _answer(body, respond, client, message, blocks.error(message))
            return
    channel = (body.get("channel") or {}).get("id")
    open_connect_modal(client, deps, body["trigger_id"], user_id, channel, address)


def sign_in_clicked(ack: Ack) -> None:
    """A URL button still sends an action; the browser does the rest."""
    ack()


def _mailbox_ref(
    body: dict[str, Any], respond: Respond, client: WebClient
) -> mailbox_blocks.MailboxRef | None:
    """The mailbox the clicked button names; None (the clicker told so) for a value this
    version never wrote."""
    ref = mailbox_blocks.parse_mailbox_value(_value(body))
    if ref is None:
        message = mailbox_blocks.OUTDATED_MAILBOX_BUTTON
        _answer(body, respond, client, message, blocks.error(message))
    return ref


def disconnect_confirmed(
    ack: Ack, body: dict[str, Any], respond: Respond, client: WebClient, deps: Deps
) -> None:
    """Disconnect the mailbox the button names, if it is still that connection and what
    goes is still what the confirmation named; else say so, deleting nothing."""
    ack()
    team_id, user_id = body["user"]["team_id"], body["user"]["id"]
    ref = _mailbox_ref(body, respond, client)
    if ref is None:
        return
    try:
        # A button that named nothing (a DM of an older version) names nothing to delete.
        report = deps.erasure.disconnect(team_id, user_id, ref.key, ref.email, ref.named or "")
    except RemovalChanged as exc:
        _answer(
            body,
            respond,
            client,
            esc_message(exc.sentence),
            removal_blocks.disconnect_confirm(exc.preview),
        )
        return
    except OutreachError as exc:
        _refuse(body, respond, client, exc)
        return
    _answer(
        body,
        respond,
        client,
        f"Disconnected {report.email}",
        removal_blocks.disconnected(report),
        replace=True,
    )
    publish_home(client, deps, team_id, user_id)


def disconnect_started(
    ack: Ack, body: dict[str, Any], respond: Respond, client: WebClient, deps: Deps
) -> None:
    """App Home's Disconnect: answer with the confirmation naming what goes."""
    ack()
    team_id, user_id = body["user"]["team_id"], body["user"]["id"]
    ref = _mailbox_ref(body, respond, client)
    if ref is None:
        return
    try:
        preview = deps.erasure.removal_preview(team_id, user_id, ref.key, ref.email)
    except OutreachError as exc:
        _refuse(body, respond, client, exc)
        return
    summary = f"Disconnect {preview.email}?"
    _answer(body, respond, client, summary, removal_blocks.disconnect_confirm(preview))


def replace_confirmed(
    ack: Ack, body: dict[str, Any], respond: Respond, client: WebClient, deps: Deps
) -> None:
    """ "Replace X with Y": the sign-in for Y, recording that it replaces X as the
    confirmation named it. Nothing is deleted here: X goes only when Y's sign-in succeeds."""
    ack()
    team_id, user_id = body["user"]["team_id"], body["user"]["id"]
    ref = mailbox_blocks.parse_mailbox_value(_value(body))
    new, name = (ref.extra.get("new"), ref.extra.get("name")) if ref else (None, None)
    if ref is None or not new:
        message = "This button is out of date. Run /scaleup connect again."
        _answer(body, respond, client, message, blocks.error(message))
        return
    name = name or new
    try:
        link = deps.sign_in_links.create(
            team_id,
            user_id,
            new,
            name,
            replaces=ref.key,
            replaces_email=ref.email,
            named=ref.named or "",
        )
    except RemovalChanged as exc:
        summary = f"Replace {exc.preview.email} with {new}?"
        _answer(
            body, respond, client, summary, removal_blocks.replace_confirm(exc.preview, new, name)
        )
        return
    except OutreachError as exc:
        _refuse(body, respond, client, exc)
        return
    summary, reply = sign_in_link_reply(link, new)
    note = blocks.context(
        f"{blocks.esc(ref.email)} stays connected until this sign-in succeeds; it is deleted "
        "then, as the confirmation said."
    )
    _answer(body, respond, client, summary, [*reply, note], replace=True)


def disconnect_cancelled(ack: Ack, respond: Respond) -> None:
    ack()
    respond(delete_original=True)
