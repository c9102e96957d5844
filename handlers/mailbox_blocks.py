"""Block Kit for connecting a mailbox and showing it: the connect modal, the sign-in
prompt, status, and the value a mailbox button carries. Pure functions of data."""

from __future__ import annotations

import json
from dataclasses import dataclass

from handlers.blocks import Block, actions, button, context, esc, modal, text
from handlers.mrkdwn import esc_message
from outreach.keys import MailboxKey, mailbox_key
from outreach.mailboxes import MailboxStatus
from outreach.sentences import Sentence

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
    return modal(
        CONNECT_MODAL,
        "Connect Outlook",
        "Continue",
        metadata,
        [
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
    )


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
def state_line(status: MailboxStatus) -> str:
    """The mailbox's address, whether it is connected, and since when."""
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
    return [text(state_line(status) + f"\nSender name: {esc(status.sender_name)}")]


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
