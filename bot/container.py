"""The composition root: builds every service from settings, once per process."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import requests
from flask import Flask
from slack_bolt import App
from slack_sdk import WebClient
from sqlalchemy import Engine

from bot.clock import Clock, SystemClock
from bot.crypto import TokenCipher, dev_key
from bot.db import SessionFactory, make_engine, make_session_factory
from bot.installations import EncryptedInstallationStore
from bot.notifier import SlackNotifier
from bot.request_guard import SlackRequestGuard
from bot.settings import GRAPH_SCOPES, Settings
from bot.slack_app import build_bolt_app, client_lookup
from bot.slack_identity import SlackOpenID, SlackProfiles
from bot.web import create_web_app
from handlers import Deps
from outreach.campaigns import Campaigns
from outreach.connections import MailboxConnections
from outreach.delegations import Delegations
from outreach.erasure import MailboxErasure
from outreach.graph_clients import GraphClients
from outreach.microsoft import MicrosoftApp, MicrosoftLogin
from outreach.reply_triage import Replies
from outreach.shortlists import Shortlists
from outreach.sign_in_links import SignInLinks
from outreach.slack_sign_in import SlackStep
from outreach.suppressions import Suppressions
from outreach.tokens import MailboxTokens


@dataclass
class Container:
    settings: Settings
    engine: Engine
    db: SessionFactory
    cipher: TokenCipher
    clock: Clock
    tokens: MailboxTokens
    sign_in_links: SignInLinks
    connections: MailboxConnections
    erasure: MailboxErasure
    campaigns: Campaigns
    shortlists: Shortlists
    notifier: SlackNotifier
    bolt: App
    web: Flask
    #: team id → that workspace's WebClient (the worker's Slack poster uses it).
    slack_clients: Callable[[str], WebClient | None]
    listeners: ThreadPoolExecutor = field(default_factory=ThreadPoolExecutor)

    def close(self) -> None:
        """Let the work Bolt started after its acks finish, then close the database pool
        (a connection a late listener still held would otherwise be dropped unclosed)."""
        self.listeners.shutdown(wait=True)
        self.engine.dispose()


def cipher_for(settings: Settings) -> TokenCipher:
    """The configured keys, else a development key kept in the data directory."""
    keys = list(settings.token_encryption_keys) or [dev_key(settings.data_dir)]
    return TokenCipher(keys)


def build(settings: Settings, *, clock: Clock | None = None) -> Container:
    """Wire the process. ``settings`` already points at real services or the sandbox."""
    clock = clock or SystemClock()
    engine = make_engine(settings.database_url)
    db = make_session_factory(engine)
    cipher = cipher_for(settings)
    installations = EncryptedInstallationStore(db, cipher, clock)
    clients = client_lookup(settings, installations)
    notifier = SlackNotifier(clients)

    graph_session = requests.Session()
    graph_session.headers["User-Agent"] = "ScaleUp-Outreach/0.1"

    graph = GraphClients(graph_session, settings.graph_api_url, timeout=settings.graph_timeout)

    login = MicrosoftLogin(
        MicrosoftApp(
            client_id=settings.ms_client_id or "",
            client_secret=settings.ms_client_secret or "",
            authority=settings.ms_authority,
            redirect_uri=settings.outlook_redirect_uri,
            scopes=GRAPH_SCOPES,
            verify=settings.ms_ca_bundle or True,
        )
    )
    openid = SlackOpenID(settings) if settings.slack_openid else None
    directory = SlackProfiles(clients)
    tokens = MailboxTokens(db, login, graph, cipher, notifier, clock)
    sign_in_links = SignInLinks(
        db,
        login,
        tokens,
        cipher,
        clock,
        directory=directory,
        slack_start_url=f"{settings.public_url}/outlook/start" if openid else None,
    )
    connections = MailboxConnections(
        db,
        login,
        graph,
        tokens,
        cipher,
        notifier,
        clock,
        directory=directory,
    )
    erasure = MailboxErasure(db, tokens, clock, directory=directory)
    slack_step = SlackStep(db, openid, cipher.decrypt, clock) if openid else None
    campaigns = Campaigns(db, clock)
    shortlists = Shortlists(db, clock)
    deps = Deps(
        sign_in_links=sign_in_links,
        connections=connections,
        erasure=erasure,
        shortlists=shortlists,
        campaigns=campaigns,
        delegations=Delegations(db, clock, notifier),
        suppressions=Suppressions(db, clock),
        replies=Replies(db, clock, campaigns, tokens.graph_for),
    )
    listeners = ThreadPoolExecutor(max_workers=5, thread_name_prefix="bolt-listener")
    bolt = build_bolt_app(settings, deps, db, installations, clock, listeners)
    web = create_web_app(
        bolt, connections, db, slack_step, secure_cookies=settings.public_url.startswith("https://")
    )
    web.wsgi_app = SlackRequestGuard(web.wsgi_app, settings.slack_signing_secret)  # type: ignore[method-assign]
    return Container(
        settings,
        engine,
        db,
        cipher,
        clock,
        tokens,
        sign_in_links,
        connections,
        erasure,
        campaigns,
        shortlists,
        notifier,
        bolt,
        web,
        clients,
        listeners,
    )
