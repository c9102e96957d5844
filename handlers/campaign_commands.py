"""``/scaleup campaign …`` and the Pause/Resume/Stop buttons on a campaign's status.

Who may change, preview or test a campaign is decided in the domain, by
:mod:`outreach.permissions`; this module only asks Slack whether the person is a
workspace admin where that counts (pause and stop). Reading (status, list) is open to
the whole workspace. A button carries the campaign's id and acts on that campaign only.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from functools import partial
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from handlers import campaign_blocks as cb
from handlers import campaign_form, preview_blocks
from handlers import direct_views as dv
from handlers.blocks import context, esc, sentence, text
from handlers.channels import ChannelProblem, check_postable, start_refusal
from handlers.deps import Deps
from handlers.home_blocks import help_blocks
from handlers.mrkdwn import esc_message, marked
from handlers.people import is_workspace_admin
from outreach.campaign_lookup import CampaignRef
from outreach.campaigns import StartReport
from outreach.errors import CampaignCannotStart, CampaignNotFound, CampaignStateError, OutreachError
from outreach.states import CampaignState

log = logging.getLogger(__name__)

USAGE = (
    "Use `/scaleup campaign create`, `campaign list`, "
    "`campaign preview|test|start|pause|resume|stop|status NAME`, "
    "`campaign preview NAME EMAIL` or `campaign pause|resume NAME EMAIL`."
)
ZONE_LOOKUP_SECONDS = 0.8  # users.info must not eat the 3 s views.open trigger
_NEEDS_NAME = ("start", "pause", "resume", "stop", "status", "preview", "test")
#: Verbs a workspace admin may use on any campaign (see outreach.permissions).
_ADMIN_VERBS = ("pause", "stop")


#: Opening → closing marks a name may come wrapped in (escaped: they look alike).
_PAIRS = {
    '"': '"',
    "'": "'",
    "\u201c": "\u201d",  # “ ”
    "\u2018": "\u2019",  # single curly quotes
    "\u201e": "\u201c",  # „ “
    "\u00ab": "\u00bb",  # « »
    "*": "*",
    "`": "`",
    "_": "_",
}


def unquote(name: str) -> str:
    """A name as meant, whatever wraps it: straight or curly quotes, ``*bold*``,
    ``_italic_`` or backticks (“Backend Q4” → Backend Q4)."""
    name = name.strip()
    while len(name) >= 2 and _PAIRS.get(name[0]) == name[-1]:
        name = name[1:-1].strip()
    return name


def register(app: App, deps: Deps) -> None:
    for action_id in (cb.CAMPAIGN_PAUSE, cb.CAMPAIGN_RESUME, cb.CAMPAIGN_STOP):
        app.action(action_id)(partial(campaign_button, deps=deps))


def route(
    ack: Ack,
    command: dict[str, Any],
    respond: Respond,
    client: WebClient,
    deps: Deps,
    args: list[str],
) -> None:
    """``campaign <verb> [NAME] [EMAIL]``; a name may contain spaces, an email may not."""
    verb = args[0].lower() if args else ""
    rest = args[1:]
    email = (
        unquote(rest.pop())
        if verb in ("pause", "resume", "preview") and len(rest) > 1 and "@" in rest[-1]
        else None
    )
    name = unquote(" ".join(rest))
    team_id, user_id = command["team_id"], command["user_id"]
    if verb == "create":
        ack()
        open_create_modal(client, deps, command["trigger_id"], team_id, user_id, respond, command)
    elif verb == "list":
        ack()
        respond(text="Campaigns", blocks=cb.campaign_list(deps.campaigns.names(team_id)))
    elif verb in _NEEDS_NAME and not name:
        ack(text=f"Name the campaign: `/scaleup campaign {verb} NAME`.")
    elif verb == "preview":
        ack()
        respond(**preview(deps, team_id, user_id, name, email))
    elif verb == "test":
        ack()
        answer = send_test(deps, team_id, user_id, name, client, command.get("channel_id"))
        if answer is not None:  # None: the DM with the bot is the answer
            respond(**answer)
    elif verb == "start":
        ack()
        start(respond, client, deps, team_id, user_id, name)
    elif verb in ("pause", "resume", "stop", "status"):
        ack()
        try:
            reply, summary = change(deps, client, team_id, user_id, verb, name, email)
        except OutreachError as exc:
            reply, summary = sentence(esc_message(exc.sentence)), esc_message(exc.sentence)
        respond(text=summary, blocks=reply)
    else:
        ack(text=USAGE, blocks=help_blocks(USAGE))


def change(
    deps: Deps,
    client: WebClient,
    team_id: str,
    user_id: str,
    verb: str,
    ref: CampaignRef,
    email: str | None = None,
) -> tuple[list[Any], str]:
    """Apply ``verb`` (pause, resume, stop or status) to the campaign ``ref`` names (a
    typed name or a button's key) and the reply: blocks and a summary."""
    campaigns = deps.campaigns
    status = campaigns.status(team_id, ref)
    if verb == "status":
        return cb.campaign_status(status), f"Campaign {status.name}: {status.state}"
    admin = verb in _ADMIN_VERBS and is_workspace_admin(client, user_id)
    target = status.key or status.name  # exactly the campaign just found
    if email is not None:
        if verb == "pause":
            campaigns.pause_candidate(team_id, user_id, target, email, is_admin=admin)
        else:
            campaigns.resume_candidate(team_id, user_id, target, email)
        done = "paused" if verb == "pause" else "resumed"
        note = f"{esc(email)} {done} in *{esc(status.name)}*"
        if verb == "pause":
            note += "; nothing more is sent to them until you resume them."
        return [text(note)], note
    if verb == "pause":
        campaigns.pause(team_id, user_id, target, is_admin=admin)
        note = f":double_vertical_bar: Paused *{esc(status.name)}*; nothing is sent until you resume it."
    elif verb == "resume":
        campaigns.resume(team_id, user_id, target)
        note = f":arrow_forward: Resumed *{esc(status.name)}*; paused emails go out in the next send window."
    else:
        cancelled = campaigns.stop(team_id, user_id, target, is_admin=admin)
        note = f":black_square_for_stop: Stopped *{esc(status.name)}*; {cancelled:,} unsent emails cancelled."
    return cb.campaign_status(campaigns.status(team_id, target), note), note


def preview(deps: Deps, team_id: str, user_id: str, name: str, email: str | None) -> dict[str, Any]:
    """The reply to ``campaign preview NAME [EMAIL]``: every step and when it goes out."""
    try:
        shown = deps.campaigns.preview(team_id, user_id, name, email)
    except OutreachError as exc:
        return {"text": esc_message(exc.sentence), "blocks": sentence(esc_message(exc.sentence))}
    return {
        "text": f"Preview of {shown.campaign} for {shown.email}",
        "blocks": preview_blocks.campaign_preview(shown),
    }


def send_test(
    deps: Deps, team_id: str, user_id: str, name: str, client: WebClient, channel_id: str | None
) -> dict[str, Any] | None:
    """``campaign test NAME``: step 1 is queued to the user's own mailbox and confirmed in
    the bot's DM, which the worker updates when it has gone; the reply where the command
    was typed (a refusal, or where to look; nothing more in the DM itself)."""
    try:
        status = deps.campaigns.status(team_id, name)
        outbox_id = deps.campaigns.send_test(team_id, user_id, status.name)
        own = deps.connections.status(team_id, user_id)
    except OutreachError as exc:
        return {"text": esc_message(exc.sentence), "blocks": sentence(esc_message(exc.sentence))}
    to = own.email if own else "your mailbox"
    summary = f"A test of step 1 is on its way to {to}."
    queued = [*preview_blocks.campaign_test_queued(to, status.sender), context(dv.UPDATED_WHEN_SENT)]
    dm = dv.confirm_in_dm(client, deps, user_id, outbox_id, summary, queued, channel_id)
    if dm is None or dm == channel_id:
        return None
    pointer = dv.confirmed_in_dm(esc(summary))
    return {"text": pointer, "blocks": [text(pointer)]}


def start(
    respond: Respond, client: WebClient, deps: Deps, team_id: str, user_id: str, name: str
) -> None:
    """Start once the bot can post in the campaign's channel (joining a public one); the
    parent message is posted before the start commits, so it exists before any send."""
    try:
        status = deps.campaigns.status(team_id, name)
    except OutreachError as exc:
        respond(text=esc_message(exc.sentence), blocks=sentence(esc_message(exc.sentence)))
        return
    drafted = status.state == CampaignState.DRAFT
    problem = check_postable(client, status.channel_id) if drafted else None
    if problem is not None:
        refusal = start_refusal(status.name, status.channel_id, problem)
        respond(text=refusal, blocks=sentence(refusal))
        return

    def announce(report: StartReport) -> str:
        parent = cb.campaign_started_parent(status.name, user_id, status.sender, report)
        posted = client.chat_postMessage(
            channel=status.channel_id, text=parent, blocks=cb.parent_blocks(parent)
        )
        return str(posted["ts"])

    try:
        report = deps.campaigns.start(team_id, user_id, name, announce=announce)
    except CampaignCannotStart as exc:
        refused = esc_message(exc.sentence)
        respond(text=refused[:3000], blocks=sentence(refused))
        return
    except OutreachError as exc:
        respond(text=esc_message(exc.sentence), blocks=sentence(esc_message(exc.sentence)))
        return
    except SlackApiError as exc:  # the channel changed between the check and the post
        log.warning("campaign %s: no parent message (%s)", name, exc.response.get("error"))
        refusal = start_refusal(status.name, status.channel_id, ChannelProblem("invite"))
        respond(text=refusal, blocks=sentence(refusal))
        return
    reply = cb.campaign_started_reply(status.name, report, status.channel_id, True)
    respond(text=f"Campaign {status.name} started", blocks=reply)
    # A recruiter sending as someone else: the mailbox's owner hears of it and may revoke.
    deps.delegations.started(team_id, user_id, report.campaign_id, report.enrolled)


def open_create_modal(
    client: WebClient,
    deps: Deps,
    trigger_id: str,
    team_id: str,
    user_id: str,
    respond: Respond,
    command: dict[str, Any],
) -> None:
    """The create modal, or a sentence saying what to set up first."""
    pool = ThreadPoolExecutor(max_workers=1)
    zone = pool.submit(user_zone, client, user_id)  # in parallel with the two lookups
    pool.shutdown(wait=False)
    shortlists = deps.shortlists.summaries(team_id)
    senders = deps.campaigns.sender_choices(team_id, user_id)
    if not shortlists:
        respond(text="Create a shortlist first with `/scaleup shortlist create NAME`.")
        return
    if not senders:
        respond(text="Connect your Outlook mailbox first with `/scaleup connect`.")
        return
    try:
        tz = zone.result(timeout=ZONE_LOOKUP_SECONDS) or campaign_form.DEFAULT_ZONE
    except FutureTimeout:
        tz = campaign_form.DEFAULT_ZONE
    latest = sorted(shortlists, key=lambda s: s.updated_at, reverse=True)[:100]
    metadata = {"channel_id": command.get("channel_id")}
    client.views_open(trigger_id=trigger_id, view=campaign_form.campaign_modal(latest, senders, tz, metadata))


def user_zone(client: WebClient, user_id: str) -> str | None:
    """The user's IANA time zone from their Slack profile, if Slack says."""
    try:
        return str(client.users_info(user=user_id)["user"].get("tz") or "") or None
    except (SlackApiError, KeyError, TypeError):
        return None


def campaign_button(
    ack: Ack,
    body: dict[str, Any],
    action: dict[str, Any],
    respond: Respond,
    client: WebClient,
    deps: Deps,
) -> None:
    """Pause, Resume or Stop on a status message. The button carries the campaign's id;
    that campaign, in the clicker's own workspace, is the one changed, if the clicker may.
    A click on a campaign deleted or changed since, or one the clicker may not change,
    gets a sentence naming the campaign, and the message stays as it was."""
    ack()
    verb = {cb.CAMPAIGN_PAUSE: "pause", cb.CAMPAIGN_RESUME: "resume", cb.CAMPAIGN_STOP: "stop"}[
        action["action_id"]
    ]
    team_id, user_id = body["user"]["team_id"], body["user"]["id"]
    ref = cb.campaign_button_ref(action.get("value"))
    if ref is None:
        line = cb.OUTDATED_BUTTON
    else:
        key, name = ref
        try:
            reply, summary = change(deps, client, team_id, user_id, verb, key)
        except CampaignNotFound:
            line = cb.stale_campaign_button(name, verb, None)
        except CampaignStateError as exc:
            line = (
                cb.stale_campaign_button(exc.campaign, verb, exc.state)
                if exc.state
                else marked(exc.sentence)
            )
        except OutreachError as exc:
            line = marked(exc.sentence)
        else:
            respond(text=summary, blocks=reply, replace_original=True)
            return
    respond(text=line, blocks=sentence(esc_message(line)), replace_original=False)
