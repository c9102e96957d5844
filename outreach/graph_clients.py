"""Graph clients for mailboxes, and the gate that keeps each mailbox within Outlook's limit.

Microsoft Graph's Outlook service allows **4 concurrent requests per app ID and
mailbox** (https://learn.microsoft.com/graph/throttling-limits#outlook-service-limits,
also 10,000 requests per 10 minutes and 150 MB of upload per 5 minutes). Over it, Graph
answers ``429 ApplicationThrottled: Application is over its MailboxConcurrency limit``. A
process may hold many clients of one mailbox at once (the worker's sends, reply sync, a
listener reading ``/me``), so the gate belongs to the mailbox, not to a client: every
client this factory makes for a mailbox shares that mailbox's semaphore, and a fifth
request waits for a free slot instead of being throttled. Other mailboxes have their own
gates and are not held up. The limit is per process; several processes can still go over
it together, and ``GraphThrottled`` then tells the caller to wait.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import requests

from outreach.graph import MAILBOX_CONCURRENCY, GraphClient, TokenSource


class GraphClients:
    """Makes :class:`GraphClient` s over one shared ``requests.Session``, one request gate
    (a ``BoundedSemaphore`` of ``concurrency`` slots) per mailbox id. Thread-safe."""

    def __init__(
        self,
        session: requests.Session,
        base_url: str,
        *,
        timeout: float = 30.0,
        concurrency: int = MAILBOX_CONCURRENCY,
    ) -> None:
        """``base_url`` is Graph's (``https://graph.microsoft.com/v1.0`` or the sandbox's);
        ``timeout`` is each request's, in seconds."""
        self._session = session
        self._base_url = base_url
        self._timeout = timeout
        self._concurrency = concurrency
        self._gates: dict[int, threading.BoundedSemaphore] = {}
        self._lock = threading.Lock()

    def gate(self, mailbox_id: int) -> threading.BoundedSemaphore:
        """The semaphore every request of the mailbox holds while it is in flight."""
        with self._lock:
            return self._gates.setdefault(mailbox_id, threading.BoundedSemaphore(self._concurrency))

    def for_mailbox(
        self,
        mailbox_id: int,
        tokens: TokenSource,
        on_unauthorized: Callable[[], None] | None = None,
    ) -> GraphClient:
        """A client acting as the mailbox: ``tokens`` yields its access token for each
        request, ``on_unauthorized`` is called when Graph answers 401 (the request is then
        sent once more, see :meth:`GraphClient.request`)."""
        return GraphClient(
            self._session,
            self._base_url,
            tokens,
            gate=self.gate(mailbox_id),
            timeout=self._timeout,
            on_unauthorized=on_unauthorized,
        )

    def for_sign_in(self, access_token: str) -> GraphClient:
        """A client for a sign-in not stored as a mailbox yet (it has no id): it holds a
        gate of its own, and a 401 is not retried."""
        return GraphClient(
            self._session,
            self._base_url,
            lambda: access_token,
            gate=threading.BoundedSemaphore(self._concurrency),
            timeout=self._timeout,
        )
