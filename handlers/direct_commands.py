"""``/scaleup message EMAIL``: check the address, then open the compose modal.

Everything that would stop the email is checked before the modal opens, so nobody
writes a message that cannot go out; the submission (``handlers/direct_views.py``)
checks again, since the answers may change while the modal is open.
"""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, Respond
from slack_sdk import WebClient

from handlers import direct_views
from handlers.blocks import sentence
from handlers.deps import Deps
from handlers.mrkdwn import esc_message
from outreach.addresses import email_from_cell
from outreach.errors import InvalidEmail, OutreachError

USAGE = "Give one address: `/scaleup message jane@example.com`."


def typed_address(typed: str) -> tuple[str, str]:
    """The address a command names, read as the importer reads a cell, and a sentence
    saying what was removed to find it ("" when nothing was). A non-address comes back as
    typed, for the domain to refuse in its own words."""
    try:
        found = email_from_cell(typed)
    except InvalidEmail:
        return typed, ""
    said = "; ".join(found.notes)
    return found.email, (f"{said[:1].upper()}{said[1:]}: {found.email}." if said else "")


def route(
    ack: Ack,
    command: dict[str, Any],
    respond: Respond,
    client: WebClient,
    deps: Deps,
    args: list[str],
) -> None:
    """``message EMAIL``: a sentence if it can't be sent, else the compose modal."""
    if len(args) != 1:
        ack(text=USAGE)
        return
    address, note = typed_address(args[0])
    try:
        to = deps.campaigns.direct_target(command["team_id"], command["user_id"], address)
    except OutreachError as exc:
        ack(text=esc_message(exc.sentence), blocks=sentence(esc_message(exc.sentence)))
        return
    if note:  # the modal opens too; this says why its address differs from what was typed
        ack(text=esc_message(note), blocks=sentence(esc_message(note)))
    else:
        ack()
    client.views_open(
        trigger_id=command["trigger_id"],
        view=direct_views.direct_modal(to.email, to.mailbox_email, command.get("channel_id")),
    )
