"""The ``scaleup dev`` banner says which of Slack and Microsoft are real or the sandbox,
and which variables decided it."""

from __future__ import annotations

import pytest

from bot.banner import banner, microsoft_line, slack_line
from bot.sandbox import Sandbox
from bot.settings import Settings

SLACK_ONE = {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s"}
SLACK_MANY = {"SLACK_CLIENT_ID": "1.2", "SLACK_CLIENT_SECRET": "c", "SLACK_SIGNING_SECRET": "s"}
MICROSOFT = {"MS_CLIENT_ID": "abc", "MS_CLIENT_SECRET": "def"}


@pytest.mark.parametrize(
    ("env", "slack", "microsoft"),
    [
        (
            {},
            "Slack:      sandbox (none of SLACK_BOT_TOKEN, SLACK_CLIENT_ID, SLACK_SIGNING_SECRET is set)",
            "Microsoft:  sandbox (neither MS_CLIENT_ID nor MS_CLIENT_SECRET is set)",
        ),
        (
            SLACK_ONE,
            "Slack:      real, one workspace (set by SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET)",
            "Microsoft:  sandbox (neither MS_CLIENT_ID nor MS_CLIENT_SECRET is set)",
        ),
        (
            MICROSOFT,
            "Slack:      sandbox (none of SLACK_BOT_TOKEN, SLACK_CLIENT_ID, SLACK_SIGNING_SECRET is set)",
            "Microsoft:  real (set by MS_CLIENT_ID, MS_CLIENT_SECRET; sign-in "
            "https://login.microsoftonline.com/organizations, Graph https://graph.microsoft.com/v1.0)",
        ),
        (
            {**SLACK_MANY, **MICROSOFT, "SLACK_API_URL": "http://127.0.0.1:9/api"},
            "Slack:      real, installable in many workspaces (set by SLACK_SIGNING_SECRET, "
            "SLACK_CLIENT_ID, SLACK_CLIENT_SECRET, Web API http://127.0.0.1:9/api/ from SLACK_API_URL)",
            "Microsoft:  real (set by MS_CLIENT_ID, MS_CLIENT_SECRET; sign-in "
            "https://login.microsoftonline.com/organizations, Graph https://graph.microsoft.com/v1.0)",
        ),
    ],
    ids=["all-sandbox", "real-slack", "real-microsoft", "all-real"],
)
def test_each_part_is_named_real_or_sandbox_with_what_set_it(
    env: dict[str, str], slack: str, microsoft: str
) -> None:
    settings = Settings.from_env(env)
    assert slack_line(settings) == slack
    assert microsoft_line(settings) == microsoft
    shown = banner(settings, "http://127.0.0.1:3000", None, wanted_port=3000).splitlines()
    assert slack in shown and microsoft in shown
    assert not any("credentials set" in line or "taken" in line for line in shown)


def test_a_port_fallback_is_named() -> None:
    shown = banner(Settings.from_env({}), "http://127.0.0.1:4567", None, wanted_port=3000)
    assert "ScaleUp is running at http://127.0.0.1:4567  (port 3000 was taken)" in shown


def test_the_sandbox_lists_only_the_parts_in_use(sandbox: Sandbox) -> None:
    slack_only = "\n".join(sandbox.banner_lines(slack=True, microsoft=False))
    assert "Slack console:" in slack_only and "Microsoft sign-in:" not in slack_only
    microsoft_only = "\n".join(sandbox.banner_lines(slack=False, microsoft=True))
    assert "Outlook / Graph:" in microsoft_only and "Slack console" not in microsoft_only
    assert "/scaleup connect" in microsoft_only
