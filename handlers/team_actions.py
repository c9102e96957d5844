"""The hiring manager's Revoke button on "sending from your mailbox" notices."""

from __future__ import annotations

import re
from functools import partial
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from handlers import team_blocks as tb
from handlers.blocks import text
from handlers.deps import Deps
from handlers.mrkdwn import esc_message
from handlers.team_commands import tell_delegate
from outreach.errors import MailboxGone, OutreachError

_USER_ID = re.compile(r"^[UW][A-Z0-9]+$")


def register(app: App, deps: Deps) -> None:
    app.action(tb.DELEGATION_REVOKE)(partial(revoke_clicked, deps=deps))


def revoke_clicked(
    ack: Ack,
    body: dict[str, Any],
    action: dict[str, Any],
    respond: Respond,
    client: WebClient,
    deps: Deps,
) -> None:
    """Take back the access the button names: that recruiter's, to that mailbox (by its key).

    The domain lets the mailbox's owner (or the recruiter) do it; a stranger's click, a
    mailbox disconnected since, or access already taken back gets a sentence naming them
    and the notice stays as it was.
    """
    ack()
    team_id, user_id = body["user"]["team_id"], body["user"]["id"]
    ref = tb.revoke_button_ref(action.get("value"))
    if ref is None or not _USER_ID.match(ref[2]):
        line = tb.OUTDATED_REVOKE_BUTTON
    else:
        mailbox, email, delegate = ref
        try:
            result = deps.delegations.revoke(team_id, user_id, delegate, mailbox)
        except MailboxGone:
            line = tb.revoke_button_mailbox_gone(email)
        except OutreachError as exc:
            line = esc_message(exc.sentence)
        else:
            if result.removed or result.paused:
                tell_delegate(client, user_id, result)
                summary, reply = tb.revoked(result)
                respond(text=summary, blocks=reply, replace_original=True)
                return
            line = tb.revoke_button_already_done(email, delegate)
    respond(text=line, blocks=[text(line)], replace_original=False)
