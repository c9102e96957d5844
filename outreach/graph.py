"""Microsoft Graph over a ``requests.Session``: the one seam for mailbox HTTP.

Only the calls the product makes, each returning plain dicts in Graph's own shape.
Errors are mapped to :mod:`outreach.errors`; retry policy lives with the caller,
because only the caller knows whether repeating a request could duplicate an email.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

import requests

from outreach.errors import (
    GraphAuthError,
    GraphError,
    GraphNotFound,
    GraphThrottled,
    GraphTimeout,
)

TokenSource = Callable[[], str]

#: Outlook's limit of concurrent requests per app and mailbox.
MAILBOX_CONCURRENCY = 4

#: A named MAPI property in the internet-headers set: it goes out as an ``X-ScaleUp-Outbox``
#: header and, unlike ``internetMessageHeaders``, can be searched for with ``$filter``.
MARKER_PROPERTY = "String {00020386-0000-0000-C000-000000000046} Name X-ScaleUp-Outbox"
_FOUND_FIELDS = "id,internetMessageId,conversationId,isDraft,sentDateTime,parentFolderId"

#: Name of the Outlook category the bot puts on its own mail and on replies it matched.
CATEGORY = "ScaleUp"
CATEGORY_COLOR = "preset7"  # blue


def primary_smtp_address(me: Mapping[str, Any]) -> str:
    """The mailbox's primary SMTP address: the ``SMTP:`` proxy address, else ``mail``."""
    for proxy in me.get("proxyAddresses") or []:
        if proxy.startswith("SMTP:"):
            return str(proxy[5:]).lower()
    return str(me.get("mail") or me.get("userPrincipalName") or "").lower()


def all_addresses(me: Mapping[str, Any]) -> set[str]:
    """Every address of the mailbox: primary, aliases, mail and UPN, lower-cased."""
    found = {str(me.get(k) or "").lower() for k in ("mail", "userPrincipalName")}
    found.update(str(p).split(":", 1)[-1].lower() for p in me.get("proxyAddresses") or [])
    found.discard("")
    return found


class GraphClient:
    """Calls Graph for one signed-in mailbox; ``tokens`` yields a fresh access token."""

    def __init__(
        self,
        session: requests.Session,
        base_url: str,
        tokens: TokenSource,
        *,
        timeout: float = 30.0,
        gate: threading.BoundedSemaphore | None = None,
        on_unauthorized: Callable[[], None] | None = None,
    ) -> None:
        self._session = session
        self._base = base_url.rstrip("/")
        self._tokens = tokens
        self._timeout = timeout
        # Outlook allows 4 concurrent requests per app and mailbox; the gate is shared by
        # every client of one mailbox in this process.
        self._gate = gate or threading.BoundedSemaphore(MAILBOX_CONCURRENCY)
        self._on_unauthorized = on_unauthorized

    # -- profile and settings ----------------------------------------------------------
    def me(self) -> dict[str, Any]:
        """The signed-in user's identity, with ``proxyAddresses`` (needs ``$select``)."""
        return self._json(
            "GET",
            "/me",
            params={"$select": "id,displayName,mail,userPrincipalName,proxyAddresses"},
        )

    def ensure_category(self, name: str = CATEGORY, color: str = CATEGORY_COLOR) -> None:
        """Create the Outlook category ``name`` unless the mailbox already has it."""
        existing = self._json("GET", "/me/outlook/masterCategories").get("value", [])
        if any(c.get("displayName", "").lower() == name.lower() for c in existing):
            return
        try:
            self._json(
                "POST", "/me/outlook/masterCategories", json={"displayName": name, "color": color}
            )
        except GraphError as exc:
            if exc.status != 409:  # created concurrently: fine
                raise

    # -- sending -----------------------------------------------------------------------
    def create_draft(self, message: Mapping[str, Any]) -> dict[str, Any]:
        """Save a new message in Drafts; the answer carries its id and internetMessageId."""
        return self._json("POST", "/me/messages", json=dict(message))

    def create_reply(self, message_id: str, message: Mapping[str, Any]) -> dict[str, Any]:
        """A reply draft to ``message_id`` (same conversation), with ``message`` applied."""
        return self._json(
            "POST", f"/me/messages/{message_id}/createReply", json={"message": dict(message)}
        )

    def send_draft(self, message_id: str) -> None:
        """Send a draft. Graph answers 202 before Exchange has sent anything."""
        self.request("POST", f"/me/messages/{message_id}/send", data=b"")

    def delete_message(self, message_id: str) -> None:
        """Delete a message (a draft that must not go out any more)."""
        self.request("DELETE", f"/me/messages/{message_id}")

    def get_message(self, message_id: str, fields: str = _FOUND_FIELDS) -> dict[str, Any]:
        return self._json("GET", f"/me/messages/{message_id}", params={"$select": fields})

    def find_message(
        self, folder: str, *, marker: str | None = None, internet_message_id: str | None = None
    ) -> dict[str, Any] | None:
        """The message in ``folder`` with our marker or that Message-ID, if there is one."""
        if marker is not None:
            condition = (
                "singleValueExtendedProperties/Any(ep: ep/id eq "
                f"'{MARKER_PROPERTY}' and ep/value eq '{_quote(marker)}')"
            )
        elif internet_message_id is not None:
            condition = f"internetMessageId eq '{_quote(internet_message_id)}'"
        else:
            raise ValueError("give a marker or an internet_message_id")
        found = self._json(
            "GET",
            f"/me/mailFolders/{folder}/messages",
            params={"$filter": condition, "$select": _FOUND_FIELDS, "$top": "5"},
        ).get("value", [])
        return found[0] if found else None

    # -- plumbing ----------------------------------------------------------------------
    def _json(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        response = self.request(method, path, **kwargs)
        if response.status_code in (202, 204) or not response.content:
            return {}
        body: dict[str, Any] = response.json()
        return body

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """Send one request; raise the matching :class:`GraphError` for a non-2xx answer.

        A 401 (the token expired or was revoked early) is reported to ``on_unauthorized``,
        which forces a refresh, and the request is sent once more with the new token: Graph
        checks the token before doing anything, so even a send is safe to repeat.
        """
        url = path if path.startswith("http") else self._base + path
        extra = kwargs.pop("headers", {})
        timeout = kwargs.pop("timeout", self._timeout)
        for attempt in (1, 2):
            headers = {"Authorization": f"Bearer {self._tokens()}", **extra}
            try:
                with self._gate:
                    response = self._session.request(
                        method, url, headers=headers, timeout=timeout, **kwargs
                    )
            except requests.Timeout as exc:
                raise GraphTimeout(method, path) from exc
            if response.status_code < 400:
                return response
            if response.status_code != 401 or self._on_unauthorized is None:
                break
            self._on_unauthorized()  # the token was refused: drop it, refresh on next use
            if attempt == 2:
                break
        raise error_from_response(response)


def _quote(value: str) -> str:
    """OData string literal escaping: a single quote is doubled."""
    return value.replace("'", "''")


def error_from_response(response: requests.Response) -> GraphError:
    """Map a Graph error response to the exception a caller can act on."""
    code, message = "", response.reason or ""
    try:
        error = response.json().get("error", {})
        code, message = error.get("code", ""), error.get("message", message)
    except ValueError:
        pass
    status = response.status_code
    if status in (429, 503):
        return GraphThrottled(status, code, message, _retry_after(response))
    if status in (401, 403):
        return GraphAuthError(status, code, message)
    if status == 404:
        return GraphNotFound(status, code, message)
    return GraphError(status, code, message)


def _retry_after(response: requests.Response) -> float:
    try:
        return max(0.0, float(response.headers.get("Retry-After", "")))
    except ValueError:
        return 0.0  # the caller backs off exponentially when Graph names no delay
