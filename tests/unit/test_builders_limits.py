"""Every Block Kit builder, fed the longest inputs the product accepts, makes something
Slack takes: each output goes through the sandbox's Block Kit validator, a pure function
(``bot.sandbox.slack_surfaces``) with Slack's rules (issue 9 item 2, issue 7 item 6).

The inputs are the maximal legal ones, and the worst to escape: a 254-character address
made of ``&`` (each becomes ``&amp;`` in mrkdwn), 80-character campaign and shortlist
names, 255-character sender names, 1,000-character reasons, 5 steps of 20,000-character
bodies, 300 shortlists, 5,000 do-not-contact entries, 2,000 rows not imported.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.sandbox.slack_surfaces import message_problems, view_problems
from handlers import blocks as b
from handlers import campaign_blocks as cb
from handlers import home_blocks, mailbox_blocks, preview_blocks, removal_blocks, shortlist_blocks
from handlers import notice_blocks as nb
from handlers import team_blocks as tb
from handlers.blocks import sentence
from handlers.import_report import render
from outreach.campaigns import CampaignStatus, StartReport
from outreach.csvimport import parse_shortlist
from outreach.delegations import Delegated, PausedCampaign, Revoked
from outreach.erasure import DisconnectReport
from outreach.keys import CampaignKey, MailboxKey
from outreach.mailboxes import MailboxStatus
from outreach.notify import (
    CampaignPaused,
    DelegationRevoked,
    MailboxConnectedByOther,
    SendFailed,
    SendingFromYourMailbox,
    SendUnconfirmed,
)
from outreach.previews import Preview, PreviewStep
from outreach.removal import RemovalPreview
from outreach.shortlists import ImportReport, ShortlistSummary
from outreach.suppressions import DncAdded, DncEntry

AT = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
EMAIL = "&" * 64 + "@" + ("b" * 63 + ".") * 2 + "c" * 61  # 254 characters, all legal
NEW_EMAIL = "n" * 64 + "@" + ("d" * 63 + ".") * 2 + "e" * 61
NAME = "&<*_" * 20  # an 80-character campaign or shortlist name
SENDER = "Ä&" * 127 + "x"  # a 255-character sender name
REASON = "r&<" * 333 + "x"  # 1,000 characters
USER = "U0RECRUIT1"
KEY = CampaignKey(7, AT)
assert len(EMAIL) == len(NEW_EMAIL) == 254 and len(NAME) == 80 and len(SENDER) == 255

STATUS = MailboxStatus(1, EMAIL, SENDER, "needs_reconnect", AT, REASON)
PREVIEW = RemovalPreview(1, EMAIL, [(NAME + str(i), "active") for i in range(300)], 10**9)
CAMPAIGN = CampaignStatus(
    NAME, "active", EMAIL, {"active": 10**6, "stopped": 10**6}, {"sent": 10**7}, "C0CHANNEL1",
    "1.2", KEY,
)  # fmt: skip
SKIPPED = [(EMAIL, REASON)] * 2_000
BODY = ("Dear {{ first_name }}, & <b>bold</b> *not bold*\n" * 500)[:20_000]
STEPS = [
    PreviewStep(n, "S&" * 127 + "x", BODY, False, 60, AT, "Mon 2 Mar 09:30 (America/Argentina/ComodRivadavia)", "planned")
    for n in range(1, 6)
]  # fmt: skip
SHORTLISTS = [ShortlistSummary(i, f"{NAME[:75]}{i:05}", 50_000, AT) for i in range(300)]
DNC = [DncEntry(f"p{n:05}" + EMAIL[6:], REASON, USER, AT) for n in range(5_000)]
PAUSED = [PausedCampaign(NAME + str(i), "C0CHANNEL1", "1.2") for i in range(300)]


def _bad_rows(count: int) -> bytes:
    lines = ["email,first_name,company"]
    lines += [f"{'x' * 990}{n:05},{'F' * 900},{'=HYPERLINK(1)'}" for n in range(count)]
    return "\n".join(lines).encode()


def _import_report(count: int) -> ImportReport:
    data = _bad_rows(count)
    return ImportReport(1, NAME, 0, 0, parse_shortlist(data), data)


def _message(made: Any) -> tuple[str, list[dict[str, Any]]]:
    if isinstance(made, tuple):
        return made[0], made[1]
    if isinstance(made, dict):
        return str(made.get("text") or "x"), made["blocks"]
    return "fallback", made


MESSAGES: dict[str, Callable[[], Any]] = {
    "help": lambda: home_blocks.help_blocks(REASON),
    "sign_in_prompt": lambda: mailbox_blocks.sign_in_prompt(
        "https://login.test/" + "q" * 2_900, EMAIL, slack_first=True
    ),
    "connected": lambda: mailbox_blocks.connected(EMAIL, SENDER),
    "needs_reconnect": lambda: mailbox_blocks.needs_reconnect(EMAIL, REASON),
    "mailbox_status": lambda: mailbox_blocks.mailbox_status(STATUS),
    "disconnect_confirm": lambda: removal_blocks.disconnect_confirm(PREVIEW),
    "replace_confirm": lambda: removal_blocks.replace_confirm(PREVIEW, NEW_EMAIL, SENDER),
    "connected_by_other": lambda: removal_blocks.connected_by_other(MailboxConnectedByOther(EMAIL, 1, USER)),
    "disconnected": lambda: removal_blocks.disconnected(DisconnectReport(EMAIL, 10**6, 10**6, 10**9)),
    "error": lambda: b.error(REASON),
    "sending_from_your_mailbox": lambda: tb.sending_from_your_mailbox(
        SendingFromYourMailbox(NAME, USER, EMAIL, 10**6, MailboxKey(1, AT))
    ),
    "sentence": lambda: sentence(REASON * 30),
    "shortlist_list_300": lambda: shortlist_blocks.shortlist_list(SHORTLISTS),
    "shortlist_list_100": lambda: shortlist_blocks.shortlist_list(SHORTLISTS[:100]),
    "shortlist_show": lambda: shortlist_blocks.shortlist_show(
        SHORTLISTS[0],
        ["c" * 50 + str(i) for i in range(200)],
        [{"email": EMAIL, "name": "N&" * 999, "timezone": REASON, "country": REASON}] * 10,
    ),
    "campaign_created": lambda: cb.campaign_created(NAME),
    "campaign_list": lambda: cb.campaign_list([(NAME + str(i), "active") for i in range(1_000)]),
    "campaign_status": lambda: cb.campaign_status(CAMPAIGN, REASON),
    "campaign_started_reply": lambda: cb.campaign_started_reply(
        NAME, StartReport(7, 10**6, SKIPPED, AT), "C0CHANNEL1", False
    ),
    "campaign_preview_5_long_steps": lambda: preview_blocks.campaign_preview(
        Preview(
            NAME,
            "active",
            f"{SENDER} <{EMAIL}>",
            EMAIL,
            "America/Argentina/ComodRivadavia",
            "Mon-Sun 00:00-23:59",
            False,
            STEPS,
        )
    ),
    "campaign_test_queued": lambda: preview_blocks.campaign_test_queued(EMAIL, EMAIL),
    "delegated": lambda: tb.delegated(Delegated(EMAIL, USER, NAME, True)),
    "delegate_dm": lambda: tb.delegate_dm(USER, Delegated(EMAIL, USER, NAME, True)),
    "revoked": lambda: tb.revoked(Revoked(EMAIL, USER, 1, PAUSED)),
    "revoked_dm": lambda: tb.revoked_dm(USER, Revoked(EMAIL, USER, 1, PAUSED)),
    "dnc_added": lambda: tb.dnc_added(
        DncAdded(EMAIL, True, [NAME + str(i) for i in range(300)], 10**6)
    ),
    "dnc_removed": lambda: tb.dnc_removed(EMAIL, True),
    "dnc_list_5000": lambda: tb.dnc_list(DNC),
    "send_failed": lambda: nb.thread_notice(SendFailed(5, EMAIL, REASON)),
    "send_unconfirmed": lambda: nb.thread_notice(SendUnconfirmed(5, EMAIL, NAME)),
    "campaign_paused": lambda: nb.thread_notice(CampaignPaused(NAME, REASON)),
    "delegation_revoked": lambda: nb.thread_notice(DelegationRevoked(NAME, EMAIL, USER)),
    "import_report_2000_rejected": lambda: render(_import_report(2_000)).__dict__,
    "import_report_5_rejected": lambda: render(_import_report(5)).__dict__,
}


@pytest.mark.parametrize("builder", MESSAGES, ids=list(MESSAGES))
def test_every_message_builder_fits_slack(builder: str) -> None:
    fallback, blocks = _message(MESSAGES[builder]())
    assert message_problems({"text": fallback, "blocks": blocks}) == []
    assert len(fallback) <= 4_000  # Slack advises 4,000 for the notification text


def test_long_lists_say_how_many_more() -> None:
    assert "…and " in str(shortlist_blocks.shortlist_list(SHORTLISTS)) and "more shortlists." in str(
        shortlist_blocks.shortlist_list(SHORTLISTS)
    )
    assert "more skipped." in str(
        cb.campaign_started_reply(NAME, StartReport(7, 1, SKIPPED, AT), "C1", True)
    )
    assert "more campaigns." in str(
        cb.campaign_list([(NAME + str(i), "active") for i in range(1_000)])
    )
    assert "and 297 more. Resume" in str(tb.revoked(Revoked(EMAIL, USER, 1, PAUSED))[1])
    # Every step of the preview is there, each body cut with the note that the email goes whole.
    preview = str(MESSAGES["campaign_preview_5_long_steps"]())
    assert all(f"*Step {n}*" in preview for n in range(1, 6))
    assert preview.count("the email goes out in full") == 5


def test_a_long_import_report_names_the_file_and_a_short_one_does_not() -> None:
    long, short = render(_import_report(2_000)), render(_import_report(5))
    assert long.filename is not None and long.filename.endswith(" - not imported.csv")
    assert "/" not in long.filename and "*" not in long.filename
    assert "…and 1,980 more" in str(long.blocks) and "not imported.csv" in str(long.blocks)
    assert short.filename is None and str(short.blocks).count("is not an email address") == 5


VIEWS: dict[str, tuple[Callable[[], dict[str, Any]], tuple[str, ...]]] = {
    "connect_modal": (
        lambda: mailbox_blocks.connect_modal(EMAIL, SENDER, {"team": "T" * 10, "user": USER}),
        ("modal",),
    ),
    "connect_modal_100": (lambda: mailbox_blocks.connect_modal(EMAIL, "N" * 100, {}), ("modal",)),
    "shortlist_modal": (lambda: shortlist_blocks.shortlist_modal(NAME, "C0CHANNEL1"), ("modal",)),
    "home": (lambda: home_blocks.home(STATUS), ("home",)),
    "home_not_connected": (lambda: home_blocks.home(None), ("home",)),
}


@pytest.mark.parametrize("builder", VIEWS, ids=list(VIEWS))
def test_every_view_builder_fits_slack(builder: str) -> None:
    build, kinds = VIEWS[builder]
    assert view_problems(build(), kinds) == []


def test_connect_modal_prefills_a_name_only_when_it_fits() -> None:
    def name_field(modal: dict[str, Any]) -> dict[str, Any]:
        [block] = [x for x in modal["blocks"] if x["block_id"] == mailbox_blocks.NAME_BLOCK]
        return dict(block["element"])

    assert name_field(mailbox_blocks.connect_modal(EMAIL, "N" * 100, {}))["initial_value"] == "N" * 100
    assert "initial_value" not in name_field(mailbox_blocks.connect_modal(EMAIL, "N" * 120, {}))


def test_the_disconnect_confirm_with_a_253_character_address_fits() -> None:
    """The issue's case: the confirm text was 310 characters."""
    email = "a" * 64 + "@" + ("b" * 63 + ".") * 2 + "c" * 60
    home = home_blocks.home(MailboxStatus(1, email, "Riley", "connected", AT, None))
    assert view_problems(home, ("home",)) == []  # its Disconnect… asks in a message instead
    dm = removal_blocks.connected_by_other(MailboxConnectedByOther(email, 1, USER, AT, "0" * 16))
    [dialog] = [el["confirm"] for blk in dm for el in blk.get("elements", []) if "confirm" in el]
    assert len(dialog["text"]["text"]) <= 300 and "…" in dialog["text"]["text"]
