"""Microsoft Graph over a ``requests.Session``: the one seam for mailbox HTTP.

Only the calls the product makes, each returning plain dicts in Graph's own shape.
Errors are mapped to :mod:`outreach.errors`; retry policy lives with the caller,
because only the caller knows whether repeating a request could duplicate an email.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import requests

from outreach.errors import (
    GraphAuthError,
    GraphError,
    GraphNotFound,
    GraphThrottled,
    GraphTimeout,
)

log = logging.getLogger(__name__)

TokenSource = Callable[[], str]

#: Outlook's limit of concurrent requests per app and mailbox.
MAILBOX_CONCURRENCY = 4

#: A named MAPI property in the internet-headers set: it goes out as an ``X-ScaleUp-Outbox``
#: header and, unlike ``internetMessageHeaders``, can be searched for with ``$filter``.
MARKER_PROPERTY = "String {00020386-0000-0000-C000-000000000046} Name X-ScaleUp-Outbox"
_FOUND_FIELDS = "id,internetMessageId,conversationId,isDraft,sentDateTime,parentFolderId"

#: PR_MESSAGE_FLAGS (MS-OXCMSG 2.2.1.6); its MSGFLAG_SUBMIT bit marks a message "marked for
#: sending": a draft whose send Exchange accepted and transport has not picked up yet.
MESSAGE_FLAGS_PROPERTY = "Integer 0x0E07"
MSGFLAG_SUBMIT = 0x4
_WITH_FLAGS = f"singleValueExtendedProperties($filter=id eq '{MESSAGE_FLAGS_PROPERTY}')"

#: What reply sync asks of every Inbox message: metadata, never bodies or headers.
DELTA_FIELDS = "id,conversationId,internetMessageId,from,subject,receivedDateTime,categories"
#: What it reads of a relevant one.
DETAIL_FIELDS = (
    "id,conversationId,internetMessageId,from,subject,receivedDateTime,categories,"
    "toRecipients,internetMessageHeaders,uniqueBody,body,webLink"
)
#: What it reads, besides the MIME, of a mail system's report: metadata and ``webLink``.
REPORT_FIELDS = (
    "id,conversationId,internetMessageId,from,subject,receivedDateTime,categories,webLink"
)
#: PidTagMessageClass (MS-OXPROPS): ``REPORT.IPM.Note.NDR`` marks Exchange's bounces.
_WITH_CLASS = "singleValueExtendedProperties($filter=id eq 'String 0x001A')"

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


def send_requested(message: Mapping[str, Any]) -> bool:
    """Whether a draft (read with ``with_flags``) shows its send as already requested.

    False when the flags say so and also when Graph did not return them: the caller then
    falls back on time alone (docs/assumptions.md, A3).
    """
    for prop in message.get("singleValueExtendedProperties") or []:
        if str(prop.get("id", "")).lower() == MESSAGE_FLAGS_PROPERTY.lower():
            try:
                return bool(int(prop.get("value", "0")) & MSGFLAG_SUBMIT)
            except ValueError:
                return False
    return False


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
        """A reply draft to ``message_id`` (same conversation), with ``message`` applied.

        Graph does not document ``singleValueExtendedProperties`` inside createReply's
        ``message`` (docs/assumptions.md, A1). If Graph answers 400 to a message carrying
        them, the reply is created without them and they are PATCHed onto the draft (which
        Graph documents); if that is refused too, the draft goes without them and the caller
        finds it by its internetMessageId. A 400 for any other reason comes back from the
        second createReply as it is.
        """
        try:
            return self._json(
                "POST", f"/me/messages/{message_id}/createReply", json={"message": dict(message)}
            )
        except GraphError as exc:
            extended = message.get("singleValueExtendedProperties")
            if exc.status != 400 or not extended:
                raise
            log.warning("createReply refused extended properties (%s); patching them", exc.code)
        bare = {k: v for k, v in message.items() if k != "singleValueExtendedProperties"}
        draft = self._json("POST", f"/me/messages/{message_id}/createReply", json={"message": bare})
        try:
            return self.update_message(draft["id"], {"singleValueExtendedProperties": extended})
        except GraphError as exc:
            if exc.status != 400:
                raise
            log.warning("Graph refused the extended properties on a draft too (%s)", exc.code)
            return draft

    def update_message(self, message_id: str, fields: Mapping[str, Any]) -> dict[str, Any]:
        """PATCH writable properties of a message (recipients and body only while a draft)."""
        return self._json("PATCH", f"/me/messages/{message_id}", json=dict(fields))

    def send_draft(self, message_id: str) -> None:
        """Send a draft. Graph answers 202 before Exchange has sent anything."""
        self.request("POST", f"/me/messages/{message_id}/send", data=b"")

    def delete_message(self, message_id: str) -> None:
        """Delete a message (a draft that must not go out any more)."""
        self.request("DELETE", f"/me/messages/{message_id}")

    def get_message(
        self, message_id: str, fields: str = _FOUND_FIELDS, *, with_flags: bool = False
    ) -> dict[str, Any]:
        """One message; ``with_flags`` adds PR_MESSAGE_FLAGS (see :func:`send_requested`)."""
        params = {"$select": fields, **({"$expand": _WITH_FLAGS} if with_flags else {})}
        return self._json("GET", f"/me/messages/{message_id}", params=params)

    def find_message(
        self,
        folder: str,
        *,
        marker: str | None = None,
        internet_message_id: str | None = None,
        with_flags: bool = False,
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
        params = {"$filter": condition, "$select": _FOUND_FIELDS, "$top": "5"}
        if with_flags:
            params["$expand"] = _WITH_FLAGS
        found = self._json("GET", f"/me/mailFolders/{folder}/messages", params=params).get(
            "value", []
        )
        return found[0] if found else None

    # -- reading the Inbox (reply sync, outreach/sync.py) ------------------------------
    def inbox_delta(
        self, link: str | None, *, since: datetime | None = None, page_size: int = 200
    ) -> dict[str, Any]:
        """One page of the Inbox's changes, metadata only (:data:`DELTA_FIELDS`).

        ``link`` is the ``@odata.nextLink``/``@odata.deltaLink`` of an earlier page, or None
        to start a full round (of mail received since ``since``). The answer holds ``value`` and one of those two links. Raises
        :class:`~outreach.errors.GraphError` with status 410 (``SyncStateNotFound``) when
        Exchange no longer knows the link's sync state: start a full round then.
        """
        headers = {"Prefer": f"odata.maxpagesize={page_size}"}
        if link:
            return self._json("GET", link, headers=headers)
        return self._json(
            "GET",
            "/me/mailFolders('inbox')/messages/delta",
            params={
                "$select": DELTA_FIELDS,
                **(
                    {"$filter": f"receivedDateTime ge {since.strftime('%Y-%m-%dT%H:%M:%SZ')}"}
                    if since
                    else {}
                ),
            },
            headers=headers,
        )

    def message_details(self, message_id: str) -> dict[str, Any]:
        """A received message with its headers, bodies, ``webLink`` and message class:
        read only for messages reply sync found relevant (see outreach/matching.py)."""
        return self._json(
            "GET",
            f"/me/messages/{message_id}",
            params={"$select": DETAIL_FIELDS, "$expand": _WITH_CLASS},
        )

    def message_mime(self, message_id: str) -> bytes:
        """A received message as RFC 5322/MIME bytes (``GET /me/messages/{id}/$value``,
        https://learn.microsoft.com/graph/outlook-get-mime-message): a mail system's report
        keeps its ``message/delivery-status`` part only there. Read only for messages reply
        sync found relevant (see outreach/matching.py)."""
        return self.request("GET", f"/me/messages/{message_id}/$value").content

    def set_categories(self, message_id: str, categories: list[str]) -> None:
        """Replace a message's Outlook categories (``categories`` is writable on any item)."""
        self._json("PATCH", f"/me/messages/{message_id}", json={"categories": categories})

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
