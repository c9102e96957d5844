"""Block Kit for removing a mailbox: the Disconnect and Replace confirmations that name
what goes, the reply saying what went, and the DMs to the people it touched. Pure
functions of data; what goes is :class:`outreach.removal.RemovalPreview`."""

from __future__ import annotations

import json

from handlers.blocks import Block, actions, button, confirm_dialog, context, esc, text
from handlers.limits import BUTTON_CHARS, clip
from handlers.mailbox_blocks import (
    DISCONNECT_CANCEL,
    DISCONNECT_CONFIRM,
    REPLACE_CONFIRM,
    mailbox_value,
)
from handlers.mrkdwn import mention
from outreach.erasure import DisconnectReport
from outreach.keys import MailboxKey
from outreach.notify import (
    CampaignDeletedWithMailbox,
    DelegationGoneWithMailbox,
    MailboxConnectedByOther,
    MailboxRemoved,
)
from outreach.removal import RemovalPreview

MY_APPS_URL = "https://myapps.microsoft.com"


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
