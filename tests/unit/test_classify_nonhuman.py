"""The 80 real bounces and auto-replies of tests/fixtures/mail/nonhuman/ (copied, with
their BSD licence, from the project's shared fixtures): none is a human reply, every
delivery report is a bounce, and hard/soft follows the status codes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from outreach.classify import classify_file

HERE = Path(__file__).parents[1] / "fixtures" / "mail" / "nonhuman"
SHARED = Path("/work/shared/fixtures/mail/nonhuman")
FIXTURES = sorted(HERE.glob("*.eml"))
BOUNCES = [p for p in FIXTURES if p.name.startswith(("lhost-", "rhost-", "rfc3464-"))]
_STATUS = re.compile(r"^Status:\s*([245]\.\d+\.\d+)", re.I | re.M)


def test_the_copy_holds_all_80_fixtures() -> None:
    assert len(FIXTURES) == 80
    assert (HERE / "LICENSE-set-of-emails").exists()


def test_the_copy_matches_the_shared_fixtures() -> None:
    if not SHARED.is_dir():
        pytest.skip(f"{SHARED} is absent here; the copy in tests/fixtures is what runs")
    assert sorted(p.name for p in SHARED.glob("*.eml")) == [p.name for p in FIXTURES]


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.stem)
def test_no_fixture_is_taken_for_a_human_reply(path: Path) -> None:
    verdict = classify_file(path)
    assert verdict.kind != "reply", verdict.reasons
    assert verdict.reasons


@pytest.mark.parametrize("path", BOUNCES, ids=lambda p: p.stem)
def test_every_delivery_report_is_a_bounce_of_the_type_its_status_says(path: Path) -> None:
    verdict = classify_file(path)
    assert verdict.kind == "bounce", verdict.reasons
    statuses = _STATUS.findall(path.read_text("utf-8", "replace"))
    if statuses:  # the DSN says it: 5.x.x is hard, except mailbox full (5.2.2); 4.x.x soft
        hard = any(s.startswith("5.") and not s.startswith("5.2.2") for s in statuses)
        assert verdict.bounce_type == ("hard" if hard else "soft"), verdict.reasons
    else:
        assert verdict.bounce_type in ("hard", "soft")


@pytest.mark.parametrize(
    ("name", "bounce_type", "why"),
    [
        ("lhost-outlook-01", "soft", "DSN Status 5.2.2"),
        ("rhost-cloudflare-01", "soft", "DSN Status 4.3.0"),
        ("lhost-gmx-01", "soft", "status code 5.2.2"),  # no DSN part: the code in the text
        ("lhost-v5sendmail-01", "soft", "SMTP reply 421"),
        ("lhost-kddi-01", "soft", "mailbox is full"),
        ("lhost-dragonfly-01", "hard", "status code 5.7.26"),
        ("lhost-yandex-01", "hard", "DSN Status 5.1.1"),
    ],
)
def test_hard_or_soft_names_the_code_that_decided(name: str, bounce_type: str, why: str) -> None:
    verdict = classify_file(HERE / f"{name}.eml")
    assert verdict.bounce_type == bounce_type
    assert any(why in reason for reason in verdict.reasons), verdict.reasons


@pytest.mark.parametrize(
    ("name", "recipients", "message_id"),
    [
        # RFC 3464 report: Final-Recipient and Original-Recipient
        ("lhost-postfix-01", ["kijitora@example.org"], None),
        # Exim's X-Failed-Recipients
        ("lhost-exim-01", ["kijitora@example.ed.jp"], "<E1P1ce6-000Egt-GZ@e1.example.org>"),
        # no DSN: flufl.bounce's heuristics, minus the original's Message-ID and sender
        ("lhost-zoho-01", ["kijitora@example.co.jp"], "<14a3e1b4b5a.10b1a4c5610175.8588386083425091336@zoho.example.com>"),
        ("lhost-amazonses-01", ["shironeko@example.co.jp"], "<000001321defbd2a-788e31c8-2be1-422f-a8d4-cf7765cc9ed7-000000@email.amazonses.com>"),
    ],
)
def test_bounces_name_the_failed_recipients_and_the_original_message(
    name: str, recipients: list[str], message_id: str | None
) -> None:
    verdict = classify_file(HERE / f"{name}.eml")
    assert set(recipients) <= set(verdict.failed_recipients)
    assert verdict.failed_recipients == list(dict.fromkeys(verdict.failed_recipients))
    if message_id is not None:
        assert verdict.original_message_id == message_id


def test_the_rfc3834_auto_reply_states_its_return_date() -> None:
    verdict = classify_file(HERE / "rfc3834-01.eml")
    assert verdict.kind == "auto_reply"
    assert verdict.return_date is not None and verdict.return_date.isoformat() == "2005-05-05"
    assert "Auto-Submitted: auto-replied (RFC 3834)" in verdict.reasons


def test_an_abuse_report_is_an_opt_out_not_a_reply() -> None:
    verdict = classify_file(HERE / "arf-01.eml")
    assert verdict.kind == "unsubscribe"
    assert "RFC 5965" in verdict.reasons[0]
