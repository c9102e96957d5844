"""Automatic replies (out of office, autoresponders) and the return date they state.

Header signals (arp242.net/autoreply.html surveys what mail systems send):

- ``Auto-Submitted`` with any value but ``no`` (RFC 3834 5);
- ``X-Autoreply``, ``X-Autorespond``, ``X-Autoresponse`` (older autoresponders);
- ``Precedence: auto_reply | bulk | junk`` (RFC 3834 2 lists ``bulk``/``junk``);
- Exchange's out-of-office message class ``IPM.Note.Rules.OofTemplate.Microsoft``;
- a localized "Automatic reply" / "Out of office" / "Abwesenheit" subject;
- a no-reply sender.

``X-Auto-Response-Suppress`` is a request the *sender* makes (MS-OXCMAIL 2.1.3.2.20),
so alone it proves nothing; it is named only beside another signal.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

from outreach.mailmessage import MailMessage

_PRECEDENCE = {"auto_reply", "bulk", "junk"}
_X_AUTO = ("X-Autoreply", "X-Autorespond", "X-Autoresponse")
_SUBJECT = re.compile(
    r"^\W*("
    r"auto(matic|matische|matisch)?[- ]?(reply|response|antwort|antwoord|answer)|autoreply|"
    r"out of (the )?office|ooo\b|away from (the )?office|on (vacation|holiday|leave)|"
    r"abwesenheit|abwesend|nicht im b[üu]ro|"  # de
    r"r[ée]ponse automatique|absence|absent|"  # fr
    r"respuesta autom[áa]tica|fuera de la oficina|ausente|"  # es
    r"risposta automatica|fuori (ufficio|sede)|assente|"  # it
    r"automatisch antwoord|afwezig|niet aanwezig|"  # nl
    r"resposta autom[áa]tica|fora do escrit[óo]rio|"  # pt
    r"autosvar|automaattinen vastaus|automatyczna odpowied[źz]|automatick[áa] odpov[ěe]d"
    r")",
    re.I,
)
NOREPLY = re.compile(r"^(no-?reply|do-?not-?reply|noreply)\b", re.I)
#: Wording of an out-of-office note, for ones a person typed without automatic headers.
OUT_OF_OFFICE_TEXT = re.compile(
    r"\b(out of (the )?office|i am (currently )?away|i'm (currently )?away|on (annual )?leave|"
    r"on (vacation|holiday|holidays|parental leave|maternity leave)|limited access to (my )?e-?mail|"
    r"upon my return|when i('m| am) back|"
    r"nicht im b[üu]ro|abwesend|im urlaub|"
    r"absente?\b|en cong[ée]s?|en vacances|"
    r"fuera de la oficina|de vacaciones|"
    r"fuori (ufficio|sede)|in ferie|"
    r"afwezig|met vakantie|"
    r"ausente|de f[ée]rias|fora do escrit[óo]rio)",
    re.I,
)
_DATE_LANGUAGES = ["en", "de", "fr", "es", "it", "nl", "pt"]
_HAS_DIGIT_OR_DAY = re.compile(r"\d|day\b|tag\b|di\b|tomorrow|morgen|demain|ma[nñ]ana|domani", re.I)


def auto_reply_signals(message: MailMessage) -> list[str]:
    """The reasons ``message`` was sent by a machine on someone's behalf; empty if none."""
    reasons: list[str] = []
    auto = message.header("Auto-Submitted")
    if auto and auto.strip().lower().split(";")[0].strip() != "no":
        reasons.append(f"Auto-Submitted: {auto.strip()} (RFC 3834)")
    for name in _X_AUTO:
        value = message.header(name)
        if value is not None:
            reasons.append(f"{name}: {value.strip() or '(empty)'}")
    precedence = (message.header("Precedence") or "").strip().lower()
    if precedence in _PRECEDENCE:
        reasons.append(f"Precedence: {precedence}")
    if "oof" in message.message_class.lower():
        reasons.append(f"message class {message.message_class} (out of office)")
    if _SUBJECT.search(message.subject):
        reasons.append(f'automatic-reply subject "{message.subject[:60]}"')
    if NOREPLY.search(message.sender):
        reasons.append(f"sender {message.sender} (no-reply)")
    suppress = message.header("X-Auto-Response-Suppress")
    if reasons and suppress:
        reasons.append(f"X-Auto-Response-Suppress: {suppress.strip()}")
    return reasons


def return_date(text: str, sent: datetime | None) -> date | None:
    """The day the writer says they are back, read from ``text``; None when not stated.

    Uses ``dateparser.search.search_dates`` in en/de/fr/es/it/nl/pt with dates
    preferred in the future relative to ``sent`` (the message's Date). Of the dates
    after the day it was sent and within a year, the latest one is taken: "away from
    1 May to 3 June" and "bis 12. Mai, ab dem 13.05. wieder da" both end with the day
    the writer is back (or the last day away, which the caller treats alike).
    """
    from dateparser.search import search_dates  # slow to import; only auto-replies need it

    base = (sent or datetime.now()).replace(tzinfo=None)
    if not _HAS_DIGIT_OR_DAY.search(text):
        return None
    found = search_dates(
        text[:2000],
        languages=_DATE_LANGUAGES,
        settings={"PREFER_DATES_FROM": "future", "RELATIVE_BASE": base},
    )
    days = [
        when.date()
        for words, when in found or []
        # dateparser reads "Je" or "on" as a weekday: a date needs a digit or a real word
        if any(c.isdigit() for c in words) or len(words.strip()) >= 5
    ]
    ahead = [d for d in days if base.date() < d <= base.date() + timedelta(days=366)]
    return max(ahead) if ahead else None
