"""``/scaleup shortlist create|list|show`` and the import that follows the CSV modal."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from functools import partial
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from handlers import shortlist_blocks
from handlers.blocks import esc, paragraphs, sentence
from handlers.deps import Deps
from handlers.home_blocks import help_blocks
from handlers.import_report import attach_rejected, render
from handlers.mrkdwn import esc_message
from outreach.csvimport import CORE_COLUMNS
from outreach.errors import OutreachError
from outreach.shortlists import Shortlists

log = logging.getLogger(__name__)

USAGE = "Use `/scaleup shortlist create NAME`, `/scaleup shortlist list` or `/scaleup shortlist show NAME`."
PROGRESS_EVERY = 2.0  # seconds between progress edits: Slack allows ~1 message/s per channel


def register(app: App, deps: Deps) -> None:
    app.view(shortlist_blocks.SHORTLIST_MODAL)(partial(shortlist_submitted, deps=deps))


def route(
    ack: Ack,
    command: dict[str, Any],
    respond: Respond,
    client: WebClient,
    deps: Deps,
    args: list[str],
) -> None:
    """``shortlist <verb> [NAME]``; the name may contain spaces."""
    verb, name = (args[0].lower(), " ".join(args[1:]).strip()) if args else ("", "")
    team_id = command["team_id"]
    if verb == "create":
        if not name or len(name) > 80:
            ack(text="Name the shortlist (up to 80 characters): `/scaleup shortlist create NAME`.")
            return
        ack()
        client.views_open(
            trigger_id=command["trigger_id"],
            view=shortlist_blocks.shortlist_modal(name, command.get("channel_id")),
        )
    elif verb == "list":
        ack()
        respond(text="Shortlists", blocks=shortlist_blocks.shortlist_list(deps.shortlists.summaries(team_id)))
    elif verb == "show" and name:
        ack()
        respond(**show(deps.shortlists, team_id, name))
    else:
        ack(text=USAGE, blocks=help_blocks(USAGE))


def show(shortlists: Shortlists, team_id: str, name: str) -> dict[str, Any]:
    """The reply to ``shortlist show NAME``: count, columns and the first 10 candidates."""
    try:
        summary = shortlists.get(team_id, name)
    except OutreachError as exc:
        return {"text": esc_message(exc.sentence), "blocks": sentence(esc_message(exc.sentence))}
    sample = shortlists.sample(summary.id, 10)
    columns = list(CORE_COLUMNS) + (sorted(sample[0].variables) if sample else [])
    rows = [
        {
            "email": c.email,
            "name": " ".join(p for p in (c.first_name, c.last_name) if p),
            "timezone": c.timezone or "",
            "country": c.country or "",
        }
        for c in sample
    ]
    return {
        "text": f"Shortlist {summary.name}",
        "blocks": shortlist_blocks.shortlist_show(summary, columns, rows),
    }


def shortlist_submitted(
    ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient, deps: Deps
) -> None:
    """Ack at once (the import may take a while), then import with progress in a DM."""
    csv_text = view["state"]["values"][shortlist_blocks.CSV_BLOCK][shortlist_blocks.CSV_BLOCK].get("value") or ""
    if not csv_text.strip():
        ack(response_action="errors", errors={shortlist_blocks.CSV_BLOCK: "Paste the CSV, header row first."})
        return
    ack()
    metadata = json.loads(view.get("private_metadata") or "{}")
    run_import(
        client,
        deps.shortlists,
        body["user"]["team_id"],
        body["user"]["id"],
        metadata["name"],
        csv_text,
    )


class ProgressMessage:
    """Edits one message with import progress, at most once every ``every`` seconds."""

    def __init__(
        self,
        update: Callable[[str], object],
        name: str,
        every: float = PROGRESS_EVERY,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._update, self._name, self._every, self._clock = update, name, every, clock
        self._last = clock()

    def __call__(self, done: int, total: int) -> None:
        now = self._clock()
        if now - self._last >= self._every:
            self._last = now
            self._update(shortlist_blocks.importing(self._name, done, total))


def run_import(
    client: WebClient,
    shortlists: Shortlists,
    team_id: str,
    user_id: str,
    name: str,
    data: str | bytes,
) -> None:
    """Import ``data`` as shortlist ``name``, telling the user in a DM that ends with the report."""
    channel = client.conversations_open(users=user_id)["channel"]["id"]
    ts = client.chat_postMessage(channel=channel, text=shortlist_blocks.importing(name))["ts"]

    def edit(summary: str, blocks: list[Any] | None = None) -> bool:
        try:
            client.chat_update(channel=channel, ts=ts, text=summary, blocks=blocks or [])
        except SlackApiError as exc:  # progress is a courtesy; the report is retried below
            log.warning("could not update the import message: %s", exc.response.get("error"))
            return False
        return True

    attachment = None
    try:
        report = shortlists.import_csv(team_id, user_id, name, data, ProgressMessage(edit, name))
        rendered = render(report)
        summary, blocks = rendered.text, rendered.blocks
        attachment = rendered.filename
    except OutreachError as exc:
        summary = esc_message(exc.sentence)
        blocks = sentence(f"Nothing was imported into *{esc(name)}*. {summary}")
    except Exception:
        log.exception("importing shortlist %r failed", name)
        summary = f"Importing {esc(name)} failed unexpectedly; nothing was imported. Try again."
        blocks = sentence(summary)
    if not edit(summary[:3900], blocks):  # never leave the user with "Importing…"
        edit(summary[:3900], paragraphs(summary[:2900]))
    if attachment:
        failed = attach_rejected(client, channel, report, attachment)
        if failed:
            client.chat_postMessage(channel=channel, text=failed, blocks=sentence(failed))
