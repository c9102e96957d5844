"""File uploads in the sandbox Slack, the way ``files.uploadV2`` does them.

slack_sdk's ``WebClient.files_upload_v2`` makes three calls, and so does Slack:

1. ``files.getUploadURLExternal`` (``filename``, ``length`` in bytes; scope ``files:write``)
   answers ``upload_url`` and ``file_id``
   (https://api.slack.com/methods/files.getUploadURLExternal);
2. a ``POST`` of the raw bytes to ``upload_url``, answered 200 ``OK - <bytes>``;
3. ``files.completeUploadExternal`` (``files`` = JSON list of ``{"id", "title"}``, optional
   ``channel_id``, ``initial_comment``, ``thread_ts``; scope ``files:write``) makes the
   files real and, with a channel, shares them there as one message with ``files`` and
   ``initial_comment`` as its text (https://api.slack.com/methods/files.completeUploadExternal).
   A file id that was never uploaded fails the whole call (the sandbox says
   ``file_not_found``); a file not shared anywhere stays private to the app.
"""

from __future__ import annotations

import copy
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any

from flask import Response, request

from bot.sandbox.slack import JSON, StoredFile, Workspace, new_id
from bot.sandbox.slack_surfaces import Refused

_FILETYPES = {"csv": "csv", "tsv": "tsv", "txt": "text"}


@dataclass
class PendingUpload:
    """A file between ``getUploadURLExternal`` and ``completeUploadExternal``."""

    team_id: str
    file_id: str
    filename: str
    length: int
    content: bytes | None = None


class FilesApi:
    """The ``files.*`` upload methods of the sandbox Slack; mixed into ``SlackSandbox``."""

    _lock: Any
    _files: dict[str, StoredFile]
    _messages: dict[str, list[JSON]]
    _changed: Any

    @property
    def _uploads(self) -> dict[str, PendingUpload]:
        if not hasattr(self, "_uploads_state"):
            self._uploads_state: dict[str, PendingUpload] = {}
        return self._uploads_state

    def uploaded_files(self, team_id: str | None = None) -> list[StoredFile]:
        """Files the bot uploaded and completed, oldest first."""
        with self._lock:
            done = {p.file_id for p in self._uploads.values()}
            return [
                copy.deepcopy(f)
                for file_id, f in self._files.items()
                if file_id in done and team_id in (None, f.team_id)
            ]

    def _files_get_upload_url(self, ws: Workspace, args: JSON) -> JSON:
        filename, length = str(args.get("filename") or ""), str(args.get("length") or "")
        if not filename or not length.isdigit() or int(length) < 1:
            raise Refused("invalid_arguments", ["filename and a length of 1 or more are required"])
        upload_id = secrets.token_urlsafe(16)
        file_id = new_id("F")
        self._uploads[upload_id] = PendingUpload(ws.team_id, file_id, filename, int(length))
        base = self.url  # type: ignore[attr-defined]
        return {"upload_url": f"{base}/upload/v1/{upload_id}", "file_id": file_id}

    def _receive_upload(self, upload_id: str) -> Response:
        """Step 2: the bytes, raw (slack_sdk) or as a multipart ``file`` field."""
        # urllib (slack_sdk) labels raw bytes as a form; read them before any form parsing.
        if request.mimetype == "multipart/form-data":
            sent = request.files.get("file")
            data = sent.read() if sent is not None else b""
        else:
            data = request.get_data(parse_form_data=False)
        with self._lock:
            pending = self._uploads.get(upload_id)
            if pending is None:
                return Response("not_found", 404, mimetype="text/plain")
            pending.content = data
        return Response(f"OK - {len(data)}", 200, mimetype="text/plain")

    def _files_complete_upload(self, ws: Workspace, args: JSON) -> JSON:
        try:
            wanted = json.loads(str(args.get("files") or "[]"))
        except ValueError:
            wanted = None
        if not isinstance(wanted, list) or not wanted:
            raise Refused("invalid_arguments", ["files must be a JSON array of {id, title}"])
        by_id = {p.file_id: p for p in self._uploads.values() if p.team_id == ws.team_id}
        chosen = [(by_id.get(str((w or {}).get("id"))), w) for w in wanted]
        if any(p is None or p.content is None for p, _ in chosen):
            raise Refused("file_not_found")
        channel = None
        if args.get("channel_id"):
            channel = self._channel(ws, args["channel_id"])  # type: ignore[attr-defined]
        objects = []
        for pending, item in chosen:
            assert pending is not None and pending.content is not None
            kind = pending.filename.rpartition(".")[2].lower()
            self._files[pending.file_id] = StoredFile(
                ws.team_id,
                ws.bot_user_id,
                pending.filename,
                pending.content,
                _FILETYPES.get(kind, kind or "binary"),
                int(time.time()),
            )
            found = self.file_object(pending.file_id)  # type: ignore[attr-defined]
            found["title"] = str(item.get("title") or pending.filename)
            objects.append(found)
        if channel is not None:
            message = self._bot_message(  # type: ignore[attr-defined]
                ws, {"text": str(args.get("initial_comment") or ""), "files": objects}
            )
            message["upload"] = True
            if args.get("thread_ts"):
                message["thread_ts"] = str(args["thread_ts"])
            self._messages.setdefault(channel, []).append(message)
        return {"files": [{"id": o["id"], "title": o["title"]} for o in objects]}
