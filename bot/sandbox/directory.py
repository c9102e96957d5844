"""The sandbox tenant: its users, their consent grants and the tokens issued to them.

The identity server (``identity.py``) issues tokens from here and the Graph server
(``graph.py``) checks them here, so a grant revoked on one side is seen by the other.
Thread-safe: several HTTP server threads share one directory.
"""

from __future__ import annotations

import secrets
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field


@dataclass
class SandboxUser:
    """One work account with an Exchange mailbox."""

    id: str
    display_name: str
    mail: str
    user_principal_name: str
    proxy_addresses: list[str]

    @property
    def addresses(self) -> set[str]:
        """Every address that reaches this mailbox, lower-cased."""
        found = {self.mail.lower(), self.user_principal_name.lower()}
        found.update(p.split(":", 1)[1].lower() for p in self.proxy_addresses)
        return found


@dataclass
class _AccessToken:
    user_id: str
    client_id: str
    scopes: frozenset[str]
    expires_at: float


@dataclass
class _Grant:
    """A user's consent to one client app, and the refresh tokens it backs."""

    user_id: str
    client_id: str
    scopes: set[str]
    refresh_tokens: set[str] = field(default_factory=set)


class Directory:
    """Users, grants and tokens of one sandbox tenant."""

    def __init__(
        self,
        tenant_id: str | None = None,
        *,
        access_token_lifetime: int = 3600,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.tenant_id = tenant_id or str(uuid.uuid4())
        self.access_token_lifetime = access_token_lifetime
        self._clock = clock
        self._lock = threading.RLock()
        self._users: dict[str, SandboxUser] = {}
        self._grants: dict[tuple[str, str], _Grant] = {}
        self._access: dict[str, _AccessToken] = {}
        self._refresh: dict[str, tuple[str, str]] = {}  # token -> (user_id, client_id)

    # -- users ---------------------------------------------------------------------
    def add_user(
        self,
        mail: str,
        display_name: str | None = None,
        *,
        aliases: Iterable[str] = (),
        user_principal_name: str | None = None,
    ) -> SandboxUser:
        """Create a user whose primary SMTP address is ``mail``; ``aliases`` are extra ones."""
        user = SandboxUser(
            id=str(uuid.uuid4()),
            display_name=display_name or mail.split("@", 1)[0].replace(".", " ").title(),
            mail=mail,
            user_principal_name=user_principal_name or mail,
            proxy_addresses=[f"SMTP:{mail}", *(f"smtp:{a}" for a in aliases)],
        )
        with self._lock:
            if self.find_user(mail):
                raise ValueError(f"{mail} already exists in the sandbox tenant")
            self._users[user.id] = user
        return user

    def users(self) -> list[SandboxUser]:
        with self._lock:
            return list(self._users.values())

    def user(self, user_id: str) -> SandboxUser:
        with self._lock:
            return self._users[user_id]

    def find_user(self, address: str) -> SandboxUser | None:
        """The user any of whose addresses (primary, alias, UPN) is ``address``."""
        wanted = address.strip().lower()
        with self._lock:
            return next((u for u in self._users.values() if wanted in u.addresses), None)

    # -- grants and tokens ---------------------------------------------------------
    def consent(self, user_id: str, client_id: str, scopes: Iterable[str]) -> None:
        with self._lock:
            grant = self._grants.setdefault((user_id, client_id), _Grant(user_id, client_id, set()))
            grant.scopes.update(scopes)

    def has_grant(self, user_id: str, client_id: str) -> bool:
        with self._lock:
            return (user_id, client_id) in self._grants

    def revoke_grant(self, user_id: str, client_id: str | None = None) -> None:
        """What "Revoke permissions" in My Apps does: refresh tokens stop working.

        Access tokens already issued keep working until they expire, as in Entra ID.
        """
        with self._lock:
            for key in [k for k in self._grants if k[0] == user_id and client_id in (None, k[1])]:
                grant = self._grants.pop(key)
                for token in grant.refresh_tokens:
                    self._refresh.pop(token, None)

    def expire_access_tokens(self, user_id: str) -> None:
        """Let every access token of ``user_id`` lapse now (time passing, for tests)."""
        with self._lock:
            for token in [t for t, a in self._access.items() if a.user_id == user_id]:
                del self._access[token]

    def issue_tokens(self, user_id: str, client_id: str) -> tuple[str, str, int]:
        """A new (access token, refresh token, lifetime) under the user's grant."""
        with self._lock:
            grant = self._grants[(user_id, client_id)]
            access = "sbx-at-" + secrets.token_urlsafe(24)
            refresh = "sbx-rt-" + secrets.token_urlsafe(32)
            lifetime = self.access_token_lifetime
            self._access[access] = _AccessToken(
                user_id, client_id, frozenset(grant.scopes), self._clock() + lifetime
            )
            self._refresh[refresh] = (user_id, client_id)
            grant.refresh_tokens.add(refresh)
            return access, refresh, lifetime

    def redeem_refresh_token(self, refresh: str, client_id: str) -> str | None:
        """The user id behind a live refresh token of ``client_id``, else None."""
        with self._lock:
            owner = self._refresh.get(refresh)
            if owner is None or owner[1] != client_id:
                return None
            return owner[0]

    def scopes_of(self, user_id: str, client_id: str) -> set[str]:
        with self._lock:
            grant = self._grants.get((user_id, client_id))
            return set(grant.scopes) if grant else set()

    def user_for_access_token(self, token: str) -> tuple[SandboxUser, frozenset[str]] | None:
        """The user and scopes behind a bearer token, or None if unknown or expired."""
        with self._lock:
            entry = self._access.get(token)
            if entry is None or entry.expires_at <= self._clock():
                return None
            return self._users[entry.user_id], entry.scopes
