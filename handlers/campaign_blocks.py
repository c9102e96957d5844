"""Block Kit for campaigns: the replies to campaign commands, the Pause/Resume/Stop
buttons and the campaign's parent message in its channel.

Pure functions of data, like every builder on :mod:`handlers.blocks`. Action ids live
here so the listeners that read them cannot drift from the builders that write them.
The create-campaign modal is :mod:`handlers.campaign_form`, the preview
:mod:`handlers.preview_blocks`, shortlists :mod:`handlers.shortlist_blocks`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from handlers.blocks import (
    Block,
    actions,
    button,
    confirm_dialog,
    context,
    esc,
    paragraphs,
    text,
    when,
)
from handlers.blocks import count as _count
from handlers.limits import TEXT_BUDGET, clip, fit_lines
from outreach.campaigns import CampaignStatus, StartReport
from outreach.counters import ParentCounters
from outreach.keys import CampaignKey, campaign_key
from outreach.metrics import CampaignNumbers
from outreach.states import CampaignState

CAMPAIGN_PAUSE = "campaign_pause"
CAMPAIGN_RESUME = "campaign_resume"
CAMPAIGN_STOP = "campaign_stop"


# -- campaigns: replies ----------------------------------------------------------------------
#: How each campaign state reads in Slack: status, list, preview, the parent message, App Home.
STATE_LABELS: dict[str, str] = {
    CampaignState.DRAFT: ":white_circle: draft, not started",
    CampaignState.ACTIVE: ":large_green_circle: running",
    CampaignState.PAUSED: ":double_vertical_bar: paused",
    CampaignState.STOPPED: ":black_square_for_stop: stopped",
    CampaignState.COMPLETED: ":checkered_flag: completed",
}


def campaign_created(name: str) -> list[Block]:
    n = esc(name)
    return [
        text(
            f":white_check_mark: Campaign *{n}* created (draft). Preview with "
            f"`/scaleup campaign preview {n}`, start with `/scaleup campaign start {n}`."
        )
    ]


def campaign_list(campaigns: Sequence[tuple[str, str]]) -> list[Block]:
    if not campaigns:
        return [text("No campaigns yet. Create one with `/scaleup campaign create`.")]
    lines = [f"• *{esc(name)}*: {STATE_LABELS.get(state, state)}" for name, state in campaigns]
    shown = fit_lines(lines, TEXT_BUDGET - 200, "campaign")
    return [
        *paragraphs("\n".join(["*Campaigns*", *shown])),
        context("`/scaleup campaign status NAME` shows one with its numbers."),
    ]


def _tally(counts: dict[str, int]) -> str:
    return ", ".join(f"{n:,} {state}" for state, n in sorted(counts.items())) or "none"


def campaign_status(status: CampaignStatus, note: str | None = None) -> list[Block]:
    """The campaign with its numbers and the buttons its state allows."""
    blocks = [text(note)] if note else []
    blocks.append(
        text(
            f"*{esc(status.name)}*: {STATE_LABELS.get(status.state, status.state)}\n"
            f"Sender: {esc(status.sender)} · replies go to <#{status.channel_id}>\n"
            f"Candidates: {_tally(status.enrollments)}\n"
            f"Emails: {_tally(status.messages)}"
            + (f"\n{campaign_numbers_line(status.numbers)}" if status.numbers else "")
        )
    )
    buttons = []
    # A status without its key (not read from the database) gets no buttons that could miss.
    value = campaign_button_value(status.key, status.name) if status.key else None
    if value and status.state == CampaignState.ACTIVE:
        buttons.append(button("Pause", CAMPAIGN_PAUSE, value=value))
    if value and status.state == CampaignState.PAUSED:
        buttons.append(button("Resume", CAMPAIGN_RESUME, value=value, style="primary"))
    if value and status.state in (CampaignState.ACTIVE, CampaignState.PAUSED):
        buttons.append(
            button("Stop", CAMPAIGN_STOP, value=value, style="danger", confirm=_stop(status))
        )
    if buttons:
        blocks.append(actions(*buttons))
    elif status.state == CampaignState.DRAFT:
        blocks.append(context(f"Start it with `/scaleup campaign start {esc(status.name)}`."))
    return blocks


def campaign_numbers_line(n: CampaignNumbers) -> str:
    """Enrolled, sent per step, replies and outcomes, e.g. for ``campaign status``."""

    def pct(part: int, whole: int) -> str:
        share = n.percent(part, whole)
        return "n/a" if share is None else f"{share}%"

    steps = ", ".join(f"step {k}: {v:,}" for k, v in sorted(n.sent_per_step.items())) or "none"
    return (
        f"Enrolled {n.enrolled:,} · sent {steps}\n"
        f"Replied {n.replied:,} · interested {n.interested:,} ({pct(n.interested, n.enrolled)} "
        f"of enrolled, {pct(n.interested, n.replied)} of replies) · not interested "
        f"{n.not_interested:,}\n"
        f"Bounced {n.bounced:,} · unsubscribed {n.unsubscribed:,} · out of office "
        f"{n.out_of_office:,} · paused {n.paused:,} · failed {n.failed:,}"
    )


def campaign_button_value(key: CampaignKey, name: str) -> str:
    """What a Pause/Resume/Stop button carries: the campaign's key, which a campaign
    recreated under the same name does not share (see :mod:`outreach.keys`), and its
    name for the stale-click sentence. At most about 600 characters (Slack: 2,000)."""
    return json.dumps({"campaign": key.id, "created": key.created_at.isoformat(), "name": name})


def campaign_button_ref(value: object) -> tuple[CampaignKey, str] | None:
    """The (key, name) a campaign button carries, or None for anything else."""
    try:
        data = json.loads(str(value))
        key, name = campaign_key(data["campaign"], data["created"]), data["name"]
    except (ValueError, TypeError, KeyError, RecursionError):
        return None
    if key is None or not isinstance(name, str):
        return None
    return key, name


_STALE: dict[str, str] = {
    CampaignState.ACTIVE: "running",
    CampaignState.PAUSED: "paused",
    CampaignState.STOPPED: "stopped",
    CampaignState.COMPLETED: "completed",
    CampaignState.DRAFT: "a draft that has not started",
}
_ALREADY = {
    ("pause", CampaignState.PAUSED),
    ("resume", CampaignState.ACTIVE),
    ("stop", CampaignState.STOPPED),
    ("stop", CampaignState.COMPLETED),
}


def stale_campaign_button(name: str, verb: str, state: str | None) -> str:
    """The plain sentence for a click on a campaign that changed since the button was
    posted: deleted (``state`` None) or in a state the verb does not apply to."""
    if state is None:
        return (
            f"This button is for campaign '{name}', which was deleted; nothing changed. "
            "`/scaleup campaign list` shows the campaigns there are."
        )
    already = "already " if (verb, state) in _ALREADY else ""
    now = _STALE.get(state, state)
    return f"This button is for campaign '{name}', which is {already}{now}; nothing changed."


OUTDATED_BUTTON = (
    "This button is out of date. `/scaleup campaign status NAME` shows the campaign with "
    "buttons that work."
)


def _stop(status: CampaignStatus) -> Block:
    return confirm_dialog(
        "Stop the campaign?",
        f"Nothing more is sent in {clip(status.name, 200)}. This cannot be undone.",
        "Stop it",
        "Keep it",
    )


def campaign_started_parent(name: str, user_id: str, sender: str, report: StartReport) -> str:
    """The campaign's parent message in its channel; replies arrive in its thread."""
    first = f"first email at {when(report.first_send)}" if report.first_send else "nobody to email"
    return (
        f":mega: Campaign *{esc(name)}* started by <@{user_id}> from {esc(sender)}: "
        f"{_count(report.enrolled, 'candidate')}; {first}"
    )


def parent_blocks(parent: str, counters: ParentCounters | None = None) -> list[Block]:
    """The parent message's blocks: its line, then the campaign's live numbers."""
    return [text(parent), context(counters_line(counters) if counters else "Nothing sent yet.")]


def counters_line(counters: ParentCounters) -> str:
    """``Sent: step 1 12 · step 2 3 · failed 1 · pending 40``, replies once counted."""
    steps = " · ".join(f"step {p} {n:,}" for p, n in sorted(counters.sent_by_step.items()))
    parts = [f"Sent: {steps or 'none yet'}", f"failed {counters.failed:,}"]
    parts.append(f"pending {counters.pending:,}")
    if counters.replied is not None:
        parts.append(f"replied {counters.replied:,}")
    if counters.interested is not None:
        parts.append(f"interested {counters.interested:,}")
    return " · ".join(parts)


def campaign_parent(counters: ParentCounters) -> tuple[str, list[Block]]:
    """The parent message as the worker updates it: who started it, and the numbers."""
    by = f" started by <@{counters.started_by}>" if counters.started_by else ""
    line = (
        f":mega: Campaign *{esc(counters.name)}*{by} from {esc(counters.sender)}: "
        f"{_count(counters.enrolled, 'candidate')}"
    )
    if counters.state not in (CampaignState.ACTIVE, CampaignState.STARTING):
        line += f" ({STATE_LABELS.get(counters.state, counters.state)})"
    summary = f"{line} · {counters_line(counters)}"
    return summary, parent_blocks(line, counters)


def campaign_started_reply(
    name: str, report: StartReport, channel_id: str, posted: bool
) -> list[Block]:
    """What the starter sees: enrolled, and each skipped address with its reason."""
    where = (
        f"Replies will arrive in the thread in <#{channel_id}>."
        if posted
        else f":warning: I could not post in <#{channel_id}>: invite me there to see replies."
    )
    head = (
        f":rocket: *{esc(name)}* started: {_count(report.enrolled, 'candidate')} enrolled, "
        f"{len(report.skipped):,} skipped. {where}"
    )
    lines = [f"• {esc(email)}: {esc(why)}" for email, why in report.skipped]
    return paragraphs("\n".join([head, *fit_lines(lines, TEXT_BUDGET - 500, "skipped", "skipped")]))
