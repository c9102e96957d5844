"""Microsoft Graph over a ``requests.Session``: the one seam for mailbox HTTP.

Only the calls the product makes, each returning plain dicts in Graph's own shape.
Errors are mapped to :mod:`outreach.errors`; retry policy lives with the caller,
because only the caller knows whether repeating a request could duplicate an email.
"""

from __future__ import annotations

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
    ) -> None:
        self._session = session
        self._base = base_url.rstrip("/")
        self._tokens = tokens
        self._timeout = timeout

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

    # -- plumbing ----------------------------------------------------------------------
    def _json(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        response = self.request(method, path, **kwargs)
        if response.status_code in (202, 204) or not response.content:
            return {}
        body: dict[str, Any] = response.json()
        return body

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """Send one request; raise the matching :class:`GraphError` for a non-2xx answer."""
        url = path if path.startswith("http") else self._base + path
        headers = {"Authorization": f"Bearer {self._tokens()}", **kwargs.pop("headers", {})}
        try:
            response = self._session.request(
                method, url, headers=headers, timeout=kwargs.pop("timeout", self._timeout), **kwargs
            )
        except requests.Timeout as exc:
            raise GraphTimeout(method, path) from exc
        if response.status_code < 400:
            return response
        raise error_from_response(response)


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
