"""Block Kit for ``campaign preview`` and ``campaign test``: each step as a candidate
gets it, with its send time on the candidate's clock. Pure functions of data."""

from __future__ import annotations

from handlers.blocks import Block, context, esc, text
from handlers.blocks import count as _count
from handlers.campaign_blocks import STATE_LABELS
from handlers.limits import TEXT_BUDGET, clip
from outreach.previews import Preview, PreviewStep
from outreach.states import CampaignState, OutboxState

PREVIEW_BODY_CHARS = 2800  # a section holds 3000; the rest is the truncation note
PREVIEW_MAX_STEPS = 15  # 3 blocks a step plus head and foot stay under Slack's 50


def campaign_preview(preview: Preview) -> list[Block]:
    """Each step as the candidate gets it, with its send time on the candidate's clock.

    Bodies are plain text blocks, so nothing the recruiter or a CSV wrote is read as
    mrkdwn; long ones are cut with a note saying the email itself goes out whole.
    """
    state = STATE_LABELS.get(preview.campaign_state, preview.campaign_state)
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
