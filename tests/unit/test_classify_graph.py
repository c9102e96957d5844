"""Graph message JSON and single header signals: the same rules as for raw MIME."""

from __future__ import annotations

import base64
from datetime import date
from typing import Any

import pytest

from outreach.classify import classify
from outreach.mailmessage import from_graph, from_mime

DSN = (
    "Reporting-MTA: dns; BN8PR.prod.outlook.com\n\n"
    "Final-Recipient: rfc822; jana@example.org\nAction: failed\nStatus: {status}\n"
    "Diagnostic-Code: smtp; 550 {status} RESOLVER.ADR.RecipNotFound\n"
)


def graph(**fields: Any) -> dict[str, Any]:
    message: dict[str, Any] = {
        "subject": "RE: Staff Engineer at Acme",
        "from": {"emailAddress": {"name": "Jana", "address": "jana@example.org"}},
        "toRecipients": [{"emailAddress": {"address": "riley.chen@acme.test"}}],
        "receivedDateTime": "2025-03-03T10:00:00Z",
        "body": {"contentType": "text", "content": "Thanks, I'll think about it."},
    }
    message.update(fields)
    return message


def test_an_exchange_ndr_by_message_class_names_the_failed_address_from_to_recipients() -> None:
    verdict = classify(from_graph(graph(
        subject="Undeliverable: Staff Engineer at Acme",
        **{"from": {"emailAddress": {"name": "Microsoft Outlook", "address": "MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e@acme.test"}}},
        toRecipients=[{"emailAddress": {"address": "jana@example.org"}}],
        singleValueExtendedProperties=[{"id": "String 0x1a", "value": "REPORT.IPM.Note.NDR"}],
        internetMessageHeaders=[{"name": "In-Reply-To", "value": "<outreach-1@acme.test>"}],
    )))
    assert verdict.kind == "bounce"
    assert "message class REPORT.IPM.Note.NDR (MS-OXOMSG)" in verdict.reasons
    assert verdict.failed_recipients == ["jana@example.org"]
    assert verdict.original_message_id == "<outreach-1@acme.test>"


@pytest.mark.parametrize(("status", "bounce_type"), [("5.1.1", "hard"), ("4.4.7", "soft"), ("5.2.2", "soft")])
def test_a_delivery_status_attachment_decides_hard_or_soft(status: str, bounce_type: str) -> None:
    report = base64.b64encode(DSN.format(status=status).encode()).decode()
    verdict = classify(from_graph(graph(
        subject="Staff Engineer at Acme",
        **{"from": {"emailAddress": {"name": "Mail Delivery System", "address": "mailer@relay.acme.test"}}},
        internetMessageHeaders=[{"name": "Content-Type", "value": 'multipart/report; report-type=delivery-status; boundary="b"'}],
        attachments=[{"contentType": "message/delivery-status", "contentBytes": report}],
    )))
    assert verdict.kind == "bounce"
    assert verdict.bounce_type == bounce_type
    assert verdict.failed_recipients == ["jana@example.org"]
    assert verdict.reasons[0].startswith("Content-Type: multipart/report")


def test_an_outlook_out_of_office_in_german_with_its_return_date() -> None:
    verdict = classify(from_graph(graph(
        subject="Automatische Antwort: Staff Engineer at Acme",
        singleValueExtendedProperties=[{"id": "String 0x001A", "value": "IPM.Note.Rules.OofTemplate.Microsoft"}],
        internetMessageHeaders=[{"name": "Auto-Submitted", "value": "auto-generated"}, {"name": "X-Auto-Response-Suppress", "value": "All"}],
        body={"contentType": "html", "content": "<p>Ich bin bis zum 14. März nicht im Büro.</p><p>Viele Grüße</p>"},
    )))
    assert verdict.kind == "auto_reply"
    assert verdict.return_date == date(2025, 3, 14)
    assert "Auto-Submitted: auto-generated (RFC 3834)" in verdict.reasons
    assert any("OofTemplate" in r for r in verdict.reasons)
    assert "X-Auto-Response-Suppress: All" in verdict.reasons


@pytest.mark.parametrize(
    ("header", "value", "kind"),
    [
        ("Auto-Submitted", "auto-replied", "auto_reply"),
        ("Auto-Submitted", "no", "reply"),  # RFC 3834: "no" means a person sent it
        ("X-Autoreply", "yes", "auto_reply"),
        ("X-Autorespond", "Auto Reply", "auto_reply"),
        ("Precedence", "bulk", "auto_reply"),
        ("Precedence", "auto_reply", "auto_reply"),
        ("X-Auto-Response-Suppress", "All", "reply"),  # the sender's request, not a sign
    ],
)
def test_each_header_signal_alone(header: str, value: str, kind: str) -> None:
    raw = (
        f"From: Jana <jana@example.org>\nTo: riley.chen@acme.test\nSubject: Re: Staff Engineer\n"
        f"Date: Mon, 03 Mar 2025 11:00:00 +0100\n{header}: {value}\n\nThanks, I'll think about it.\n"
    ).encode()
    assert classify(from_mime(raw)).kind == kind


@pytest.mark.parametrize(
    "subject",
    ["Automatic reply: Staff Engineer", "Out of Office: Staff Engineer", "Abwesenheitsnotiz: Staff Engineer",
     "Réponse automatique : Staff Engineer", "Respuesta automática: Staff Engineer",
     "Risposta automatica: Staff Engineer", "Automatisch antwoord: Staff Engineer", "Resposta automática: Staff"],
)
def test_localized_auto_reply_subjects(subject: str) -> None:
    assert classify(from_graph(graph(subject=subject))).kind == "auto_reply"


@pytest.mark.parametrize(
    "subject",
    ["Undeliverable: Staff Engineer", "Unzustellbar: Staff Engineer", "Non remis : Staff Engineer",
     "Delivery Status Notification (Failure)", "No se puede entregar: Staff Engineer"],
)
def test_localized_non_delivery_subjects(subject: str) -> None:
    assert classify(from_graph(graph(subject=subject))).kind == "bounce"


def test_a_reply_whose_subject_quotes_a_non_delivery_word_is_still_a_reply() -> None:
    verdict = classify(from_graph(graph(subject="RE: Undeliverable hardware? Staff Engineer at Acme")))
    assert verdict.kind == "reply"
