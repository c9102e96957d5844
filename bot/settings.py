"""Settings, read from the environment only (12-factor), and checked at start.

Every variable is optional. With no Slack credentials the bot talks to the sandbox
Slack; with no Microsoft credentials, to the sandbox identity platform and Graph.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

DEFAULT_SLACK_API_URL = "https://slack.com/api/"
DEFAULT_GRAPH_API_URL = "https://graph.microsoft.com/v1.0"
DEFAULT_MS_AUTHORITY = "https://login.microsoftonline.com/organizations"
DEFAULT_DATABASE_URL = "sqlite:///scaleup.db"

#: Delegated Graph scopes the bot asks for (MSAL adds openid/profile/offline_access itself).
GRAPH_SCOPES = ("User.Read", "Mail.ReadWrite", "Mail.Send", "MailboxSettings.ReadWrite")

#: Bot scopes, kept equal to app_manifest.yaml (a test checks).
SLACK_BOT_SCOPES = (
    "commands",
    "chat:write",
    "im:write",
    "users:read",
    "users:read.email",
    "im:history",
    "files:read",
    "channels:read",
    "groups:read",
    "channels:join",
    "files:write",
)


class SettingsError(Exception):
    """The environment is inconsistent; the message lists every problem found."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("Configuration problems:\n" + "\n".join(f"  - {p}" for p in problems))
        self.problems = problems


@dataclass(frozen=True)
class Settings:
    """The bot's configuration. Build it with :meth:`from_env`."""

    database_url: str = DEFAULT_DATABASE_URL
    public_url: str = "http://127.0.0.1:3000"
    port: int = 3000
    slack_bot_token: str | None = None
    slack_signing_secret: str | None = None
    slack_client_id: str | None = None
    slack_client_secret: str | None = None
    slack_app_token: str | None = None
    slack_api_url: str = DEFAULT_SLACK_API_URL
    ms_client_id: str | None = None
    ms_client_secret: str | None = None
    ms_authority: str = DEFAULT_MS_AUTHORITY
    ms_redirect_uri: str | None = None
    ms_ca_bundle: str | None = None
    graph_api_url: str = DEFAULT_GRAPH_API_URL
    graph_timeout: float = 30.0
    token_encryption_keys: tuple[str, ...] = ()
    data_dir: Path = Path(".scaleup")
    #: How long a worker's claim on a mailbox or a message lasts without renewal (seconds);
    #: another worker takes over stranded work after it (outreach/dispatch.py).
    dispatch_lease_seconds: float = 300.0
    #: How long a sent draft may stay unsent in Drafts before it is sent again (seconds).
    send_grace_seconds: float = 600.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read the variables the README lists under "Environment"; blank values count as unset."""
        env = os.environ if env is None else env

        def get(name: str) -> str | None:
            value = env.get(name, "").strip()
            return value or None

        port = int(get("PORT") or 3000)
        database_url = get("DATABASE_URL") or DEFAULT_DATABASE_URL
        if database_url.startswith("postgres://"):  # Heroku's spelling; SQLAlchemy wants this one
            database_url = "postgresql+psycopg://" + database_url[len("postgres://") :]
        elif database_url.startswith("postgresql://"):
            database_url = "postgresql+psycopg://" + database_url[len("postgresql://") :]
        keys = tuple(
            k.strip() for k in (get("TOKEN_ENCRYPTION_KEYS") or "").split(",") if k.strip()
        )
        return cls(
            database_url=database_url,
            public_url=(get("PUBLIC_URL") or f"http://127.0.0.1:{port}").rstrip("/"),
            port=port,
            slack_bot_token=get("SLACK_BOT_TOKEN"),
            slack_signing_secret=get("SLACK_SIGNING_SECRET"),
            slack_client_id=get("SLACK_CLIENT_ID"),
            slack_client_secret=get("SLACK_CLIENT_SECRET"),
            slack_app_token=get("SLACK_APP_TOKEN"),
            slack_api_url=_with_slash(get("SLACK_API_URL") or DEFAULT_SLACK_API_URL),
            ms_client_id=get("MS_CLIENT_ID"),
            ms_client_secret=get("MS_CLIENT_SECRET"),
            ms_authority=(get("MS_AUTHORITY") or DEFAULT_MS_AUTHORITY).rstrip("/"),
            ms_redirect_uri=get("MS_REDIRECT_URI"),
            ms_ca_bundle=get("MS_CA_BUNDLE"),
            graph_api_url=(get("GRAPH_API_URL") or DEFAULT_GRAPH_API_URL).rstrip("/"),
            graph_timeout=float(get("GRAPH_TIMEOUT_SECONDS") or 30),
            token_encryption_keys=keys,
            data_dir=Path(get("SCALEUP_DATA_DIR") or ".scaleup"),
            dispatch_lease_seconds=float(get("DISPATCH_LEASE_SECONDS") or 300),
            send_grace_seconds=float(get("SEND_GRACE_SECONDS") or 600),
        )

    # -- derived -------------------------------------------------------------------
    @property
    def slack_sandboxed(self) -> bool:
        """No Slack credentials of any kind: talk to the sandbox Slack."""
        return not (self.slack_bot_token or self.slack_client_id or self.slack_signing_secret)

    @property
    def microsoft_sandboxed(self) -> bool:
        """No Microsoft app registration: talk to the sandbox identity platform and Graph."""
        return not (self.ms_client_id or self.ms_client_secret)

    @property
    def multi_workspace(self) -> bool:
        """Installable in many workspaces: client id and secret without a bot token."""
        return bool(self.slack_client_id and self.slack_client_secret and not self.slack_bot_token)

    @property
    def slack_openid(self) -> bool:
        """Sign in with Slack is possible: the app's client id and secret are set."""
        return bool(self.slack_client_id and self.slack_client_secret)

    @property
    def slack_oidc_redirect_uri(self) -> str:
        return f"{self.public_url}/slack/oidc/callback"

    @property
    def outlook_redirect_uri(self) -> str:
        return self.ms_redirect_uri or f"{self.public_url}/outlook/callback"

    def with_overrides(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]

    def check(self) -> None:
        """Raise :class:`SettingsError` naming every inconsistency, so an admin fixes all at once."""
        problems: list[str] = []
        if self.slack_bot_token and not self.slack_signing_secret:
            problems.append(
                "SLACK_BOT_TOKEN is set but SLACK_SIGNING_SECRET is not: Slack requests "
                "cannot be verified. Copy the signing secret from the app's Basic Information page."
            )
        if bool(self.slack_client_id) != bool(self.slack_client_secret):
            problems.append(
                "SLACK_CLIENT_ID and SLACK_CLIENT_SECRET must be set together "
                "(multi-workspace install, or Sign in with Slack beside SLACK_BOT_TOKEN)."
            )
        if self.multi_workspace and not self.slack_signing_secret:
            problems.append("Multi-workspace mode needs SLACK_SIGNING_SECRET as well.")
        if self.slack_bot_token and not self.slack_bot_token.startswith("xoxb-"):
            problems.append("SLACK_BOT_TOKEN must be a bot token starting with 'xoxb-'.")
        if self.slack_app_token and not self.slack_app_token.startswith("xapp-"):
            problems.append("SLACK_APP_TOKEN must be an app-level token starting with 'xapp-'.")
        if self.slack_signing_secret and not (self.slack_bot_token or self.multi_workspace):
            problems.append(
                "SLACK_SIGNING_SECRET is set without SLACK_BOT_TOKEN or SLACK_CLIENT_ID/SECRET."
            )
        if bool(self.ms_client_id) != bool(self.ms_client_secret):
            problems.append("MS_CLIENT_ID and MS_CLIENT_SECRET must be set together.")
        if not self.ms_authority.startswith("https://"):
            problems.append("MS_AUTHORITY must be an https:// URL (MSAL refuses anything else).")
        if not self.microsoft_sandboxed and not self.token_encryption_keys:
            problems.append(
                "TOKEN_ENCRYPTION_KEYS is required with real Microsoft credentials: "
                "mailbox tokens are stored encrypted. Generate one with "
                "`python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'`."
            )
        for index, key in enumerate(self.token_encryption_keys, 1):
            if not _is_fernet_key(key):
                problems.append(
                    f"TOKEN_ENCRYPTION_KEYS entry {index} is not a Fernet key "
                    "(32 url-safe base64-encoded bytes)."
                )
        if (
            not self.microsoft_sandboxed
            and not self.public_url.startswith("https://")
            and not (self.ms_redirect_uri or "").startswith("http://localhost")
            and not _on_loopback(self.ms_authority)  # `scaleup sandbox`, not Entra ID
        ):
            problems.append(
                "PUBLIC_URL must be https:// with real Microsoft credentials: Entra ID only "
                "accepts https redirect URIs (or http://localhost)."
            )
        if not self.database_url.startswith(("sqlite", "postgresql")):
            problems.append("DATABASE_URL must be a sqlite:// or postgres(ql):// URL.")
        if problems:
            raise SettingsError(problems)

    def require_real_services(self) -> None:
        """``web`` and ``worker`` talk to the real Slack and Microsoft: refuse to start
        without them, pointing at ``scaleup dev`` for local use."""
        missing = []
        if self.slack_sandboxed:
            missing.append(
                "Slack: set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET (one workspace) or "
                "SLACK_CLIENT_ID, SLACK_CLIENT_SECRET and SLACK_SIGNING_SECRET."
            )
        if self.microsoft_sandboxed:
            missing.append("Microsoft: set MS_CLIENT_ID and MS_CLIENT_SECRET.")
        if missing:
            hint = "To try ScaleUp locally without them, run `scaleup dev` (or `make run`)."
            raise SettingsError([*missing, hint])


def _on_loopback(url: str) -> bool:
    from urllib.parse import urlsplit

    return urlsplit(url).hostname in ("127.0.0.1", "localhost", "::1")


def _with_slash(url: str) -> str:
    return url if url.endswith("/") else url + "/"


def _is_fernet_key(key: str) -> bool:
    import base64
    import binascii

    try:
        return len(base64.urlsafe_b64decode(key.encode())) == 32
    except (binascii.Error, ValueError):
        return False
