"""The create-campaign modal's submission: every input error goes back on its own block.

Validation happens inside the ack, so it includes the create itself (a taken name and
template syntax are only known to the service); the reply after success is a message.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import time
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from slack_bolt import Ack, App
from slack_sdk import WebClient

from handlers import campaign_blocks as cb
from handlers import campaign_form
from handlers.blocks import esc
from handlers.campaign_commands import unquote
from handlers.channels import check_postable, field_error
from handlers.deps import Deps
from handlers.mrkdwn import marked
from handlers.views import tell
from outreach.campaign_lookup import campaign_name
from outreach.campaigns import CampaignSpec, StepSpec
from outreach.errors import (
    CampaignStateError,
    InvalidCampaignName,
    InvalidSendWindow,
    NotAllowed,
    OutreachError,
    TemplateSyntaxProblem,
)
from outreach.schedule import MAX_DAILY_CAP, SendWindow

_WHERE = re.compile(r"^Step (\d+) (subject|body)\b")
MAX_ERROR = 400  # Slack shows an input error under the field; keep it readable


def register(app: App, deps: Deps) -> None:
    app.view(campaign_form.CAMPAIGN_MODAL)(partial(campaign_submitted, deps=deps))


@dataclass
class Form:
    """The modal's values; ``errors`` maps block id to the sentence shown under it."""

    values: dict[str, dict[str, Any]]
    errors: dict[str, str] = field(default_factory=dict)

    def raw(self, block_id: str) -> dict[str, Any]:
        return next(iter(self.values.get(block_id, {}).values()), {})

    def text(self, block_id: str) -> str:
        return str(self.raw(block_id).get("value") or "").strip()

    def option(self, block_id: str) -> str:
        return str((self.raw(block_id).get("selected_option") or {}).get("value") or "")

    def options(self, block_id: str) -> list[str]:
        return [str(o.get("value")) for o in self.raw(block_id).get("selected_options") or []]

    def number(self, block_id: str, low: int, high: int, what: str) -> int:
        raw = self.text(block_id)
        try:
            value = int(raw)
        except ValueError:
            value = low - 1
        if not low <= value <= high:
            self.errors[block_id] = f"{what} must be a whole number from {low:,} to {high:,}."
        return value

    def clock(self, block_id: str) -> time:
        try:
            return time.fromisoformat(str(self.raw(block_id).get("selected_time") or ""))
        except ValueError:
            self.errors[block_id] = "Pick a time."
            return time(0)


def read_steps(form: Form) -> list[StepSpec]:
    """Step 1 must be filled; each later step counts when it has a subject or a body.

    A later step sent as a reply needs no subject of its own (it answers step 1's); one
    sent as a new email does.
    """
    steps: list[StepSpec] = []
    for number in range(1, campaign_form.MAX_STEPS + 1):
        subject_id, body_id = campaign_form.step_block(number, "subject"), campaign_form.step_block(number, "body")
        subject, body = form.text(subject_id), form.raw(body_id).get("value") or ""
        if number > campaign_form.REQUIRED_STEPS and not subject and not body.strip():
            continue
        if len(steps) < number - 1:
            form.errors[campaign_form.step_block(number - 1, "subject")] = (
                f"Fill in step {number - 1} before step {number}, or leave both empty."
            )
        wait, as_reply = 0, True
        if number > 1:
            wait = form.number(campaign_form.step_block(number, "wait"), 0, 60, "The wait")
            as_reply = "new" not in form.options(campaign_form.step_block(number, "new_thread"))
        if not subject and number == 1:
            form.errors[subject_id] = "Step 1 needs a subject."
        elif not subject and not as_reply:
            form.errors[subject_id] = f"Step {number} goes as a new email, so it needs a subject."
        if not body.strip():
            form.errors[body_id] = f"Step {number} needs a body."
        steps.append(StepSpec(subject, body, wait, as_reply))
    return steps


def read_form(
    values: dict[str, dict[str, Any]],
    shortlist_ids: set[int],
    mailbox_ids: set[int],
) -> tuple[CampaignSpec | None, dict[str, str]]:
    """The spec the modal describes, or the errors to show; ids must be the user's own."""
    form = Form(values)
    try:  # the domain's rule; marks commands strip (“…”, *…*) would make it unreachable
        name = campaign_name(unquote(form.text(campaign_form.NAME)))
    except InvalidCampaignName as exc:
        name, form.errors[campaign_form.NAME] = "", marked(exc.sentence)[:MAX_ERROR]
    shortlist = int(form.option(campaign_form.SHORTLIST) or 0)
    if shortlist not in shortlist_ids:
        form.errors[campaign_form.SHORTLIST] = "Pick one of this workspace's shortlists."
    mailbox = int(form.option(campaign_form.SENDER) or 0)
    if mailbox not in mailbox_ids:
        form.errors[campaign_form.SENDER] = "Pick a mailbox you may send from (`/scaleup connect` adds yours)."
    channel = str(form.raw(campaign_form.CHANNEL).get("selected_conversation") or "")
    if not channel:
        form.errors[campaign_form.CHANNEL] = "Pick the channel where replies should be posted."
    steps = read_steps(form)
    days = frozenset(int(d) for d in form.options(campaign_form.DAYS) if d.isdigit() and 1 <= int(d) <= 7)
    if not days:
        form.errors[campaign_form.DAYS] = "Pick at least one day to send on."
    start, end = form.clock(campaign_form.START), form.clock(campaign_form.END)
    zone = form.option(campaign_form.TIMEZONE)
    if not _known_zone(zone):
        form.errors[campaign_form.TIMEZONE] = "Pick a time zone."
    cap = form.number(campaign_form.DAILY_CAP, 1, MAX_DAILY_CAP, "The daily cap")
    gap = form.number(campaign_form.MIN_GAP, 0, 3600, "The gap")
    if form.errors:
        return None, form.errors
    try:
        window = SendWindow(days=days, start=start, end=end)
    except InvalidSendWindow as exc:
        return None, {campaign_form.END: marked(exc.sentence)[:MAX_ERROR]}
    spec = CampaignSpec(name, shortlist, mailbox, channel, steps, window, zone, cap, gap)
    return spec, {}


def _known_zone(zone: str) -> bool:
    if zone in campaign_form.TIME_ZONES:
        return True
    try:
        ZoneInfo(zone)  # the user's own zone, offered when not in the list
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return bool(zone)


def template_errors(problem: TemplateSyntaxProblem) -> dict[str, str]:
    """Each "Step N subject/body …" problem on that step's block; others on step 1."""
    errors: dict[str, list[str]] = {}
    for line in map(marked, problem.problems):
        where = _WHERE.match(line)
        block = campaign_form.step_block(int(where[1]), where[2]) if where else campaign_form.step_block(1, "body")
        errors.setdefault(block, []).append(line)
    return {block: "\n".join(lines)[:MAX_ERROR] for block, lines in errors.items()}


def campaign_submitted(
    ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient, deps: Deps
) -> None:
    team_id, user_id = body["user"]["team_id"], body["user"]["id"]
    shortlists = {s.id for s in deps.shortlists.summaries(team_id)}
    mailboxes = {mailbox_id for mailbox_id, _ in deps.campaigns.sender_choices(team_id, user_id)}
    spec, errors = read_form(view["state"]["values"], shortlists, mailboxes)
    if spec is None:
        ack(response_action="errors", errors=errors)
        return
    problem = check_postable(client, spec.channel_id)  # joins a public channel
    if problem is not None:
        ack(response_action="errors", errors={campaign_form.CHANNEL: field_error(problem)})
        return
    try:
        deps.campaigns.create(team_id, user_id, spec)  # checks who may send, in the domain
    except TemplateSyntaxProblem as exc:
        ack(response_action="errors", errors=template_errors(exc))
        return
    except CampaignStateError as exc:  # the name is taken
        ack(response_action="errors", errors={campaign_form.NAME: marked(exc.sentence)[:MAX_ERROR]})
        return
    except NotAllowed as exc:  # e.g. the mailbox was delegated for another campaign only
        ack(response_action="errors", errors={campaign_form.SENDER: marked(exc.sentence)[:MAX_ERROR]})
        return
    except OutreachError as exc:
        ack(response_action="errors", errors={campaign_form.NAME: marked(exc.sentence)[:MAX_ERROR]})
        return
    ack()
    metadata = json.loads(view.get("private_metadata") or "{}")
    name = esc(spec.name)
    summary = (
        f"Campaign {name} created (draft). Preview with `/scaleup campaign preview "
        f"{name}`, start with `/scaleup campaign start {name}`."
    )
    tell(client, user_id, metadata.get("channel_id"), summary, cb.campaign_created(spec.name))
