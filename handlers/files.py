"""Shortlist files shared in the DM with the bot: the modal's importer, for large files.

Slack caps a modal's text input at 3,000 characters, so a real shortlist comes as a file.
With the ``message.im`` subscription (scope ``im:history``) Slack sends every message of
the app's DMs; the one that matters here is a file share::

    {"type": "message", "subtype": "file_share", "channel_type": "im", "channel": "D…",
     "user": "U…", "text": "shortlist Backend Q4", "ts": "…", "event_ts": "…",
     "upload": true, "files": [{"id": "F…", "name": "backend.csv", "filetype": "csv", …}]}

- **Name.** The file's name without its extension (``Backend Q4.csv`` → ``Backend Q4``),
  unless a line of the message says ``shortlist NAME`` (or ``shortlist: NAME``); then
  every CSV file in the message goes into NAME (importing into an existing shortlist
  updates it by email, as the modal does).
- **Reading.** The event's file object may be a stub (``"file_access": "check_file_info"``
  in Slack Connect DMs), so ``files.info`` (scope ``files:read``) is asked, then
  ``url_private_download`` fetched with the workspace's bot token. Without a valid token
  Slack answers 200 with its sign-in page, so an HTML answer counts as refused.
- **Kind.** A ``.csv`` or ``.tsv`` file (Slack's ``filetype`` or the name) is imported; a
  text file of another name (Excel's "Unicode Text" is always ``.txt``) is downloaded and
  imported when its content has a header row with an email column in its first lines
  (:func:`outreach.csvdialect.looks_like_shortlist`); other files get a sentence.
- **Limits.** Files over :data:`MAX_FILE_BYTES` are refused with a sentence before download
  (and the download stops there if ``size`` was wrong); the parser caps rows at 50,000.
- **Not ours.** Messages from bots (this one's own posts included), other subtypes (plain
  text, edits of the import's progress message, deletions) and non-DM channels are
  ignored. They still match this listener: Bolt answers an unmatched event with 404,
  which Slack counts as a failed delivery and retries.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from functools import partial
from typing import Any

import requests
from slack_bolt import App, BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from handlers import blocks
from handlers.blocks import esc
from handlers.deps import Deps
from handlers.shortlist_commands import run_import
from outreach.csvdialect import looks_like_shortlist
from outreach.shortlists import Shortlists

log = logging.getLogger(__name__)

MAX_FILE_BYTES = 5 * 1024 * 1024
DOWNLOAD_TIMEOUT = 30.0  # seconds per read; Slack serves a 5 MB file in well under that
NO_HEADER = (
    "none of its first lines is a header row with an email column. "
    "Send the shortlist as a .csv file (File → Save as → CSV UTF-8)."
)
NOT_CSV = "Send the shortlist as a .csv file (File → Save as → CSV UTF-8)."
_CSV_TYPES = frozenset({"csv", "tsv"})  # the importer reads tab-separated files too
# Slack's filetypes for plain text, whose content decides (Excel's Unicode Text is .txt).
_TEXT_TYPES = frozenset({"text", "txt", "plain"})
_SHORTLIST_LINE = re.compile(r"^[ \t]*shortlist:?[ \t]+(\S.*?)\s*$", re.IGNORECASE | re.MULTILINE)


class DownloadRefused(Exception):
    """Slack did not hand over the file (the sign-in page instead, or an HTTP error)."""


class FileTooLarge(Exception):
    """The file is bigger than the import limit."""


def register(app: App, deps: Deps) -> None:
    app.event("message")(partial(dm_message, deps=deps))


def dm_message(event: dict[str, Any], context: BoltContext, client: WebClient, deps: Deps) -> None:
    """Import every file a person shares in the app's DM; ignore every other message."""
    user_id = event.get("user")
    if (
        event.get("subtype") != "file_share"
        or event.get("channel_type") != "im"
        or event.get("bot_id")
        or not user_id
        or user_id == context.bot_user_id
    ):
        return
    token = context.bot_token or client.token
    team_id = context.team_id or event.get("team") or ""
    name = shortlist_name(event.get("text") or "")
    for shared in event.get("files") or []:
        import_file(
            client,
            token or "",
            deps.shortlists,
            team_id=team_id,
            user_id=user_id,
            channel=event["channel"],
            file_id=shared["id"],
            name=name,
        )


def shortlist_name(text: str) -> str | None:
    """NAME from a ``shortlist NAME`` line of the message (Slack's escapes undone), or None."""
    found = _SHORTLIST_LINE.search(text)
    if not found:
        return None
    name = found.group(1).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return name.strip("*_~`\"' ") or None


def name_from_file(filename: str) -> str:
    """The file's name without its extension: ``Backend Q4.csv`` → ``Backend Q4``."""
    stem, dot, _ = filename.rpartition(".")
    return stem.strip() if dot and stem.strip() else filename.strip()


def is_csv(info: Mapping[str, Any]) -> bool:
    """Slack's ``filetype`` says CSV or TSV, or the name ends that way."""
    name = str(info.get("name") or "").lower()
    return info.get("filetype") in _CSV_TYPES or name.endswith((".csv", ".tsv"))


def may_be_text(info: Mapping[str, Any]) -> bool:
    """A plain-text file, whose content may be a shortlist: ``.txt``, or Slack says text."""
    name = str(info.get("name") or "").lower()
    return info.get("filetype") in _TEXT_TYPES or name.endswith((".txt", ".tab"))


def import_file(
    client: WebClient,
    token: str,
    shortlists: Shortlists,
    *,
    team_id: str,
    user_id: str,
    channel: str,
    file_id: str,
    name: str | None,
) -> None:
    """Fetch ``file_id`` and import it, or tell the user in ``channel`` why not."""
    try:
        info: dict[str, Any] = client.files_info(file=file_id)["file"]
    except SlackApiError as exc:
        error = str(exc.response.get("error"))
        log.warning("files.info %s failed: %s", file_id, error)
        refused = error in ("missing_scope", "not_allowed_token_type")
        _tell(client, channel, _refused("that file") if refused else _unreadable(error))
        return
    filename = str(info.get("name") or info.get("title") or file_id)
    if not is_csv(info) and not may_be_text(info):
        _tell(client, channel, f"*{esc(filename)}* is not a CSV file. {NOT_CSV}")
        return
    if int(info.get("size") or 0) > MAX_FILE_BYTES:
        _tell(client, channel, _too_large(filename))
        return
    try:
        data = download(str(info.get("url_private_download") or ""), token)
    except FileTooLarge:
        _tell(client, channel, _too_large(filename))
        return
    except (DownloadRefused, requests.RequestException) as exc:
        log.warning("downloading %s failed: %s", file_id, exc)
        _tell(client, channel, _refused(f"*{esc(filename)}*"))
        return
    if not is_csv(info) and not looks_like_shortlist(data):
        _tell(client, channel, f"*{esc(filename)}* does not look like a shortlist: {NO_HEADER}")
        return
    run_import(client, shortlists, team_id, user_id, name or name_from_file(filename), data)


def download(url: str, token: str, limit: int = MAX_FILE_BYTES) -> bytes:
    """The file at a ``url_private_download``, read with the bot token, at most ``limit`` bytes."""
    if not url:
        raise DownloadRefused("the file has no download link")
    headers = {"Authorization": f"Bearer {token}"}
    with requests.get(url, headers=headers, stream=True, timeout=DOWNLOAD_TIMEOUT) as response:
        if response.status_code != 200:
            raise DownloadRefused(f"HTTP {response.status_code}")
        if response.headers.get("Content-Type", "").startswith("text/html"):
            raise DownloadRefused("Slack answered with its sign-in page")
        chunks: list[bytes] = []
        received = 0
        for chunk in response.iter_content(chunk_size=64 * 1024):
            received += len(chunk)
            if received > limit:
                raise FileTooLarge()
            chunks.append(chunk)
    return b"".join(chunks)


def _too_large(filename: str) -> str:
    return (
        f"*{esc(filename)}* is larger than {MAX_FILE_BYTES // 2**20} MB, the most I import "
        "at once. Split it into smaller files and send each one."
    )


def _refused(what: str) -> str:
    return (
        f"Slack did not let me read {what}. Send it again; if this keeps happening, ask a "
        "workspace admin to reinstall ScaleUp so it may read files shared with it."
    )


def _unreadable(error: str) -> str:
    return f"I could not open that file in Slack ({esc(error)}). Share it again in this DM."


def _tell(client: WebClient, channel: str, sentence: str) -> None:
    client.chat_postMessage(channel=channel, text=sentence, blocks=blocks.sentence(sentence))
