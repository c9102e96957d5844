"""The console's file upload: a person drops a file into their DM with ScaleUp.

In Slack, a file dropped into the app's DM is stored by Slack and the app gets the DM's
``message`` event with subtype ``file_share`` and the file object; the app reads the bytes
from ``url_private_download`` with its bot token. ``POST /console/upload`` (multipart:
``user``, ``file``, optional ``text`` typed with it) does the same: the sandbox Slack stores
the file (:meth:`~bot.sandbox.slack.SlackSandbox.add_file`) and the console's driver sends
the event (:meth:`~bot.sandbox.slack_driver.SlackDriver.share_file`) through the signed
Events API path. The body may be up to :data:`~bot.sandbox.console.origin.MAX_UPLOAD`
bytes, a route of its own in the console's body caps.
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import TYPE_CHECKING

from flask import Flask, request
from werkzeug.wrappers import Response

from bot.sandbox.console.origin import same_origin_only

if TYPE_CHECKING:
    from bot.sandbox.console.routes import Console

__all__ = ["filetype", "register"]

#: Slack's ``filetype`` for a file's extension (https://api.slack.com/types/file#types);
#: other extensions keep their own name, as Slack's do for most types.
_FILETYPES = {"csv": "csv", "tsv": "tsv", "txt": "text", "text": "text", "tab": "text"}


def filetype(name: str) -> str:
    """Slack's ``filetype`` for a file named ``name``: ``csv``, ``text`` for ``.txt``…,
    ``binary`` without an extension."""
    stem, dot, extension = name.rpartition(".")
    if not dot or not stem:
        return "binary"
    return _FILETYPES.get(extension.lower(), extension.lower())


def register(app: Flask, console: Console) -> None:
    """``POST /console/upload``: share a file in the person's DM with ScaleUp (through the
    console's own helpers: the person who posted, their notice, the driver, the way back)."""

    def upload() -> Response:
        user = console._posted_user()
        sent = request.files.get("file")
        # Browsers send a path on some systems: keep the file's own name, as Slack does.
        name = PurePosixPath((sent.filename or "").replace("\\", "/")).name if sent else ""
        content = sent.read() if sent is not None else b""
        if not name or not content:
            console._notice(user, "Choose a file that is not empty to share with ScaleUp.")
            return console._back(user)
        team = console.sandbox.workspace.team_id
        file_id = console.slack.add_file(team, user, name, content, filetype(name))
        text = request.form.get("text", "").strip()
        did = f"shared the file {name} in your DM with ScaleUp" + (f": {text}" if text else "")
        console._act(user, did, lambda d: d.share_file(user, file_id, text))
        return console._back(user)

    guarded = same_origin_only(lambda: console.slack.url, upload)
    app.add_url_rule("/console/upload", "console_upload", guarded, methods=["POST"])
