"""Why a received message counts as a reply, an auto-reply, a bounce or an opt-out.

``classify(message)`` takes the normalised shape of ``outreach/mailmessage.py`` (raw
MIME or Graph JSON) and decides, in this order, first match wins:

1. **bounce**: a non-delivery report (``outreach/bounces.py``), hard or soft, with the
   failed recipients and the original Message-ID;
2. **unsubscribe** for an abuse report (``multipart/report; report-type=feedback-report``,
   RFC 5965): the recipient told their provider our mail is unwanted, so, as RFC 6449
   recommends to feedback-loop recipients and as ESPs do (SES, SendGrid suppress
   complainers), the address goes on the do-not-contact list; it is never a reply;
3. **auto_reply**: automatic headers or subject (``outreach/autoreplies.py``), with the
   return date read from the text;
4. **unsubscribe**: an opt-out phrase in the new text (``outreach/replytext.py``);
5. **reply** with its interest; except that a text with out-of-office wording and no
   interest either way ("I'm on leave until 5 May") is an **auto_reply** typed by hand.

Bounces come before auto-replies because many NDRs carry ``Auto-Submitted`` too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from outreach import autoreplies, bounces, replytext
from outreach.mailmessage import MailMessage, load

REPLY = "reply"
AUTO_REPLY = "auto_reply"
BOUNCE = "bounce"
UNSUBSCRIBE = "unsubscribe"
_REPLY_PREFIX = re.compile(r"^\s*(re|aw|sv|vs|antw|wg|fw|fwd|tr|rv|r|odp|ynt|res)\s*(\[\d+\])?\s*:", re.I)


@dataclass
class Classification:
    """The verdict on one message.

    ``kind`` is ``reply | auto_reply | bounce | unsubscribe``; ``interest``
    (``interested | not_interested | unknown``) is set for replies only,
    ``bounce_type`` (``hard | soft``), ``failed_recipients`` and
    ``original_message_id`` for bounces (the message id for abuse reports too),
    ``return_date`` for auto-replies that state one. ``reasons`` names every signal that
    matched, in plain words; ``text`` is the new text (history and signature removed).
    """

    kind: str
    reasons: list[str] = field(default_factory=list)
    interest: str | None = None
    bounce_type: str | None = None
    return_date: date | None = None
    failed_recipients: list[str] = field(default_factory=list)
    original_message_id: str | None = None
    text: str = ""

    def as_json(self, file: str) -> dict[str, Any]:
        """The ``scaleup classify`` line: ``file``, ``kind``, the fields that apply, ``reasons``."""
        out: dict[str, Any] = {"file": file, "kind": self.kind}
        if self.interest is not None:
            out["interest"] = self.interest
        if self.bounce_type is not None:
            out["bounce_type"] = self.bounce_type
            out["failed_recipients"] = self.failed_recipients
        if self.original_message_id is not None:
            out["original_message_id"] = self.original_message_id
        if self.return_date is not None:
            out["return_date"] = self.return_date.isoformat()
        out["reasons"] = self.reasons
        return out


def classify(message: MailMessage) -> Classification:
    """Classify one normalised message by the order in this module's docstring."""
    signals = bounces.bounce_signals(message)
    if signals:
        report = bounces.analyse(message)
        return Classification(
            BOUNCE,
            signals + report.reasons,
            bounce_type=report.bounce_type,
            failed_recipients=report.failed_recipients,
            original_message_id=report.original_message_id,
        )
    if _is_abuse_report(message):
        returned = message.returned[0].get("Message-ID") if message.returned else None
        return Classification(
            UNSUBSCRIBE,
            ["multipart/report; report-type=feedback-report: an abuse report (RFC 5965)"],
            original_message_id=str(returned).strip() if returned else None,
        )
    text = replytext.new_text(message.text)
    signals = autoreplies.auto_reply_signals(message)
    if signals:
        back = autoreplies.return_date(text or message.text, message.date)
        return Classification(AUTO_REPLY, signals, return_date=back, text=text)
    opt_out = replytext.unsubscribe_phrase(text)
    if opt_out is None and not _REPLY_PREFIX.match(message.subject):
        opt_out = replytext.unsubscribe_phrase(message.subject)
    if opt_out is not None:
        return Classification(UNSUBSCRIBE, [f'opt-out wording "{opt_out}" in the new text'], text=text)
    verdict = replytext.interest(text)
    away = autoreplies.OUT_OF_OFFICE_TEXT.search(text)
    if verdict.label == "unknown" and away is not None:
        reasons = [f'out-of-office wording "{away.group(0)}" (typed, no automatic headers)']
        back = autoreplies.return_date(text, message.date)
        return Classification(AUTO_REPLY, reasons, return_date=back, text=text)
    return Classification(REPLY, verdict.reasons, interest=verdict.label, text=text)


def classify_file(path: Path) -> Classification:
    """Load ``path`` (``.eml`` MIME or Graph message JSON) and classify it.

    Raises OSError when the file cannot be read and ValueError on malformed JSON.
    """
    return classify(load(path))


def _is_abuse_report(message: MailMessage) -> bool:
    if message.content_type == "multipart/report" and message.report_type == "feedback-report":
        return True
    return any(p.content_type == "message/feedback-report" for p in message.parts)
