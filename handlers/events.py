"""Events API listeners (Bolt acks events before these run)."""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from handlers import blocks
from handlers.deps import Deps

log = logging.getLogger(__name__)


def register(app: App, deps: Deps) -> None:
    app.event("app_home_opened")(partial(home_opened, deps=deps))
    app.event("app_uninstalled")(partial(uninstalled, deps=deps))
    app.event("tokens_revoked")(partial(tokens_revoked, deps=deps))


def home_opened(event: dict[str, Any], body: dict[str, Any], client: WebClient, deps: Deps) -> None:
    if event.get("tab", "home") != "home":
        return
    status = deps.mailboxes.status(body["team_id"], event["user"])
    client.views_publish(user_id=event["user"], view=blocks.home(status))


def uninstalled(body: dict[str, Any], deps: Deps) -> None:
    """The app was removed: delete everything the workspace had here."""
    count = deps.mailboxes.wipe_workspace(body["team_id"])
    log.info("app uninstalled from %s: wiped %d mailbox(es)", body["team_id"], count)


def tokens_revoked(event: dict[str, Any], body: dict[str, Any], deps: Deps) -> None:
    """Revoking the bot token ends the installation, so its data goes too."""
    if event.get("tokens", {}).get("bot"):
        uninstalled(body, deps)
