"""The console's one defence: it takes forms only from its own page.

The console has no sign-in, so a form on any web site could otherwise act as a sandbox
person. Browsers name the page's origin in ``Origin`` and say whether it is this site in
``Sec-Fetch-Site``; a ``Host`` other than the console's own address means a DNS name
rebound to loopback. Clients that send neither header (scripts, tests) are no browser a
web page can drive, so they pass.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

from flask import abort, request
from werkzeug.wrappers import Response

__all__ = ["same_origin_only"]


def _from_elsewhere(own_url: str) -> bool:
    own = urlsplit(own_url)
    hosts = {own.netloc, f"localhost:{own.port}", f"127.0.0.1:{own.port}"}
    origin = request.headers.get("Origin")
    site = request.headers.get("Sec-Fetch-Site")
    return (
        request.host not in hosts
        or (site is not None and site not in ("same-origin", "none"))
        or (origin is not None and origin not in {f"{own.scheme}://{h}" for h in hosts})
    )


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
