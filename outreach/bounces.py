"""Non-delivery reports: is a message a bounce, hard or soft, for whom, of which send.

Signals, each named in ``reasons``:

- ``Content-Type: multipart/report; report-type=delivery-status`` or a
  ``message/delivery-status`` part (RFC 3464);
- Exchange's message class ``REPORT.IPM.Note.NDR`` (MS-OXOMSG 2.2.2.1) or its
  ``X-MS-Exchange-Message-Is-Ndr`` header; Exim's ``X-Failed-Recipients``;
- a postmaster / MAILER-DAEMON sender (RFC 5321 4.5.5, RFC 2142);
- a localized non-delivery subject ("Undeliverable", "Unzustellbar", "Non remis"…);
- a returned original message sent back by an automatic sender (no-reply).

Hard or soft comes from the status codes: the DSN's per-recipient ``Status`` (RFC 3463
enhanced codes) first, else enhanced or SMTP reply codes in the text. Class 5 is hard,
class 4 soft; "mailbox full" (X.2.2, SMTP 552) is soft: RFC 3463 3.3 says X.2.2 "should
be used as a persistent transient failure", and ESPs (Mailchimp, SendGrid) treat a full
mailbox as a soft bounce. Failed recipients come from the DSN and from ``flufl.bounce``
(detectors for ~17 mail systems that do not send RFC 3464 reports).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from email.utils import parseaddr

from flufl.bounce import all_failures

from outreach.autoreplies import NOREPLY
from outreach.mailmessage import MailMessage

log = logging.getLogger(__name__)

_DAEMON = re.compile(
    r"^(mailer-?daemon|mail-?daemon|postmaster|post_master|poostmaster|mail\.delivery\.system)@|"
    r"^mailer-daemon$|^microsoftexchange[0-9a-f]{32}@",
    re.I,
)
_DAEMON_NAME = re.compile(r"^(mail delivery (subsystem|system)|mailer[- ]daemon|postmaster)\b", re.I)
_SUBJECT = re.compile(
    r"^\W*("
    r"undeliver(able|ed)|undelivered mail|delivery status notification \((failure|delay)\)|"
    r"delivery (status notification|notification|failure|report|status|has failed)|"
    r"returned mail|mail delivery (failed|failure)|failure notice|delivery failure|"
    r"message delivery has failed|mail system error|non[- ]delivery|could not be delivered|"
    r"postmaster notify|\*\*message you sent blocked|"
    r"unzustellbar|nicht zustellbar|unzustellbare|"  # de
    r"non remis|non distribuable|[eé]chec de (la )?remise|"  # fr
    r"no (se puede|se pudo) entregar|no entregado|"  # es
    r"non (recapitabile|consegnato)|impossibile recapitare|"  # it
    r"onbestelbaar|niet bezorgd|"  # nl
    r"n[aã]o (entregue|foi poss[ií]vel entregar)|"  # pt
    r"недоставленное сообщение|не доставлено|"  # ru
    r"メールエラー|配信できません|配信エラー"  # ja
    r")",
    re.I,
)
_ENHANCED = re.compile(r"(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?![\d.])")
_SMTP = re.compile(r"(?<![\d.#-])([45][0-5]\d)(?=[ -]\S)")
_SOFT_WORDS = re.compile(
    r"mailbox (is )?full|over quota|quota exceeded|exceeded (its|the) storage|insufficient "
    r"(storage|system storage)|temporar(y|ily)|try again later|will (be )?retr(y|ied)|"
    r"still trying|delayed|postfach (ist )?voll|bo[iî]te (aux lettres )?pleine|buz[oó]n lleno",
    re.I,
)
_MESSAGE_ID = re.compile(r"^message-id:\s*(<[^>\s]+>)", re.I | re.M)
_RECIPIENT = re.compile(r"^(?:final|original)-recipient:\s*(?:rfc822;)?\s*<?([^>\s]+@[^>\s]+?)>?\s*$", re.I | re.M)


@dataclass
class BounceReport:
    """What a non-delivery report says: ``bounce_type`` is ``hard`` or ``soft``."""

    bounce_type: str
    failed_recipients: list[str] = field(default_factory=list)
    original_message_id: str | None = None
    reasons: list[str] = field(default_factory=list)


def bounce_signals(message: MailMessage) -> list[str]:
    """The reasons ``message`` is a non-delivery report; empty when it is not one."""
    reasons: list[str] = []
    if message.content_type == "multipart/report" and message.report_type == "delivery-status":
        reasons.append("Content-Type: multipart/report; report-type=delivery-status (RFC 3464)")
    elif any(p.content_type == "message/delivery-status" for p in message.parts):
        reasons.append("a message/delivery-status part (RFC 3464)")
    if message.message_class.upper().startswith("REPORT.") and message.message_class.upper().endswith(".NDR"):
        reasons.append(f"message class {message.message_class} (MS-OXOMSG)")
    if message.header("X-MS-Exchange-Message-Is-Ndr") is not None:
        reasons.append("X-MS-Exchange-Message-Is-Ndr header (Exchange NDR)")
    if message.header("X-Failed-Recipients"):
        reasons.append("X-Failed-Recipients header")
    if _DAEMON.search(message.sender) or _DAEMON_NAME.search(message.sender_name):
        reasons.append(f"sender {message.sender or message.sender_name} (mail system)")
    if _SUBJECT.search(message.subject):
        reasons.append(f'non-delivery subject "{message.subject[:60]}"')
    if not reasons and message.returned and NOREPLY.search(message.sender):
        reasons.append(f"returned original message from automatic sender {message.sender}")
    return reasons


def analyse(message: MailMessage) -> BounceReport:
    """Hard/soft, failed recipients and the original Message-ID of a bounce ``message``."""
    dsn = "\n\n".join(p.text for p in message.parts if p.content_type == "message/delivery-status")
    report = BounceReport(bounce_type="hard")
    _bounce_type(report, dsn, message)
    report.original_message_id = _original_message_id(message)
    report.failed_recipients = _recipients(message, dsn, report)
    return report


def _bounce_type(report: BounceReport, dsn: str, message: MailMessage) -> None:
    statuses = re.findall(r"^status:\s*([245]\.\d{1,3}\.\d{1,3})", dsn, re.I | re.M)
    actions = {a.lower() for a in re.findall(r"^action:\s*(\w+)", dsn, re.I | re.M)}
    if statuses:
        _from_codes(report, statuses, "DSN Status")
        return
    if "delayed" in actions and "failed" not in actions:
        report.bounce_type = "soft"
        report.reasons.append("DSN Action: delayed (still being retried)")
        return
    text = dsn + "\n" + message.text
    enhanced = [".".join(m) for m in _ENHANCED.findall(text) if m[0] != "2"]
    if enhanced:
        _from_codes(report, enhanced, "status code")
        return
    smtp = [c for c in _SMTP.findall(text) if c[0] in "45"]
    if smtp:
        code = next((c for c in smtp if c[0] == "5" and c != "552"), smtp[0])
        report.bounce_type = "hard" if code[0] == "5" and code != "552" else "soft"
        why = " (exceeded storage, RFC 5321)" if code == "552" else ""
        report.reasons.append(f"SMTP reply {code}: {report.bounce_type}{why}")
        return
    soft = _SOFT_WORDS.search(text)
    if soft:
        report.bounce_type = "soft"
        report.reasons.append(f'no status code; "{soft.group(0)}" says temporary')
        return
    report.reasons.append("no status code: a failure notice is final, so hard")


def _from_codes(report: BounceReport, codes: list[str], source: str) -> None:
    hard = [c for c in codes if c.startswith("5.") and not c.startswith("5.2.2")]
    code = hard[0] if hard else codes[0]
    report.bounce_type = "hard" if hard else "soft"
    why = " (mailbox full: transient, RFC 3463 3.3)" if code.endswith(".2.2") else ""
    report.reasons.append(f"{source} {code}: {report.bounce_type}{why}")


def _recipients(message: MailMessage, dsn: str, report: BounceReport) -> list[str]:
    found: list[str] = []
    found += [a.lower() for a in _RECIPIENT.findall(dsn)]
    failed_header = message.header("X-Failed-Recipients")
    if failed_header:
        found += [a.strip().lower() for a in failed_header.split(",") if "@" in a]
    if message.mime is not None and not found:
        try:
            temporary, permanent = all_failures(message.mime)
        except Exception:  # a detector choking on odd input must not stop classification
            log.warning("flufl.bounce could not read a bounce", exc_info=True)
        else:
            found += sorted(a.decode("utf-8", "replace").lower() for a in permanent | temporary)
            if found:
                report.reasons.append("failed recipients found by flufl.bounce")
    if not found and message.message_class.upper().endswith(".NDR"):
        # Graph lists an NDR's failed addresses as its toRecipients (graph-and-msal.md 8)
        found += message.to
    # heuristic detectors sometimes return our own address (the NDR's To, the original's
    # From) or the original's Message-ID
    own = {message.sender, *message.to, (report.original_message_id or "").strip("<>").lower()}
    if message.message_class.upper().endswith(".NDR"):
        own -= set(message.to)
    for returned in message.returned:
        own.add(parseaddr(str(returned.get("From", "")))[1].lower())
        own.add(str(returned.get("Message-ID", "")).strip().strip("<>").lower())
    return list(dict.fromkeys(a for a in found if a and a not in own))


def _original_message_id(message: MailMessage) -> str | None:
    for returned in message.returned:
        value = returned.get("Message-ID")
        if value:
            return str(value).strip()
    in_reply_to = message.header("In-Reply-To")
    if in_reply_to:
        return in_reply_to.strip()
    found = _MESSAGE_ID.findall(message.text)
    return found[0] if found else None
