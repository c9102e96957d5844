"""``scaleup sandbox`` on its own: the environment it prints is all a bot needs, and a
restart (stopped, or killed) loses no mailbox, consent, mail or Slack message."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.sandbox import RECRUITER
from bot.sandbox.processes import ExternalBot, SandboxProcess
from bot.settings import Settings

BOT_ENV = (
    "PUBLIC_URL", "SLACK_API_URL", "SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_CLIENT_ID",
    "SLACK_CLIENT_SECRET", "MS_CLIENT_ID", "MS_CLIENT_SECRET", "MS_AUTHORITY", "MS_CA_BUNDLE",
    "GRAPH_API_URL", "TOKEN_ENCRYPTION_KEYS",
)  # fmt: skip


@pytest.fixture
def bot() -> Iterator[ExternalBot]:
    running = ExternalBot.listen()
    yield running
    running.stop()


def test_help_lists_the_sandbox_command() -> None:
    usage = subprocess.run(
        [sys.executable, "-m", "bot.cli", "--help"], capture_output=True, text=True, check=True
    ).stdout
    assert "sandbox the sandbox alone" in " ".join(usage.split())
    assert "prints a bot's environment" in " ".join(usage.split())


def test_the_printed_environment_is_a_complete_bot_configuration(
    tmp_path: Path, bot: ExternalBot
) -> None:
    sandbox = SandboxProcess.start(tmp_path / "sandbox", bot_url=bot.events_url)
    try:
        assert sorted(sandbox.env) == sorted(BOT_ENV)
        assert sandbox.env["PUBLIC_URL"] == bot.url  # taken from --bot-url
        written = (tmp_path / "sandbox" / "bot.env").read_text().splitlines()
        assert written == [f"{k}={v}" for k, v in sandbox.env.items()]
        settings = Settings.from_env(sandbox.env)
        settings.check()  # what `scaleup web` and `scaleup worker` check at start
        settings.require_real_services()
        assert not settings.slack_sandboxed and not settings.microsoft_sandboxed
        # The bot trusts the sandbox's CA from MS_CA_BUNDLE alone, and signs in through it.
        bot.wire(sandbox.env, {"DATABASE_URL": f"sqlite:///{tmp_path}/bot.db"})
        assert bot.connect(RECRUITER)
    finally:
        sandbox.stop()


@pytest.mark.parametrize("ending", ["stopped", "killed"])
def test_a_restarted_sandbox_keeps_mailboxes_consents_mail_and_slack(
    tmp_path: Path, bot: ExternalBot, ending: str
) -> None:
    state = tmp_path / "sandbox"
    sandbox = SandboxProcess.start(state, bot_url=bot.events_url)
    container = bot.wire(sandbox.env, {"DATABASE_URL": f"sqlite:///{tmp_path}/bot.db"})
    mailbox_id = bot.connect(RECRUITER)
    graph = container.mailboxes.graph_for(mailbox_id)
    draft = graph.create_draft(
        {
            "subject": "Before the restart",
            "body": {"contentType": "Text", "content": "Hello"},
            "toRecipients": [{"emailAddress": {"address": "jana@talent.example"}}],
        }
    )
    graph.send_draft(draft["id"])
    slack = WebClient(token=sandbox.env["SLACK_BOT_TOKEN"], base_url=sandbox.env["SLACK_API_URL"])
    dm = slack.conversations_open(users=RECRUITER.slack_id)["channel"]["id"]
    posted = slack.chat_postMessage(channel=dm, text="Before the restart")
    ports = sandbox.ports
    if ending == "stopped":
        assert sandbox.stop() == 0  # SIGTERM: a last save, then exit
    else:
        time.sleep(1.5)  # three save intervals: the change is on disk
        sandbox.kill()  # SIGKILL: only what was saved already

    again = SandboxProcess.start(state, bot_url=bot.events_url, ports=ports)
    try:
        assert again.env == sandbox.env  # same secrets, tokens, tenant and CA: nothing to redo
        # The consent and its refresh token survived: a forced refresh gets a new token.
        container.mailboxes.token_refused(mailbox_id)
        assert graph.me()["mail"] == RECRUITER.email
        sent = graph.request("GET", "/me/mailFolders/sentitems/messages").json()["value"]
        assert [m["subject"] for m in sent] == ["Before the restart"]
        # The bot's token, the DM and the message are the same Slack objects as before.
        assert slack.conversations_open(users=RECRUITER.slack_id)["channel"]["id"] == dm
        slack.chat_update(channel=dm, ts=posted["ts"], text="After the restart")
        with pytest.raises(SlackApiError, match="message_not_found"):
            slack.chat_update(channel=dm, ts="1.000001", text="never posted")
    finally:
        again.stop()

