"""``/scaleup delegate|undelegate @person`` and ``/scaleup dnc add|remove|list``.

With ``should_escape`` on (see app_manifest.yaml) Slack sends a mention picked from the
autocomplete as ``<@U123|riley>``; a bare ``@riley`` carries no id, so it is refused
rather than guessed from display names that are neither unique nor stable.

Who may take an address off the do-not-contact list or take back a delegation is decided
in the domain (:mod:`outreach.permissions`); here Slack is only asked whether the person
is a workspace admin.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt import Ack, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from handlers import team_blocks as tb
from handlers.blocks import Block, error, text
from handlers.deps import Deps
from handlers.direct_commands import typed_address
from handlers.mrkdwn import esc_message
from handlers.people import is_workspace_admin
from handlers.views import tell
from outreach.delegations import Revoked
from outreach.errors import OutreachError

log = logging.getLogger(__name__)

_MENTION = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>\s*(.*)$", re.DOTALL)


def route(
    ack: Ack,
    command: dict[str, Any],
    respond: Respond,
    client: WebClient,
    deps: Deps,
    sub: str,
    args: list[str],
) -> None:
    """Dispatch ``delegate``, ``undelegate`` or ``dnc``."""
    if sub == "dnc":
        dnc(ack, command, respond, client, deps, args)
        return
    rest = " ".join(args)
    found = _MENTION.match(rest)
    if not rest:
        ack(text=tb.DELEGATE_USAGE, blocks=[text(tb.DELEGATE_USAGE)])
    elif found is None:
        note = tb.pick_from_autocomplete(args[0])
        ack(text=note, blocks=[text(note)])
    elif sub == "undelegate" and found.group(2):
        note = (
            "`/scaleup undelegate @person` takes back all of their access to your mailbox; "
            "it takes no campaign name."
        )
        ack(text=note, blocks=[text(note)])
    elif sub == "delegate":
        ack()
        delegate(respond, client, deps, command, found.group(1), found.group(2))
    else:
        ack()
        undelegate(respond, client, deps, command["team_id"], command["user_id"], found.group(1))


def delegate(
    respond: Respond,
    client: WebClient,
    deps: Deps,
    command: dict[str, Any],
    recruiter: str,
    campaign_name: str,
) -> None:
    """Delegate, answer the owner, and tell the recruiter where to use it."""
    team_id, owner = command["team_id"], command["user_id"]
    try:
        result = deps.delegations.delegate(team_id, owner, recruiter, campaign_name)
    except OutreachError as exc:
        respond(text=esc_message(exc.sentence), blocks=[text(esc_message(exc.sentence))])
        return
    summary, reply = tb.delegated(result)
    respond(text=summary, blocks=reply)
    if result.created:
        _dm(client, recruiter, *tb.delegate_dm(owner, result))


def undelegate(
    respond: Respond, client: WebClient, deps: Deps, team_id: str, owner: str, recruiter: str
) -> None:
    """Take back ``recruiter``'s access to ``owner``'s own mailbox; answer and tell them."""
    summary, reply = revoke(client, deps, team_id, owner, recruiter)
    respond(text=summary, blocks=reply)


def revoke(
    client: WebClient, deps: Deps, team_id: str, owner: str, recruiter: str
) -> tuple[str, list[Block]]:
    """The work of ``undelegate`` on the owner's own mailbox; the owner's reply."""
    try:
        result = deps.delegations.revoke(team_id, owner, recruiter)
    except OutreachError as exc:
        return esc_message(exc.sentence), [text(esc_message(exc.sentence))]
    tell_delegate(client, owner, result)
    return tb.revoked(result)


def tell_delegate(client: WebClient, user_id: str, result: Revoked) -> None:
    """DM the recruiter who lost access, unless nothing changed or they gave it up."""
    if (result.removed or result.paused) and user_id != result.delegate_user_id:
        _dm(client, result.delegate_user_id, *tb.revoked_dm(user_id, result))


def dnc(
    ack: Ack,
    command: dict[str, Any],
    respond: Respond,
    client: WebClient,
    deps: Deps,
    args: list[str],
) -> None:
    """``dnc add EMAIL [reason]``, ``dnc remove EMAIL``, ``dnc list``."""
    verb = args[0].lower() if args else ""
    team_id, user_id = command["team_id"], command["user_id"]
    if verb == "list":
        ack()
        summary, reply = tb.dnc_list(deps.suppressions.dnc_list(team_id))
        respond(text=summary, blocks=reply)
        return
    if verb not in ("add", "remove") or len(args) < 2:
        ack(text=tb.DNC_USAGE, blocks=[text(tb.DNC_USAGE)])
        return
    ack()
    address, note = typed_address(args[1])  # the importer's reading: same address, same list
    try:
        if verb == "add":
            reason = _unescape(" ".join(args[2:]))
            summary, reply = tb.dnc_added(
                deps.suppressions.add_dnc(team_id, user_id, address, reason)
            )
        else:
            admin = is_workspace_admin(client, user_id)
            summary, reply = tb.dnc_removed(
                *deps.suppressions.remove_dnc(team_id, user_id, address, is_admin=admin)
            )
    except OutreachError as exc:
        summary, reply, note = esc_message(exc.sentence), error(esc_message(exc.sentence)), ""
    if note:
        summary, reply = f"{summary} {esc_message(note)}", [*reply, text(esc_message(note))]
    respond(text=summary, blocks=reply)


def _unescape(typed: str) -> str:
    """Command text as the person typed it: Slack sends ``&``, ``<``, ``>`` escaped."""
    return typed.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _dm(client: WebClient, user_id: str, summary: str, reply: list[Block]) -> None:
    try:
        tell(client, user_id, None, summary, reply)
    except SlackApiError as exc:  # the change is made; a lost DM must not hide that
        log.warning("could not DM %s: %s", user_id, exc.response.get("error"))
