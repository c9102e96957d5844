"""Block Kit for the create-campaign modal: up to five steps and the send window.

A pure function of data. Its callback and block ids live here so the listener that reads
the submitted form (:mod:`handlers.campaign_views`) cannot drift from the builder.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from handlers.blocks import (
    Block,
    count,
    input_block,
    modal,
    number_input,
    option,
    static_select,
    text,
)
from outreach.schedule import MAX_DAILY_CAP
from outreach.shortlists import ShortlistSummary

CAMPAIGN_MODAL = "campaign_modal"

NAME, SHORTLIST, SENDER, CHANNEL = "name", "shortlist", "sender", "channel"
DAYS, START, END, TIMEZONE, DAILY_CAP, MIN_GAP = (
    "days",
    "start",
    "end",
    "timezone",
    "daily_cap",
    "min_gap",
)
MAX_STEPS, REQUIRED_STEPS = 5, 1
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")  # ISO weekday = index + 1
DEFAULT_ZONE = "Europe/London"
TIME_ZONES = (
    "UTC",
    "Europe/London", "Europe/Dublin", "Europe/Lisbon", "Europe/Paris", "Europe/Berlin",
    "Europe/Amsterdam", "Europe/Madrid", "Europe/Rome", "Europe/Zurich", "Europe/Stockholm",
    "Europe/Warsaw", "Europe/Athens", "Europe/Helsinki", "Europe/Istanbul",
    "Africa/Lagos", "Africa/Cairo", "Africa/Johannesburg",
    "Asia/Dubai", "Asia/Kolkata", "Asia/Singapore", "Asia/Hong_Kong", "Asia/Shanghai",
    "Asia/Tokyo", "Asia/Seoul", "Australia/Perth", "Australia/Sydney", "Pacific/Auckland",
    "America/Sao_Paulo", "America/Mexico_City", "America/Toronto", "America/New_York",
    "America/Chicago", "America/Denver", "America/Phoenix", "America/Los_Angeles",
    "America/Vancouver",
)  # fmt: skip


def step_block(number: int, part: str) -> str:
    """The block id of step ``number``'s ``part``: subject, body, wait or new_thread."""
    return f"step{number}_{part}"


def _step_blocks(number: int) -> list[Block]:
    optional = number > REQUIRED_STEPS
    title = f"*Step {number}*" + (" (optional)" if optional else "")
    blocks: list[Block] = [
        {"type": "divider"},
        text(title if number > 1 else title + ": the first email"),
    ]
    if number > 1:
        blocks.append(
            input_block(
                step_block(number, "wait"),
                "Wait (business days)",
                number_input(3, 0, 60),
                hint=f"After step {number - 1}, if the candidate has not replied.",
                optional=optional,
            )
        )
    blocks.append(
        input_block(
            step_block(number, "subject"),
            "Subject",
            {"type": "plain_text_input", "max_length": 255},
            hint="Leave it empty to send this step as a reply to the previous email."
            if number > 1
            else "",
            optional=optional,
        )
    )
    blocks.append(
        input_block(
            step_block(number, "body"),
            "Body",
            {"type": "plain_text_input", "multiline": True, "max_length": 3000},
            hint="Variables: {{ first_name }}, {{ sender_name }}, any shortlist column."
            if number == 1
            else "",
            optional=optional,
        )
    )
    if number > 1:
        blocks.append(
            input_block(
                step_block(number, "new_thread"),
                "Threading",
                {
                    "type": "checkboxes",
                    "options": [option("Send as a new email instead of a reply", "new")],
                },
                optional=True,
            )
        )
    return blocks


def campaign_modal(
    shortlists: Sequence[ShortlistSummary],
    senders: Sequence[tuple[int, str]],
    zone: str,
    metadata: dict[str, Any],
) -> Block:
    """The create-campaign modal: up to 5 steps (only step 1 required) and the send window.

    The channel picker starts on the channel the command was typed in, if any."""
    lists = [
        option(f"{s.name} ({count(s.candidates, 'candidate')})", str(s.id)) for s in shortlists
    ]
    mailboxes = [option(email, str(mailbox_id)) for mailbox_id, email in senders]
    zones = [zone, *(z for z in TIME_ZONES if z != zone)] if zone not in TIME_ZONES else TIME_ZONES
    days = [option(day, str(index)) for index, day in enumerate(WEEKDAYS, start=1)]
    blocks: list[Block] = [
        input_block(NAME, "Campaign name", {"type": "plain_text_input", "max_length": 80}),
        input_block(SHORTLIST, "Shortlist", static_select(lists, lists[0] if len(lists) == 1 else None)),
        input_block(
            SENDER, "Send from", static_select(mailboxes, mailboxes[0] if len(mailboxes) == 1 else None)
        ),
        input_block(
            CHANNEL,
            "Post replies in",
            {
                "type": "conversations_select",
                "default_to_current_conversation": True,
                "filter": {"include": ["public", "private"], "exclude_bot_users": True},
            },
            hint="The campaign gets a thread there; candidates' replies land in it.",
        ),
    ]
    for number in range(1, MAX_STEPS + 1):
        blocks += _step_blocks(number)
    blocks += [
        {"type": "divider"},
        text("*When to send*"),
        input_block(DAYS, "Days", {"type": "checkboxes", "options": days, "initial_options": days[:5]}),
        input_block(START, "From", {"type": "timepicker", "initial_time": "09:00"}),
        input_block(END, "Until", {"type": "timepicker", "initial_time": "17:00"}),
        input_block(
            TIMEZONE,
            "Campaign time zone",
            static_select([option(z, z) for z in zones], option(zone, zone)),
            hint="Used for candidates whose row has no time zone.",
        ),
        input_block(DAILY_CAP, "Emails per day at most", number_input(200, 1, MAX_DAILY_CAP)),
        input_block(
            MIN_GAP,
            "Seconds between emails at least",
            number_input(60, 0, 3600),
            hint="Spacing sends looks like a person and keeps within Outlook's limits.",
        ),
    ]
    return modal(CAMPAIGN_MODAL, "New campaign", "Create draft", metadata, blocks)
