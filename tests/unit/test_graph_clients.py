"""GraphClients: four requests in flight per mailbox, shared by every client of it.

The transport is a fake ``requests`` adapter that holds each request until the test
lets it go, so the test sees how many are in flight for each mailbox at once.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping

import requests
from requests.adapters import HTTPAdapter

from outreach.graph import MAILBOX_CONCURRENCY
from outreach.graph_clients import GraphClients

BASE = "https://graph.test/v1.0"


class HeldTransport(HTTPAdapter):
    """Answers ``200 {}`` to each request once :attr:`release` is set; counts the requests
    in flight by their bearer token (one token per mailbox here)."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()
        self.in_flight: Counter[str] = Counter()
        self.most: Counter[str] = Counter()
        self._lock = threading.Lock()

    def send(  # type: ignore[override]
        self, request: requests.PreparedRequest, **kwargs: object
    ) -> requests.Response:
        token = str(request.headers["Authorization"]).removeprefix("Bearer ")
        with self._lock:
            self.in_flight[token] += 1
            self.most[token] = max(self.most[token], self.in_flight[token])
        self.release.wait(10)
        with self._lock:
            self.in_flight[token] -= 1
        response = requests.Response()
        response.status_code = 200
        response._content = b"{}"
        response.headers["Content-Type"] = "application/json"
        response.request = request
        response.url = str(request.url)
        return response


def eventually(check: Callable[[], bool], seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.01)
    return check()


def in_flight(transport: HeldTransport) -> Mapping[str, int]:
    with transport._lock:
        return dict(transport.in_flight)


def test_a_fifth_request_on_one_mailbox_waits_while_another_mailbox_goes_on() -> None:
    transport = HeldTransport()
    session = requests.Session()
    session.mount(BASE, transport)
    clients = GraphClients(session, BASE, timeout=10)

    def read_me(mailbox_id: int, token: str) -> None:
        # A client of its own for each request: the gate is the mailbox's, not the client's.
        clients.for_mailbox(mailbox_id, lambda: token).me()

    first = [threading.Thread(target=read_me, args=(1, "one")) for _ in range(5)]
    other = threading.Thread(target=read_me, args=(2, "two"))
    try:
        for thread in first:
            thread.start()
        assert eventually(lambda: in_flight(transport).get("one") == MAILBOX_CONCURRENCY)
        time.sleep(0.2)  # the fifth has had time to go out, had the gate let it
        assert in_flight(transport)["one"] == MAILBOX_CONCURRENCY == 4

        other.start()
        assert eventually(lambda: in_flight(transport).get("two") == 1)
        assert in_flight(transport)["one"] == 4
    finally:
        transport.release.set()
        for thread in [*first, other]:
            if thread.is_alive():
                thread.join(10)
    assert transport.most == {"one": 4, "two": 1}
    assert clients.gate(1) is clients.gate(1) and clients.gate(1) is not clients.gate(2)
