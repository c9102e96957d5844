"""The sandbox Slack's channels: the ``conversations.*`` methods and who may post where.

Slack keeps members per channel, and a bot is one member among others: it posts only
where it is (``chat:write.public`` lifts that for public channels and ``chat.postMessage``
only), joins public channels itself and is invited into private ones, which it cannot
even see from outside. Each method cites its page on docs.slack.dev.
"""

from __future__ import annotations

import base64
import copy
from typing import Any

from bot.sandbox.slack import JSON, SlackState, Workspace

#: The scope each conversation type needs to be read (conversations.list "types").
_READ_SCOPE = {
    "public_channel": "channels:read",
    "private_channel": "groups:read",
    "im": "im:read",
    "mpim": "mpim:read",
}


class SlackApiError(Exception):
    """A Web API call failed; ``body`` is the ``{"ok": false, ...}`` answer."""

    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.body: JSON = {"ok": False, "error": error, **extra}


def _need(ws: Workspace, scope: str) -> None:
    if scope not in ws.scopes:
        provided = ",".join(sorted(ws.scopes))
        raise SlackApiError("missing_scope", needed=scope, provided=provided)


def _kind(info: JSON) -> str:
    if info.get("is_im"):
        return "im"
    return "private_channel" if info.get("is_private") else "public_channel"


def _page(items: list[Any], args: JSON, key: str) -> JSON:
    """Cursor pagination as Slack does it: ``limit`` (default 100, at most 1,000), an
    opaque ``cursor``, and ``response_metadata.next_cursor`` empty on the last page
    (docs.slack.dev/apis/web-api/pagination)."""
    try:
        limit = int(args.get("limit") or 100)
    except (TypeError, ValueError):
        raise SlackApiError("invalid_limit") from None
    limit = min(max(limit, 1), 1000)
    cursor = str(args.get("cursor") or "")
    try:
        start = (
            int(base64.urlsafe_b64decode(cursor.encode()).decode().removeprefix("o:"))
            if (cursor)
            else 0
        )
    except ValueError:
        raise SlackApiError("invalid_cursor") from None
    end = start + limit
    following = base64.urlsafe_b64encode(f"o:{end}".encode()).decode() if end < len(items) else ""
    return {key: items[start:end], "response_metadata": {"next_cursor": following}}


class ChannelMethods(SlackState):
    """``conversations.*`` and the membership rules of ``chat.*``, on :class:`SlackState`."""

    # ---- rules shared with chat.* ---------------------------------------------------------

    def _conversation(self, ws: Workspace, channel_id: str) -> JSON:
        """The conversation object, as the bot sees it (``is_member`` is the bot's)."""
        info = ws.channels[channel_id]
        if info.get("is_im"):
            return {
                "id": channel_id,
                "is_im": True,
                "is_channel": False,
                "is_private": True,
                "user": info["user"],
                "is_archived": False,
            }
        return {
            "id": channel_id,
            "name": info["name"],
            "name_normalized": info["name"],
            "is_channel": True,
            "is_group": False,
            "is_im": False,
            "is_mpim": False,
            "is_private": bool(info.get("is_private")),
            "is_archived": bool(info.get("is_archived")),
            "is_general": False,
            "created": info.get("created", 0),
            "is_member": ws.bot_user_id in ws.members.get(channel_id, set()),
            "num_members": len(ws.members.get(channel_id, set())),
            "topic": {"value": "", "creator": "", "last_set": 0},
            "purpose": {"value": "", "creator": "", "last_set": 0},
            "previous_names": [],
        }

    def _seen(self, ws: Workspace, channel: Any) -> str:
        """The channel id the bot can see: a private channel it is not in does not exist
        for it (``channel_not_found``), as for anyone outside it."""
        if not isinstance(channel, str) or channel not in ws.channels:
            raise SlackApiError("channel_not_found")
        info = ws.channels[channel]
        if info.get("is_private") and not self.is_member(ws.team_id, channel, ws.bot_user_id):
            raise SlackApiError("channel_not_found")
        return channel

    def _may_post(self, ws: Workspace, channel_id: str, *, public_scope: bool = False) -> None:
        """Refuse a ``chat.*`` call where Slack refuses it: ``channel_not_found`` for a
        private channel the bot is not in, ``is_archived``, then ``not_in_channel`` for a
        public one it has not joined, unless ``public_scope`` (chat.postMessage with
        ``chat:write.public``: docs.slack.dev/reference/scopes/chat.write.public)."""
        self._seen(ws, channel_id)
        info = ws.channels[channel_id]
        if info.get("is_im"):
            return
        if info.get("is_archived"):
            raise SlackApiError("is_archived")
        if self.is_member(ws.team_id, channel_id, ws.bot_user_id):
            return
        if public_scope and "chat:write.public" in ws.scopes:
            return
        raise SlackApiError("not_in_channel")

    def invite(self, team_id: str, channel_id: str, inviter: str, users: list[str]) -> JSON:
        """``inviter`` adds ``users`` to the channel: the rules of conversations.invite
        (docs.slack.dev/reference/methods/conversations.invite), for the bot's own calls
        and for a person in the console typing ``/invite @ScaleUp``."""
        with self._lock:
            ws = self.workspace(team_id)
            info = ws.channels.get(channel_id)
            inside = self.is_member(team_id, channel_id, inviter)
            if info is None or info.get("is_im") or (info.get("is_private") and not inside):
                raise SlackApiError("channel_not_found")
            if info.get("is_archived"):
                raise SlackApiError("is_archived")
            if not inside:
                raise SlackApiError("not_in_channel")
            if not users:
                raise SlackApiError("no_user")
            if inviter in users:
                raise SlackApiError("cant_invite_self")
            for user in users:
                if user not in ws.users or ws.users[user].get("deleted"):
                    raise SlackApiError("user_not_found")
                if user in ws.members[channel_id]:
                    raise SlackApiError("already_in_channel")
            ws.members[channel_id].update(users)
            self._changed.notify_all()
            return self._conversation(ws, channel_id)

    # ---- the Web API methods --------------------------------------------------------------

    def _conversations_list(self, ws: Workspace, args: JSON) -> JSON:
        """docs.slack.dev/reference/methods/conversations.list: ``types`` (default
        ``public_channel``; each needs its read scope), ``exclude_archived``, cursor
        pagination. Private channels and DMs are listed only where the bot is a member."""
        types = [t.strip() for t in str(args.get("types") or "public_channel").split(",")]
        if any(t not in _READ_SCOPE for t in types):
            raise SlackApiError("invalid_types")
        for kind in types:
            _need(ws, _READ_SCOPE[kind])
        skip_archived = str(args.get("exclude_archived", "false")).lower() in ("1", "true")
        found = [
            self._conversation(ws, c)
            for c, info in sorted(ws.channels.items(), key=lambda item: item[0])
            if _kind(info) in types
            and not (skip_archived and info.get("is_archived"))
            and (_kind(info) == "public_channel" or self.is_member(ws.team_id, c, ws.bot_user_id))
        ]
        return _page(found, args, "channels")

    def _conversations_info(self, ws: Workspace, args: JSON) -> JSON:
        """docs.slack.dev/reference/methods/conversations.info: ``channel_not_found`` for a
        private channel the bot is not in; the read scope of the channel's type."""
        channel = self._seen(ws, args.get("channel"))
        _need(ws, _READ_SCOPE[_kind(ws.channels[channel])])
        return {"channel": self._conversation(ws, channel)}

    def _conversations_members(self, ws: Workspace, args: JSON) -> JSON:
        """docs.slack.dev/reference/methods/conversations.members: member ids, paginated."""
        channel = self._seen(ws, args.get("channel"))
        _need(ws, _READ_SCOPE[_kind(ws.channels[channel])])
        info = ws.channels[channel]
        members = (
            sorted({ws.bot_user_id, info["user"]})
            if info.get("is_im")
            else sorted(ws.members.get(channel, set()))
        )
        return _page(members, args, "members")

    def _conversations_join(self, ws: Workspace, args: JSON) -> JSON:
        """docs.slack.dev/reference/methods/conversations.join (``channels:join``): public
        channels only (``method_not_supported_for_channel_type``), not archived ones; joining
        again answers ok with the warning ``already_in_channel``."""
        _need(ws, "channels:join")
        channel = args.get("channel")
        if not isinstance(channel, str) or channel not in ws.channels:
            raise SlackApiError("channel_not_found")
        info = ws.channels[channel]
        if info.get("is_im") or info.get("is_private"):
            raise SlackApiError("method_not_supported_for_channel_type")
        if info.get("is_archived"):
            raise SlackApiError("is_archived")
        members = ws.members.setdefault(channel, set())
        if ws.bot_user_id in members:
            warning = "already_in_channel"
            return {
                "channel": self._conversation(ws, channel),
                "warning": warning,
                "response_metadata": {"warnings": [warning]},
            }
        members.add(ws.bot_user_id)
        return {"channel": self._conversation(ws, channel)}

    def _conversations_invite(self, ws: Workspace, args: JSON) -> JSON:
        """docs.slack.dev/reference/methods/conversations.invite with the bot inviting:
        ``channels:manage`` (public) or ``groups:write`` (private); see :meth:`invite`."""
        channel = str(args.get("channel") or "")
        info = ws.channels.get(channel, {})
        _need(ws, "groups:write" if info.get("is_private") else "channels:manage")
        users = [u.strip() for u in str(args.get("users") or "").split(",") if u.strip()]
        return {"channel": copy.deepcopy(self.invite(ws.team_id, channel, ws.bot_user_id, users))}
