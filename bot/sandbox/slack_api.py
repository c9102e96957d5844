"""The sandbox Slack's HTTP side: Web API, response_url, OAuth v2 install, file downloads.

It speaks Slack's wire format on loopback so the bot's own ``slack_sdk`` and Bolt code
runs unchanged, with ``SLACK_API_URL = sandbox.api_url``. Errors follow Slack: HTTP 200
with ``{"ok": false, "error": ...}``; only a rate limit (429 + ``Retry-After``) and
response_url failures (404 ``used_url``) use the HTTP status. Every message, view and
response_url body is checked as Slack checks it (``slack_surfaces.py`` over the Block Kit
rules of ``slack_blockkit.py``), so a 51-block message fails here, not first in production;
calls are rate limited per tier and per channel (``slack_rates.py``); ``files.uploadV2``'s
three steps are ``slack_files.py``.
"""

from __future__ import annotations

import copy
import json
import secrets
import time
from collections.abc import Callable
from functools import cached_property
from typing import Any
from urllib.parse import urlencode

from flask import Flask, Response, request

from bot.sandbox.server import RunningServer, serve
from bot.sandbox.slack import JSON, Call, OAuthCode, ResponseUrl, Trigger, Workspace
from bot.sandbox.slack_channels import ChannelMethods, SlackApiError
from bot.sandbox.slack_faults import SlackFaults
from bot.sandbox.slack_files import FilesApi
from bot.sandbox.slack_openid import OpenIDError, OpenIDProvider
from bot.sandbox.slack_rates import RateLimits
from bot.sandbox.slack_surfaces import Refused, checked_view, message_content

# The scope each method needs; without it Slack answers ``missing_scope``.
_NEEDED_SCOPE = {
    "chat.postMessage": "chat:write",
    "chat.update": "chat:write",
    "chat.postEphemeral": "chat:write",
    "conversations.open": "im:write",
    "users.info": "users:read",
    "users.lookupByEmail": "users:read.email",
    "files.info": "files:read",
    "files.getUploadURLExternal": "files:write",
    "files.completeUploadExternal": "files:write",
}
_LOGIN_PAGE = "<!DOCTYPE html><html><body><h1>Sign in to Slack</h1></body></html>"


def _invalid(error: str, problems: list[str]) -> SlackApiError:
    # Slack lists the reasons in response_metadata.messages, each prefixed "[ERROR]".
    messages = [f"[ERROR] {p}" for p in problems]
    return SlackApiError(error, errors=problems, response_metadata={"messages": messages})


class SlackSandbox(FilesApi, OpenIDProvider, ChannelMethods):
    """The Slack sandbox: :class:`SlackState` served over HTTP by ``wsgi_app``.

    Routes: ``/api/<method>`` (Web API), ``POST /response/<id>`` (response_url),
    ``GET /oauth/v2/authorize`` (install consent), ``/openid/connect/authorize`` (Sign in
    with Slack, ``slack_openid.py``), ``/files-pri/…`` (file downloads).
    """

    @cached_property
    def faults(self) -> SlackFaults:
        """Outages and rate limits on demand (``bot/sandbox/slack_faults.py``)."""
        return SlackFaults()

    @cached_property
    def wsgi_app(self) -> Flask:
        """The Flask app to serve; :meth:`serve` does it on loopback."""
        app = Flask("slack-sandbox")
        app.add_url_rule("/api/<method>", "api", self._api, methods=["GET", "POST"])
        app.add_url_rule("/response/<response_id>", "response", self._response, methods=["POST"])
        app.add_url_rule("/oauth/v2/authorize", "authorize", self._authorize)
        app.add_url_rule(
            "/openid/connect/authorize",
            "openid_authorize",
            self._openid_authorize,
            methods=["GET", "POST"],
        )
        app.add_url_rule("/files-pri/<key>/<path:name>", "file", self._download)
        app.add_url_rule("/upload/v1/<upload_id>", "upload", self._receive_upload, methods=["POST"])
        return app

    @cached_property
    def rate_limits(self) -> RateLimits:
        """Slack's tiers and per-channel posting limit (``slack_rates.py``); a knob for tests."""
        return RateLimits()

    def serve(self, **kwargs: Any) -> RunningServer:
        """Start on loopback (see :func:`bot.sandbox.server.serve`) and learn the URL."""
        running = serve(self.wsgi_app, name="slack-sandbox", **kwargs)
        self.url = running.url
        return running

    # ---- the Web API ------------------------------------------------------------------

    def _api(self, method: str) -> Response:
        # slack_sdk sends some methods as query string, some as form, views.* as JSON.
        args: JSON = dict(request.args.items())
        if request.is_json:
            body = request.get_json(silent=True)
            args.update(body if isinstance(body, dict) else {})
        else:
            args.update(request.form.items())
        for key in ("blocks", "attachments", "view", "metadata"):
            if isinstance(args.get(key), str):  # form callers send these as JSON strings
                try:
                    args[key] = json.loads(args[key])
                except ValueError:
                    pass  # stays a string; the method reports it malformed
        bearer = request.headers.get("Authorization", "")
        token = bearer[7:] if bearer.startswith("Bearer ") else args.get("token")
        args.pop("token", None)
        status, headers = 200, {}
        with self._lock:
            try:
                fault = self.faults.answer(method)
                if fault is not None:
                    status, headers = fault.status, dict(fault.headers)
                    raise SlackApiError(fault.error)
                retry_after = self._rate_limits.pop(method, None)
                if retry_after is not None:
                    status, headers = 429, {"Retry-After": str(retry_after)}
                    raise SlackApiError("ratelimited")
                if method == "oauth.v2.access":  # takes the app's id and secret, no token
                    body = {"ok": True, **self._oauth_access(args)}
                elif method == "openid.connect.token":  # the same
                    body = {"ok": True, **self._openid_token(args)}
                elif method == "openid.connect.userInfo":  # a Sign in with Slack token
                    body = {"ok": True, **self._openid_userinfo(token)}
                elif method not in _METHODS:
                    raise SlackApiError("unknown_method", req_method=method)
                else:
                    ws = self._authenticate(token)
                    headers["X-OAuth-Scopes"] = ",".join(sorted(ws.scopes))
                    needed = _NEEDED_SCOPE.get(method)
                    if needed and needed not in ws.scopes:
                        provided = ",".join(sorted(ws.scopes))
                        raise SlackApiError("missing_scope", needed=needed, provided=provided)
                    retry_after = self.rate_limits.check(ws.team_id, method, args.get("channel"))
                    if retry_after is not None:
                        status, headers = 429, {"Retry-After": str(retry_after)}
                        raise SlackApiError("ratelimited")
                    body = {"ok": True, **_METHODS[method](self, ws, args)}
            except Refused as e:
                body = (
                    _invalid(e.error, e.problems).body
                    if e.problems
                    else {"ok": False, "error": e.error}
                )
            except SlackApiError as e:
                body = e.body
            except OpenIDError as e:
                body = {"ok": False, "error": e.error}
            self._calls.append(Call(method, args, token, time.time(), body))
            self._changed.notify_all()
        return Response(json.dumps(body), status, headers, mimetype="application/json")

    def _authenticate(self, token: str | None) -> Workspace:
        if not token:
            raise SlackApiError("not_authed")
        if token in self._revoked:
            raise SlackApiError("token_revoked")
        if token not in self._tokens:
            raise SlackApiError("invalid_auth")
        return self._workspaces[self._tokens[token]]

    def _auth_test(self, ws: Workspace, args: JSON) -> JSON:
        return {
            "url": f"https://{ws.domain}.slack.com/",
            "team": ws.name,
            "user": "scaleup",
            "team_id": ws.team_id,
            "user_id": ws.bot_user_id,
            "bot_id": ws.bot_id,
            "is_enterprise_install": False,
        }

    def _auth_revoke(self, ws: Workspace, args: JSON) -> JSON:
        if str(args.get("test", "0")).lower() not in ("1", "true"):
            self.revoke(ws.team_id)
        return {"revoked": True}

    # ---- messages ---------------------------------------------------------------------

    def _channel(self, ws: Workspace, channel: Any) -> str:
        if isinstance(channel, str) and channel in ws.users:
            return self.dm_channel(ws.team_id, channel)  # a user id means the app DM
        if isinstance(channel, str) and channel.startswith("#"):
            by_name = {info.get("name"): c for c, info in ws.channels.items()}
            channel = by_name.get(channel[1:])
        if not isinstance(channel, str) or channel not in ws.channels:
            raise SlackApiError("channel_not_found")
        return channel

    def _content(self, args: JSON) -> JSON:
        """text/blocks/attachments, checked as chat.postMessage and response_url check them
        (``slack_surfaces.message_content``); a text over 40,000 characters is cut."""
        try:
            content, _warnings = message_content(args)
        except Refused as e:
            raise _invalid(e.error, e.problems) if e.problems else SlackApiError(e.error) from e
        return content

    def _bot_message(self, ws: Workspace, content: JSON) -> JSON:
        return {
            "type": "message",
            "user": ws.bot_user_id,
            "bot_id": ws.bot_id,
            "app_id": ws.app_id,
            "team": ws.team_id,
            "ts": self._next_ts(),
            **content,
        }

    def _post_message(self, ws: Workspace, args: JSON) -> JSON:
        channel = self._channel(ws, args.get("channel"))
        self._may_post(ws, channel, public_scope=True)
        message = self._bot_message(ws, self._content(args))
        if args.get("thread_ts"):
            message["thread_ts"] = str(args["thread_ts"])
        if args.get("metadata"):
            message["metadata"] = args["metadata"]
        self._messages.setdefault(channel, []).append(message)
        answer = {"channel": channel, "ts": message["ts"], "message": copy.deepcopy(message)}
        if message["text"] != (args.get("text") or ""):  # chat.postMessage#truncating
            answer["warning"] = "message_truncated"
        return answer

    def _update_message(self, ws: Workspace, args: JSON) -> JSON:
        channel = self._channel(ws, args.get("channel"))
        self._may_post(ws, channel)
        message = next(
            (m for m in self._messages.get(channel, []) if m["ts"] == args.get("ts")), None
        )
        if message is None:
            raise SlackApiError("message_not_found")
        if message.get("bot_id") != ws.bot_id:
            raise SlackApiError("cant_update_message")
        # Slack keeps what the update leaves out; ``blocks=[]`` is how blocks are removed.
        given = {k: v for k, v in args.items() if k in ("text", "blocks", "attachments")}
        message.update(self._content({**message, **given}))
        message["edited"] = {"user": ws.bot_user_id, "ts": self._next_ts()}
        return {
            "channel": channel,
            "ts": message["ts"],
            "text": message["text"],
            "message": copy.deepcopy(message),
        }

    def _post_ephemeral(self, ws: Workspace, args: JSON) -> JSON:
        channel = self._channel(ws, args.get("channel"))
        self._may_post(ws, channel)
        if args.get("user") not in ws.users:
            raise SlackApiError("user_not_found")
        if not self.is_member(ws.team_id, channel, str(args["user"])):
            raise SlackApiError("user_not_in_channel")
        message = self._bot_message(ws, self._content(args))
        self._ephemeral.append({**message, "channel": channel, "user": args["user"]})
        return {"message_ts": message["ts"]}

    def _conversations_open(self, ws: Workspace, args: JSON) -> JSON:
        users = [u for u in str(args.get("users", "")).split(",") if u]
        if len(users) != 1:  # group DMs are not modelled
            raise SlackApiError("not_implemented" if users else "users_list_not_supplied")
        if users[0] not in ws.users:
            raise SlackApiError("user_not_found")
        already_open = users[0] in ws.dms
        channel = {"id": self.dm_channel(ws.team_id, users[0])}
        if already_open:
            return {"no_op": True, "already_open": True, "channel": channel}
        return {"channel": channel}

    # ---- views ------------------------------------------------------------------------

    def _checked_view(self, args: JSON, kinds: tuple[str, ...]) -> JSON:
        return checked_view(args.get("view"), kinds)  # raises Refused, answered by _api

    def _use_trigger(self, args: JSON) -> Trigger:
        trigger = self._triggers.get(str(args.get("trigger_id")))
        if trigger is None:
            raise SlackApiError("invalid_trigger_id")
        if trigger.used:
            raise SlackApiError("exchanged_trigger_id")
        if time.monotonic() - trigger.issued > self.trigger_ttl:
            raise SlackApiError("expired_trigger_id")
        trigger.used = True
        return trigger

    def _views_open(self, ws: Workspace, args: JSON) -> JSON:
        spec = self._checked_view(args, ("modal",))
        trigger = self._use_trigger(args)
        view = self._store_view(ws, spec)
        self._stacks[trigger.user_id] = [view["id"]]
        if trigger.channel_id:
            self._opened_in[view["id"]] = trigger.channel_id
        return {"view": copy.deepcopy(view)}

    def _views_push(self, ws: Workspace, args: JSON) -> JSON:
        spec = self._checked_view(args, ("modal",))
        trigger = self._use_trigger(args)
        stack = self._stacks.get(trigger.user_id)
        if not stack:
            raise SlackApiError("not_found")
        if len(stack) >= 3:  # "limited to pushing 2 additional views"
            raise SlackApiError("push_limit_reached")
        view = self._store_view(ws, spec, root=stack[0], previous=stack[-1])
        stack.append(view["id"])
        return {"view": copy.deepcopy(view)}

    def _views_update(self, ws: Workspace, args: JSON) -> JSON:
        spec = self._checked_view(args, ("modal", "home"))
        by_external = {v["external_id"]: k for k, v in self._views.items() if v["external_id"]}
        view_id = args.get("view_id") or by_external.get(args.get("external_id"))
        live = {v for stack in self._stacks.values() for v in stack} | set(self._homes.values())
        old = self._views.get(str(view_id))
        if old is None or old["id"] not in live or old["team_id"] != ws.team_id:
            raise SlackApiError("not_found")  # includes a modal the user already closed
        if args.get("hash") and args["hash"] != old["hash"]:
            raise SlackApiError("hash_conflict")
        view = self._store_view(
            ws, spec, view_id=old["id"], root=old["root_view_id"], previous=old["previous_view_id"]
        )
        return {"view": copy.deepcopy(view)}

    def _views_publish(self, ws: Workspace, args: JSON) -> JSON:
        user_id = str(args.get("user_id"))
        if user_id not in ws.users:
            raise SlackApiError("user_not_found")
        spec = self._checked_view(args, ("home",))
        current = self._homes.get(user_id)
        if current and args.get("hash") and args["hash"] != self._views[current]["hash"]:
            raise SlackApiError("hash_conflict")
        view = self._store_view(ws, spec, view_id=current)
        self._homes[user_id] = view["id"]
        return {"view": copy.deepcopy(view)}

    # ---- users and files ---------------------------------------------------------------

    def _users_info(self, ws: Workspace, args: JSON) -> JSON:
        user = copy.deepcopy(ws.users.get(str(args.get("user"))))
        if user is None:
            raise SlackApiError("user_not_found")
        if "users:read.email" not in ws.scopes:
            user["profile"].pop("email", None)
        return {"user": user}

    def _users_lookup_by_email(self, ws: Workspace, args: JSON) -> JSON:
        """https://api.slack.com/methods/users.lookupByEmail: ``users_not_found`` if nobody."""
        wanted = str(args.get("email", "")).strip().lower()
        for user in ws.users.values():
            if wanted and str(user["profile"].get("email", "")).lower() == wanted:
                return {"user": copy.deepcopy(user)}
        raise SlackApiError("users_not_found")

    def _files_info(self, ws: Workspace, args: JSON) -> JSON:
        file_id = str(args.get("file"))
        if file_id not in self._files or self._files[file_id].team_id != ws.team_id:
            raise SlackApiError("file_not_found")
        return {
            "file": self.file_object(file_id, self._url or request.host_url),
            "comments": [],
            "response_metadata": {"next_cursor": ""},
        }

    def _download(self, key: str, name: str) -> Response:
        file_id = key.rpartition("-")[2]
        bearer = request.headers.get("Authorization", "")
        with self._lock:
            f = self._files.get(file_id)
            ws = self._workspaces.get(self._tokens.get(bearer.removeprefix("Bearer "), ""))
            if f is None or ws is None or ws.team_id != f.team_id or "files:read" not in ws.scopes:
                # Slack answers 200 with its sign-in page, not 401: a bot that forgets the
                # Authorization header gets HTML where it expected CSV.
                return Response(_LOGIN_PAGE, 200, mimetype="text/html")
            return Response(f.content, 200, mimetype=f.mimetype)

    # ---- response_url -------------------------------------------------------------------

    def _response(self, response_id: str) -> Response:
        body = request.get_json(silent=True)
        with self._lock:
            target = self._response_urls.get(response_id)
            if target is None:
                return _text("no_service", 404)
            if time.monotonic() - target.issued > self.response_url_ttl:
                return _text("expired_url", 404)
            if target.uses >= 5:  # "up to 5 times within 30 minutes"
                return _text("used_url", 404)
            if not isinstance(body, dict):
                return _text("invalid_payload", 400)
            try:
                self._apply_response(target, body)
            except SlackApiError as e:
                return _text(e.body["error"], 400)
            target.uses += 1
            self._responses.append((response_id, body))
            self._changed.notify_all()
        return _text("ok", 200)

    def _apply_response(self, target: ResponseUrl, body: JSON) -> None:
        channel = self._messages.setdefault(target.channel_id, [])
        original = next((m for m in channel if m["ts"] == target.message_ts), None)
        if body.get("delete_original"):
            if original is not None:
                channel.remove(original)
            return
        content = self._content(body)
        if body.get("replace_original") and original is not None:
            original.pop("blocks", None)  # a replacement is a whole new message body
            original.update(content)
        elif body.get("response_type") == "in_channel" and not body.get("replace_original"):
            message = self._bot_message(self._workspaces[target.team_id], content)
            if body.get("thread_ts"):
                message["thread_ts"] = body["thread_ts"]
            channel.append(message)
        # Anything else is ephemeral: only that user sees it, so only responses() holds it.

    # ---- OAuth v2 install ---------------------------------------------------------------

    def _authorize(self) -> Response:
        """The consent page; the sandbox clicks "Allow" at once (or "Cancel": deny_installs)."""
        q = request.args
        if q.get("client_id") != self.client_id:
            return _text("invalid_client_id", 400)
        redirect_uri = q.get("redirect_uri", "")
        if not redirect_uri.startswith(("http://", "https://")):
            return _text("bad_redirect_uri", 400)
        state = q.get("state", "")
        if self.deny_installs:
            return _redirect(redirect_uri, error="access_denied", state=state)
        scopes = [s for s in q.get("scope", "").split(",") if s]
        with self._lock:
            team_id = q.get("team")  # Slack's own parameter: preselect a workspace
            if team_id and team_id in self._workspaces:
                ws = self._workspaces[team_id]
            else:
                ws = self.add_workspace(team_id, f"Workspace {len(self._workspaces) + 1}")
            ws.scopes = set(scopes)
            if ws.bot_token in self._revoked:  # reinstalling after an uninstall
                self._issue_bot_token(ws)
            # ``user`` is a sandbox extension: who clicks "Allow" (default: first member).
            members = [u for u, info in ws.users.items() if not info.get("is_bot")]
            installer = q.get("user") or (members[0] if members else None)
            if installer is None:
                installer = self.add_user(ws.team_id, name="installer", real_name="Installer")["id"]
            code = secrets.token_hex(16)
            self._codes[code] = OAuthCode(ws.team_id, installer, scopes, redirect_uri)
        return _redirect(redirect_uri, code=code, state=state)

    def _oauth_access(self, args: JSON) -> JSON:
        auth = request.authorization  # slack_sdk sends client_id:client_secret as Basic
        client_id = auth.username if auth else args.get("client_id")
        client_secret = auth.password if auth else args.get("client_secret")
        if client_id != self.client_id:
            raise SlackApiError("invalid_client_id")
        if client_secret != self.client_secret:
            raise SlackApiError("bad_client_secret")
        code = self._codes.get(str(args.get("code")))
        if code is None or code.used:
            raise SlackApiError("invalid_code")
        if args.get("redirect_uri", code.redirect_uri) != code.redirect_uri:
            raise SlackApiError("bad_redirect_uri")
        code.used = True
        ws = self._workspaces[code.team_id]
        return {
            "access_token": ws.bot_token,
            "token_type": "bot",
            "scope": ",".join(code.scopes),
            "bot_user_id": ws.bot_user_id,
            "app_id": ws.app_id,
            "team": {"id": ws.team_id, "name": ws.name},
            "enterprise": None,
            "authed_user": {"id": code.user_id},
            "is_enterprise_install": False,
        }


_METHODS: dict[str, Callable[[SlackSandbox, Workspace, JSON], JSON]] = {
    "auth.test": SlackSandbox._auth_test,
    "auth.revoke": SlackSandbox._auth_revoke,
    "chat.postMessage": SlackSandbox._post_message,
    "chat.update": SlackSandbox._update_message,
    "chat.postEphemeral": SlackSandbox._post_ephemeral,
    "conversations.open": SlackSandbox._conversations_open,
    "conversations.list": SlackSandbox._conversations_list,
    "conversations.info": SlackSandbox._conversations_info,
    "conversations.members": SlackSandbox._conversations_members,
    "conversations.join": SlackSandbox._conversations_join,
    "conversations.invite": SlackSandbox._conversations_invite,
    "views.open": SlackSandbox._views_open,
    "views.push": SlackSandbox._views_push,
    "views.update": SlackSandbox._views_update,
    "views.publish": SlackSandbox._views_publish,
    "users.info": SlackSandbox._users_info,
    "users.lookupByEmail": SlackSandbox._users_lookup_by_email,
    "files.info": SlackSandbox._files_info,
    "files.getUploadURLExternal": SlackSandbox._files_get_upload_url,
    "files.completeUploadExternal": SlackSandbox._files_complete_upload,
}


def _text(body: str, status: int) -> Response:
    return Response(body, status, mimetype="text/plain")


def _redirect(uri: str, **params: str) -> Response:
    return Response("", 302, {"Location": f"{uri}{'&' if '?' in uri else '?'}{urlencode(params)}"})
