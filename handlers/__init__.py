"""Slack listeners. One registration point; each kind of listener has its own module."""

from __future__ import annotations

from slack_bolt import App

from handlers import actions, commands, events, views
from handlers.deps import Deps

__all__ = ["Deps", "register"]


def register(app: App, deps: Deps) -> None:
    commands.register(app, deps)
    actions.register(app, deps)
    views.register(app, deps)
    events.register(app, deps)
