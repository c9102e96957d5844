"""The Slack side of :class:`outreach.notify.Notifier`: DMs through ``slack_sdk``."""

from __future__ import annotations

import logging
from collections.abc import Callable

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from handlers import blocks, mailbox_blocks, removal_blocks, team_blocks
from handlers.mrkdwn import esc
from handlers.notice_blocks import thread_notice
from handlers.reply_blocks import reply_card
from outreach.notify import (
    CampaignDeletedWithMailbox,
    CampaignPaused,
    DelegationGoneWithMailbox,
    DelegationRevoked,
    MailboxConnected,
    MailboxConnectedByOther,
    MailboxNeedsReconnect,
    MailboxRemoved,
    Notice,
    ReplyReceived,
    SendFailed,
    SendingFromYourMailbox,
    SendUnconfirmed,
)

log = logging.getLogger(__name__)


class SlackNotifier:
    """Posts each notice as a DM from the bot, in the team's own workspace."""

    def __init__(self, client_for: Callable[[str], WebClient | None]) -> None:
        self._client_for = client_for

    def notify_user(self, team_id: str, user_id: str, notice: Notice) -> None:
        client = self._client_for(team_id)
        if client is None:
            log.warning("no Slack installation for team %s; notice dropped", team_id)
            return
        summary, reply = render(notice)
        try:
            channel = client.conversations_open(users=user_id)["channel"]["id"]
            client.chat_postMessage(channel=channel, text=summary, blocks=reply)
        except SlackApiError as exc:  # the domain's work is done; a lost DM must not undo it
            log.warning("could not DM %s: %s", user_id, exc.response.get("error"))


def render(notice: Notice) -> tuple[str, list[blocks.Block]]:
    """The notification text and the blocks for ``notice``; both escape every value."""
    match notice:
        case MailboxConnected(email=email, sender_name=name):
            return f"Connected as {esc(email)}", mailbox_blocks.connected(email, name)
        case MailboxConnectedByOther(email=email):
            return f"Your address {esc(email)} was connected to ScaleUp", removal_blocks.connected_by_other(
                notice
            )
        case CampaignDeletedWithMailbox(campaign=name):
            return (
                f"Your campaign {esc(name)} was deleted with its mailbox",
                removal_blocks.campaign_deleted_with_mailbox(notice),
            )
        case DelegationGoneWithMailbox(mailbox_email=email):
            return (
                f"You can no longer send from {esc(email)}",
                removal_blocks.delegation_gone_with_mailbox(notice),
            )
        case MailboxRemoved(mailbox_email=email):
            return f"{esc(email)} was disconnected", removal_blocks.mailbox_removed(notice)
        case MailboxNeedsReconnect(email=email, reason=reason):
            return f"Reconnect {esc(email)}", mailbox_blocks.needs_reconnect(email, reason, notice.advice)
        case SendingFromYourMailbox():
            return (
                f"Campaign {esc(notice.campaign)} is sending from {esc(notice.mailbox_email)}",
                team_blocks.sending_from_your_mailbox(notice),
            )
        case ReplyReceived():
            return reply_card(notice)
        case SendFailed() | SendUnconfirmed() | CampaignPaused() | DelegationRevoked():
            return thread_notice(notice)
