"""A campaign paused because its mailbox can no longer send: the thread shows the error's
own sentence, commands as code, whatever the cause; older queued notices still render."""

from __future__ import annotations

import json

from bot.slack_poster import decode
from handlers import notice_blocks
from outreach.errors import MailboxNeedsReconnect, MailboxRefused
from outreach.notify import CampaignPaused


def shown(notice: CampaignPaused) -> str:
    return json.dumps(notice_blocks.thread_notice(notice))


def test_a_mailbox_that_needs_reconnecting_names_the_command_as_code() -> None:
    error = MailboxNeedsReconnect()
    notice = CampaignPaused("Backend Q4", str(error), type(error).__name__)
    text = shown(notice)
    assert "Run `/scaleup connect` to reconnect it." in text
    assert "`/scaleup campaign resume Backend Q4`" in text


def test_a_refused_mailbox_keeps_graphs_reason_inert() -> None:
    error = MailboxRefused("<!channel> & ErrorAccessDenied")
    notice = CampaignPaused("Q4", str(error), type(error).__name__, error.detail)
    text = shown(notice)
    assert "Outlook refused to send from this mailbox (&lt;!channel&gt; &amp; ErrorAccessDenied)." in text
    assert "<!channel>" not in text


def test_a_notice_queued_before_causes_were_named_still_renders() -> None:
    old = decode("CampaignPaused", {"campaign": "Q4", "reason": "Run /scaleup connect."})
    assert isinstance(old, CampaignPaused) and old.cause == ""
    assert "Paused: Run /scaleup connect." in shown(old)
