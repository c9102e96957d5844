"""Slack installations kept in our own tables, bot tokens encrypted at rest.

These implement slack_sdk's ``InstallationStore`` and ``OAuthStateStore`` interfaces so
Bolt's built-in "Add to Slack" flow and authorization use them unchanged; slack_sdk's
own SQLAlchemy stores keep tokens in plain text and consume states non-atomically.
"""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta
from typing import Any

from slack_sdk.oauth.installation_store import Bot, Installation, InstallationStore
from slack_sdk.oauth.state_store import OAuthStateStore
from sqlalchemy import delete, select

from bot.clock import Clock
from bot.crypto import TokenCipher
from bot.db import SessionFactory, transaction
from bot.models import SlackOAuthState, Workspace

log = logging.getLogger(__name__)


class EncryptedInstallationStore(InstallationStore):
    """One row per workspace in ``workspaces``; only bot tokens (the app asks no user scopes)."""

    def __init__(self, db: SessionFactory, cipher: TokenCipher, clock: Clock) -> None:
        self._db = db
        self._cipher = cipher
        self._clock = clock

    @property
    def logger(self) -> logging.Logger:
        return log

    def save(self, installation: Installation) -> None:
        self.save_bot(installation.to_bot())
        with transaction(self._db) as session:
            row = _workspace(session, installation.team_id)
            if row is not None:
                row.installed_by = installation.user_id

    def save_bot(self, bot: Bot) -> None:
        now = self._clock.now()
        with transaction(self._db) as session:
            row = _workspace(session, bot.team_id)
            if row is None:
                row = Workspace(team_id=bot.team_id, installed_at=now)
                session.add(row)
            row.enterprise_id = bot.enterprise_id
            row.team_name = bot.team_name
            row.app_id = bot.app_id
            row.bot_id = bot.bot_id
            row.bot_user_id = bot.bot_user_id
            row.bot_scopes = ",".join(bot.bot_scopes or [])
            row.bot_token_enc = self._cipher.encrypt(bot.bot_token)
            row.updated_at = now

    def find_bot(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        is_enterprise_install: bool | None = False,
    ) -> Bot | None:
        with self._db() as session:
            row = _workspace(session, team_id)
            if row is None or row.bot_token_enc is None:
                return None
            return Bot(
                app_id=row.app_id,
                enterprise_id=row.enterprise_id,
                team_id=row.team_id,
                team_name=row.team_name,
                bot_token=self._cipher.decrypt(row.bot_token_enc),
                bot_id=row.bot_id or "",
                bot_user_id=row.bot_user_id or "",
                bot_scopes=row.bot_scopes or "",
                installed_at=row.installed_at.timestamp(),
            )

    def find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:
        bot = self.find_bot(enterprise_id=enterprise_id, team_id=team_id)
        if bot is None:
            return None
        return Installation(
            app_id=bot.app_id,
            enterprise_id=bot.enterprise_id,
            team_id=bot.team_id,
            team_name=bot.team_name,
            bot_token=bot.bot_token,
            bot_id=bot.bot_id,
            bot_user_id=bot.bot_user_id,
            bot_scopes=bot.bot_scopes,
            user_id=user_id or "",
            installed_at=bot.installed_at,
        )

    def delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        with transaction(self._db) as session:
            row = _workspace(session, team_id)
            if row is not None:
                row.bot_token_enc = None

    def delete_installation(
        self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None = None
    ) -> None:
        if user_id is None:
            self.delete_all(enterprise_id=enterprise_id, team_id=team_id)

    def delete_all(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        with transaction(self._db) as session:
            session.execute(delete(Workspace).where(Workspace.team_id == team_id))


class DatabaseStateStore(OAuthStateStore):
    """Single-use states for "Add to Slack", consumed with one atomic DELETE."""

    def __init__(self, db: SessionFactory, clock: Clock, expiration_seconds: int = 600) -> None:
        self._db = db
        self._clock = clock
        self.expiration_seconds = expiration_seconds

    @property
    def logger(self) -> logging.Logger:
        return log

    def issue(self, *args: Any, **kwargs: Any) -> str:
        state = secrets.token_urlsafe(32)
        now = self._clock.now()
        with transaction(self._db) as session:
            session.execute(delete(SlackOAuthState).where(SlackOAuthState.expires_at <= now))
            session.add(
                SlackOAuthState(
                    state=state, expires_at=now + timedelta(seconds=self.expiration_seconds)
                )
            )
        return state

    def consume(self, state: str) -> bool:
        with transaction(self._db) as session:
            found = session.scalars(
                delete(SlackOAuthState)
                .where(SlackOAuthState.state == state)
                .returning(SlackOAuthState.expires_at)
            ).first()
        return found is not None and found > self._clock.now()


def _workspace(session: Any, team_id: str | None) -> Workspace | None:
    if team_id is None:
        return None
    row: Workspace | None = session.scalars(
        select(Workspace).where(Workspace.team_id == team_id)
    ).first()
    return row
