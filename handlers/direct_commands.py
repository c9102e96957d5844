"""``/scaleup message EMAIL``: check the address, then open the compose modal.

Everything that would stop the email is checked before the modal opens, so nobody
writes a message that cannot go out; the submission (``handlers/direct_views.py``)
checks again, since the answers may change while the modal is open.
"""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, Respond
from slack_sdk import WebClient

from handlers import campaign_blocks as cb
from handlers import direct_views
from handlers.deps import Deps
from handlers.mrkdwn import esc_message
from outreach.errors import OutreachError

USAGE = "Give one address: `/scaleup message jane@example.com`."


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
    try:
        to = deps.campaigns.direct_target(command["team_id"], command["user_id"], args[0])
    except OutreachError as exc:
        ack(text=esc_message(exc.message), blocks=cb.sentence(esc_message(exc.message)))
        return
    ack()
    client.views_open(
        trigger_id=command["trigger_id"],
        view=direct_views.direct_modal(to.email, to.mailbox_email, command.get("channel_id")),
    )
