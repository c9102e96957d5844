"""Graph-shaped HTTP for the sandbox: request context, JSON bodies and responses.

Every answer carries ``request-id``/``client-request-id`` headers (the same ids as in an
error's ``innerError``); bodies use Graph's OData JSON content type; 202 and 204 answers are
empty, without a content type, as Graph's are.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode

from flask import Response, request

from bot.sandbox.directory import SandboxUser
from bot.sandbox.graph_faults import Rejection
from bot.sandbox.graph_wire import GraphError

MAX_PAGE = 1000
JSON_TYPE = (
    "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;"
    "charset=utf-8"
)


@dataclass
class Call:
    """What a handler needs about the request beyond Flask's ``request``."""

    user: SandboxUser
    params: dict[str, str]
    basic: bool
    prefer: dict[str, str]
    metadata: str

    @property
    def body_pref(self) -> str | None:
        value = self.prefer.get("outlook.body-content-type", "").lower()
        return value if value in ("text", "html") else None

    @property
    def max_page(self) -> int | None:
        value = self.prefer.get("odata.maxpagesize", "")
        return min(int(value), MAX_PAGE) if value.isdigit() and int(value) > 0 else None


def json_body() -> dict[str, Any]:
    """The request's JSON object ({} when empty); 400 when it is not JSON."""
    raw = request.get_data()
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise GraphError(
            400,
            "BadRequest",
            "Unable to read JSON request payload. Please ensure Content-Type header is set and "
            "payload is of valid JSON format.",
        ) from exc
    if not isinstance(data, dict):
        raise GraphError(400, "BadRequest", "The request body must be a JSON object.")
    return data


class Responder:
    """Graph-shaped responses, shared by every handler."""

    def _respond(
        self, status: int, body: Any = None, headers: dict[str, str] | None = None
    ) -> Response:
        common = {
            "request-id": _request_id(),
            "client-request-id": _client_request_id(),
            **(headers or {}),
        }
        if body is None:
            empty = Response(b"", status, headers={**common, "Content-Length": "0"})
            del empty.headers["Content-Type"]  # Graph's 202/204 carry no body and no type
            return empty
        return Response(json.dumps(body), status, content_type=JSON_TYPE, headers=common)

    def _respond_bytes(self, data: bytes, content_type: str) -> Response:
        """A 200 whose body is not JSON (a message's MIME)."""
        common = {"request-id": _request_id(), "client-request-id": _client_request_id()}
        return Response(data, 200, content_type=content_type, headers=common)

    def _error(self, error: GraphError) -> Response:
        inner = {
            "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
            "request-id": _request_id(),
            "client-request-id": _client_request_id(),
        }
        body = {"error": {"code": error.code, "message": error.message, "innerError": inner}}
        return self._respond(error.status, body, error.headers)

    def _rejected(self, rejection: Rejection) -> Response:
        if rejection.body is not None:
            return self._respond(rejection.status, rejection.body, rejection.headers)
        return self._error(
            GraphError(rejection.status, rejection.code, rejection.message, rejection.headers)
        )

    def _collection(self, call: Call, context: str, values: list[Any], **extra: Any) -> Response:
        body = {"@odata.context": f"{call.metadata}#{context}", "value": values, **extra}
        return self._respond(200, body, applied(call))

    @staticmethod
    def _link(**changes: Any) -> str:
        args = dict(request.args.items())
        args.update({k: str(v) for k, v in changes.items()})
        return request.base_url + "?" + urlencode(args, quote_via=quote, safe="$,'()")


def _request_id() -> str:
    """One id per request, in the header and in any error's innerError, as Graph does."""
    found = request.environ.get("scaleup.request_id")
    if not isinstance(found, str):
        found = request.environ["scaleup.request_id"] = str(uuid.uuid4())
    return found


def _client_request_id() -> str:
    return request.headers.get("client-request-id") or _request_id()


def applied(call: Call) -> dict[str, str]:
    applied = []
    if call.body_pref:
        applied.append(f'outlook.body-content-type="{call.body_pref}"')
    if call.max_page:
        applied.append(f"odata.maxpagesize={call.max_page}")
    return {"Preference-Applied": ", ".join(applied)} if applied else {}


def int_arg(name: str) -> int | None:
    raw = request.args.get(name)
    if raw is None:
        return None
    if not raw.isdigit():
        raise GraphError(400, "BadRequest", f"Invalid {name} value '{raw}'.")
    value = int(raw)
    if name == "$top" and not 0 < value <= MAX_PAGE:
        raise GraphError(400, "BadRequest", f"Invalid $top value '{raw}': 1 to {MAX_PAGE}.")
    return value
