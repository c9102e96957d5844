"""The Bolt app: single-workspace (a bot token) or installable (client id + secret)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any

from slack_bolt import App, BoltResponse
from slack_bolt.oauth.oauth_settings import OAuthSettings
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
)
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError

import handlers
from bot.clock import Clock
from bot.db import SessionFactory, transaction
from bot.installations import DatabaseStateStore, EncryptedInstallationStore
from bot.models import SlackEventSeen
from bot.settings import DEFAULT_SLACK_API_URL, SLACK_BOT_SCOPES, Settings

log = logging.getLogger(__name__)


def web_client(settings: Settings, token: str | None = None) -> WebClient:
    """A WebClient for our Slack (real or sandbox) that waits out 429s."""
    return WebClient(
        token=token,
        base_url=settings.slack_api_url,
        retry_handlers=[
            ConnectionErrorRetryHandler(max_retry_count=1),
            RateLimitErrorRetryHandler(max_retry_count=2),
        ],
    )


def build_bolt_app(
    settings: Settings,
    deps: handlers.Deps,
    db: SessionFactory,
    installations: EncryptedInstallationStore,
    clock: Clock,
    listeners: Executor | None = None,
) -> App:
    """Bolt with our listeners, event de-duplication and the right authorization mode.

    ``listeners`` runs the work Bolt does after each ack; the caller owns it, so it can
    let that work finish before the database goes away (:meth:`Container.close`)."""
    if settings.multi_workspace:
        oauth = OAuthSettings(
            client_id=settings.slack_client_id,
            client_secret=settings.slack_client_secret,
            scopes=list(SLACK_BOT_SCOPES),
            installation_store=installations,
            state_store=DatabaseStateStore(db, clock),
            install_path="/slack/install",
            redirect_uri_path="/slack/oauth_redirect",
            redirect_uri=f"{settings.public_url}/slack/oauth_redirect",
            authorization_url=_authorize_url(settings.slack_api_url),
        )
        app = App(
            signing_secret=settings.slack_signing_secret,
            installation_store=installations,
            oauth_settings=oauth,
            client=web_client(settings),
            listener_executor=listeners,
        )
    else:
        app = App(  # the client carries the bot token
            signing_secret=settings.slack_signing_secret,
            client=web_client(settings, settings.slack_bot_token),
            listener_executor=listeners,
        )
    app.middleware(_deduplicate_events(db, clock))
    handlers.register(app, deps)
    return app


def client_lookup(
    settings: Settings, installations: EncryptedInstallationStore
) -> Callable[[str], WebClient | None]:
    """team id → a WebClient holding that workspace's bot token."""
    if not settings.multi_workspace:
        shared = web_client(settings, settings.slack_bot_token)
        return lambda _team_id: shared

    def lookup(team_id: str) -> WebClient | None:
        bot = installations.find_bot(enterprise_id=None, team_id=team_id)
        return web_client(settings, bot.bot_token) if bot else None

    return lookup


def _authorize_url(api_url: str) -> str:
    if api_url == DEFAULT_SLACK_API_URL:
        return "https://slack.com/oauth/v2/authorize"
    return api_url.rstrip("/").removesuffix("/api") + "/oauth/v2/authorize"


def _deduplicate_events(db: SessionFactory, clock: Clock) -> Callable[..., Any]:
    """Slack redelivers an event it thinks failed; handle each ``event_id`` once."""

    def middleware(body: dict[str, Any], next: Callable[[], BoltResponse]) -> BoltResponse | None:
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        if not event_id:
            return next()
        now = clock.now()
        try:
            with transaction(db) as session:
                session.add(SlackEventSeen(event_id=event_id, received_at=now))
        except IntegrityError:
            log.info("event %s already handled; ignoring the redelivery", event_id)
            return BoltResponse(status=200, body="")
        return next()

    return middleware


def forget_old_events(db: SessionFactory, clock: Clock) -> None:
    """Slack stops retrying after about an hour; a day of ids is plenty."""
    from datetime import timedelta

    with transaction(db) as session:
        session.execute(
            delete(SlackEventSeen).where(
                SlackEventSeen.received_at < clock.now() - timedelta(days=1)
            )
        )
