"""Whether the bot can post in a campaign's channel, and the sentences when it cannot.

Slack lets a bot post only in channels it is a member of. ScaleUp joins a public channel
itself (``channels:join``) rather than asking for ``chat:write.public``: joining shows the
bot in the channel's member list, so people there see who posts the campaign's thread. A
private channel the bot is not in is invisible to it (``channel_not_found``): a member
has to invite it (``/invite @ScaleUp``).
"""

from __future__ import annotations

from dataclasses import dataclass

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from handlers.blocks import Block, context, esc

#: What chat.postMessage answers when the bot cannot post in a channel at all.
UNREACHABLE = ("not_in_channel", "channel_not_found", "is_archived")


@dataclass(frozen=True)
class ChannelProblem:
    """Why the bot cannot post in a channel: ``archived``, or it must be ``invite``-d."""

    kind: str
    name: str | None = None  # None: the bot cannot see the channel, so nor its name


def check_postable(client: WebClient, channel_id: str) -> ChannelProblem | None:
    """None once the bot can post in ``channel_id``, joining it first if it is public.

    conversations.info tells member, private or archived; an install made before
    ``channels:read`` was requested cannot ask, so it just tries to join.
    """
    try:
        info = client.conversations_info(channel=channel_id)["channel"]
    except SlackApiError as exc:
        if exc.response.get("error") == "channel_not_found":
            return ChannelProblem("invite")
        info = {"id": channel_id}
    name = info.get("name")
    if info.get("is_archived"):
        return ChannelProblem("archived", name)
    if info.get("is_im") or info.get("is_mpim"):
        return ChannelProblem("not_a_channel", name)
    if info.get("is_member"):
        return None
    if info.get("is_private"):
        return ChannelProblem("invite", name)
    try:
        client.conversations_join(channel=channel_id)
    except SlackApiError as exc:
        archived = exc.response.get("error") == "is_archived"
        return ChannelProblem("archived" if archived else "invite", name)
    return None


def field_error(problem: ChannelProblem) -> str:
    """The plain-text error under the modal's channel picker."""
    where = f"#{problem.name}" if problem.name else "that channel"
    if problem.kind == "archived":
        return f"{where} is archived: pick another channel."
    if problem.kind == "not_a_channel":
        return "Pick a channel: the campaign's thread can't live in a direct message."
    return f"Invite @ScaleUp to {where} first (/invite @ScaleUp in the channel), or pick another."


def start_refusal(campaign: str, channel_id: str, problem: ChannelProblem) -> str:
    """The mrkdwn sentence when ``campaign start`` finds its channel out of reach."""
    head = f"*{esc(campaign)}* did not start: nothing was sent, because"
    if problem.kind == "archived":
        return (
            f"{head} <#{channel_id}> is archived and its thread could not be posted. "
            "Unarchive the channel, or create the campaign again with another one."
        )
    return (
        f"{head} I can't post its thread in <#{channel_id}>. Invite @ScaleUp there "
        "(`/invite @ScaleUp` in the channel), then start it again."
    )


def unreachable_note(channel_id: str, error: str | None) -> Block:
    """Under a thread notice sent to the campaign's owner instead of its thread."""
    why = "it is archived" if error == "is_archived" else "I am not a member any more"
    return context(
        f":warning: I could not post this in the campaign's thread in <#{channel_id}>: {why}. "
        "Invite @ScaleUp there (`/invite @ScaleUp`) so the thread gets the next ones."
    )
