"""The App Home tab and the command help: where a user starts.

The campaigns part is a pure function of :class:`outreach.metrics.UserCampaigns`.
Slack allows 100 blocks in a home view: the domain returns at most
:data:`outreach.metrics.HOME_CAMPAIGNS` campaigns, one section each, and the rest are
counted with a pointer to ``/scaleup campaign list``.
"""

from __future__ import annotations

from handlers.blocks import Block, actions, button, context, esc, header, text
from handlers.campaign_blocks import STATE_LABELS, campaign_numbers_line
from handlers.limits import clip
from handlers.mailbox_blocks import CONNECT_START, DISCONNECT_START, mailbox_value, state_line
from outreach.keys import MailboxKey
from outreach.mailboxes import MailboxStatus
from outreach.metrics import CampaignSummary, UserCampaigns

#: Slack's limit of blocks in a home view, and what this part may use of it.
HOME_BLOCKS = 100
CAMPAIGN_BLOCKS = 30
NAME_CHARS = 200


def campaign_line(summary: CampaignSummary) -> str:
    """One campaign: name, state and sender, then its numbers (issue 10 item 5)."""
    return (
        f"*{esc(clip(summary.name, NAME_CHARS))}*: {STATE_LABELS.get(summary.state, summary.state)} "
        f"· from {esc(summary.sender)}\n{campaign_numbers_line(summary.numbers)}"
    )


def campaigns_section(mine: UserCampaigns) -> list[Block]:
    """The "Your campaigns" part, newest first: at most ``CAMPAIGN_BLOCKS`` blocks."""
    blocks: list[Block] = [{"type": "divider"}, text("*Your campaigns*")]
    if not mine.shown:
        blocks.append(
            text(
                "None yet: campaigns you create, that send from your mailbox or that you "
                "are delegated for show here. Set one up with `/scaleup campaign create`."
            )
        )
        return blocks
    blocks += [text(campaign_line(summary)) for summary in mine.shown[: CAMPAIGN_BLOCKS - 3]]
    hidden = mine.total - min(len(mine.shown), CAMPAIGN_BLOCKS - 3)
    if hidden > 0:
        blocks.append(context(f"and {hidden:,} more — `/scaleup campaign list`"))
    return blocks


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


# -- App Home ----------------------------------------------------------------------------
def home(status: MailboxStatus | None, campaigns: list[Block] | None = None) -> Block:
    """The App Home tab: the user's mailbox and what they can do with it."""
    blocks: list[Block] = [
        header("ScaleUp outreach"),
        text("*Your Outlook mailbox*"),
    ]
    if status is None:
        blocks += [
            text("Not connected. Connect it to send campaigns from your own address."),
            actions(button("Connect Outlook", CONNECT_START, style="primary")),
        ]
    else:
        blocks.append(text(state_line(status) + f"\nSender name: {esc(status.sender_name)}"))
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
