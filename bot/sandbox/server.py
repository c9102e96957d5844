"""Serve a WSGI app on loopback in a background thread.

The sandbox's Outlook, identity and Slack servers all run through here. Responses are
buffered (``wbufsize = -1``) so that status line, headers and body leave in one packet:
unbuffered, every keep-alive request waits ~40 ms on TCP delayed ACK (see DESIGN.md).
"""

from __future__ import annotations

import logging
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
        logging.getLogger("scaleup.sandbox.http").debug("%s %s %s", self.command, self.path, code)


@dataclass
class RunningServer:
    """A server started by :func:`serve`; ``url`` has no trailing slash."""

    url: str
    server: BaseWSGIServer
    thread: threading.Thread = field(repr=False)

    @property
    def port(self) -> int:
        return int(self.server.server_port)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def serve(
    app: WSGIApp,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    ssl_context: ssl.SSLContext | None = None,
    name: str = "sandbox",
) -> RunningServer:
    """Start ``app`` on ``host:port`` (0 picks a free port) and return at once."""
    server = make_server(
        host,
        port,
        app,
        threaded=True,
        request_handler=_BufferedHandler,
        ssl_context=ssl_context,
    )
    scheme = "https" if ssl_context else "http"
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name=name, daemon=True
    )
    thread.start()
    return RunningServer(
        url=f"{scheme}://{host}:{server.server_port}", server=server, thread=thread
    )
