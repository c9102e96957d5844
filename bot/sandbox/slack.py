"""What the sandbox Slack holds: workspaces, people, messages, views, and every call made.

:class:`SlackState` is the side tests set up and read; ``slack_api.SlackSandbox`` adds the
HTTP side (Web API, response_url, OAuth, file downloads) on top of it, and
``slack_driver.SlackDriver`` plays the Slack client that sends the bot interactions.
Bolt runs listener bodies on threads after the ack, so tests read through
:meth:`SlackState.wait_for`, which polls.

Thread-safe: one re-entrant lock guards all state, because the HTTP server answers
on several threads while a test reads.
"""

from __future__ import annotations

import copy
import secrets
import string
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

JSON = dict[str, Any]
T = TypeVar("T")

# The bot scopes of app_manifest.yaml (a test keeps them equal), so a method the manifest
# does not cover fails here with ``missing_scope`` as it would in a real install.
DEFAULT_SCOPES = (
    "commands",
    "chat:write",
    "im:write",
    "users:read",
    "users:read.email",
    "im:history",
    "files:read",
    "channels:read",
    "groups:read",
    "channels:join",
    "files:write",
)
_ALNUM = string.ascii_uppercase + string.digits


def new_id(prefix: str) -> str:
    """A Slack-looking id: ``T``/``U``/``C``/``D``/``V``/``F`` plus 10 characters."""
    return prefix + "".join(secrets.choice(_ALNUM) for _ in range(10))


@dataclass
class Call:
    """One Web API call as the sandbox received it (the token taken out of ``params``)."""

    method: str
    params: JSON
    token: str | None
    at: float
    response: JSON = field(default_factory=dict)


@dataclass
class Workspace:
    """One workspace with the app installed: the bot's credentials, people and channels."""

    team_id: str
    name: str
    domain: str
    bot_token: str
    bot_user_id: str
    bot_id: str
    app_id: str
    scopes: set[str]
    users: dict[str, JSON] = field(default_factory=dict)
    channels: dict[str, JSON] = field(default_factory=dict)
    dms: dict[str, str] = field(default_factory=dict)  # user id -> D channel id
    members: dict[str, set[str]] = field(default_factory=dict)  # C channel id -> user ids


@dataclass
class Trigger:
    """A ``trigger_id`` handed to the bot in an interaction."""

    team_id: str
    user_id: str
    issued: float  # time.monotonic()
    used: bool = False
    channel_id: str | None = None  # the conversation the person was in, if any


@dataclass
class ResponseUrl:
    """A response_url; ``message_ts`` names the in-channel message it may replace."""

    team_id: str
    user_id: str
    channel_id: str
    message_ts: str | None
    issued: float  # time.monotonic()
    uses: int = 0


@dataclass
class StoredFile:
    """A file a member uploaded."""

    team_id: str
    user_id: str
    name: str
    content: bytes
    filetype: str
    created: int

    @property
    def mimetype(self) -> str:
        return {"csv": "text/csv", "txt": "text/plain"}.get(
            self.filetype, "application/octet-stream"
        )


@dataclass
class OAuthCode:
    """A code from the install consent, exchanged once by ``oauth.v2.access``."""

    team_id: str
    user_id: str
    scopes: list[str]
    redirect_uri: str
    used: bool = False


class SlackState:
    """Everything the sandbox Slack holds, how tests set it up, and how they read it.

    ``trigger_ttl`` (3 s, as Slack) and ``response_url_ttl`` (30 min) are knobs a test
    may change at any time; ``deny_installs`` makes the OAuth consent answer "Cancel".
    """

    def __init__(
        self,
        *,
        client_id: str = "1111.2222",
        client_secret: str = "sandbox-client-secret",
        app_id: str | None = None,
        trigger_ttl: float = 3.0,
        response_url_ttl: float = 1800.0,
    ) -> None:
        self.client_id, self.client_secret = client_id, client_secret
        self.app_id = app_id or new_id("A")  # one app, installed in every workspace
        self.trigger_ttl, self.response_url_ttl = trigger_ttl, response_url_ttl
        self.deny_installs = False
        self._url: str | None = None
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._workspaces: dict[str, Workspace] = {}
        self._tokens: dict[str, str] = {}  # live bot token -> team id
        self._revoked: set[str] = set()
        self._calls: list[Call] = []
        self._messages: dict[str, list[JSON]] = {}
        self._ephemeral: list[JSON] = []
        self._views: dict[str, JSON] = {}
        self._stacks: dict[str, list[str]] = {}  # user id -> open modal view ids, root first
        self._homes: dict[str, str] = {}  # user id -> home view id
        self._opened_in: dict[str, str] = {}  # modal view id -> conversation it was opened in
        self._triggers: dict[str, Trigger] = {}
        self._response_urls: dict[str, ResponseUrl] = {}
        self._responses: list[tuple[str, JSON]] = []
        self._files: dict[str, StoredFile] = {}
        self._codes: dict[str, OAuthCode] = {}
        self._rate_limits: dict[str, int] = {}
        self._last_ts = 0.0

    # ---- where it runs -------------------------------------------------------------

    @property
    def url(self) -> str:
        """Base URL (no trailing slash) once served; response_urls and file links use it."""
        if self._url is None:
            raise RuntimeError("the Slack sandbox has no URL yet: call serve() or set .url")
        return self._url

    @url.setter
    def url(self, value: str) -> None:
        self._url = value.rstrip("/")

    @property
    def api_url(self) -> str:
        """``SLACK_API_URL``: ends in ``/`` because WebClient joins method names onto it."""
        return f"{self.url}/api/"

    @property
    def authorize_url(self) -> str:
        """Where "Add to Slack" sends the browser (Bolt's ``OAuthSettings.authorization_url``)."""
        return f"{self.url}/oauth/v2/authorize"

    # ---- setting up ------------------------------------------------------------------

    def add_workspace(
        self,
        team_id: str | None = None,
        name: str = "Sandbox",
        *,
        scopes: tuple[str, ...] = DEFAULT_SCOPES,
    ) -> Workspace:
        """A workspace with the app installed: a fresh ``xoxb-`` token, bot user and bot id."""
        with self._lock:
            team_id = team_id or new_id("T")
            domain = "".join(c for c in name.lower() if c.isalnum()) or "sandbox"
            ws = Workspace(
                team_id, name, domain, "", new_id("U"), new_id("B"), self.app_id, set(scopes)
            )
            self._workspaces[team_id] = ws
            self._issue_bot_token(ws)
            ws.users[ws.bot_user_id] = {
                "id": ws.bot_user_id,
                "team_id": team_id,
                "name": "scaleup",
                "is_bot": True,
                "deleted": False,
                "profile": {"real_name": "ScaleUp", "bot_id": ws.bot_id},
            }
            return ws

    def workspace(self, team_id: str) -> Workspace:
        """The workspace ``team_id``; the KeyError names those that exist."""
        with self._lock:
            if team_id not in self._workspaces:
                raise KeyError(f"no workspace {team_id}; have {sorted(self._workspaces)}")
            return self._workspaces[team_id]

    def add_user(
        self,
        team_id: str,
        user_id: str | None = None,
        *,
        name: str,
        real_name: str,
        email: str | None = None,
        tz: str = "Europe/Berlin",
        is_admin: bool = False,
        is_owner: bool = False,
    ) -> JSON:
        """A member as ``users.info`` shows it; ``email=None``: an address the bot can't see;
        ``is_admin``/``is_owner``: a workspace admin or owner."""
        now = datetime.now(ZoneInfo(tz))
        offset = now.utcoffset()
        with self._lock:
            ws = self.workspace(team_id)
            user_id = user_id or new_id("U")
            profile: JSON = {"real_name": real_name, "display_name": name, "team": team_id}
            if email is not None:
                profile["email"] = email
            ws.users[user_id] = {
                "id": user_id,
                "team_id": team_id,
                "name": name,
                "real_name": real_name,
                "deleted": False,
                "is_bot": False,
                "is_admin": is_admin or is_owner,  # Slack: every owner is an admin too
                "is_owner": is_owner,
                "tz": tz,
                "tz_label": now.tzname(),
                "tz_offset": int(offset.total_seconds()) if offset else 0,
                "profile": profile,
            }
            return copy.deepcopy(ws.users[user_id])

    def user(self, team_id: str, user_id: str) -> JSON:
        """A member as added (with e-mail); the LookupError tells the test to add it."""
        with self._lock:
            ws = self.workspace(team_id)
            if user_id not in ws.users:
                raise LookupError(f"no user {user_id} in {team_id}: add it with add_user()")
            return copy.deepcopy(ws.users[user_id])

    def add_channel(
        self,
        team_id: str,
        name: str,
        *,
        private: bool = False,
        members: tuple[str, ...] | None = None,
        bot: bool = True,
    ) -> str:
        """The channel ``#name`` (made if new) with ``members`` and, if ``bot``, the bot in it.

        A new channel gets every person of the workspace when ``members`` is None. Names are
        unique in a workspace, as in Slack, so asking again for an existing name returns that
        channel, now with ``members`` and the bot added: tests say "a channel the bot is in".
        """
        with self._lock:
            ws = self.workspace(team_id)
            found = next((c for c, i in ws.channels.items() if i.get("name") == name), None)
            if found is None:
                found = new_id("C")  # private channels too, since 2021
                ws.channels[found] = {
                    "id": found,
                    "name": name,
                    "is_private": private,
                    "is_archived": False,
                    "created": int(time.time()),
                }
                people = [u for u, info in ws.users.items() if not info.get("is_bot")]
                ws.members[found] = set(people if members is None else members)
            else:
                ws.members[found].update(members or ())
            if bot:
                ws.members[found].add(ws.bot_user_id)
            self._changed.notify_all()
            return found

    def channel_id(self, team_id: str, name: str) -> str:
        """The id of ``#name`` (with or without the ``#``); the KeyError names those there are."""
        with self._lock:
            ws = self.workspace(team_id)
            by_name = {i["name"]: c for c, i in ws.channels.items() if "name" in i}
            if name.lstrip("#") not in by_name:
                raise KeyError(f"no channel #{name.lstrip('#')}; have {sorted(by_name)}")
            return by_name[name.lstrip("#")]

    def channel_members(self, team_id: str, channel_id: str) -> list[str]:
        """Who is in the channel (the bot too, when it is), sorted."""
        with self._lock:
            return sorted(self.workspace(team_id).members.get(channel_id, set()))

    def is_member(self, team_id: str, channel_id: str, user_id: str) -> bool:
        """Whether ``user_id`` is in the channel; the bot's DM with a person has both."""
        with self._lock:
            ws = self.workspace(team_id)
            info = ws.channels.get(channel_id, {})
            if info.get("is_im"):
                return user_id in (ws.bot_user_id, info.get("user"))
            return user_id in ws.members.get(channel_id, set())

    def remove_member(self, team_id: str, channel_id: str, user_id: str) -> None:
        """``user_id`` leaves (or is removed from) the channel, as ``/remove @ScaleUp`` does."""
        with self._lock:
            self.workspace(team_id).members.get(channel_id, set()).discard(user_id)
            self._changed.notify_all()

    def archive_channel(self, team_id: str, channel_id: str) -> None:
        """Archive the channel: nothing can be posted in it or joined any more."""
        with self._lock:
            self.workspace(team_id).channels[channel_id]["is_archived"] = True
            self._changed.notify_all()

    def visible_channels(self, team_id: str, user_id: str) -> list[JSON]:
        """The channels ``user_id`` sees in a channel picker, by name: every public channel
        and the private ones they are in; archived ones are left out, as Slack's picker does."""
        with self._lock:
            ws = self.workspace(team_id)
            return sorted(
                (
                    copy.deepcopy(info)
                    for c, info in ws.channels.items()
                    if not info.get("is_im")
                    and not info.get("is_archived")
                    and (not info.get("is_private") or user_id in ws.members.get(c, set()))
                ),
                key=lambda info: str(info["name"]),
            )

    def channel_name(self, team_id: str, channel_id: str) -> str:
        """What Slack sends as ``channel_name`` (``directmessage`` for a DM)."""
        with self._lock:
            channel = self.workspace(team_id).channels.get(channel_id, {})
            return "directmessage" if channel.get("is_im") else str(channel.get("name", ""))

    def dm_channel(self, team_id: str, user_id: str) -> str:
        """The ``D…`` channel between the bot and ``user_id``; each app DM exists once."""
        with self._lock:
            ws = self.workspace(team_id)
            if user_id not in ws.dms:
                ws.dms[user_id] = channel_id = new_id("D")
                ws.channels[channel_id] = {"id": channel_id, "is_im": True, "user": user_id}
            return ws.dms[user_id]

    def add_file(
        self, team_id: str, user_id: str, name: str, content: bytes, filetype: str = "csv"
    ) -> str:
        """A file ``user_id`` uploaded; downloadable with the workspace's bot token."""
        with self._lock:
            file_id = new_id("F")
            self._files[file_id] = StoredFile(
                team_id, user_id, name, content, filetype, int(time.time())
            )
            return file_id

    def file_object(self, file_id: str, base_url: str | None = None) -> JSON:
        """The file as ``files.info`` and ``file_share`` message events show it."""
        with self._lock:
            f = self._files[file_id]
            path = f"{(base_url or self.url).rstrip('/')}/files-pri/{f.team_id}-{file_id}"
            return {
                "id": file_id,
                "created": f.created,
                "timestamp": f.created,
                "name": f.name,
                "title": f.name,
                "mimetype": f.mimetype,
                "filetype": f.filetype,
                "pretty_type": f.filetype.upper(),
                "user": f.user_id,
                "user_team": f.team_id,
                "mode": "hosted",
                "is_external": False,
                "size": len(f.content),
                "url_private": f"{path}/{f.name}",
                "url_private_download": f"{path}/download/{f.name}",
            }

    def revoke(self, team_id: str) -> None:
        """Revoke the workspace's bot token, as uninstalling the app does."""
        with self._lock:
            ws = self.workspace(team_id)
            self._tokens.pop(ws.bot_token, None)
            self._revoked.add(ws.bot_token)

    def rate_limit(self, method: str, retry_after: int = 1) -> None:
        """Answer the next call of ``method`` with HTTP 429 and ``Retry-After``, once."""
        with self._lock:
            self._rate_limits[method] = retry_after

    # ---- what the Slack client hands the bot -------------------------------------------

    def issue_trigger(self, team_id: str, user_id: str, channel_id: str | None = None) -> str:
        """A ``trigger_id`` as in an interaction payload: one use, ``trigger_ttl`` seconds;
        ``channel_id``: the conversation the person acted in (a modal opened with it knows
        its "current conversation")."""
        with self._lock:
            trigger_id = f"{int(time.time())}.{secrets.randbelow(10**10)}.{secrets.token_hex(16)}"
            self._triggers[trigger_id] = Trigger(
                team_id, user_id, time.monotonic(), channel_id=channel_id
            )
            return trigger_id

    def issue_response_url(
        self, team_id: str, user_id: str, channel_id: str, message_ts: str | None = None
    ) -> str:
        """A response_url; with ``message_ts`` it may replace or delete that message."""
        with self._lock:
            response_id = secrets.token_urlsafe(12)
            self._response_urls[response_id] = ResponseUrl(
                team_id, user_id, channel_id, message_ts, time.monotonic()
            )
            return f"{self.url}/response/{response_id}"

    def resolve_submission(self, user_id: str, view_id: str, ack: JSON | None) -> None:
        """Apply the bot's ack of a ``view_submission`` the way the Slack client does."""
        with self._lock:
            stack = self._stacks.get(user_id, [])
            if view_id not in stack:
                return
            action = (ack or {}).get("response_action")
            view = self._views[view_id]
            ws = self._workspaces[view["team_id"]]
            if action == "errors":
                pass  # the modal stays open, showing the errors
            elif action == "update" and ack is not None:
                self._store_view(
                    ws,
                    ack["view"],
                    view_id=view_id,
                    root=view["root_view_id"],
                    previous=view["previous_view_id"],
                )
            elif action == "push" and ack is not None:
                pushed = self._store_view(ws, ack["view"], root=stack[0], previous=stack[-1])
                stack.append(pushed["id"])
            elif action == "clear":
                stack.clear()
            else:  # an empty ack closes the submitted view and any pushed above it
                del stack[stack.index(view_id) :]
            self._changed.notify_all()

    # ---- what tests read -------------------------------------------------------------

    def calls(self, method: str | None = None) -> list[Call]:
        """Web API calls so far, oldest first, optionally of one method."""
        with self._lock:
            return [c for c in self._calls if method is None or c.method == method]

    def responses(self, response_id: str | None = None) -> list[JSON]:
        """Bodies posted to response_urls; an id or a whole response_url selects one."""
        wanted = response_id.rsplit("/", 1)[-1] if response_id else None
        with self._lock:
            return [copy.deepcopy(b) for rid, b in self._responses if wanted in (None, rid)]

    def messages(self, channel: str) -> list[JSON]:
        """Messages in ``channel`` as they stand now (updates applied, deletions gone)."""
        with self._lock:
            return copy.deepcopy(self._messages.get(channel, []))

    def message_channel(self, ts: str | None) -> str | None:
        """The channel holding the message ``ts``, or None (an ephemeral one, say)."""
        with self._lock:
            found = (c for c, ms in self._messages.items() if any(m["ts"] == ts for m in ms))
            return next(found, None)

    def dm_messages(self, team_id: str, user_id: str) -> list[JSON]:
        """Messages in the bot's DM with ``user_id``."""
        with self._lock:
            dm = self.workspace(team_id).dms.get(user_id)
            return self.messages(dm) if dm else []

    def ephemeral_messages(self, user_id: str | None = None) -> list[JSON]:
        """Messages sent by ``chat.postEphemeral`` (response_url ones are in responses())."""
        with self._lock:
            return [copy.deepcopy(m) for m in self._ephemeral if user_id in (None, m["user"])]

    def view(self, view_id: str) -> JSON | None:
        """A view ever opened, pushed or published, as it stands now."""
        with self._lock:
            found = self._views.get(view_id)
            return copy.deepcopy(found) if found else None

    def last_view(self, user_id: str) -> JSON | None:
        """The modal on top of ``user_id``'s screen, or None when no modal is open."""
        with self._lock:
            stack = self._stacks.get(user_id)
            return self.view(stack[-1]) if stack else None

    def view_conversation(self, view_id: str) -> str | None:
        """The conversation the modal ``view_id`` was opened from (None: App Home, say): what
        a ``conversations_select`` with ``default_to_current_conversation`` starts on."""
        with self._lock:
            view = self._views.get(view_id)
            return self._opened_in.get(view["root_view_id"]) if view else None

    def home_view(self, user_id: str) -> JSON | None:
        """The Home tab last published for ``user_id``."""
        with self._lock:
            view_id = self._homes.get(user_id)
            return self.view(view_id) if view_id else None

    def wait_for(self, predicate: Callable[[], T], timeout: float = 5.0) -> T:
        """Poll ``predicate`` until it returns something truthy, and return that."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                result = predicate()
                if result:
                    return result
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = ", ".join(c.method for c in self._calls[-10:]) or "none"
                    raise TimeoutError(f"not met within {timeout} s; last calls: {seen}")
                # Woken by every recorded change; the cap covers predicates on time.
                self._changed.wait(min(left, 0.05))

    # ---- shared by the HTTP side ---------------------------------------------------------

    def _issue_bot_token(self, ws: Workspace) -> None:
        ws.bot_token = f"xoxb-{secrets.randbelow(10**12)}-{secrets.token_hex(12)}"
        self._tokens[ws.bot_token] = ws.team_id

    def _next_ts(self) -> str:
        # A message ts is its id in Slack: unique in the channel and strictly increasing.
        self._last_ts = max(time.time(), self._last_ts + 0.000001)
        return f"{self._last_ts:.6f}"

    def _store_view(
        self,
        ws: Workspace,
        spec: JSON,
        *,
        view_id: str | None = None,
        root: str | None = None,
        previous: str | None = None,
    ) -> JSON:
        """Save ``spec`` as Slack returns views: with id, hash and an empty state."""
        view_id = view_id or new_id("V")
        self._views[view_id] = {
            "id": view_id,
            "team_id": ws.team_id,
            "type": spec["type"],
            "blocks": spec.get("blocks", []),
            "private_metadata": spec.get("private_metadata", ""),
            "callback_id": spec.get("callback_id", ""),
            "state": {"values": {}},
            "hash": f"{time.time():.6f}.{secrets.token_hex(4)}",
            "title": spec.get("title"),
            "clear_on_close": bool(spec.get("clear_on_close")),
            "notify_on_close": bool(spec.get("notify_on_close")),
            "close": spec.get("close"),
            "submit": spec.get("submit"),
            "previous_view_id": previous,
            "root_view_id": root or view_id,
            "app_id": ws.app_id,
            "external_id": spec.get("external_id", ""),
            "app_installed_team_id": ws.team_id,
            "bot_id": ws.bot_id,
        }
        return self._views[view_id]
