"""The door of ``POST /slack/events``: bounded reads, signature first, well-formed or 4xx.

Bolt reads the whole body, parses it and only then checks the signature, and it logs the
body of a request whose signature fails. In front of it this WSGI guard:

1. refuses a body over :data:`MAX_BODY` from its ``Content-Length`` before reading a byte
   (413); without a length (chunked) it reads at most ``MAX_BODY + 1`` bytes;
2. checks Slack's ``v0`` signature over those exact bytes with ``slack_sdk``'s
   :class:`~slack_sdk.signature.SignatureVerifier`; the timestamp must be an integer
   within five minutes of now (401 otherwise), before anything parses the body;
3. checks that the signed body is UTF-8 and that its JSON (the ``payload`` field of a
   form, or a JSON body) is an object no deeper than :data:`MAX_DEPTH` (400 otherwise);
4. hands the exact bytes on to Bolt.

Every refusal is one log line naming the reason and the size, never the body.
Slack's own payloads are far below these bounds: a modal with every block Slack allows
is about 100 KB.
"""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs

from slack_sdk.signature import Clock, SignatureVerifier

log = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024
"""Bytes; Slack's requests are far smaller."""

MAX_DEPTH = 64
"""Nesting of JSON objects and arrays; Block Kit views nest about 10 deep."""

_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_READ_CHUNK = 64 * 1024

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class Refused(Exception):
    """A request the guard answers itself: ``status`` and a reason safe to log and show."""

    def __init__(self, status: str, reason: str) -> None:
        super().__init__(reason)
        self.status, self.reason = status, reason


class SlackRequestGuard:
    """WSGI middleware guarding ``path`` (POST only); everything else passes untouched.

    ``largest_read`` is the most body bytes the guard has read for one request, so a test
    (or an operator) can see that no request made it read more than ``max_body + 1``.
    """

    def __init__(
        self,
        app: WSGIApp,
        signing_secret: str | None,
        *,
        path: str = "/slack/events",
        max_body: int = MAX_BODY,
        clock: Clock | None = None,
    ) -> None:
        self.app, self.path, self.max_body = app, path, max_body
        # No secret (Socket Mode): nothing may come in over HTTP, so every request fails.
        self._verifier = (
            SignatureVerifier(signing_secret, clock or Clock()) if signing_secret else None
        )
        self.largest_read = 0

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != self.path or environ.get("REQUEST_METHOD") != "POST":
            return self.app(environ, start_response)
        try:
            body = self._read(environ)
            self._verify(environ, body)
            _check_well_formed(environ.get("CONTENT_TYPE", ""), body)
        except Refused as refused:
            length = environ.get("CONTENT_LENGTH")
            log.warning(
                "refused POST %s: %s (%s)",
                self.path,
                refused.reason,
                f"{length} bytes announced" if length else "no length announced",
            )
            answer = json.dumps({"error": refused.reason}).encode()
            start_response(
                refused.status,
                [
                    ("Content-Type", "application/json"),
                    ("Content-Length", str(len(answer))),
                    ("Connection", "close"),  # an unread body must not become the next request
                ],
            )
            return [answer]
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        environ.pop("HTTP_TRANSFER_ENCODING", None)
        return self.app(environ, start_response)

    def _read(self, environ: dict[str, Any]) -> bytes:
        announced = environ.get("CONTENT_LENGTH") or ""
        stream = environ["wsgi.input"]
        if announced:
            if not announced.isdigit():
                raise Refused("400 Bad Request", "Content-Length is not a number")
            if int(announced) > self.max_body:
                raise Refused("413 Content Too Large", f"body over {self.max_body} bytes")
            return self._read_at_most(stream, int(announced))
        if not environ.get("wsgi.input_terminated"):
            # Without a length or a server that ends the stream, a read could block forever.
            raise Refused("411 Length Required", "no Content-Length")
        body = self._read_at_most(stream, self.max_body + 1)
        if len(body) > self.max_body:
            raise Refused("413 Content Too Large", f"body over {self.max_body} bytes")
        return body

    def _read_at_most(self, stream: Any, limit: int) -> bytes:
        parts: list[bytes] = []
        total = 0
        while total < limit:
            chunk = stream.read(min(_READ_CHUNK, limit - total))
            if not chunk:
                break
            parts.append(chunk)
            total += len(chunk)
        self.largest_read = max(self.largest_read, total)
        return b"".join(parts)

    def _verify(self, environ: dict[str, Any], body: bytes) -> None:
        timestamp = environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP")
        signature = environ.get("HTTP_X_SLACK_SIGNATURE")
        if not timestamp or not signature:
            raise Refused("401 Unauthorized", "missing Slack signature headers")
        if not _TIMESTAMP.fullmatch(timestamp):
            raise Refused("401 Unauthorized", "Slack timestamp is not an integer")
        if self._verifier is None:
            raise Refused("401 Unauthorized", "no signing secret configured")
        try:  # slack_sdk signs text; bytes that are not UTF-8 cannot carry a valid signature
            valid = self._verifier.is_valid(body.decode("utf-8"), timestamp, signature)
        except UnicodeDecodeError:
            raise Refused("400 Bad Request", "body is not UTF-8") from None
        if not valid:
            raise Refused("401 Unauthorized", "bad or expired Slack signature")


def _check_well_formed(content_type: str, body: bytes) -> None:
    """What Bolt will parse must parse: UTF-8, and JSON objects of bounded depth."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise Refused("400 Bad Request", "body is not UTF-8") from None
    media = content_type.split(";", 1)[0].strip().lower()
    if media == "application/json":
        _check_json(text)
    elif media == "application/x-www-form-urlencoded":
        payload = parse_qs(text).get("payload")
        if payload:
            _check_json(payload[0])
    else:
        raise Refused("415 Unsupported Media Type", "not a form or JSON body")


def _check_json(text: str) -> None:
    try:
        value = json.loads(text)
    except RecursionError:
        raise Refused("400 Bad Request", "JSON nested too deeply") from None
    except ValueError:
        raise Refused("400 Bad Request", "malformed JSON") from None
    if not isinstance(value, dict):
        raise Refused("400 Bad Request", "JSON is not an object")
    if _depth(value) > MAX_DEPTH:
        raise Refused("400 Bad Request", "JSON nested too deeply")


def _depth(value: Any) -> int:
    """Nesting of containers, walked without recursion (a deep value must not crash us)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            children: Iterable[Any] = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, level)
        if deepest > MAX_DEPTH:
            return deepest
        stack.extend((child, level + 1) for child in children)
    return deepest
