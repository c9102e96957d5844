"""Events API listeners (Bolt acks events before these run)."""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from handlers import home_blocks
from handlers.deps import Deps

log = logging.getLogger(__name__)


def register(app: App, deps: Deps) -> None:
    app.event("app_home_opened")(partial(home_opened, deps=deps))
    app.event("app_uninstalled")(partial(uninstalled, deps=deps))
    app.event("tokens_revoked")(partial(tokens_revoked, deps=deps))


def home_opened(event: dict[str, Any], body: dict[str, Any], client: WebClient, deps: Deps) -> None:
    if event.get("tab", "home") != "home":
        return
    publish_home(client, deps, body["team_id"], event["user"])


def publish_home(client: WebClient, deps: Deps, team_id: str, user_id: str) -> None:
    """(Re)draw the user's App Home: their mailbox, then their campaigns with numbers."""
    status = deps.connections.status(team_id, user_id)
    campaigns = home_blocks.campaigns_section(deps.campaigns.of_user(team_id, user_id))
    client.views_publish(user_id=user_id, view=home_blocks.home(status, campaigns))


def uninstalled(body: dict[str, Any], deps: Deps) -> None:
    """The app was removed: delete everything the workspace had here."""
    count = deps.erasure.wipe_workspace(body["team_id"])
    log.info("app uninstalled from %s: wiped %d mailbox(es)", body["team_id"], count)


def tokens_revoked(event: dict[str, Any], body: dict[str, Any], deps: Deps) -> None:
    """Revoking the bot token ends the installation, so its data goes too."""
    if event.get("tokens", {}).get("bot"):
        uninstalled(body, deps)
