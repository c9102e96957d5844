"""The sandbox: a local Microsoft sign-in, Outlook (Graph) and Slack on loopback.

Real HTTP servers speaking the real wire formats, so the bot's own MSAL, requests and
slack_sdk code is what runs. ``scaleup dev``, the demo and the tests all use it.

    sandbox = Sandbox.start(tmp_dir)
    settings = sandbox.configure(Settings.from_env({}))   # points the bot at the sandbox
    ...                                                   # start the bot on settings.public_url
    slack = sandbox.attach_bot(settings.public_url + "/slack/events")
    slack.slash(sandbox.recruiter, "connect")
"""

from __future__ import annotations

import secrets
import ssl
import time
import uuid
from dataclasses import dataclass, field, replace
from pathlib import Path

from bot.clock import Clock
from bot.sandbox.console import console_url, mount_console
from bot.sandbox.directory import Directory, SandboxUser
from bot.sandbox.graph import GraphSandbox
from bot.sandbox.graph_faults import Faults
from bot.sandbox.identity import IdentityPlatform
from bot.sandbox.mailstore import MailStore
from bot.sandbox.server import RunningServer, WSGIApp, listen_near, serve
from bot.sandbox.slack import Workspace
from bot.sandbox.slack_api import SlackSandbox
from bot.sandbox.slack_driver import SlackDriver
from bot.sandbox.tls import Certificates, make_certificates
from bot.settings import Settings

__all__ = ["Person", "Sandbox"]

#: Entra's default access-token lifetime is 60-90 minutes; ``Sandbox.start`` takes another.
TOKEN_LIFETIME = 3600


@dataclass(frozen=True)
class Person:
    """Someone in the sandbox's Slack workspace who also has a work mailbox."""

    slack_id: str
    name: str
    real_name: str
    email: str
    aliases: tuple[str, ...] = ()


class IdentityClock:
    """The epoch seconds the identity platform and directory judge token lifetimes by.

    Real time until :meth:`follow` points it at a :class:`~bot.clock.Clock` (a test's fake
    clock), so that a bot and the sandbox agree on when a token has expired.
    """

    def __init__(self) -> None:
        self._source: Clock | None = None

    def follow(self, clock: Clock | None) -> None:
        self._source = clock

    def __call__(self) -> float:
        return self._source.now().timestamp() if self._source else time.time()


RECRUITER = Person(
    "U0RECRUIT1", "riley", "Riley Chen", "riley.chen@acme.test", ("riley@acme.test",)
)
HIRING_MANAGER = Person("U0HIRING01", "sam", "Sam Patel", "sam.patel@acme.test")
COLLEAGUE = Person("U0COLLEAG1", "alex", "Alex Kim", "alex.kim@acme.test")

#: Seeded channels: (name, private, members). The bot is in none of them at first: a
#: campaign's public channel it joins itself, a private one it must be invited to.
CHANNELS = (
    ("recruiting", False, (RECRUITER, HIRING_MANAGER, COLLEAGUE)),
    ("hiring-backend", False, (RECRUITER, HIRING_MANAGER)),
    ("exec-hiring", True, (RECRUITER, HIRING_MANAGER)),
)


@dataclass
class Sandbox:
    """The running sandbox servers and the state behind them."""

    directory: Directory
    identity: IdentityPlatform
    store: MailStore
    graph: GraphSandbox
    slack: SlackSandbox
    certs: Certificates
    workspace: Workspace
    signing_secret: str
    ms_client_id: str
    ms_client_secret: str
    identity_server: RunningServer
    graph_server: RunningServer
    slack_server: RunningServer
    people: dict[str, Person] = field(default_factory=dict)
    bot_events_url: str | None = None
    identity_clock: IdentityClock = field(default_factory=IdentityClock)
    #: The authority path the bot is configured with: the tenant id, or the multi-tenant
    #: production forms ``organizations`` / ``common`` (set before :meth:`configure`).
    authority_tenant: str | None = None

    @classmethod
    def start(
        cls,
        data_dir: Path,
        *,
        team_id: str = "T0SANDBOX1",
        base_port: int = 0,
        token_lifetime: int = TOKEN_LIFETIME,
        ports: tuple[int, int, int] | None = None,
        ca_dir: Path | None = None,
    ) -> Sandbox:
        """Start the three servers and seed a small company.

        With ``base_port`` the servers take the three ports after it when free (stable URLs
        for ``scaleup dev``); otherwise, and as a fallback, any free loopback port. Access
        tokens live ``token_lifetime`` seconds of :attr:`identity_clock`. ``ports`` (Slack,
        identity, Graph; 0 for any) and ``ca_dir`` (default ``data_dir/tls``) are
        ``scaleup sandbox``'s.
        """
        clock = IdentityClock()
        directory = Directory(access_token_lifetime=token_lifetime, clock=clock)
        certs = make_certificates(ca_dir or data_dir / "tls")
        identity = IdentityPlatform(directory, clock=clock)
        store = MailStore(directory)
        graph = GraphSandbox(directory, store, faults=Faults())
        slack = SlackSandbox()
        if ports is None:
            ports = (base_port + 1, base_port + 2, base_port + 3) if base_port else (0, 0, 0)
        slack_server = _serve_near(slack.wsgi_app, ports[0], name="sandbox-slack")
        slack.url = slack_server.url
        identity_server = _serve_near(
            identity.wsgi_app, ports[1], ssl_context=certs.server_context(), name="sandbox-identity"
        )
        graph_server = _serve_near(graph.wsgi_app, ports[2], name="sandbox-graph")
        workspace = slack.add_workspace(team_id, "Acme Recruiting")
        sandbox = cls(
            directory=directory,
            identity=identity,
            store=store,
            graph=graph,
            slack=slack,
            certs=certs,
            workspace=workspace,
            signing_secret=secrets.token_hex(16),
            ms_client_id=str(uuid.uuid4()),
            ms_client_secret=secrets.token_urlsafe(24),
            identity_server=identity_server,
            graph_server=graph_server,
            slack_server=slack_server,
            identity_clock=clock,
        )
        for person in (RECRUITER, HIRING_MANAGER, COLLEAGUE):
            sandbox.add_person(person)
        for name, private, members in CHANNELS:
            members_ids = tuple(p.slack_id for p in members)
            slack.add_channel(team_id, name, private=private, members=members_ids, bot=False)
        mount_console(slack.wsgi_app, sandbox)  # before any request: Flask forbids later
        return sandbox

    # -- people ------------------------------------------------------------------------
    def add_person(self, person: Person, *, email_visible: bool = True) -> SandboxUser:
        """A Slack member of the workspace with a mailbox in the tenant."""
        self.slack.add_user(
            self.workspace.team_id,
            person.slack_id,
            name=person.name,
            real_name=person.real_name,
            email=person.email if email_visible else None,
        )
        self.people[person.slack_id] = person
        return self.directory.add_user(person.email, person.real_name, aliases=person.aliases)

    @property
    def recruiter(self) -> Person:
        return RECRUITER

    @property
    def hiring_manager(self) -> Person:
        return HIRING_MANAGER

    # -- wiring the bot ----------------------------------------------------------------
    def set_policy(self, email: str, policy: str | None) -> None:
        """Put ``email``'s account under a tenant condition (``admin_consent``, ``mfa``,
        ``mfa_enrollment``, ``disabled``) or lift it: see ``IdentityPlatform.set_policy``."""
        user = self.directory.find_user(email)
        if user is None:
            raise KeyError(email)
        self.identity.set_policy(user.id, policy)

    @property
    def authority(self) -> str:
        return f"{self.identity_server.url}/{self.authority_tenant or self.directory.tenant_id}"

    def configure(self, settings: Settings) -> Settings:
        """``settings`` with every unconfigured service pointed at the sandbox."""
        changes: dict[str, object] = {}
        if settings.slack_sandboxed:
            changes.update(
                slack_bot_token=self.workspace.bot_token,
                slack_signing_secret=self.signing_secret,
                slack_api_url=self.slack.api_url,
                # One workspace with Sign in with Slack: the sandbox app's own id and secret.
                slack_client_id=self.slack.client_id,
                slack_client_secret=self.slack.client_secret,
            )
        if settings.microsoft_sandboxed:
            changes.update(
                ms_client_id=self.ms_client_id,
                ms_client_secret=self.ms_client_secret,
                ms_authority=self.authority,
                ms_ca_bundle=str(self.certs.ca_path),
                graph_api_url=f"{self.graph_server.url}/v1.0",
            )
        configured = replace(settings, **changes)  # type: ignore[arg-type]
        self.identity.register_client(
            self.ms_client_id, self.ms_client_secret, [configured.outlook_redirect_uri]
        )
        return configured

    def attach_bot(self, events_url: str) -> SlackDriver:
        """Remember where the bot listens and return a Slack client that talks to it."""
        self.bot_events_url = events_url
        return self.driver()

    def driver(self) -> SlackDriver:
        if self.bot_events_url is None:
            raise RuntimeError("call attach_bot() with the bot's /slack/events URL first")
        return SlackDriver(
            self.bot_events_url,
            self.signing_secret,
            self.slack,
            self.workspace.team_id,
            self.workspace.app_id,
        )

    def ports(self) -> list[int]:
        """The ports really served: Slack, identity, Graph."""
        return [s.port for s in (self.slack_server, self.identity_server, self.graph_server)]

    def banner_lines(self, *, slack: bool = True, microsoft: bool = True) -> list[str]:
        """Where each sandboxed part listens; ``slack``/``microsoft``: which are in use."""
        names = ", ".join(f"{p.real_name} <{p.email}>" for p in self.people.values())
        lines = ["", "Sandbox:"]
        if slack:
            lines += [
                f"  Slack Web API:      {self.slack.api_url}",
                f"  Slack console:      {console_url(self)}  (act as one of the people below)",
            ]
        if microsoft:
            lines += [
                f"  Microsoft sign-in:  {self.authority} (HTTPS, CA {self.certs.ca_path})",
                f"  Outlook / Graph:    {self.graph_server.url}/v1.0",
            ]
        lines += [f"  People:             {names}", ""]
        if slack:
            lines += [
                f"Try it: open {console_url(self)}, act as Riley Chen and type `connect`,",
                "then `shortlist create backend` and `campaign create`.",
            ]
        else:
            lines.append("Try it: in Slack, type `/scaleup connect` and sign in as a person above.")
        return lines

    def stop(self) -> None:
        self.graph.holds.clear()  # a held request would keep its server from stopping
        for server in (self.slack_server, self.graph_server, self.identity_server):
            server.stop()


def _serve_near(
    app: WSGIApp, port: int, *, ssl_context: ssl.SSLContext | None = None, name: str
) -> RunningServer:
    """Serve on ``port`` if it is free, else on any free port."""
    sock = listen_near("127.0.0.1", port)
    return serve(app, ssl_context=ssl_context, name=name, sock=sock)
