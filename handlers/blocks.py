"""Block Kit, built by pure functions of data: testable without Slack.

Action ids are constants here so listeners and builders cannot drift apart.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from handlers.limits import BUTTON_CHARS, SECTION_CHARS, clip, confirm_dialog
from handlers.mrkdwn import esc as esc  # the one escaping function, re-exported
from handlers.mrkdwn import esc_message, mention
from outreach.keys import MailboxKey, mailbox_key
from outreach.mailboxes import DisconnectReport, MailboxStatus, RemovalPreview
from outreach.notify import (
    CampaignDeletedWithMailbox,
    DelegationGoneWithMailbox,
    MailboxConnectedByOther,
    MailboxRemoved,
    SendingFromYourMailbox,
)
from outreach.sentences import Sentence

Block = dict[str, Any]

CONNECT_START = "connect_start"
SIGN_IN = "outlook_sign_in"
DISCONNECT_START = "disconnect_start"
DISCONNECT_CONFIRM = "disconnect_confirm"
DISCONNECT_CANCEL = "disconnect_cancel"
REPLACE_CONFIRM = "mailbox_replace"
CONNECT_MODAL = "connect_modal"
EMAIL_BLOCK, EMAIL_INPUT = "email", "email_input"
NAME_BLOCK, NAME_INPUT = "sender_name", "sender_name_input"
SENDER_NAME_CHARS = 100

MY_APPS_URL = "https://myapps.microsoft.com"

HELP = [
    ("connect [email]", "Connect your Outlook mailbox (Sign in with Microsoft)"),
    ("status", "Show your mailbox connection"),
    ("disconnect", "Disconnect your mailbox and delete its tokens and mail data"),
    ("shortlist create NAME", "Import candidates by pasting a CSV"),
    ("shortlist list", "Your workspace's shortlists and their sizes"),
    ("shortlist show NAME", "A shortlist's columns and first candidates"),
    ("campaign create", "Set up a campaign: steps, sender, send window (saved as a draft)"),
    ("campaign start NAME", "Enroll the shortlist and schedule the first emails"),
    ("campaign pause|resume|stop NAME", "Hold, continue or end a campaign"),
    ("campaign pause|resume NAME EMAIL", "Hold or continue one candidate"),
    ("campaign status NAME", "A campaign's numbers, with Pause/Resume/Stop buttons"),
    ("campaign list", "Every campaign in this workspace"),
    ("campaign preview NAME [email]", "Each step for one candidate, with its local send time"),
    ("campaign test NAME", "Send step 1 to your own mailbox"),
    ("message EMAIL", "Email one candidate from your mailbox"),
    ("delegate @user [campaign]", "Let a recruiter send from your mailbox"),
    ("undelegate @user", "Take that back (their campaigns from your mailbox pause)"),
    ("dnc add|remove EMAIL", "The workspace's do-not-contact list (`dnc list` shows it)"),
    ("help", "This list"),
]
#: Subcommands announced but not built yet.
COMING: list[str] = []


def text(markdown: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": clip(markdown, SECTION_CHARS)}}


def context(markdown: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": clip(markdown, 3000)}]}


def button(
    label: str,
    action_id: str,
    *,
    value: str | None = None,
    url: str | None = None,
    style: str | None = None,
    confirm: Block | None = None,
) -> Block:
    element: Block = {
        "type": "button",
        "text": {"type": "plain_text", "text": clip(label, BUTTON_CHARS)},
        "action_id": action_id,
    }
    for key, item in (("value", value), ("url", url), ("style", style), ("confirm", confirm)):
        if item is not None:
            element[key] = item
    return element


def actions(*elements: Block) -> Block:
    return {"type": "actions", "elements": list(elements)}


# -- help --------------------------------------------------------------------------------
def help_blocks(note: str | None = None) -> list[Block]:
    lines = "\n".join(f"`/scaleup {usage}`  {what}" for usage, what in HELP)
    blocks = [text(note)] if note else []
    blocks += [
        text("*ScaleUp* runs recruiting outreach from your own Outlook mailbox.\n" + lines),
    ]
    if COMING:
        blocks.append(context("Coming next: " + ", ".join(f"`{c}`" for c in COMING)))
    return blocks


# -- connect -----------------------------------------------------------------------------
def connect_modal(email: str | None, sender_name: str | None, metadata: dict[str, str]) -> Block:
    """The modal asking which mailbox to connect and the name to send as."""
    email_input: Block = {"type": "plain_text_input", "action_id": EMAIL_INPUT}
    if email:
        email_input["initial_value"] = email
    name_input: Block = {
        "type": "plain_text_input",
        "action_id": NAME_INPUT,
        "max_length": SENDER_NAME_CHARS,
    }
    # A longer profile name can't be shown whole, and a cut one would be submitted as the
    # sender name without the user noticing: the field starts empty instead.
    if sender_name and len(sender_name) <= SENDER_NAME_CHARS:
        name_input["initial_value"] = sender_name
    return {
        "type": "modal",
        "callback_id": CONNECT_MODAL,
        "title": {"type": "plain_text", "text": "Connect Outlook"},
        "submit": {"type": "plain_text", "text": "Continue"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "private_metadata": json.dumps(metadata),
        "blocks": [
            {
                "type": "input",
                "block_id": EMAIL_BLOCK,
                "label": {"type": "plain_text", "text": "Mailbox address"},
                "hint": {
                    "type": "plain_text",
                    "text": "The mailbox's primary address, not an alias. Candidates see mail from it.",
                },
                "element": email_input,
            },
            {
                "type": "input",
                "block_id": NAME_BLOCK,
                "label": {"type": "plain_text", "text": "Sender name"},
                "hint": {"type": "plain_text", "text": "Shown as the From name, e.g. Riley Chen"},
                "element": name_input,
            },
        ],
    }


def sign_in_prompt(auth_uri: str, email: str, *, slack_first: bool = False) -> list[Block]:
    first = (
        f"*{esc(email)}* is not your Slack profile email, so first confirm it is you with "
        "Sign in with Slack. Then sign"
        if slack_first
        else "Sign"
    )
    label = "Sign in with Slack, then Microsoft" if slack_first else "Sign in with Microsoft"
    return [
        text(
            f"{first} in to Microsoft as *{esc(email)}* to connect it. ScaleUp asks to "
            "read and send mail so it can send your campaigns and spot candidates' replies; "
            "it keeps only the replies to its own messages."
        ),
        actions(button(label, SIGN_IN, url=auth_uri, style="primary")),
        context("The link works once, only for you, and expires in 10 minutes."),
    ]


def connected(email: str, sender_name: str) -> list[Block]:
    return [
        text(
            f":white_check_mark: Connected as *{esc(email)}*. Mail goes out as "
            f"“{esc(sender_name)}” &lt;{esc(email)}&gt;."
        )
    ]


def needs_reconnect(
    email: str, reason: str | None, advice: Sentence | None = None
) -> list[Block]:
    """``reason`` is Microsoft's text (made inert); ``advice`` our own sentence."""
    why = f"\n>{esc(reason)}" if reason else ""
    why += f"\n{esc_message(advice)}" if advice else ""
    return [
        text(
            f":warning: Microsoft no longer accepts ScaleUp's access to *{esc(email)}*, so nothing "
            f"is sent from it until you reconnect.{why}"
        ),
        actions(button("Reconnect", CONNECT_START, value=email, style="primary")),
    ]


# -- status and disconnect ---------------------------------------------------------------
def _state_line(status: MailboxStatus) -> str:
    since = f"<!date^{int(status.connected_at.timestamp())}^{{date_short}}|{status.connected_at:%Y-%m-%d}>"
    if status.state == "connected":
        return f":large_green_circle: *{esc(status.email)}* connected since {since}"
    return f":warning: *{esc(status.email)}* needs reconnecting (connected since {since})"


def mailbox_status(status: MailboxStatus | None) -> list[Block]:
    if status is None:
        return [
            text("You have not connected an Outlook mailbox yet."),
            actions(button("Connect Outlook", CONNECT_START, style="primary")),
        ]
    return [text(_state_line(status) + f"\nSender name: {esc(status.sender_name)}")]


def mailbox_value(key: MailboxKey, email: str, named: str = "", **extra: str) -> str:
    """A button value naming one connection of a mailbox (its key: ids can be reused), its
    address for the sentences, and the fingerprint of what the message named as deleted
    (:attr:`RemovalPreview.named`). At most about 400 characters (Slack: 2,000)."""
    value = {
        "mailbox": key.id,
        "connected": key.connected_at.isoformat(),
        "email": email,
        "named": named,
        **extra,
    }
    return json.dumps(value)


@dataclass(frozen=True)
class MailboxRef:
    """What a mailbox button carries (:func:`mailbox_value`)."""

    key: MailboxKey
    email: str
    named: str | None  # None: the button named nothing to delete (App Home)
    extra: dict[str, str]


def parse_mailbox_value(value: object) -> MailboxRef | None:
    """The :class:`MailboxRef` of a mailbox button, or None for any other value (a
    button of an older version, an id out of range, a value not written here)."""
    try:
        data = json.loads(str(value))
        key = mailbox_key(data["mailbox"], data["connected"])
        email, named = data["email"], data.get("named")
    except (ValueError, TypeError, KeyError, RecursionError, AttributeError):
        return None
    if key is None or not isinstance(email, str) or not isinstance(named, str | None):
        return None
    extra = {k: v for k, v in data.items() if isinstance(v, str) and k not in _MAILBOX_KEYS}
    return MailboxRef(key, email, named or None, extra)


_MAILBOX_KEYS = frozenset({"mailbox", "connected", "email", "named"})
OUTDATED_MAILBOX_BUTTON = (
    "This button is out of date. `/scaleup status` shows your mailbox; `/scaleup disconnect` "
    "asks again."
)


def _what_goes(preview: RemovalPreview) -> str:
    """The campaigns and stored messages a disconnect deletes, named, with the campaigns
    other people run from the mailbox and who they are."""
    lines = ["• its Microsoft sign-in tokens (ScaleUp can no longer send from it)"]
    if preview.campaigns:
        named = ", ".join(f"*{esc(name)}* ({esc(state)})" for name, state in preview.campaigns[:20])
        more = len(preview.campaigns) - 20
        named += f" and {more} more" if more > 0 else ""
        lines.append(f"• {len(preview.campaigns)} campaign(s) sending from it: {named}")
        if preview.others:
            theirs = ", ".join(f"*{esc(name)}* ({mention(by)})" for name, by in preview.others[:10])
            more = len(preview.others) - 10
            theirs += f" and {more} more" if more > 0 else ""
            lines.append(
                f"   including {len(preview.others)} campaign(s) other people run from it, "
                f"who are told when they go: {theirs}"
            )
    else:
        lines.append("• no campaigns (none send from it)")
    lines.append(f"• {preview.messages} stored outgoing message(s)")
    lines.append(f"• {preview.replies} stored candidate reply(ies)")
    if preview.delegates:
        people = ", ".join(mention(who) for who in preview.delegates[:20])
        more = len(preview.delegates) - 20
        people += f" and {more} more" if more > 0 else ""
        lines.append(
            f"• the access of {len(preview.delegates)} person(s) who may send from it, "
            f"who are told: {people}"
        )
    return "\n".join(lines)


def disconnect_confirm(preview: RemovalPreview) -> list[Block]:
    return [
        text(
            f"Disconnect *{esc(preview.email)}*? ScaleUp deletes:\n{_what_goes(preview)}\n"
            "Shortlists stay; they belong to the workspace."
        ),
        actions(
            button(
                "Disconnect",
                DISCONNECT_CONFIRM,
                value=mailbox_value(preview.key, preview.email, preview.named),
                style="danger",
            ),
            button("Cancel", DISCONNECT_CANCEL),
        ),
    ]


def replace_confirm(preview: RemovalPreview, new_email: str, sender_name: str) -> list[Block]:
    """Connecting another address while one is connected: say what goes, then ask."""
    value = mailbox_value(
        preview.key, preview.email, preview.named, new=new_email, name=sender_name[:100]
    )
    return [
        text(
            f"*{esc(preview.email)}* is connected now; you can connect one mailbox. To connect "
            f"*{esc(new_email)}* instead, sign in to it; once that sign-in succeeds, ScaleUp "
            f"disconnects {esc(preview.email)} and deletes:\n{_what_goes(preview)}\n"
            "Nothing is deleted before then, nor if any of this changes meanwhile."
        ),
        actions(
            button(
                _replace_label(preview.email, new_email),
                REPLACE_CONFIRM,
                value=value,
                style="danger",
            ),
            button("Cancel", DISCONNECT_CANCEL),
        ),
    ]


def _replace_label(old: str, new: str) -> str:
    label = f"Replace {old} with {new}"
    return label if len(label) <= BUTTON_CHARS else f"Connect {new} instead"


def connected_by_other(notice: MailboxConnectedByOther) -> list[Block]:
    """The DM to the member whose Slack email another member just connected."""
    return [
        text(
            f":warning: {mention(notice.connected_by)} connected the mailbox *{esc(notice.email)}*, "
            "your Slack email address, to ScaleUp and can send from it. If that is not what "
            "you want, disconnect it."
        ),
        actions(
            button(
                "Disconnect",
                DISCONNECT_CONFIRM,
                value=mailbox_value(
                    MailboxKey(notice.mailbox_id, notice.connected_at), notice.email, notice.named
                )
                if notice.connected_at
                else json.dumps({"email": notice.email}),
                style="danger",
                confirm=confirm_dialog(
                    "Disconnect this mailbox?",
                    f"ScaleUp deletes the sign-in tokens and stored data of "
                    f"{clip(notice.email, 200)}, and its campaigns.",
                    "Disconnect",
                    "Keep it",
                ),
            )
        ),
    ]


def disconnected(report: DisconnectReport) -> list[Block]:
    deleted = ["its Microsoft sign-in tokens"]
    if report.pending_sign_ins:
        deleted.append(f"{report.pending_sign_ins} unused sign-in link(s)")
    if report.campaigns:
        deleted.append(f"{report.campaigns} campaign(s) sending from it")
    if report.messages:
        deleted.append(f"{report.messages} stored outgoing message(s)")
    if report.replies:
        deleted.append(f"{report.replies} stored candidate reply(ies)")
    return [
        text(
            f"Disconnected *{esc(report.email)}*. Deleted: {', '.join(deleted)}. "
            "ScaleUp keeps no other data of this mailbox."
        ),
        context(
            "To also withdraw the permission on Microsoft's side, open "
            f"<{MY_APPS_URL}|My Apps>, choose ScaleUp and *Revoke permissions*."
        ),
    ]


def campaign_deleted_with_mailbox(notice: CampaignDeletedWithMailbox) -> list[Block]:
    """The DM to someone whose campaign went with another person's mailbox."""
    return [
        text(
            f":wastebasket: Your campaign *{esc(notice.campaign)}* was deleted: "
            f"{mention(notice.disconnected_by)} disconnected the mailbox "
            f"*{esc(notice.mailbox_email)}* it sent from, and a mailbox's campaigns go with it. "
            "Its shortlist stays; to go on, create the campaign again from a mailbox you may "
            "send from."
        )
    ]


def delegation_gone_with_mailbox(notice: DelegationGoneWithMailbox) -> list[Block]:
    """The DM to a delegate whose access went with the mailbox."""
    return [
        text(
            f":wastebasket: {mention(notice.disconnected_by)} disconnected the mailbox "
            f"*{esc(notice.mailbox_email)}*, so you can no longer send from it: your access "
            "to it was deleted with it."
        )
    ]


def mailbox_removed(notice: MailboxRemoved) -> list[Block]:
    """The DM to the person who connected a mailbox its address's owner disconnected."""
    return [
        text(
            f":wastebasket: {mention(notice.disconnected_by)}, whose Slack email it is, "
            f"disconnected the mailbox *{esc(notice.mailbox_email)}* you connected. Deleted: "
            f"its Microsoft sign-in tokens, {notice.campaigns} campaign(s), "
            f"{notice.messages} stored outgoing message(s) and {notice.replies} stored "
            "candidate reply(ies)."
        )
    ]


def error(message: str) -> list[Block]:
    return [text(f":x: {message}")]


# -- App Home ----------------------------------------------------------------------------
def home(status: MailboxStatus | None, campaigns: list[Block] | None = None) -> Block:
    """The App Home tab: the user's mailbox and what they can do with it."""
    blocks: list[Block] = [
        {"type": "header", "text": {"type": "plain_text", "text": "ScaleUp outreach"}},
        text("*Your Outlook mailbox*"),
    ]
    if status is None:
        blocks += [
            text("Not connected. Connect it to send campaigns from your own address."),
            actions(button("Connect Outlook", CONNECT_START, style="primary")),
        ]
    else:
        blocks.append(text(_state_line(status) + f"\nSender name: {esc(status.sender_name)}"))
        reconnect = "Reconnect" if status.state != "connected" else "Reconnect / switch"
        blocks.append(
            actions(
                button(reconnect, CONNECT_START, value=status.email),
                # Answers with the confirmation that names what goes; deletes nothing itself.
                button(
                    "Disconnect…",
                    DISCONNECT_START,
                    value=mailbox_value(MailboxKey(status.id, status.connected_at), status.email),
                ),
            )
        )
    blocks += campaigns or []  # handlers.home_blocks.campaigns_section
    blocks.append(context("Type `/scaleup help` for every command."))
    return {"type": "home", "blocks": blocks}


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
