"""The console's routes on the sandbox Slack server, and its state: what each person did."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import requests
from flask import Flask, abort, jsonify, redirect, request
from markupsafe import Markup
from werkzeug.wrappers import Response

from bot.sandbox.console.clock import STEPS, ClockControl
from bot.sandbox.console.elements import form_values, plain
from bot.sandbox.console.exchanges import Draft, Exchange, RecordingDriver
from bot.sandbox.console.origin import guard_console, same_origin_only
from bot.sandbox.console.render import Where, message_html, modal_html, page_html
from bot.sandbox.console.timeline import find, timeline
from bot.sandbox.slack import JSON
from bot.sandbox.slack_channels import SlackApiError
from bot.sandbox.slack_driver import AckTimeout, SlackDriver, default_conversation

if TYPE_CHECKING:
    from bot.sandbox import Sandbox

__all__ = ["Console"]


class Console:
    """The console's state (what each person did) and its routes on the Slack server."""

    # After an action, wait this long for the bot's first Web API call or response_url
    # post (Bolt runs listeners after the ack), then until it has been quiet a moment.
    first_wait, quiet_wait, most_wait = 1.5, 0.2, 4.0

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox, self.slack = sandbox, sandbox.slack
        self._lock = threading.Lock()
        self._exchanges: list[Exchange] = []
        self._drafts: dict[tuple[str, str], Draft] = {}
        self._notices: dict[str, str] = {}
        self._driver: RecordingDriver | None = None
        #: The shared clock's control under ``scaleup dev`` (``clock.share_clock``).
        self.clock: ClockControl | None = None

    def register(self, app: Flask) -> None:
        guard_console(app, lambda: self.slack.url)
        app.add_url_rule("/", "console", self.page)
        app.add_url_rule("/console/updates", "console_updates", self.updates)
        for name in ("command", "click", "submit", "close", "home", "invite"):
            view = same_origin_only(lambda: self.slack.url, getattr(self, name))
            app.add_url_rule(f"/console/{name}", f"console_{name}", view, methods=["POST"])

    # ---- the routes -------------------------------------------------------------------

    def page(self) -> str:
        """``GET /?user=U…``: the person picker, the command box and their timeline."""
        user = self._user_arg()
        state, now = self._state(), time.time()
        with self._lock:
            notice = self._notices.pop(user, None)
            exchanges = [e for e in self._exchanges if e.user == user]
        where = self._where(user)
        modal = self.slack.last_view(user)
        modal_markup: Markup | None = None
        if modal is not None:
            draft = self._drafts.get((user, modal["id"]))
            if draft is not None and draft.view_hash == modal["hash"]:
                where = replace(where, shown=draft.values, errors=draft.errors)
            else:
                where = replace(where, shown=self._defaults(modal))
            modal_markup = modal_html(modal, where)
        home = self.slack.home_view(user)
        roles = {
            self.sandbox.recruiter.slack_id: "recruiter",
            self.sandbox.hiring_manager.slack_id: "hiring manager",
        }
        items = timeline(self.slack, self.sandbox.workspace.team_id, user, exchanges, where)
        return page_html(
            team=self.sandbox.workspace.name,
            people=[
                (p.slack_id, p.real_name, roles.get(p.slack_id, ""))
                for p in self.sandbox.people.values()
            ],
            user=user,
            notice=notice,
            attached=self.sandbox.bot_events_url is not None,
            channels=self._channels(user),
            modal=modal_markup,
            home=home and message_html(home, replace(where, source=f"view:{home['id']}")),
            timeline=[html for _, html in sorted(items, key=lambda t: -t[0])],
            state=state,
            now=now,
            sandbox_now=self.sandbox.store.clock(),
            clock_steps=STEPS if self.clock is not None else {},
        )

    def updates(self) -> Response:
        """``GET /console/updates?user=U…&since=T``: what changed, for the page to poll.

        ``state`` changes whenever the bot calls the Web API or a response_url or the
        person acts (the page reloads when it differs from the one it was drawn with);
        ``entries`` are the person's timeline entries newer than ``since`` (Unix time),
        newest first, as HTML.
        """
        user = self._user_arg()
        try:
            since = float(request.args.get("since", "0"))
        except ValueError:
            abort(400, "since is a Unix time in seconds")
        state, now = self._state(), time.time()
        with self._lock:
            exchanges = [e for e in self._exchanges if e.user == user]
        where, team = self._where(user), self.sandbox.workspace.team_id
        items = timeline(self.slack, team, user, exchanges, where)
        entries = [
            {"at": at, "html": str(html)}
            for at, html in sorted(items, key=lambda t: -t[0])
            if at > since
        ]
        return jsonify(state=state, now=now, entries=entries)

    def command(self) -> Response:
        """``POST /console/command``: the person types ``/scaleup <text>`` in their DM with
        the bot or in a channel they are in (``channel``)."""
        user = self._posted_user()
        text = request.form.get("text", "").strip()
        text = text.removeprefix("/scaleup").strip()
        team = self.sandbox.workspace.team_id
        channel = request.form.get("channel") or None
        if channel and not self.slack.is_member(team, channel, user):
            channel = None  # Slack only lets you type where you are
        did = f"/scaleup {text}".rstrip()
        self._act(user, did, lambda d: d.slash(user, text, channel_id=channel), text_ack=True)
        return self._back(user)

    def invite(self) -> Response:
        """``POST /console/invite``: the person types ``/invite @ScaleUp`` in a channel;
        conversations.invite's rules apply (e.g. only a member may invite)."""
        user, team = self._posted_user(), self.sandbox.workspace.team_id
        bot_user = self.sandbox.workspace.bot_user_id
        try:
            self.slack.invite(team, request.form.get("channel", ""), user, [bot_user])
        except SlackApiError as exc:
            self._notice(user, f"Slack refused the invitation: {exc.body['error']}.")
        return self._back(user)

    def _defaults(self, modal: JSON) -> dict[str, Any]:
        """Conversation pickers that start on the channel the modal was opened in."""
        current = self.slack.view_conversation(modal["id"])
        found: dict[str, Any] = {}
        for block in modal.get("blocks", []):
            element = block.get("element") or {}
            if block.get("type") == "input" and element.get("type") == "conversations_select":
                found[str(block.get("block_id"))] = default_conversation(element, current)
        return found

    def _channels(self, user: str) -> list[tuple[str, str, bool, bool]]:
        """(id, name, the person is in it, ScaleUp is in it) of the channels they see."""
        team, bot_user = self.sandbox.workspace.team_id, self.sandbox.workspace.bot_user_id
        return [
            (
                c["id"],
                ("🔒 " if c.get("is_private") else "#") + c["name"],
                self.slack.is_member(team, c["id"], user),
                self.slack.is_member(team, c["id"], bot_user),
            )
            for c in self.slack.visible_channels(team, user)
        ]

    def click(self) -> Response:
        """``POST /console/click``: a button or select in a message, the modal or App Home."""
        user, form = self._posted_user(), request.form
        source = form.get("source", "")
        with self._lock:
            exchanges = list(self._exchanges)
        found = find(self.slack, exchanges, user, source)
        if found is None:
            self._notice(user, "That message or view is gone; nothing was clicked.")
            return self._back(user)
        message, view, channel = found
        value, block_id = form.get("value") or None, form.get("block_id") or None
        send = partial(
            SlackDriver.click,
            user_id=user,
            action_id=form.get("action_id", ""),
            value=value,
            message=message,
            view=view,
            block_id=block_id,
            channel_id=channel,
        )
        did = f"clicked “{form.get('label', '')}”" + (f" → {value}" if value else "")
        self._act(user, did, send, source=source)
        return self._back(user)

    def submit(self) -> Response:
        """``POST /console/submit``: Submit on the modal on top of the person's screen."""
        user = self._posted_user()
        view = self.slack.last_view(user)
        if view is None or view["id"] != request.form.get("view_id"):
            self._notice(user, "That modal is no longer open.")
            return self._back(user)
        key = (user, view["id"])
        values, errors = form_values(view, request.form)
        if not errors:
            did = f"submitted “{plain(view.get('title'))}”"
            exchange = self._act(user, did, lambda d: d.submit_view(user, view, values))
            ack = exchange.ack if exchange else None
            if ack and ack.get("response_action") == "errors":
                errors = {str(k): str(v) for k, v in (ack.get("errors") or {}).items()}
        with self._lock:
            if errors:
                self._drafts[key] = Draft(view["hash"], values, errors)
            else:
                self._drafts.pop(key, None)
        return self._back(user)

    def close(self) -> Response:
        """``POST /console/close``: Cancel on the modal. None of the bot's modals ask for
        ``notify_on_close``; when one does, the driver needs a ``view_closed`` to send."""
        user = self._posted_user()
        view = self.slack.last_view(user)
        if view is not None and view["id"] == request.form.get("view_id"):
            self.slack.resolve_submission(user, view["id"], {"response_action": "clear"})
        return self._back(user)

    def home(self) -> Response:
        """``POST /console/home``: the person opens the app's Home tab."""
        user = self._posted_user()
        self._act(user, "opened App Home", lambda d: d.home_opened(user))
        return self._back(user)

    # ---- doing things through the driver ------------------------------------------------

    def _user_arg(self) -> str:
        user = request.args.get("user", "")
        return user if user in self.sandbox.people else next(iter(self.sandbox.people))

    def _state(self) -> str:
        with self._lock:
            acted = len(self._exchanges)
        return f"{len(self.slack.calls())}.{len(self.slack.responses())}.{acted}"

    def _posted_user(self) -> str:
        user = request.form.get("user", "")
        if user not in self.sandbox.people:
            abort(400, f"unknown person {user!r}")
        return user

    def _back(self, user: str) -> Response:
        return redirect("/?" + urlencode({"user": user}), 303)

    def _notice(self, user: str, text: str) -> None:
        with self._lock:
            self._notices[user] = text

    def _where(self, user: str) -> Where:
        channels = self.slack.workspace(self.sandbox.workspace.team_id).channels
        return Where(
            user=user,
            people={p.slack_id: p.real_name for p in self.sandbox.people.values()},
            sign_in_url=self.sandbox.identity_server.url,
            ca_path=str(self.sandbox.certs.ca_path),
            channels={c: str(i["name"]) for c, i in list(channels.items()) if "name" in i},
            picker=tuple((c, name) for c, name, _, _ in self._channels(user)),
        )

    def _driver_for(self) -> RecordingDriver | None:
        url, sandbox = self.sandbox.bot_events_url, self.sandbox
        with self._lock:
            if url is not None and (self._driver is None or self._driver.bot_events_url != url):
                ws = sandbox.workspace
                self._driver = RecordingDriver(
                    url, sandbox.signing_secret, self.slack, ws.team_id, ws.app_id
                )
            return self._driver if url is not None else None

    def _act(
        self,
        user: str,
        did: str,
        send: Callable[[RecordingDriver], requests.Response],
        source: str = "",
        *,
        text_ack: bool = False,
    ) -> Exchange | None:
        """Send what the person did, keep the bot's ack, and give it a moment to go on.

        ``text_ack``: a plain-text ack body is a message to the person, as Slack shows a
        slash command's ``ack(text=…)`` (Bolt sends a text-only ack as ``text/plain``).
        """
        driver = self._driver_for()
        if driver is None:
            self._notice(user, "The bot is not attached to the sandbox yet; try again shortly.")
            return None
        mark = self._mark()
        with self._lock:
            exchange = Exchange(len(self._exchanges), user, did, time.time(), source)
            self._exchanges.append(exchange)
        driver.take_response_url()
        try:
            response = send(driver)
        except AckTimeout as exc:
            exchange.problem = str(exc)
        except requests.RequestException as exc:
            exchange.problem = f"Could not reach the bot at {driver.bot_events_url}: {exc}"
        except (LookupError, ValueError) as exc:  # e.g. a value the element does not offer
            exchange.problem = str(exc)
        else:
            exchange.status, exchange.response_url = (
                response.status_code,
                driver.take_response_url(),
            )
            try:
                body = response.json() if response.content else None
            except ValueError:
                body = None
            if isinstance(body, dict):
                exchange.ack = body
            elif text_ack and response.status_code == 200 and response.text.strip():
                exchange.ack = {"text": response.text}
            else:
                exchange.ack_text = response.text[:2000]
            if response.status_code != 200:
                exchange.problem = f"The bot answered HTTP {response.status_code}."
        if exchange.problem is None:  # an ack with a body is an answer: less to wait for
            self._settle(mark, self.quiet_wait if exchange.ack else self.first_wait)
        return exchange

    def _mark(self) -> tuple[int, int]:
        return len(self.slack.calls()), len(self.slack.responses())

    def _moved(self, mark: tuple[int, int]) -> tuple[int, int] | None:
        now = self._mark()
        return now if now != mark else None

    def _settle(self, mark: tuple[int, int], wait: float) -> None:
        deadline = time.monotonic() + self.most_wait
        while wait > 0:
            try:
                mark = self.slack.wait_for(partial(self._moved, mark), wait) or mark
            except TimeoutError:
                return
            wait = min(self.quiet_wait, deadline - time.monotonic())
