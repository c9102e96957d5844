"""Block Kit for delegation and the do-not-contact list: pure functions of data."""

from __future__ import annotations

import json
from datetime import datetime

from handlers.blocks import Block, actions, button, confirm_dialog, context, esc, text
from handlers.limits import TEXT_BUDGET, fitting, sections
from handlers.mrkdwn import mention
from outreach.delegations import Delegated, Revoked
from outreach.keys import MailboxKey, mailbox_key
from outreach.notify import SendingFromYourMailbox
from outreach.suppressions import DncAdded, DncEntry

DELEGATE_USAGE = (
    "Use `/scaleup delegate @person [campaign]` to let a recruiter send campaigns from your "
    "mailbox (every campaign, or only the one named), and `/scaleup undelegate @person` to "
    "take it back."
)
DNC_USAGE = (
    "Use `/scaleup dnc add EMAIL [reason]`, `/scaleup dnc remove EMAIL` or `/scaleup dnc list`."
)
NAMES_SHOWN = 10  # campaign names in one sentence, then "and N more"
NAMES_CHARS = 1_200  # escaped, so a sentence naming them stays under a section's 3,000


def pick_from_autocomplete(typed: str) -> str:
    """The sentence for an ``@name`` Slack did not turn into a user id."""
    return (
        f"I can't tell who {esc(typed)} is. Type @ and pick the person from the list Slack "
        "suggests, e.g. `/scaleup delegate @riley Backend Q4`."
    )


def _names(names: list[str]) -> str:
    """``*a*, *b*`` for the first names (:data:`NAMES_SHOWN` at most, and no more than
    :data:`NAMES_CHARS` characters once escaped), then "and N more"."""
    shown: list[str] = []
    for name in names[:NAMES_SHOWN]:
        named = f"*{esc(name)}*"
        if shown and sum(len(n) + 2 for n in shown) + len(named) > NAMES_CHARS:
            break
        shown.append(named)
    more = len(names) - len(shown)
    return ", ".join(shown) + (f" and {more:,} more" if more > 0 else "")


def _what(campaign_name: str) -> str:
    return f"the campaign *{esc(campaign_name)}*" if campaign_name else "campaigns"


def delegated(result: Delegated) -> tuple[str, list[Block]]:
    """The owner's reply: a summary and blocks."""
    who, what = f"<@{result.delegate_user_id}>", _what(result.campaign_name)
    if result.created:
        line = f"{who} can now send {what} from {esc(result.mailbox_email)}."
    else:
        line = f"{who} can already send {what} from {esc(result.mailbox_email)}; nothing changed."
    return line, [
        text(line),
        context(
            f"You'll get a message when they start a campaign from it. `/scaleup undelegate "
            f"@person` takes it back and pauses their campaigns from {esc(result.mailbox_email)}."
        ),
    ]


def delegate_dm(owner_user_id: str, result: Delegated) -> tuple[str, list[Block]]:
    """The recruiter's DM: they may now pick the owner's mailbox as a sender."""
    line = (
        f"<@{owner_user_id}> lets you send {_what(result.campaign_name)} from "
        f"*{esc(result.mailbox_email)}*."
    )
    how = f"Pick {esc(result.mailbox_email)} as the sender in `/scaleup campaign create`"
    if result.campaign_name:
        how += f" and name the campaign *{esc(result.campaign_name)}*"
    return line, [text(f"{line} {how}.")]


def revoked(result: Revoked) -> tuple[str, list[Block]]:
    """The owner's reply after taking access back."""
    who, mailbox = f"<@{result.delegate_user_id}>", esc(result.mailbox_email)
    if not result.removed and not result.paused:
        line = f"{who} could not send from {mailbox}; nothing changed."
        return line, [text(line)]
    line = f"{who} can no longer send from {mailbox}."
    blocks = [text(line)]
    if result.paused:
        names = _names([c.name for c in result.paused])
        blocks.append(
            text(
                f":double_vertical_bar: Paused their running campaign(s) from it: {names}. "
                "Resume or stop them with `/scaleup campaign resume|stop NAME`."
            )
        )
    return line, blocks


def revoke_button_ref(value: object) -> tuple[MailboxKey, str, str] | None:
    """The (mailbox key, mailbox address, delegate user id) a Revoke button carries, or
    None for any other value."""
    try:
        data = json.loads(str(value))
        key = mailbox_key(data["mailbox"], data["connected"])
        email, delegate = data["email"], data["delegate"]
    except (ValueError, TypeError, KeyError, RecursionError):
        return None
    if key is None or not isinstance(email, str) or not isinstance(delegate, str):
        return None
    return key, email, delegate


OUTDATED_REVOKE_BUTTON = (
    "This button is out of date. `/scaleup undelegate @person` takes back someone's access "
    "to your mailbox."
)


def revoke_button_mailbox_gone(email: str) -> str:
    """A Revoke click after the mailbox was disconnected (its delegations went with it)."""
    return f"This button is for {esc(email)}, which is no longer connected; nothing changed."


def revoke_button_already_done(email: str, delegate_user_id: str) -> str:
    """A Revoke click on access that was taken back already."""
    return (
        f"This button is for <@{delegate_user_id}>'s access to {esc(email)}, which was "
        "already taken back; nothing changed."
    )


def revoked_dm(owner_user_id: str, result: Revoked) -> tuple[str, list[Block]]:
    """The recruiter's DM after losing access."""
    line = f"<@{owner_user_id}> took back your access to send from *{esc(result.mailbox_email)}*."
    if result.paused:
        line += f" Paused: {_names([c.name for c in result.paused])}."
    return line, [text(line)]


def dnc_added(result: DncAdded) -> tuple[str, list[Block]]:
    email = esc(result.email)
    if result.created:
        line = f":no_entry_sign: Added {email} to the do-not-contact list; no campaign will email them."
    else:
        line = f"{email} is already on the do-not-contact list."
    if result.stopped:
        names = _names(list(result.stopped))
        line += (
            f" Stopped their sequence in {names} ({result.cancelled:,} unsent "
            f"email{'s' if result.cancelled != 1 else ''} cancelled)."
        )
    return line, [text(line)]


def dnc_removed(email: str, was_listed: bool) -> tuple[str, list[Block]]:
    if was_listed:
        line = (
            f"Removed {esc(email)} from the do-not-contact list. Sequences that stopped for "
            "them stay stopped."
        )
    else:
        line = f"{esc(email)} was not on the do-not-contact list; nothing changed."
    return line, [text(line)]


def _date(at: datetime) -> str:
    return f"<!date^{int(at.timestamp())}^{{date_short}}|{at:%Y-%m-%d}>"


def dnc_list(entries: list[DncEntry]) -> tuple[str, list[Block]]:
    """Every address that fits in one message (Slack refuses ~12,000 characters of text),
    then how many more; ``dnc remove`` works on any of them."""
    if not entries:
        line = "The do-not-contact list is empty. Add an address with `/scaleup dnc add EMAIL [reason]`."
        return line, [text(line)]
    summary = f"Do-not-contact list: {len(entries):,} address{'es' if len(entries) != 1 else ''}"
    lines = []
    for entry in entries:
        line = f"• {esc(entry.email)}"
        if entry.reason:
            line += f": {esc(entry.reason)}"
        by = f" by <@{entry.added_by}>" if entry.added_by else ""
        lines.append(line + f" _(added{by} {_date(entry.added_at)})_")
    listed = fitting(lines, TEXT_BUDGET - 200)
    blocks = [text(f"*{summary}*"), *(text(chunk) for chunk in sections(lines[:listed]))]
    if listed < len(lines):
        blocks.append(context(f"…and {len(lines) - listed:,} more."))
    return summary, blocks


# -- delegation --------------------------------------------------------------------------
DELEGATION_REVOKE = "delegation_revoke"


def sending_from_your_mailbox(notice: SendingFromYourMailbox) -> list[Block]:
    """The hiring manager's DM when a recruiter's campaign starts sending as them. The
    Revoke button names the mailbox (its key and address) and the recruiter; see
    :func:`handlers.team_blocks.revoke_button_ref`."""
    box = notice.mailbox
    value = {
        "mailbox": box.id if box else 0,
        "connected": box.connected_at.isoformat() if box else "",
        "email": notice.mailbox_email,
        "delegate": notice.recruiter_user_id,
    }
    return [
        text(
            f"{mention(notice.recruiter_user_id)} started campaign *{esc(notice.campaign)}* from your "
            f"mailbox *{esc(notice.mailbox_email)}*: {notice.candidates} candidate(s)."
        ),
        actions(
            button(
                "Revoke their access",
                DELEGATION_REVOKE,
                value=json.dumps(value),
                style="danger",
                confirm=confirm_dialog(
                    "Revoke sending access?",
                    "Their campaigns from your mailbox pause and they can no longer send as you.",
                    "Revoke",
                    "Keep",
                ),
            )
        ),
    ]
