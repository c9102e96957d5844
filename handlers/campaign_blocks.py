"""Block Kit for shortlists and campaigns: replies, the import report and the two modals.

Pure functions of data, like :mod:`handlers.blocks`. Action, callback and block ids live
here so the listeners that read them cannot drift from the builders that write them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from handlers.blocks import Block, actions, button, context, esc, text
from handlers.limits import LINE_CHARS, TEXT_BUDGET, clip, confirm_dialog, fit_lines, sections
from outreach.campaigns import CampaignStatus, StartReport
from outreach.counters import ParentCounters
from outreach.keys import CampaignKey, campaign_key
from outreach.metrics import CampaignNumbers
from outreach.previews import Preview, PreviewStep
from outreach.schedule import MAX_DAILY_CAP
from outreach.shortlists import ShortlistSummary
from outreach.states import CampaignState, OutboxState

# -- ids ----------------------------------------------------------------------------------
SHORTLIST_MODAL = "shortlist_modal"
CSV_BLOCK = "csv"

CAMPAIGN_MODAL = "campaign_modal"
CAMPAIGN_PAUSE = "campaign_pause"
CAMPAIGN_RESUME = "campaign_resume"
CAMPAIGN_STOP = "campaign_stop"

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
CSV_HINT = (
    "Columns: email (required), first_name, last_name, timezone, country; any other "
    "column becomes a template variable. Paste up to 3,000 characters."
)


def step_block(number: int, part: str) -> str:
    """The block id of step ``number``'s ``part``: subject, body, wait or new_thread."""
    return f"step{number}_{part}"


def paragraphs(
    markdown: str, most: int = LINE_CHARS, budget: int = TEXT_BUDGET, noun: str = "line"
) -> list[Block]:
    """Long mrkdwn as sections under Slack's 3,000-character limit, split at line ends;
    lines past ``budget`` characters in all are counted instead ("…and N more lines."),
    so the message stays under Slack's ~12,000 (see :mod:`handlers.limits`)."""
    return [text(chunk) for chunk in sections(fit_lines(markdown.splitlines(), budget, noun), most)]


def sentence(message: str) -> list[Block]:
    """A user-facing error sentence (already mrkdwn-safe) as blocks."""
    return paragraphs(f":x: {message}")


# -- shortlists -----------------------------------------------------------------------------
def shortlist_modal(name: str, channel_id: str | None) -> Block:
    """Paste a CSV; the name and where the command was typed ride in private_metadata."""
    return {
        "type": "modal",
        "callback_id": SHORTLIST_MODAL,
        "title": {"type": "plain_text", "text": "Import shortlist"},
        "submit": {"type": "plain_text", "text": "Import"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "private_metadata": json.dumps({"name": name, "channel_id": channel_id}),
        "blocks": [
            text(f"Candidates for *{esc(name)}*. Importing again updates them by email."),
            {
                "type": "input",
                "block_id": CSV_BLOCK,
                "label": {"type": "plain_text", "text": "CSV with a header row"},
                "hint": {"type": "plain_text", "text": CSV_HINT},
                "element": {
                    "type": "plain_text_input",
                    "action_id": CSV_BLOCK,
                    "multiline": True,
                    "max_length": 3000,
                    "placeholder": {
                        "type": "plain_text",
                        "text": "email,first_name,company\njane@example.com,Jane,Initech",
                    },
                },
            },
        ],
    }


def importing(name: str, done: int | None = None, total: int | None = None) -> str:
    if done is None or total is None:
        return f"Importing {esc(name)}…"
    return f"Importing {esc(name)}: imported {done:,} of {total:,} rows…"


def shortlist_list(summaries: Sequence[ShortlistSummary]) -> list[Block]:
    if not summaries:
        return [text("No shortlists yet. Import one with `/scaleup shortlist create NAME`.")]
    lines = [f"• *{esc(s.name)}*: {_count(s.candidates, 'candidate')}" for s in summaries]
    head = f"*Shortlists* ({len(summaries):,})" if len(summaries) > 1 else "*Shortlists*"
    shown = fit_lines(lines, TEXT_BUDGET - 200, "shortlist")
    return [*paragraphs("\n".join([head, *shown])), _show_hint()]


def _show_hint() -> Block:
    return context("`/scaleup shortlist show NAME` lists a shortlist's candidates.")


def shortlist_show(
    summary: ShortlistSummary, columns: Sequence[str], sample: Sequence[dict[str, str]]
) -> list[Block]:
    """Count, columns and the first candidates (``sample`` rows of core fields)."""
    head = f"*{esc(summary.name)}*: {_count(summary.candidates, 'candidate')}"
    if columns:
        named = ", ".join(f"`{esc(clip(c, 60))}`" for c in columns[:40])
        more = f" and {len(columns) - 40:,} more" if len(columns) > 40 else ""
        head += f"\nColumns: {named}{more}"
    rows = [
        "• "
        + esc(row["email"])
        + "".join(
            f" · {esc(clip(row[k], 100))}" for k in ("name", "timezone", "country") if row.get(k)
        )
        for row in sample
    ]
    first = [f"*First {len(rows)}:*", *rows] if rows else []
    return paragraphs("\n".join([head, *first]))


# -- campaigns: replies ----------------------------------------------------------------------
_STATES: dict[str, str] = {
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
    lines = [f"• *{esc(name)}*: {_STATES.get(state, state)}" for name, state in campaigns]
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
            f"*{esc(status.name)}*: {_STATES.get(status.state, status.state)}\n"
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


def when(moment: datetime) -> str:
    """A time every reader sees in their own time zone (the fallback is UTC)."""
    fallback = f"{moment:%Y-%m-%d %H:%M} UTC"
    return f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} at {{time}}|{fallback}>"


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
        line += f" ({_STATES.get(counters.state, counters.state)})"
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


# -- campaigns: preview and test -------------------------------------------------------------
PREVIEW_BODY_CHARS = 2800  # a section holds 3000; the rest is the truncation note
PREVIEW_MAX_STEPS = 15  # 3 blocks a step plus head and foot stay under Slack's 50


def campaign_preview(preview: Preview) -> list[Block]:
    """Each step as the candidate gets it, with its send time on the candidate's clock.

    Bodies are plain text blocks, so nothing the recruiter or a CSV wrote is read as
    mrkdwn; long ones are cut with a note saying the email itself goes out whole.
    """
    state = _STATES.get(preview.campaign_state, preview.campaign_state)
    head = (
        f"*Preview of {esc(preview.campaign)}* for {esc(preview.email)} ({state})\n"
        f"From {esc(preview.sender)} · times on the candidate's clock ({esc(preview.zone)}), "
        f"send window {esc(preview.window)}"
    )
    if preview.campaign_state != CampaignState.DRAFT and not preview.enrolled:
        head += "\n:information_source: This candidate is not enrolled in the campaign."
    blocks: list[Block] = [text(head)]
    shown = preview.steps[:PREVIEW_MAX_STEPS]
    titles = [
        clip(f"*Step {step.position}* · {_step_when(step)}\n*Subject:* {esc(step.subject)}", 1000)
        for step in shown
    ]
    # Slack refuses a message past ~12,000 characters: the bodies share what is left.
    left = TEXT_BUDGET - len(head) - sum(len(t) for t in titles) - 600
    each = max(200, min(PREVIEW_BODY_CHARS, left // max(1, len(shown))))
    for step, title in zip(shown, titles, strict=True):
        blocks += [{"type": "divider"}, text(title), _plain_section(_cut(step.body, each))]
    if len(preview.steps) > len(shown):
        blocks.append(context(f"…and {len(preview.steps) - len(shown)} more steps not shown."))
    blocks.append(
        context(
            "`/scaleup campaign preview NAME EMAIL` shows another candidate; "
            f"`/scaleup campaign test {esc(preview.campaign)}` emails step 1 to you."
        )
    )
    return blocks


def _step_when(step: PreviewStep) -> str:
    after = (
        f"{_count(step.wait_business_days, 'business day')} after step {step.position - 1} "
        "if there is no reply"
        if step.position > 1
        else ""
    )
    if step.state == OutboxState.SENT:
        return f"sent {step.local}"
    if step.state == "planned" and step.local:
        return step.local + (f" ({after})" if after else "")
    if step.state == "planned":
        return after or "once it can be scheduled"
    if step.state == OutboxState.PAUSED:
        return "paused: planned again when it is resumed"
    return f"{step.state}: it will not be sent"


def _cut(body: str, most: int = PREVIEW_BODY_CHARS) -> str:
    if len(body) <= most:
        return body
    rest = len(body) - most
    return (
        body[:most].rstrip()
        + f"\n… ({rest:,} more characters not shown here; the email goes out in full)"
    )


def _plain_section(value: str) -> Block:
    # Slack refuses an empty text object; a body of blanks still shows as a placeholder.
    shown = value if value.strip() else "(empty)"
    return {"type": "section", "text": {"type": "plain_text", "text": shown, "emoji": False}}


def campaign_test_queued(to: str, sender: str) -> list[Block]:
    """The reply to ``campaign test NAME``."""
    return [
        text(
            f":test_tube: A test of step 1 is on its way to {esc(to)}. It goes out from "
            f"{esc(sender)} within a minute, its subject starting with `[Test]`."
        )
    ]


def _count(number: int, noun: str) -> str:
    return f"{number:,} {noun}{'' if number == 1 else 's'}"


# -- the campaign modal ----------------------------------------------------------------------
def _input(
    block_id: str, label: str, element: Block, *, hint: str = "", optional: bool = False
) -> Block:
    block: Block = {
        "type": "input",
        "block_id": block_id,
        "label": {"type": "plain_text", "text": label},
        "element": {"action_id": block_id, **element},
        "optional": optional,
    }
    if hint:
        block["hint"] = {"type": "plain_text", "text": hint}
    return block


def _option(label: str, value: str) -> Block:
    return {"text": {"type": "plain_text", "text": label[:75]}, "value": value}


def _select(options: list[Block], initial: Block | None = None) -> Block:
    element: Block = {"type": "static_select", "options": options[:100]}
    if initial is not None:
        element["initial_option"] = initial
    return element


def _number(initial: int, low: int, high: int) -> Block:
    return {
        "type": "number_input",
        "is_decimal_allowed": False,
        "initial_value": str(initial),
        "min_value": str(low),
        "max_value": str(high),
    }


def _step_blocks(number: int) -> list[Block]:
    optional = number > REQUIRED_STEPS
    title = f"*Step {number}*" + (" (optional)" if optional else "")
    blocks: list[Block] = [
        {"type": "divider"},
        text(title if number > 1 else title + ": the first email"),
    ]
    if number > 1:
        blocks.append(
            _input(
                step_block(number, "wait"),
                "Wait (business days)",
                _number(3, 0, 60),
                hint=f"After step {number - 1}, if the candidate has not replied.",
                optional=optional,
            )
        )
    blocks.append(
        _input(
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
        _input(
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
            _input(
                step_block(number, "new_thread"),
                "Threading",
                {
                    "type": "checkboxes",
                    "options": [_option("Send as a new email instead of a reply", "new")],
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
        _option(f"{s.name} ({_count(s.candidates, 'candidate')})", str(s.id)) for s in shortlists
    ]
    mailboxes = [_option(email, str(mailbox_id)) for mailbox_id, email in senders]
    zones = [zone, *(z for z in TIME_ZONES if z != zone)] if zone not in TIME_ZONES else TIME_ZONES
    days = [_option(day, str(index)) for index, day in enumerate(WEEKDAYS, start=1)]
    blocks: list[Block] = [
        _input(NAME, "Campaign name", {"type": "plain_text_input", "max_length": 80}),
        _input(SHORTLIST, "Shortlist", _select(lists, lists[0] if len(lists) == 1 else None)),
        _input(
            SENDER, "Send from", _select(mailboxes, mailboxes[0] if len(mailboxes) == 1 else None)
        ),
        _input(
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
        _input(DAYS, "Days", {"type": "checkboxes", "options": days, "initial_options": days[:5]}),
        _input(START, "From", {"type": "timepicker", "initial_time": "09:00"}),
        _input(END, "Until", {"type": "timepicker", "initial_time": "17:00"}),
        _input(
            TIMEZONE,
            "Campaign time zone",
            _select([_option(z, z) for z in zones], _option(zone, zone)),
            hint="Used for candidates whose row has no time zone.",
        ),
        _input(DAILY_CAP, "Emails per day at most", _number(200, 1, MAX_DAILY_CAP)),
        _input(
            MIN_GAP,
            "Seconds between emails at least",
            _number(60, 0, 3600),
            hint="Spacing sends looks like a person and keeps within Outlook's limits.",
        ),
    ]
    return {
        "type": "modal",
        "callback_id": CAMPAIGN_MODAL,
        "title": {"type": "plain_text", "text": "New campaign"},
        "submit": {"type": "plain_text", "text": "Create draft"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "private_metadata": json.dumps(metadata),
        "blocks": blocks,
    }
