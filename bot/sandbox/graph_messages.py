"""The message operations of the sandbox Graph, and the Graph-shaped responses they share.

:class:`MessageRoutes` is the half of :class:`~bot.sandbox.graph.GraphSandbox` that handles
``/messages``, ``/mailFolders/{id}/messages`` (with ``delta``), ``sendMail`` and the reply
actions. Handlers turn query options and bodies into :class:`MailStore` calls and render
the results; the store raises Graph's errors itself.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from flask import Response, request

from bot.sandbox import graph_mime
from bot.sandbox.graph_faults import Faults
from bot.sandbox.graph_http import Call, Responder, applied, int_arg, json_body
from bot.sandbox.graph_mailbox import Message, MessageInput
from bot.sandbox.graph_query import (
    Compare,
    TokenCodec,
    TokenError,
    candidates,
    compile_filter,
    parse_filter,
    parse_orderby,
    sort_key,
)
from bot.sandbox.graph_wire import (
    MESSAGE_DEFAULT,
    MESSAGE_ON_SELECT,
    GraphError,
    Json,
    message_json,
    parse_message,
    select_list,
)
from bot.sandbox.mailstore import MailStore, Removed

_MESSAGE_PROPERTIES = (*MESSAGE_DEFAULT, *MESSAGE_ON_SELECT)
_EXPAND = re.compile(r"\s*singleValueExtendedProperties\s*\(\s*\$filter\s*=(.+)\)\s*", re.I)
_EXPAND_ID = re.compile(r"id\s+eq\s+'((?:[^']|'')*)'", re.I)
_DEFAULT_PAGE = 10


class MessageRoutes(Responder):
    """The message handlers of :class:`~bot.sandbox.graph.GraphSandbox`."""

    store: MailStore
    tokens: TokenCodec
    faults: Faults

    def _render(
        self,
        call: Call,
        message: Message,
        folder_ids: dict[str, str],
        select: list[str] | None = None,
        expand: list[str] | None = None,
    ) -> Json:
        return message_json(
            message,
            folder_id=folder_ids[message.folder],
            select=select,
            body_pref=call.body_pref,
            basic=call.basic,
            expand_extended=expand,
        )

    def _folder(self, call: Call) -> str | None:
        ref = call.params.get("folder")
        return self.store.resolve_folder(call.user, ref) if ref else None

    # -- reading -----------------------------------------------------------------------------------
    def _list_messages(self, call: Call) -> Response:
        args = request.args
        if "$search" in args:
            raise GraphError(
                400, "ErrorInvalidUrlQuery", "The sandbox Graph does not support $search."
            )
        folder = self._folder(call)
        select = select_list(args.get("$select"), _MESSAGE_PROPERTIES, "microsoft.graph.message")
        expand = _expand(args.get("$expand"))
        node = parse_filter(args["$filter"]) if args.get("$filter") else None
        order = (
            parse_orderby(args["$orderby"], node)
            if args.get("$orderby")
            else [("receiveddatetime", True)]
        )
        page = int_arg("$top") or call.max_page or _DEFAULT_PAGE
        skip = int_arg("$skip") or 0
        found = self.store.query(
            call.user,
            folder,
            compile_filter(node) if node else (lambda m: True),
            candidates(node) if node else None,
        )
        found.sort(key=lambda m: m.seq, reverse=True)  # newest first among equal keys
        for name, descending in reversed(order):
            found.sort(key=sort_key(name), reverse=descending)
        ids = self.store.folder_ids(call.user)
        values = [self._render(call, m, ids, select, expand) for m in found[skip : skip + page]]
        extra: dict[str, Any] = {}
        if args.get("$count", "").lower() == "true":
            extra["@odata.count"] = len(found)
        if skip + page < len(found):
            extra["@odata.nextLink"] = self._link(**{"$top": page, "$skip": skip + page})
        return self._collection(call, f"users('{call.user.id}')/messages", values, **extra)

    def _get_message(self, call: Call) -> Response:
        select = select_list(
            request.args.get("$select"), _MESSAGE_PROPERTIES, "microsoft.graph.message"
        )
        message = self.store.get(call.user, call.params["id"], self._folder(call))
        body = self._render(
            call,
            message,
            self.store.folder_ids(call.user),
            select,
            _expand(request.args.get("$expand")),
        )
        context = f"{call.metadata}#users('{call.user.id}')/messages/$entity"
        return self._respond(200, {"@odata.context": context, **body}, applied(call))

    def _get_message_mime(self, call: Call) -> Response:
        """``GET /messages/{id}/$value``: the message as MIME (learn.microsoft.com/graph/
        outlook-get-mime-message). Mail from outside comes back as delivered; other items are
        written from their properties, as Exchange converts on request. Graph labels the
        bytes ``text/plain`` (microsoftgraph/msgraph-sdk-java#499, postalsys/emailengine#490).
        """
        message = self.store.get(call.user, call.params["id"])
        return self._respond_bytes(graph_mime.render(message), "text/plain")

    def _no_mime(self, call: Call) -> Response:
        raise GraphError(405, "ErrorInvalidRequest", "The OData request is not supported.")

    def _delta(self, call: Call) -> Response:
        folder = self._folder(call) or "inbox"
        token = request.args.get("$deltatoken") or request.args.get("$skiptoken")
        if token is not None:
            state = self.tokens.decode(token)
            if state.get("m") != call.user.id or state.get("f") != folder:
                raise TokenError()
        else:
            state = self._initial_delta_state(call, folder)
        predicate = (
            compile_filter(Compare("receiveddatetime", state["g"][0], _parse_iso(state["g"][1])))
            if state.get("g")
            else (lambda m: True)
        )
        entries, last, bound, more = self.store.changes(
            call.user,
            folder,
            after=int(state["a"]),
            upto=state.get("u"),
            limit=call.max_page or int_arg("$top") or _DEFAULT_PAGE,
            predicate=predicate,
            include_removed=not state.get("i"),
        )
        ids = self.store.folder_ids(call.user)
        values: list[Json] = []
        for entry in entries:
            if isinstance(entry, Removed):
                values.append(
                    {
                        "@odata.type": "#microsoft.graph.message",
                        "id": entry.id,
                        "@removed": {"reason": "deleted"},
                    }
                )
            else:
                values.append(
                    {
                        "@odata.type": "#microsoft.graph.message",
                        **self._render(call, entry, ids, state.get("s")),
                    }
                )
        base = request.base_url + "?"
        if more:
            link = {
                "@odata.nextLink": base
                + "$skiptoken="
                + self.tokens.encode({**state, "a": last, "u": bound})
            }
        else:
            next_state = {**state, "a": bound, "u": None, "i": False}
            link = {"@odata.deltaLink": base + "$deltatoken=" + self.tokens.encode(next_state)}
        return self._collection(call, "Collection(message)", values, **link)

    @staticmethod
    def _initial_delta_state(call: Call, folder: str) -> dict[str, Any]:
        args = request.args
        unsupported = set(args) - {"$select", "$filter", "$top", "$orderby", "$expand"}
        if unsupported:
            raise GraphError(
                400,
                "ErrorInvalidUrlQuery",
                f"The sandbox Graph does not support {', '.join(sorted(unsupported))} on delta.",
            )
        received: list[str] | None = None
        if args.get("$filter"):
            node = parse_filter(args["$filter"])
            if not (
                isinstance(node, Compare)
                and node.path == "receiveddatetime"
                and node.op in ("ge", "gt")
                and isinstance(node.value, datetime)
            ):
                raise GraphError(
                    400,
                    "ErrorInvalidUrlQueryFilter",
                    "Delta supports only $filter=receivedDateTime ge|gt {value}.",
                )
            received = [node.op, node.value.isoformat()]
        select = select_list(args.get("$select"), _MESSAGE_PROPERTIES, "microsoft.graph.message")
        return {
            "m": call.user.id,
            "f": folder,
            "a": 0,
            "u": None,
            "s": select,
            "g": received,
            "i": True,
        }

    # -- writing -----------------------------------------------------------------------------------
    def _create_message(self, call: Call) -> Response:
        fields = parse_message(json_body(), creating=True)
        message = self.store.create(call.user, fields, self._folder(call) or "drafts")
        return self._message_response(call, 201, message)

    def _update_message(self, call: Call) -> Response:
        fields = parse_message(json_body(), creating=False)
        message = self.store.update(call.user, call.params["id"], fields, self._folder(call))
        return self._message_response(call, 200, message)

    def _delete_message(self, call: Call) -> Response:
        self.store.delete(call.user, call.params["id"], self._folder(call))
        return self._respond(204)

    def _send(self, call: Call) -> Response:
        self.store.send(call.user, call.params["id"], self._folder(call))
        return self._respond(202)

    def _send_mail(self, call: Call) -> Response:
        data = json_body()
        if not isinstance(data.get("message"), dict):
            raise GraphError(400, "ErrorInvalidRequest", "The 'message' parameter is required.")
        save = data.get("saveToSentItems", True)
        if isinstance(save, str) and save.lower() in ("true", "false"):
            save = save.lower() == "true"
        if not isinstance(save, bool):
            raise GraphError(400, "RequestBodyRead", "Invalid value for 'saveToSentItems'.")
        self.store.send_new(call.user, parse_message(data["message"], creating=True), save=save)
        return self._respond(202)

    def _create_reply(self, call: Call, reply_all: bool = False) -> Response:
        comment, fields = _reply_body("createReplyAll" if reply_all else "createReply")
        if fields.extended is not None and self.faults.reject_extended_in_create_reply:
            raise GraphError(
                400,
                "ErrorInvalidProperty",
                "The property 'SingleValueExtendedProperties' can't be set in this operation.",
            )
        message = self.store.create_reply(
            call.user,
            call.params["id"],
            comment=comment,
            fields=fields,
            reply_all=reply_all,
            folder=self._folder(call),
        )
        return self._message_response(call, 201, message)

    def _create_reply_all(self, call: Call) -> Response:
        return self._create_reply(call, reply_all=True)

    def _reply(self, call: Call, reply_all: bool = False) -> Response:
        comment, fields = _reply_body("replyAll" if reply_all else "reply")
        self.store.reply(
            call.user,
            call.params["id"],
            comment=comment,
            fields=fields,
            reply_all=reply_all,
            folder=self._folder(call),
        )
        return self._respond(202)

    def _reply_all(self, call: Call) -> Response:
        return self._reply(call, reply_all=True)

    def _message_response(self, call: Call, status: int, message: Message) -> Response:
        # A POST/PATCH response never carries internetMessageHeaders (default set only).
        body = self._render(call, message, self.store.folder_ids(call.user))
        context = f"{call.metadata}#users('{call.user.id}')/messages/$entity"
        return self._respond(status, {"@odata.context": context, **body}, applied(call))


# -- helpers ---------------------------------------------------------------------------------------
def _expand(raw: str | None) -> list[str] | None:
    if not raw:
        return None
    match = _EXPAND.fullmatch(raw)
    if match is None:
        raise GraphError(400, "BadRequest", f"The sandbox Graph cannot $expand '{raw}'.")
    return [pid.replace("''", "'") for pid in _EXPAND_ID.findall(match.group(1))]


def _parse_iso(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _reply_body(action: str) -> tuple[str | None, MessageInput]:
    data = json_body()
    for key in data:
        if key not in ("comment", "message"):
            raise GraphError(
                400,
                "RequestBodyRead",
                f"The parameter '{key}' in the request payload is not a valid parameter for the "
                f"operation '{action}'.",
            )
    comment, message = data.get("comment"), data.get("message")
    if comment is not None and not isinstance(comment, str):
        raise GraphError(400, "RequestBodyRead", "The 'comment' parameter must be a string.")
    if comment is not None and isinstance(message, dict) and "body" in message:
        raise GraphError(
            400, "ErrorInvalidRequest", "Specify either a comment or a message body, not both."
        )
    return comment, parse_message(message, creating=True)
