"""Placeholder until this subcommand lands: answers that it is not available yet."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, Respond
from slack_sdk import WebClient

from handlers import blocks
from handlers.deps import Deps


def route(
    ack: Ack, command: dict[str, Any], respond: Respond, client: WebClient, deps: Deps, *args: Any
) -> None:
    sub = (command.get("text") or "").split()[0]
    ack(
        text=f"`/scaleup {sub}` is not available yet.",
        blocks=blocks.help_blocks(f"`/scaleup {sub}` is not available in this version yet."),
    )
