"""The sandbox Slack console: a web page where a person plays a seeded Slack member.

``scaleup dev`` has no Slack client, so the sandbox Slack server also serves ``/``: pick
Riley, Sam or Alex, type a ``/scaleup`` command, click buttons, fill in modals and open
App Home, and see what the bot did — its acks, response_url posts, ephemeral messages,
DMs, channel messages, the Home tab and the open modal — rendered from Block Kit as
plain HTML. Every action goes through :class:`~bot.sandbox.slack_driver.SlackDriver`, so
the bot gets exactly what the tests send it.

All text is escaped (Jinja autoescape, markupsafe); the page needs no JavaScript.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import partial
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import requests
from flask import Flask, abort, redirect, request
from jinja2 import Environment
from markupsafe import Markup, escape
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from bot.sandbox.slack import JSON
from bot.sandbox.slack_channels import SlackApiError
from bot.sandbox.slack_driver import FORM, AckTimeout, SlackDriver, default_conversation

if TYPE_CHECKING:
    from bot.sandbox import Sandbox

__all__ = ["Console", "console_url", "mount_console", "mrkdwn"]

REQUIRED = "Please complete this required field."
_TEXT_KINDS = {"plain_text_input", "email_text_input", "url_text_input", "number_input"}
_OPTION_KINDS = {"static_select", "radio_buttons", "overflow"}
_MULTI_OPTION_KINDS = {"multi_static_select", "checkboxes"}
# Typed as text: a channel id, or anything for external selects (the bot supplies options).
_ID_KINDS = {"conversations_select", "channels_select", "external_select"}
_MULTI_ID_KINDS = {"multi_conversations_select", "multi_channels_select", "multi_external_select"}
_INITIAL = {  # element type -> key of the value it shows before anyone touches it
    **dict.fromkeys(_TEXT_KINDS, "initial_value"),
    **dict.fromkeys(_OPTION_KINDS | {"external_select"}, "initial_option"),
    **dict.fromkeys(_MULTI_OPTION_KINDS | {"multi_external_select"}, "initial_options"),
    "users_select": "initial_user",
    "multi_users_select": "initial_users",
    "conversations_select": "initial_conversation",
    "multi_conversations_select": "initial_conversations",
    "channels_select": "initial_channel",
    "multi_channels_select": "initial_channels",
    "datepicker": "initial_date",
    "timepicker": "initial_time",
}


def console_url(sandbox: Sandbox) -> str:
    """Where a person opens the console: the root of the sandbox Slack server."""
    return f"{sandbox.slack.url}/"


def mount_console(app: Flask, sandbox: Sandbox) -> Console:
    """Serve the console on ``app`` (the sandbox Slack's ``wsgi_app``).

    Flask refuses new routes once an app has answered a request, so mount it before the
    bot starts calling the Web API.
    """
    console = Console(sandbox)
    console.register(app)
    return console


# ---- mrkdwn and Block Kit to HTML: pure functions --------------------------------------

_TOKEN = re.compile(r"<([^<>\s][^<>]*)>")
_CODE = re.compile(r"`([^`\n]+)`")
_STYLES = [
    (re.compile(rf"(?<![\w{c}]){c}(?=\S)([^{c}\n]+?){c}(?![\w{c}])"), tag)
    for c, tag in (("\\*", "b"), ("_", "i"), ("~", "s"))
]
_EMOJI_NAME = re.compile(r":([a-z0-9_+-]+):")
_EMOJI = {"white_check_mark": "✅", "warning": "⚠️", "x": "❌", "large_green_circle": "🟢"}


def _unslack(text: str) -> str:
    # Slack mrkdwn escapes only these three; everything else arrives as typed.
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _styled(text: str) -> Markup:
    parts = []
    for i, part in enumerate(_CODE.split(text)):
        if i % 2:  # inside backticks: shown as typed
            parts.append(Markup("<code>{}</code>").format(_unslack(part)))
            continue
        html = str(escape(_unslack(part)))  # tags are added around escaped text only
        for pattern, tag in _STYLES:
            html = pattern.sub(rf"<{tag}>\1</{tag}>", html)
        parts.append(Markup(_EMOJI_NAME.sub(lambda m: _EMOJI.get(m[1], m[0]), html)))
    return Markup("").join(parts)


def _token(inner: str, people: Mapping[str, str]) -> Markup:
    target, _, label = inner.partition("|")
    if target.startswith("@"):
        return Markup("<b>@{}</b>").format(people.get(target[1:]) or label or target[1:])
    if target.startswith("#"):
        return Markup("<b>#{}</b>").format(label or target[1:])
    if target.startswith("!date^"):
        return escape(_unslack(label))  # the fallback text
    if target.startswith("!"):
        return escape("@" + (label or target[1:]))
    url = _unslack(target)
    if url.startswith(("http://", "https://", "mailto:")):
        return Markup('<a href="{}" target="_blank" rel="noopener">{}</a>').format(
            url, _unslack(label) or url
        )
    return escape(f"<{_unslack(inner)}>")


def mrkdwn(text: str, people: Mapping[str, str] | None = None) -> Markup:
    """Slack mrkdwn as escaped HTML: *bold*, _italic_, ~strike~, `code`, links, mentions."""
    parts, pos = [], 0
    for match in _TOKEN.finditer(text):
        parts += [_styled(text[pos : match.start()]), _token(match[1], people or {})]
        pos = match.end()
    parts.append(_styled(text[pos:]))
    return Markup("").join(parts)


@dataclass(frozen=True)
class Where:
    """What rendering needs: who looks, and where a click or a submitted field goes."""

    user: str
    people: Mapping[str, str]  # Slack id -> real name
    sign_in_url: str = ""  # links here get the self-signed certificate note
    ca_path: str = ""
    source: str = ""  # how /console/click finds the message or view again
    form: str | None = None  # the modal's form, for input fields
    shown: Mapping[str, Any] = field(default_factory=dict)  # block_id -> value typed
    errors: Mapping[str, str] = field(default_factory=dict)  # block_id -> error
    channels: tuple[tuple[str, str], ...] = ()  # (id, "#name") the person's picker offers


def _plain(obj: Any) -> str:
    return str(obj.get("text", "")) if isinstance(obj, dict) else ""


def _text(obj: Any, where: Where) -> Markup:
    if isinstance(obj, dict) and obj.get("type") == "mrkdwn":
        return mrkdwn(str(obj.get("text", "")), where.people)
    return escape(_plain(obj))


def _hidden(fields: Mapping[str, str]) -> Markup:
    tag = Markup('<input type="hidden" name="{}" value="{}">')
    return Markup("").join(tag.format(k, v) for k, v in fields.items())


def _options(element: JSON) -> list[tuple[str, str]]:
    options = list(element.get("options", []))
    for group in element.get("option_groups", []):
        options += group.get("options", [])
    return [(str(o.get("value", "")), _plain(o.get("text"))) for o in options]


def _select(name: Markup, choices: Iterable[tuple[str, str]], chosen: Iterable[str]) -> Markup:
    picked = set(chosen)
    items = [Markup('<option value="">—</option>')] + [
        Markup('<option value="{}"{}>{}</option>').format(
            v, Markup(" selected") if v in picked else "", label
        )
        for v, label in choices
    ]
    return Markup("<select {}>{}</select>").format(name, Markup("").join(items))


def _checkboxes(name: Markup, choices: Iterable[tuple[str, str]], chosen: Iterable[str]) -> Markup:
    picked = set(chosen)
    box = Markup('<label class="check"><input type="checkbox" {} value="{}"{}> {}</label>')
    return Markup("").join(
        box.format(name, v, Markup(" checked") if v in picked else "", label)
        for v, label in choices
    )


def _control(element: JSON, name: Markup, shown: Any, where: Where) -> Markup:
    """An HTML field for ``element`` named ``name`` (``name="…"`` plus any ``form=``)."""
    kind = element.get("type", "")
    people = list(where.people.items())
    values = shown if isinstance(shown, list) else [] if shown is None else [shown]
    if kind in _OPTION_KINDS:
        return _select(name, _options(element), values)
    if kind in _MULTI_OPTION_KINDS:
        return _checkboxes(name, _options(element), values)
    if kind == "users_select":
        return _select(name, people, values)
    if kind == "multi_users_select":
        return _checkboxes(name, people, values)
    if kind in ("conversations_select", "channels_select") and where.channels:
        return _select(name, where.channels, values)  # what Slack's picker lists
    if element.get("multiline"):
        return Markup("<textarea {} rows=4>{}</textarea>").format(name, shown or "")
    if kind in _MULTI_ID_KINDS:
        shown = ", ".join(values)
    html_type = {"datepicker": "date", "timepicker": "time", "number_input": "number"}
    hint = "a channel id, e.g. C0…" if "channel" in kind or "conversation" in kind else ""
    return Markup('<input type="{}" {} value="{}" placeholder="{}" size=40>').format(
        html_type.get(kind, "text"), name, shown or "", hint or _plain(element.get("placeholder"))
    )


def _button(element: JSON, where: Where, fields: Mapping[str, str]) -> Markup:
    label, style = _plain(element.get("text")), element.get("style", "")
    url = element.get("url")
    if url:  # Slack opens the link (and sends the action, which the bot only acks)
        link = Markup('<a class="button {}" href="{}" target="_blank" rel="noopener">{}</a>')
        html = link.format(style, url, label)
        if where.sign_in_url and str(url).startswith(where.sign_in_url):
            html += Markup(
                '<small class="note">Opens the sandbox Microsoft sign-in over HTTPS with a '
                "self-signed certificate: your browser will warn, continue anyway (or trust "
                "the CA {}).</small>"
            ).format(where.ca_path)
        return html
    submit = Markup('<button class="{}">{}</button>')
    form = Markup('<form class="inline" method="post" action="/console/click">{}{}</form>')
    confirm = element.get("confirm")
    if not isinstance(confirm, dict):
        return form.format(_hidden(fields), submit.format(style, label))
    # No JavaScript: the confirmation dialog is a <details> holding the real button.
    return Markup(
        '<details class="confirm"><summary class="button {}">{}</summary>'
        "<p><b>{}</b> {}</p>{}<small>or close this to {}</small></details>"
    ).format(
        style,
        label,
        _plain(confirm.get("title")),
        _text(confirm.get("text"), where),
        form.format(_hidden(fields), submit.format(style, _plain(confirm.get("confirm")))),
        _plain(confirm.get("deny")) or "cancel",
    )


def _element(element: JSON, block: JSON, where: Where) -> Markup:
    """An interactive element outside an input block: a button or a select to use."""
    kind = element.get("type", "")
    if kind == "image":
        return Markup("[image: {}]").format(element.get("alt_text", ""))
    label = _plain(element.get("text")) or _plain(element.get("placeholder")) or kind
    fields = {
        "user": where.user,
        "source": where.source,
        "action_id": str(element.get("action_id", "")),
        "block_id": str(block.get("block_id", "")),
        "label": label,
    }
    if kind == "button":
        return _button(element, where, fields)
    if kind.startswith("multi_") or kind == "checkboxes" or kind not in _INITIAL:
        return Markup('<span class="muted">[{}: not available in the console]</span>').format(kind)
    shown = element.get(_INITIAL[kind])
    shown = shown.get("value") if isinstance(shown, dict) else shown
    return Markup(
        '<form class="inline" method="post" action="/console/click">{}{}<button>Choose</button></form>'
    ).format(_hidden(fields), _control(element, Markup('name="value"'), shown, where))


def _shown(element: JSON) -> Any:
    """What an input shows before anyone touches it: text, an option value or a list."""
    initial = element.get(_INITIAL.get(element.get("type", ""), ""))
    if isinstance(initial, dict):
        return initial.get("value")
    if isinstance(initial, list):
        return [o.get("value") if isinstance(o, dict) else o for o in initial]
    return initial


def _input(block: JSON, where: Where) -> Markup:
    element, block_id = block.get("element") or {}, str(block.get("block_id", ""))
    shown = where.shown[block_id] if block_id in where.shown else _shown(element)
    form = Markup(' form="{}"').format(where.form) if where.form else Markup("")
    name = Markup('name="f.{}"{}').format(block_id, form)
    error = where.errors.get(block_id)
    return Markup('<div class="block input"><label>{}{}</label><div>{}</div>{}{}</div>').format(
        _plain(block.get("label")),
        Markup(' <span class="muted">(optional)</span>') if block.get("optional") else "",
        _control(element, name, shown, where),
        Markup('<small class="muted">{}</small>').format(_plain(block["hint"]))
        if block.get("hint")
        else "",
        Markup('<p class="error">{}</p>').format(error) if error else "",
    )


def block_html(block: JSON, where: Where) -> Markup:
    """One Block Kit block as HTML."""
    kind = block.get("type")
    if kind == "section":
        fields = Markup("").join(
            Markup('<div class="text">{}</div>').format(_text(f, where))
            for f in block.get("fields") or []
        )
        accessory = block.get("accessory")
        return Markup('<div class="block"><div class="text">{}</div>{}{}</div>').format(
            _text(block.get("text"), where),
            Markup('<div class="fields">{}</div>').format(fields) if fields else "",
            _element(accessory, block, where) if isinstance(accessory, dict) else "",
        )
    if kind == "header":
        return Markup("<h3>{}</h3>").format(_plain(block.get("text")))
    if kind == "context":
        parts = [
            _text(e, where) if "text" in e else escape(f"[{e.get('alt_text', e.get('type'))}]")
            for e in block.get("elements", [])
        ]
        return Markup('<div class="block context">{}</div>').format(Markup(" · ").join(parts))
    if kind == "actions":
        elements = [_element(e, block, where) for e in block.get("elements", [])]
        return Markup('<div class="block actions">{}</div>').format(Markup(" ").join(elements))
    if kind == "divider":
        return Markup("<hr>")
    if kind == "input":
        return _input(block, where)
    return Markup('<div class="block muted">[{} block]</div>').format(kind)


def message_html(message: JSON, where: Where) -> Markup:
    """A message (or a response_url body): its blocks, or its text when it has none."""
    blocks = message.get("blocks")
    if blocks:
        return Markup("").join(block_html(b, where) for b in blocks)
    return Markup('<div class="text">{}</div>').format(mrkdwn(str(message.get("text", ""))))


def modal_html(view: JSON, where: Where) -> Markup:
    """The open modal: a form whose fields live in its blocks (joined by ``form=``)."""
    form_id = f"modal-{view['id']}"
    where = replace(where, source=f"view:{view['id']}", form=form_id)
    ids = _hidden({"user": where.user, "view_id": str(view["id"])})
    submit = _plain(view.get("submit"))
    return Markup(
        '<h2>{}</h2><form id="{}" method="post" action="/console/submit">{}</form>{}'
        '<div class="modal-buttons"><form class="inline" method="post" action="/console/close">'
        "{}<button>{}</button></form> {}</div>"
    ).format(
        _plain(view.get("title")),
        form_id,
        ids,
        Markup("").join(block_html(b, where) for b in view.get("blocks", [])),
        ids,
        _plain(view.get("close")) or "Close",
        Markup('<button class="primary" form="{}">{}</button>').format(form_id, submit)
        if submit
        else "",
    )


def form_values(view: JSON, form: MultiDict[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """The modal's fields as :func:`~bot.sandbox.slack_driver.state_values` takes them, and
    the required ones left empty (which the Slack client refuses to submit)."""
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for block in view.get("blocks", []):
        if block.get("type") != "input" or "block_id" not in block:
            continue
        block_id, kind = block["block_id"], block["element"].get("type", "")
        name = f"f.{block_id}"
        value: Any
        if kind in _MULTI_ID_KINDS:
            value = [v.strip() for v in form.get(name, "").split(",") if v.strip()]
        elif kind.startswith("multi_") or kind == "checkboxes":
            value = [v for v in form.getlist(name) if v]
        elif kind in _TEXT_KINDS:
            value = form.get(name, "")
        else:
            value = form.get(name, "").strip() or None
        if not block.get("optional") and value in (None, "", []):
            errors[block_id] = REQUIRED
        values[block_id] = value
    return values, errors


# ---- the console: what the person did, and the routes ------------------------------------


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
class _Draft:
    """What the person typed into a modal the bot kept open with errors."""

    view_hash: str
    values: dict[str, Any]
    errors: dict[str, str]


class _Driver(SlackDriver):
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


class Console:
    """The console's state (what each person did) and its routes on the Slack server."""

    # After an action, wait this long for the bot's first Web API call or response_url
    # post (Bolt runs listeners after the ack), then until it has been quiet a moment.
    first_wait, quiet_wait, most_wait = 1.5, 0.2, 4.0

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox, self.slack = sandbox, sandbox.slack
        self._lock = threading.Lock()
        self._exchanges: list[Exchange] = []
        self._drafts: dict[tuple[str, str], _Draft] = {}
        self._notices: dict[str, str] = {}
        self._driver: _Driver | None = None

    def register(self, app: Flask) -> None:
        app.add_url_rule("/", "console", self.page)
        for name in ("command", "click", "submit", "close", "home", "invite"):
            view = self._same_origin_only(getattr(self, name))
            app.add_url_rule(f"/console/{name}", f"console_{name}", view, methods=["POST"])

    def _same_origin_only(self, view: Callable[[], Response]) -> Callable[[], Response]:
        """Refuse a POST that a page elsewhere made the browser send (403).

        The console has no sign-in, so a form on any web site could otherwise act as a
        sandbox person. Browsers name the page's origin in ``Origin`` and say whether it
        is this site in ``Sec-Fetch-Site``; a ``Host`` other than the console's own
        address means a DNS name rebound to loopback. Clients that send neither header
        (scripts, tests) are no browser a web page can drive, so they pass.
        """

        def guarded() -> Response:
            own = urlsplit(self.slack.url)
            hosts = {own.netloc, f"localhost:{own.port}", f"127.0.0.1:{own.port}"}
            origin = request.headers.get("Origin")
            site = request.headers.get("Sec-Fetch-Site")
            if (
                request.host not in hosts
                or (site is not None and site not in ("same-origin", "none"))
                or (origin is not None and origin not in {f"{own.scheme}://{h}" for h in hosts})
            ):
                abort(403, "The sandbox console only takes forms from its own page.")
            return view()

        return guarded

    # ---- the routes -------------------------------------------------------------------

    def page(self) -> str:
        """``GET /?user=U…``: the person picker, the command box and their timeline."""
        user = request.args.get("user", "")
        user = user if user in self.sandbox.people else next(iter(self.sandbox.people))
        with self._lock:
            notice = self._notices.pop(user, None)
            exchanges = [e for e in self._exchanges if e.user == user]
        where = self._where(user)
        modal = self.slack.last_view(user)
        if modal is not None:
            draft = self._drafts.get((user, modal["id"]))
            if draft is not None and draft.view_hash == modal["hash"]:
                where = replace(where, shown=draft.values, errors=draft.errors)
            else:
                where = replace(where, shown=self._defaults(modal))
            modal_markup: Markup | None = modal_html(modal, where)
        else:
            modal_markup = None
        home = self.slack.home_view(user)
        roles = {
            self.sandbox.recruiter.slack_id: "recruiter",
            self.sandbox.hiring_manager.slack_id: "hiring manager",
        }
        return _PAGE.render(
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
            timeline=[
                html
                for _, html in sorted(self._timeline(user, exchanges, where), key=lambda t: -t[0])
            ],
        )

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
        self._act(user, did, lambda d: d.slash(user, text, channel_id=channel))
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
        found = self._find(user, source)
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
            did = f"submitted “{_plain(view.get('title'))}”"
            exchange = self._act(user, did, lambda d: d.submit_view(user, view, values))
            ack = exchange.ack if exchange else None
            if ack and ack.get("response_action") == "errors":
                errors = {str(k): str(v) for k, v in (ack.get("errors") or {}).items()}
        with self._lock:
            if errors:
                self._drafts[key] = _Draft(view["hash"], values, errors)
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

    def _driver_for(self) -> _Driver | None:
        url, sandbox = self.sandbox.bot_events_url, self.sandbox
        with self._lock:
            if url is not None and (self._driver is None or self._driver.bot_events_url != url):
                ws = sandbox.workspace
                self._driver = _Driver(
                    url, sandbox.signing_secret, self.slack, ws.team_id, ws.app_id
                )
            return self._driver if url is not None else None

    def _act(
        self, user: str, did: str, send: Callable[[_Driver], requests.Response], source: str = ""
    ) -> Exchange | None:
        """Send what the person did, keep the bot's ack, and give it a moment to go on."""
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

    # ---- reading it back ------------------------------------------------------------------

    def _find(self, user: str, source: str) -> tuple[JSON | None, JSON | None, str | None] | None:
        """(message, view, channel) that ``source`` names, as the person sees it now."""
        kind, _, key = source.partition(":")
        if kind == "view":
            view = self.slack.view(key)
            mine = [self.slack.last_view(user), self.slack.home_view(user)]
            return (None, view, None) if view and any(v and v["id"] == key for v in mine) else None
        if kind == "ack":
            with self._lock:
                ex = next((e for e in self._exchanges if str(e.id) == key and e.user == user), None)
            return (ex.ack, None, None) if ex and ex.ack else None
        if kind == "response":
            response_id, _, index = key.rpartition(":")
            bodies = self.slack.responses(response_id)
            return (
                (bodies[int(index)], None, None)
                if index.isdigit() and int(index) < len(bodies)
                else None
            )
        if kind == "ephemeral":
            found = [m for m in self.slack.ephemeral_messages(user) if m["ts"] == key]
            return (found[0], None, found[0]["channel"]) if found else None
        if kind == "message":
            channel, _, ts = key.partition(":")
            found = [m for m in self.slack.messages(channel) if m["ts"] == ts]
            return (found[0], None, channel) if found else None
        return None

    def _where(self, user: str) -> Where:
        return Where(
            user=user,
            people={p.slack_id: p.real_name for p in self.sandbox.people.values()},
            sign_in_url=self.sandbox.identity_server.url,
            ca_path=str(self.sandbox.certs.ca_path),
            channels=tuple((c, name) for c, name, _, _ in self._channels(user)),
        )

    def _timeline(
        self, user: str, exchanges: list[Exchange], where: Where
    ) -> list[tuple[float, Markup]]:
        """(time, HTML) of everything the person saw: exchanges, ephemeral messages,
        their DM with the bot and public channels."""
        # A reply with replace/delete_original to a click on an ephemeral message
        # changes that message; the sandbox keeps only in-channel messages.
        gone: dict[str, str] = {}
        replies: dict[int, list[JSON]] = {}
        for ex in exchanges:
            replies[ex.id] = self.slack.responses(ex.response_url) if ex.response_url else []
            for body in replies[ex.id]:
                if ex.source and not ex.source.startswith(("message:", "view:")):
                    if body.get("delete_original"):
                        gone[ex.source] = "deleted by ScaleUp"
                    elif body.get("replace_original"):
                        gone[ex.source] = "replaced by ScaleUp's answer to your click"
        team = self.sandbox.workspace.team_id
        items = [(ex.at, self._exchange_html(ex, replies[ex.id], where, gone)) for ex in exchanges]
        for m in self.slack.ephemeral_messages(user):
            source = f"ephemeral:{m['ts']}"
            channel = self.slack.channel_name(team, m["channel"])
            title = "only visible to you · " + (
                "your DM" if channel == "directmessage" else f"#{channel}"
            )
            items.append(
                (
                    float(m["ts"]),
                    _entry(
                        "ScaleUp",
                        title,
                        float(m["ts"]),
                        _shown_message(m, replace(where, source=source), gone.get(source)),
                    ),
                )
            )
        channels = [self.slack.dm_channel(team, user)] + [
            c
            for c, info in list(self.slack.workspace(team).channels.items())
            if not info.get("is_im")
        ]
        for channel in channels:
            name = self.slack.channel_name(team, channel)
            title = "your DM with ScaleUp" if name == "directmessage" else f"#{name}"
            for m in self.slack.messages(channel):
                at = float(m["ts"])
                who = (
                    "ScaleUp" if m.get("bot_id") else where.people.get(m.get("user", ""), "someone")
                )
                html = message_html(m, replace(where, source=f"message:{channel}:{m['ts']}"))
                items.append((at, _entry(who, title, at, html)))
        return items

    def _exchange_html(
        self, ex: Exchange, replies: list[JSON], where: Where, gone: Mapping[str, str]
    ) -> Markup:
        parts = []
        if ex.problem:
            parts.append(Markup('<p class="error">{}</p>').format(ex.problem))
            if ex.ack_text:
                parts.append(Markup("<pre>{}</pre>").format(ex.ack_text))
        ack = ex.ack or {}
        if ack.get("response_action") == "errors":
            errors = "; ".join(f"{k}: {v}" for k, v in (ack.get("errors") or {}).items())
            parts.append(
                Markup('<p class="muted">ScaleUp kept the modal open: {}</p>').format(errors)
            )
        elif ack.get("text") or ack.get("blocks"):
            source = f"ack:{ex.id}"
            body = _shown_message(ack, replace(where, source=source), gone.get(source))
            parts.append(
                _entry("ScaleUp", "answer to your command · only visible to you", ex.at, body)
            )
        response_id = (ex.response_url or "").rsplit("/", 1)[-1]
        for i, reply in enumerate(replies):
            source = f"response:{response_id}:{i}"
            if reply.get("delete_original"):
                parts.append(
                    Markup('<p class="muted">ScaleUp deleted the message you clicked.</p>')
                )
                continue
            how = (
                "in the channel"
                if reply.get("response_type") == "in_channel"
                else "only visible to you"
            )
            if reply.get("replace_original"):
                how = "replacing the message you clicked · " + how
            body = _shown_message(reply, replace(where, source=source), gone.get(source))
            parts.append(_entry("ScaleUp", f"via response_url · {how}", ex.at, body))
        return Markup('<div class="exchange">{}{}</div>').format(
            _entry(
                where.people.get(ex.user, ex.user),
                "you",
                ex.at,
                Markup("<code>{}</code>").format(ex.did),
            ),
            Markup("").join(parts),
        )


def _shown_message(message: JSON, where: Where, gone: str | None) -> Markup:
    if gone:
        return Markup('<p class="muted">({})</p>').format(gone)
    return message_html(message, where)


def _entry(who: str, title: str, at: float, body: Markup) -> Markup:
    return Markup(
        '<div class="entry"><div class="who"><b>{}</b> <span class="muted">{} · {}</span></div>{}</div>'
    ).format(who, title, time.strftime("%H:%M:%S", time.localtime(at)), body)


_PAGE = Environment(autoescape=True).from_string(
    """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Sandbox Slack · {{ team }}</title>
<style>
body { font: 15px/1.4 system-ui, sans-serif; margin: 1.5em auto; max-width: 72em; padding: 0 1em; }
nav a { margin-right: 1em; } nav a.current { font-weight: bold; text-decoration: none; }
.notice { background: #fff4ce; padding: .5em; } .error { color: #b00020; margin: .2em 0; }
.muted, .note { color: #666; } .note { display: block; font-size: 85%; }
.compose form { display: inline-block; margin-right: .5em; }
.modal { border: 2px solid #4a154b; border-radius: 8px; padding: .5em 1em; margin: 1em 0; }
.columns { display: grid; grid-template-columns: 2fr 1fr; gap: 1.5em; }
.exchange { border-top: 1px solid #ddd; padding: .5em 0; }
.exchange > .entry + .entry, .exchange > p { margin-left: 1.5em; }
.entry { margin: .3em 0; } .text { white-space: pre-wrap; }
.block { margin: .3em 0; } .context { color: #555; font-size: 90%; }
.input label { font-weight: bold; display: block; }
form.inline { display: inline; } details.confirm { display: inline-block; }
button, .button { border: 1px solid #888; border-radius: 4px; background: #fff; padding: .2em .7em;
  font: inherit; cursor: pointer; color: inherit; text-decoration: none; display: inline-block; }
.primary { background: #007a5a; color: #fff; border-color: #007a5a; }
.danger { background: #e01e5a; color: #fff; border-color: #e01e5a; }
code { background: #f4f4f4; padding: 0 .2em; }
</style></head>
<body>
<h1>Sandbox Slack · {{ team }}</h1>
<nav>Act as:
{% for id, name, role in people %}<a href="/?user={{ id|urlencode }}"{% if id == user %} class="current"{% endif %}>{{ name }}{% if role %} ({{ role }}){% endif %}</a>{% endfor %}
</nav>
{% if notice %}<p class="notice">{{ notice }}</p>{% endif %}
{% if not attached %}<p class="notice">The bot is not attached to the sandbox yet.</p>{% endif %}
<section class="compose">
<form method="post" action="/console/command"><input type="hidden" name="user" value="{{ user }}">
<label>/scaleup <input name="text" size="40" placeholder="type a /scaleup command, e.g. help" autofocus></label>
<label>in <select name="channel"><option value="">your DM with ScaleUp</option>{% for id, name, mine, _ in channels if mine %}<option value="{{ id }}">{{ name }}</option>{% endfor %}</select></label>
<button class="primary">Send</button></form>
<form method="post" action="/console/home"><input type="hidden" name="user" value="{{ user }}"><button>Open App Home</button></form>
<a href="/?user={{ user|urlencode }}">Refresh</a>
</section>
<section class="channels"><b>Channels:</b>
{% for id, name, mine, bot_in in channels %}<span class="channel">{{ name }}{% if bot_in %} <span class="muted">(ScaleUp is in it)</span>{% elif mine %} <form class="inline" method="post" action="/console/invite"><input type="hidden" name="user" value="{{ user }}"><input type="hidden" name="channel" value="{{ id }}"><button>Invite @ScaleUp</button></form>{% endif %}</span>{% if not loop.last %} · {% endif %}{% endfor %}
</section>
{% if modal %}<section class="modal">{{ modal }}</section>{% endif %}
<div class="columns">
<section><h2>Timeline <small class="muted">newest first</small></h2>
{% for item in timeline %}{{ item }}{% else %}<p class="muted">Nothing yet: try <code>help</code>.</p>{% endfor %}
</section>
<aside><h2>App Home</h2>{{ home or "Not opened yet: press “Open App Home”." }}</aside>
</div>
</body></html>
"""
)
