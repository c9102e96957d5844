"""Serve a WSGI app on loopback in a background thread.

The sandbox's Outlook, identity and Slack servers all run through here. Responses are
buffered (``wbufsize = -1``) so that status line, headers and body leave in one packet:
unbuffered, every keep-alive request waits ~40 ms on TCP delayed ACK.

The socket is bound here, not by werkzeug: werkzeug's ``make_server`` answers a port in
use with ``sys.exit(1)``, which would end ``scaleup dev`` instead of letting it fall back
to a free port (:func:`listen_near`).
"""

from __future__ import annotations

import logging
import socket
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

WSGIApp = Callable[..., Any]


class _BufferedHandler(WSGIRequestHandler):
    wbufsize = -1
    protocol_version = "HTTP/1.1"

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        # Without the query string: sign-in answers carry a code and a state there.
        path, query = self.path.split("?", 1) if "?" in self.path else (self.path, "")
        shown = f"{path}?…" if query else path
        logging.getLogger("scaleup.sandbox.http").debug("%s %s %s", self.command, shown, code)


@dataclass
class RunningServer:
    """A server started by :func:`serve`; ``url`` has no trailing slash."""

    url: str
    server: BaseWSGIServer
    thread: threading.Thread = field(repr=False)

    @property
    def port(self) -> int:
        return int(self.server.port)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def listen(host: str, port: int) -> socket.socket:
    """A socket listening on ``host:port`` (0 picks a free port).

    Raises :class:`OSError` (``EADDRINUSE``) when another program holds the port.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    return socket.create_server((host, port), family=family, backlog=128)


def listen_near(host: str, port: int) -> socket.socket:
    """A socket listening on ``port`` if it is free, else on any free port."""
    if port:
        try:
            return listen(host, port)
        except OSError:
            pass
    return listen(host, 0)


def serve(
    app: WSGIApp,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    ssl_context: ssl.SSLContext | None = None,
    name: str = "sandbox",
    sock: socket.socket | None = None,
) -> RunningServer:
    """Start ``app`` on ``sock``, or on ``host:port`` (0 picks a free port), and return
    at once. Raises :class:`OSError` when ``port`` is taken."""
    sock = sock or listen(host, port)
    with sock:  # werkzeug serves a duplicate of the descriptor; this one is closed
        server = make_server(
            host,
            sock.getsockname()[1],
            app,
            threaded=True,
            request_handler=_BufferedHandler,
            ssl_context=ssl_context,
            fd=sock.fileno(),
        )
    scheme = "https" if ssl_context else "http"
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name=name, daemon=True
    )
    thread.start()
    return RunningServer(
        url=f"{scheme}://{host}:{server.port}", server=server, thread=thread
    )
