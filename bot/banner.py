"""What ``scaleup dev`` prints when it is up: where the bot listens, which of Slack and
Microsoft are real and which are the sandbox (and which variables decided it), and the
sandbox's addresses. Every address is the one really served, after any port fallback."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.settings import DEFAULT_SLACK_API_URL, Settings

if TYPE_CHECKING:
    from bot.sandbox import Sandbox

__all__ = ["banner", "microsoft_line", "slack_line"]


def _named(names: dict[str, object]) -> str:
    return ", ".join(name for name, value in names.items() if value)


def slack_line(settings: Settings) -> str:
    """Whether Slack is real or the sandbox, and the variables that made it so.

    ``settings`` must be the environment's, before :meth:`Sandbox.configure` fills in
    the sandbox's own credentials.
    """
    if settings.slack_sandboxed:
        return (
            "Slack:      sandbox (none of SLACK_BOT_TOKEN, SLACK_CLIENT_ID, "
            "SLACK_SIGNING_SECRET is set)"
        )
    set_by = _named(
        {
            "SLACK_BOT_TOKEN": settings.slack_bot_token,
            "SLACK_SIGNING_SECRET": settings.slack_signing_secret,
            "SLACK_CLIENT_ID": settings.slack_client_id,
            "SLACK_CLIENT_SECRET": settings.slack_client_secret,
        },
    )
    mode = "installable in many workspaces" if settings.multi_workspace else "one workspace"
    api = ""
    if settings.slack_api_url != DEFAULT_SLACK_API_URL:
        api = f", Web API {settings.slack_api_url} from SLACK_API_URL"
    return f"Slack:      real, {mode} (set by {set_by}{api})"


def microsoft_line(settings: Settings) -> str:
    """Whether Microsoft sign-in and Graph are real or the sandbox, and why (see
    :func:`slack_line` about ``settings``)."""
    if settings.microsoft_sandboxed:
        return "Microsoft:  sandbox (neither MS_CLIENT_ID nor MS_CLIENT_SECRET is set)"
    set_by = _named(
        {"MS_CLIENT_ID": settings.ms_client_id, "MS_CLIENT_SECRET": settings.ms_client_secret},
    )
    return (
        f"Microsoft:  real (set by {set_by}; sign-in {settings.ms_authority}, "
        f"Graph {settings.graph_api_url})"
    )


def banner(
    settings: Settings, url: str, sandbox: Sandbox | None, *, wanted_port: int
) -> str:
    """The whole banner. ``settings`` as in :func:`slack_line`; ``url`` is where the
    bot's web server really listens; ``wanted_port`` is the ``PORT`` asked for."""
    port = int(url.rsplit(":", 1)[1])
    lines = [
        "",
        f"ScaleUp is running at {url}"
        + (f"  (port {wanted_port} was taken)" if port != wanted_port else ""),
        f"  health:          {url}/healthz",
        f"  Slack requests:  {url}/slack/events",
        f"  Outlook sign-in: {url}/outlook/callback",
        "",
        slack_line(settings),
        microsoft_line(settings),
    ]
    if sandbox is not None:
        lines += sandbox.banner_lines(
            slack=settings.slack_sandboxed, microsoft=settings.microsoft_sandboxed
        )
        asked = [wanted_port + n for n in (1, 2, 3)]
        taken = [p for p in asked if p not in sandbox.ports()]
        if taken:
            lines.append(
                "  Ports " + ", ".join(map(str, taken)) + " were taken: the sandbox uses the"
                " free ports shown above."
            )
    lines.append("Press Ctrl-C to stop.")
    return "\n".join(lines)
