"""Slack listeners. One registration point; each kind of listener has its own module."""

from __future__ import annotations

from slack_bolt import App

from handlers import (
    actions,
    campaign_commands,
    campaign_views,
    commands,
    direct_views,
    events,
    files,
    reply_actions,
    shortlist_commands,
    team_actions,
    views,
)
from handlers.deps import Deps

__all__ = ["Deps", "register"]


def register(app: App, deps: Deps) -> None:
    commands.register(app, deps)
    actions.register(app, deps)
    views.register(app, deps)
    events.register(app, deps)
    shortlist_commands.register(app, deps)
    campaign_commands.register(app, deps)
    campaign_views.register(app, deps)
    direct_views.register(app, deps)
    team_actions.register(app, deps)
    files.register(app, deps)
    reply_actions.register(app, deps)
