"""Multi-workspace mode: "Add to Slack" through the sandbox, tokens encrypted at rest."""

from __future__ import annotations

import re
from pathlib import Path

import requests
from sqlalchemy import select

from bot.models import Workspace
from bot.sandbox import Sandbox
from bot.sandbox.slack_driver import SlackDriver
from tests.conftest import start_bot


def test_install_then_commands_from_the_new_workspace(
    sandbox: Sandbox, database_url: str, tmp_path: Path
) -> None:
    env = {
        "DATABASE_URL": database_url,
        "SCALEUP_DATA_DIR": str(tmp_path / "data"),
        "SLACK_CLIENT_ID": sandbox.slack.client_id,
        "SLACK_CLIENT_SECRET": sandbox.slack.client_secret,
        "SLACK_SIGNING_SECRET": sandbox.signing_secret,
        "SLACK_API_URL": sandbox.slack.api_url,
    }
    bot, server = start_bot(sandbox, env)
    try:
        assert bot.settings.multi_workspace
        browser = requests.Session()
        page = browser.get(bot.url + "/slack/install", timeout=5)
        assert page.status_code == 200
        link = re.search(r'href="([^"]+/oauth/v2/authorize[^"]+)"', page.text)
        assert link, page.text
        consent = browser.get(link.group(1).replace("&amp;", "&"), allow_redirects=False, timeout=5)
        assert consent.status_code == 302
        # Bolt's state cookie is Secure, which requests keeps off plain http; a browser on
        # the production https URL sends it, so the test does too.
        cookie = "; ".join(f"{c.name}={c.value}" for c in browser.cookies)
        callback = consent.headers["Location"]
        done = requests.get(callback, headers={"Cookie": cookie}, timeout=5)
        assert done.status_code == 200, done.text

        with bot.db() as session:
            [workspace] = session.scalars(select(Workspace)).all()
        installed = sandbox.slack.workspace(workspace.team_id)
        assert workspace.bot_token_enc and installed.bot_token not in workspace.bot_token_enc
        assert bot.container.cipher.decrypt(workspace.bot_token_enc) == installed.bot_token

        # A state from the install page works once.
        replay = requests.get(callback, headers={"Cookie": cookie}, timeout=5)
        assert replay.status_code == 401  # Bolt: invalid_state

        member = sandbox.slack.add_user(installed.team_id, name="kim", real_name="Kim Lee")
        driver = SlackDriver(
            bot.url + "/slack/events",
            sandbox.signing_secret,
            sandbox.slack,
            installed.team_id,
            installed.app_id,
        )
        answer = driver.slash(member["id"], "help")
        assert answer.status_code == 200 and "ScaleUp" in answer.text

        # Uninstalling deletes the installation and its encrypted token.
        driver.event({"type": "app_uninstalled"})

        def gone() -> bool:
            with bot.db() as session:
                return not session.scalars(select(Workspace)).all()

        assert sandbox.slack.wait_for(gone)
    finally:
        server.stop()
        bot.container.close()
