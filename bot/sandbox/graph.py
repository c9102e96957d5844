"""The sandbox Microsoft Graph: Graph v1.0's mail wire format on a loopback HTTP server.

``GraphSandbox(directory, store).wsgi_app`` is served with :func:`bot.sandbox.server.serve`;
the bot's own ``requests``-based Graph client talks to it in tests, ``scaleup dev`` and the
demo. Every route exists as ``/v1.0/me/...`` and ``/v1.0/users/{id|address}/...``, the latter
only for the token's own user (delegation rights are not modelled: 403 otherwise).

Request flow: bearer token (401 ``InvalidAuthenticationToken``) → target mailbox →
:class:`~bot.sandbox.graph_faults.Faults` (throttling, outages, latency) → scope check
(403 ``ErrorAccessDenied``) → handler. Errors always have Graph's shape with ``innerError``.

``Prefer: IdType="ImmutableId"`` is accepted and ignored: ids behave as REST ids (a draft's
id changes when sent), which is also what users report of the real service with that header.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask, Response, request
from flask.typing import ResponseReturnValue

from bot.sandbox.directory import Directory, SandboxUser
from bot.sandbox.graph_faults import Admission, Faults
from bot.sandbox.graph_holds import Holds, control_app
from bot.sandbox.graph_http import Call, json_body
from bot.sandbox.graph_mailbox import MailError
from bot.sandbox.graph_messages import MessageRoutes
from bot.sandbox.graph_query import QueryError, TokenCodec, TokenError
from bot.sandbox.graph_wire import (
    USER_DEFAULT,
    USER_ON_SELECT,
    GraphError,
    category_json,
    folder_json,
    select_list,
    user_json,
)
from bot.sandbox.inbound import Inbound
from bot.sandbox.inbound import mount as mount_inbound
from bot.sandbox.mailstore import MailStore

_USER = frozenset(
    {
        "user.read",
        "user.readwrite",
        "user.readbasic.all",
        "user.read.all",
        "user.readwrite.all",
        "directory.read.all",
    }
)
_READ_FULL = frozenset({"mail.read", "mail.readwrite"})
_READ = _READ_FULL | {"mail.readbasic"}
_WRITE = frozenset({"mail.readwrite"})
_SEND = frozenset({"mail.send"})
_SETTINGS_READ = frozenset({"mailboxsettings.read", "mailboxsettings.readwrite"})
_SETTINGS_WRITE = frozenset({"mailboxsettings.readwrite"})


@dataclass(frozen=True)
class Route:
    """One operation: method, path shape (``{name}`` captures a segment), needed scopes."""

    method: str
    pattern: tuple[str, ...]
    handler: str
    scopes: frozenset[str]
    effectful: bool = False


def _routes() -> list[Route]:
    routes = [
        Route("GET", (), "get_user", _USER),
        Route("GET", ("messages",), "list_messages", _READ),
        Route("POST", ("messages",), "create_message", _WRITE),
        Route("POST", ("sendmail",), "send_mail", _SEND, effectful=True),
        Route("GET", ("mailfolders",), "list_folders", _READ),
        Route("GET", ("mailfolders", "{folder}"), "get_folder", _READ),
        Route("GET", ("mailfolders", "{folder}", "messages", "delta"), "delta", _READ),
        Route("GET", ("mailfolders", "{folder}", "messages"), "list_messages", _READ),
        Route("POST", ("mailfolders", "{folder}", "messages"), "create_message", _WRITE),
        Route("GET", ("outlook", "mastercategories"), "list_categories", _SETTINGS_READ),
        Route("POST", ("outlook", "mastercategories"), "add_category", _SETTINGS_WRITE),
        Route("GET", ("outlook", "mastercategories", "{category}"), "get_category", _SETTINGS_READ),
        Route(
            "PATCH",
            ("outlook", "mastercategories", "{category}"),
            "update_category",
            _SETTINGS_WRITE,
        ),
        Route(
            "DELETE",
            ("outlook", "mastercategories", "{category}"),
            "delete_category",
            _SETTINGS_WRITE,
        ),
    ]
    routes += [
        # MIME on /messages/{id}/$value only: under mailFolders Graph answers 405
        # (microsoftgraph/microsoft-graph-docs-contrib#2755, #5546).
        Route("GET", ("messages", "{id}", "$value"), "get_message_mime", _READ_FULL),
        Route("GET", ("mailfolders", "{folder}", "messages", "{id}", "$value"), "no_mime", _READ),
    ]
    for base in (("messages", "{id}"), ("mailfolders", "{folder}", "messages", "{id}")):
        routes += [
            Route("GET", base, "get_message", _READ),
            Route("PATCH", base, "update_message", _WRITE),
            Route("DELETE", base, "delete_message", _WRITE),
            Route("POST", (*base, "send"), "send", _SEND, effectful=True),
            Route("POST", (*base, "createreply"), "create_reply", _WRITE, effectful=True),
            Route("POST", (*base, "createreplyall"), "create_reply_all", _WRITE, effectful=True),
            Route("POST", (*base, "reply"), "reply", _SEND, effectful=True),
            Route("POST", (*base, "replyall"), "reply_all", _SEND, effectful=True),
        ]
    return routes


ROUTES = _routes()


class GraphSandbox(MessageRoutes):
    """A Graph v1.0 mail server over a :class:`Directory` and a :class:`MailStore`.

    ``faults`` (default: none, but Graph's 4-request concurrency limit) can be changed while
    the server runs; its log records every request. A store made without a directory is
    bound to this one.
    """

    def __init__(
        self, directory: Directory, store: MailStore, *, faults: Faults | None = None
    ) -> None:
        if store.directory is None:
            store.directory = directory
        elif store.directory is not directory:
            raise ValueError("the MailStore belongs to another Directory")
        self.directory = directory
        self.store = store
        self.faults = faults or Faults()
        self.tokens = TokenCodec(secrets.token_bytes(32))
        self.holds = Holds()
        self.wsgi_app = self._build_app()
        self.inbound = Inbound(store)  # sandbox-only: mail from outside the tenant
        mount_inbound(self.wsgi_app, self.inbound)

    # -- plumbing ------------------------------------------------------------------------------
    def _build_app(self) -> Flask:
        app = Flask("scaleup-sandbox-graph")
        app.url_map.strict_slashes = False
        app.add_url_rule(
            "/v1.0/<path:rest>",
            "graph",
            self._dispatch,
            methods=["GET", "POST", "PATCH", "DELETE", "PUT"],
        )

        def not_found(_: Exception) -> ResponseReturnValue:
            return self._error(GraphError(400, "BadRequest", "Invalid version."))

        def crashed(_: Exception) -> ResponseReturnValue:
            # Flask has logged the traceback; the client still gets Graph's shape.
            return self._error(GraphError(500, "UnknownError", "The sandbox Graph failed."))

        app.register_error_handler(404, not_found)
        app.register_error_handler(405, not_found)
        app.register_error_handler(500, crashed)
        control_app(app, self.holds)
        return app

    def _dispatch(self, rest: str) -> Response:
        caller, scopes, failure = self._authenticate()
        target: SandboxUser | None = None
        route: Route | None = None
        params: dict[str, str] = {}
        if caller is not None:
            try:
                ref, segments = _split(rest)
                target = self._target(caller, ref)
                route, params = _match(segments, request.method)
            except GraphError as exc:
                failure = exc
        owner = target or caller
        mailbox = owner.mail if owner is not None else None
        ticket = self.faults.admit(
            mailbox, request.method, request.path, effectful=bool(route and route.effectful)
        )
        response: Response | None = None
        try:
            response = self._serve(ticket, failure, route, target, scopes, params)
            return response
        finally:
            self.faults.finish(ticket, response.status_code if response is not None else 500)

    def _serve(
        self,
        ticket: Admission,
        failure: GraphError | None,
        route: Route | None,
        target: SandboxUser | None,
        scopes: frozenset[str],
        params: dict[str, str],
    ) -> Response:
        if ticket.rejection is not None:
            return self._rejected(ticket.rejection)
        if ticket.latency > 0:
            time.sleep(ticket.latency)
        if failure is not None or route is None or target is None:
            return self._error(failure or GraphError(500, "UnknownError", "No route."))
        if not self.holds.pause(route.handler, "before", target.mail):
            return self._error(GraphError(503, "ServiceUnavailable", "The request was dropped."))
        response = self._run(route, target, scopes, params)
        self.holds.pause(route.handler, "after", target.mail)
        if ticket.after_effect is not None:
            return self._rejected(ticket.after_effect)
        if ticket.stall > 0 and response.status_code < 300:
            time.sleep(ticket.stall)  # the effect happened; the client times out waiting
        return response

    def _authenticate(self) -> tuple[SandboxUser | None, frozenset[str], GraphError | None]:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if not header or scheme.lower() != "bearer" or not token.strip():
            return None, frozenset(), _unauthenticated("Access token is empty.")
        found = self.directory.user_for_access_token(token.strip())
        if found is None:
            return (
                None,
                frozenset(),
                _unauthenticated("Access token has expired or is not yet valid."),
            )
        user, scopes = found
        return user, frozenset(s.rsplit("/", 1)[-1].lower() for s in scopes), None

    def _target(self, caller: SandboxUser, ref: str | None) -> SandboxUser:
        if ref is None:
            return caller
        try:
            user: SandboxUser | None = self.directory.user(ref)
        except KeyError:
            user = self.directory.find_user(ref)
        if user is None:
            raise GraphError(404, "ErrorInvalidUser", f"The requested user '{ref}' is invalid.")
        if user.id != caller.id:
            raise GraphError(
                403, "ErrorAccessDenied", "Access is denied. Check credentials and try again."
            )
        return user

    def _run(
        self, route: Route, user: SandboxUser, scopes: frozenset[str], params: dict[str, str]
    ) -> Response:
        if not scopes & route.scopes:
            return self._error(
                GraphError(
                    403, "ErrorAccessDenied", "Access is denied. Check credentials and try again."
                )
            )
        call = Call(
            user=user,
            params=params,
            basic=route.scopes is _READ and not scopes & _READ_FULL,
            prefer=_prefer(),
            metadata=request.url_root + "v1.0/$metadata",
        )
        handler: Callable[[Call], Response] = getattr(self, "_" + route.handler)
        try:
            return handler(call)
        except MailError as exc:
            return self._error(GraphError(exc.status, exc.code, str(exc)))
        except GraphError as exc:
            return self._error(exc)
        except QueryError as exc:
            return self._error(GraphError(400, exc.code, str(exc)))
        except TokenError as exc:
            return self._error(GraphError(410, "SyncStateNotFound", str(exc)))

    # -- user, folders, categories -----------------------------------------------------------------
    def _get_user(self, call: Call) -> Response:
        select = select_list(
            request.args.get("$select"), (*USER_DEFAULT, *USER_ON_SELECT), "microsoft.graph.user"
        )
        return self._respond(200, user_json(call.user, select, call.metadata))

    def _list_folders(self, call: Call) -> Response:
        folders = [folder_json(f) for f in self.store.folders(call.user)]
        return self._collection(call, f"users('{call.user.id}')/mailFolders", folders)

    def _get_folder(self, call: Call) -> Response:
        folder = self.store.folder(
            call.user, self.store.resolve_folder(call.user, call.params["folder"])
        )
        return self._respond(
            200,
            {
                "@odata.context": f"{call.metadata}#users('{call.user.id}')/mailFolders/$entity",
                **folder_json(folder),
            },
        )

    def _list_categories(self, call: Call) -> Response:
        values = [category_json(c) for c in self.store.categories(call.user)]
        return self._collection(call, f"users('{call.user.id}')/outlook/masterCategories", values)

    def _get_category(self, call: Call) -> Response:
        found = [c for c in self.store.categories(call.user) if c.id == call.params["category"]]
        if not found:
            raise GraphError(
                404, "ErrorItemNotFound", "The specified object was not found in the store."
            )
        return self._respond(200, category_json(found[0]))

    def _add_category(self, call: Call) -> Response:
        data = json_body()
        name, color = data.get("displayName"), data.get("color", "none")
        if not isinstance(name, str) or not name.strip() or not isinstance(color, str):
            raise GraphError(400, "ErrorInvalidArgument", "A displayName is required.")
        return self._respond(201, category_json(self.store.add_category(call.user, name, color)))

    def _update_category(self, call: Call) -> Response:
        data = json_body()
        if "displayName" in data:
            raise GraphError(
                400, "ErrorInvalidArgument", "The displayName of a category can't be changed."
            )
        color = data.get("color")
        if not isinstance(color, str):
            raise GraphError(400, "ErrorInvalidArgument", "Only the color can be updated.")
        return self._respond(
            200,
            category_json(self.store.update_category(call.user, call.params["category"], color)),
        )

    def _delete_category(self, call: Call) -> Response:
        self.store.delete_category(call.user, call.params["category"])
        return self._respond(204)


# -- request helpers ---------------------------------------------------------------------------------
def _unauthenticated(message: str) -> GraphError:
    return GraphError(
        401,
        "InvalidAuthenticationToken",
        message,
        {"WWW-Authenticate": 'Bearer realm="", error="invalid_token"'},
    )


def _split(rest: str) -> tuple[str | None, list[str]]:
    """(user reference or None for /me, remaining segments); ``x('key')`` becomes ``x/key``."""
    segments: list[str] = []
    for raw in rest.split("/"):
        if not raw:
            continue
        if raw.endswith("')") and "('" in raw:
            name, _, key = raw[:-2].partition("('")
            segments += [name, key]
        else:
            segments.append(raw)
    if segments and segments[0].lower() == "me":
        return None, segments[1:]
    if len(segments) >= 2 and segments[0].lower() == "users":
        return segments[1], segments[2:]
    first = segments[0] if segments else ""
    raise GraphError(400, "BadRequest", f"Resource not found for the segment '{first}'.")


def _match(segments: list[str], method: str) -> tuple[Route, dict[str, str]]:
    shape_matched = False
    for route in ROUTES:
        if len(route.pattern) != len(segments):
            continue
        params: dict[str, str] = {}
        for expected, actual in zip(route.pattern, segments, strict=True):
            if expected.startswith("{"):
                params[expected[1:-1]] = actual
            elif expected != actual.lower():
                break
        else:
            shape_matched = True
            if route.method == method:
                return route, params
    if shape_matched:
        raise GraphError(
            405, "BadRequest", "Specified HTTP method is not allowed for the request target."
        )
    last = segments[-1] if segments else ""
    raise GraphError(400, "BadRequest", f"Resource not found for the segment '{last}'.")


def _prefer() -> dict[str, str]:
    found: dict[str, str] = {}
    for header in request.headers.getlist("Prefer"):
        for part in header.split(","):
            key, _, value = part.strip().partition("=")
            if key:
                found[key.strip().lower()] = value.strip().strip('"')
    return found
