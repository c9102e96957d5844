"""The console's defences: only its own address, only its own page's forms, no framing.

The console has no sign-in, so a form on any web site could otherwise act as a sandbox
person. Browsers name the page's origin in ``Origin`` and say whether it is this site in
``Sec-Fetch-Site``; a ``Host`` other than the console's own address means a DNS name
rebound to loopback, and then even a GET would let that site read a person's timeline
(sign-in links included), so every console request must name the console's own host.
Clients that send neither ``Origin`` nor ``Sec-Fetch-Site`` (scripts, tests) are no
browser a web page can drive, so they pass. Every console answer forbids framing
(clickjacking), and a POST body over :data:`MAX_BODY` is refused before it is read (the
file upload alone, over :data:`MAX_UPLOAD`: see :data:`BODY_CAPS`).
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

from flask import Flask, abort, request
from werkzeug.wrappers import Response

__all__ = ["BODY_CAPS", "MAX_BODY", "MAX_UPLOAD", "guard_console", "same_origin_only"]

#: The largest form the console takes, in bytes; its forms are a few kilobytes.
MAX_BODY = 1024 * 1024
#: The largest file upload the console takes, in bytes: 5 MB, the largest shortlist file
#: ScaleUp imports (``handlers/files.py``), and 64 KB for the form around it. A file a
#: little over 5 MB still reaches the bot, which refuses it with its own sentence.
MAX_UPLOAD = 5 * 1024 * 1024 + 64 * 1024
#: Console paths that take more than :data:`MAX_BODY`, and how much.
BODY_CAPS = {"/console/upload": MAX_UPLOAD}
#: Sent on every console answer: no page may frame the console.
NO_FRAMING = {
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "frame-ancestors 'none'",
}


def _own_hosts(own_url: str) -> set[str]:
    own = urlsplit(own_url)
    port = own.port
    return {own.netloc, f"localhost:{port}", f"127.0.0.1:{port}", f"[::1]:{port}"}


def _from_elsewhere(own_url: str) -> bool:
    hosts = _own_hosts(own_url)
    scheme = urlsplit(own_url).scheme
    origin = request.headers.get("Origin")
    site = request.headers.get("Sec-Fetch-Site")
    return (
        request.host not in hosts
        or (site is not None and site not in ("same-origin", "none"))
        or (origin is not None and origin not in {f"{scheme}://{h}" for h in hosts})
    )


def _is_console(endpoint: str | None, path: str) -> bool:
    return path == "/" or path.startswith("/console/") or (endpoint or "").startswith("console")


def guard_console(app: Flask, own_url: Callable[[], str]) -> None:
    """On ``app``'s console requests (``/``, ``/console/…``, endpoints named ``console…``):
    refuse (403) a ``Host`` that is not the console's own address (DNS rebinding), refuse
    (413) a body over :data:`MAX_BODY` (:data:`BODY_CAPS` for the upload) from its
    ``Content-Length`` before reading it (and cap a chunked one), and forbid framing on every answer. The Slack Web API routes on the
    same server are left alone. ``own_url`` gives the console's address."""

    @app.before_request
    def _check() -> None:
        if not _is_console(request.endpoint, request.path):
            return
        if request.host not in _own_hosts(own_url()):
            abort(403, "The sandbox console answers only at its own address.")
        cap = BODY_CAPS.get(request.path, MAX_BODY)
        if (request.content_length or 0) > cap:
            abort(413, f"The sandbox console takes forms of at most {cap:,} bytes here.")
        request.max_content_length = cap

    @app.after_request
    def _no_framing(response: Response) -> Response:
        if _is_console(request.endpoint, request.path):
            response.headers.update(NO_FRAMING)
        return response


def same_origin_only(
    own_url: Callable[[], str], view: Callable[[], Response]
) -> Callable[[], Response]:
    """``view``, refusing (403) a POST that a page elsewhere made the browser send;
    ``own_url`` gives the console's address (known once its server listens)."""

    def guarded() -> Response:
        if _from_elsewhere(own_url()):
            abort(403, "The sandbox console only takes forms from its own page.")
        return view()

    return guarded
