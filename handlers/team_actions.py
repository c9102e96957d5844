"""The hiring manager's Revoke button on "sending from your mailbox" notices."""

from __future__ import annotations

import re
from functools import partial
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from handlers import blocks
from handlers.deps import Deps
from handlers.team_commands import revoke

_USER_ID = re.compile(r"^[UW][A-Z0-9]+$")


def register(app: App, deps: Deps) -> None:
    app.action(blocks.DELEGATION_REVOKE)(partial(revoke_clicked, deps=deps))


def revoke_clicked(
    ack: Ack,
    body: dict[str, Any],
    action: dict[str, Any],
    respond: Respond,
    client: WebClient,
    deps: Deps,
) -> None:
    """Same as ``/scaleup undelegate``, on the clicker's own mailbox: the button's value
    only names the recruiter, so a forwarded or forged click can revoke nothing else."""
    ack()
    team_id, owner = body["user"]["team_id"], body["user"]["id"]
    recruiter = str(action.get("value") or "")
    if not _USER_ID.match(recruiter):
        respond(text="That button names no one.", replace_original=False)
        return
    summary, reply = revoke(client, deps, team_id, owner, recruiter)
    respond(text=summary, blocks=reply, replace_original=True)
