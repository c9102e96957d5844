"""What a person did through the console, and the Slack driver that records it."""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import requests

from bot.sandbox.slack import JSON
from bot.sandbox.slack_driver import FORM, SlackDriver

__all__ = ["Draft", "Exchange", "RecordingDriver"]


@dataclass
class Exchange:
    """One thing the person did through the console, and the bot's immediate answer."""

    id: int
    user: str
    did: str  # in words: "/scaleup help", "clicked “Connect Outlook”"
    at: float
    source: str = ""  # for a click: what was clicked (see Where.source)
    status: int | None = None
    ack: JSON | None = None  # the ack body, when it is JSON
    ack_text: str = ""  # otherwise its text, e.g. an error page
    response_url: str | None = None
    problem: str | None = None


@dataclass
class Draft:
    """What the person typed into a modal the bot kept open with errors."""

    view_hash: str
    values: dict[str, Any]
    errors: dict[str, str]


class RecordingDriver(SlackDriver):
    """A SlackDriver that notes, per thread, the response_url it handed the bot, so the
    replies posted to it can be shown under the command or click that caused them."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._sent = threading.local()

    def post(
        self,
        body: str,
        content_type: str,
        *,
        timestamp: str | None = None,
        signature: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> requests.Response:
        if content_type == FORM:
            fields: dict[str, Any] = dict(parse_qsl(body))
            if "payload" in fields:
                fields = json.loads(fields["payload"])
            self._sent.url = fields.get("response_url")
        return super().post(
            body, content_type, timestamp=timestamp, signature=signature, headers=headers
        )

    def take_response_url(self) -> str | None:
        url = getattr(self._sent, "url", None)
        self._sent.url = None
        return str(url) if url else None
