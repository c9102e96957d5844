"""The reply card in a campaign's thread: a pure function of :class:`ReplyReceived`.

Everything the candidate or their mail system wrote goes through :func:`esc`, so a reply
cannot ping ``<!channel>`` or show a fake link; the new text is quoted and cut to fit
Slack's 3,000-character section text.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

from handlers.blocks import Block, actions, button, context, text
from handlers.mrkdwn import esc
from outreach.keys import ReplyKey, reply_key
from outreach.notify import ReplyReceived
from outreach.states import EnrollmentState

REPLY_INTERESTED = "reply_interested"
REPLY_NOT_INTERESTED = "reply_not_interested"
REPLY_PAUSE = "reply_pause"
REPLY_RESUME = "reply_resume"
REPLY_NOT_A_REPLY = "reply_not_a_reply"
REPLY_OPEN = "reply_open"
REPLY_ACTIONS = (
    REPLY_INTERESTED,
    REPLY_NOT_INTERESTED,
    REPLY_PAUSE,
    REPLY_RESUME,
    REPLY_NOT_A_REPLY,
)
OUTDATED_REPLY_BUTTON = "This button is from an older version of ScaleUp; it no longer works."
_SECTION = 3000
_PARTIAL_ENTITY = re.compile(r"&[a-z]{0,4}$")

_SIGNALS = {
    "in-reply-to": "its In-Reply-To header names our email",
    "references": "its References header names our email",
    "conversation": "same Outlook conversation, from the candidate",
    "subject": "from the candidate, with our subject",
    "bounce": "the bounce names our email or its recipient",
}


def reply_value(key: ReplyKey) -> str:
    """What a card's buttons carry: the reply's id and creation instant."""
    return f"{key.id}|{key.created_at.isoformat()}"


def reply_ref(value: object) -> ReplyKey | None:
    """The reply a button's value names, or None for a value this version did not write."""
    raw_id, sep, raw_at = str(value).partition("|")
    return reply_key(raw_id, raw_at) if sep else None


def _date(moment: datetime, fmt: str = "{date_short_pretty} {time}") -> str:
    fallback = moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(moment.timestamp())}^{fmt}|{fallback}>"


def _day(day: date) -> str:
    return day.strftime("%a %d %b %Y")


def quoted(new_text: str, truncated: bool = False) -> str:
    """The escaped new text as a quote that fits one section (cut with "…" if needed)."""
    body = "\n".join(f">{esc(line)}" for line in (new_text.strip() or "(no new text)").splitlines())
    if len(body) > _SECTION - 2 or truncated:
        body = _PARTIAL_ENTITY.sub("", body[: _SECTION - 2]) + " …"
    return body


def verdict(notice: ReplyReceived) -> str:
    """The classification in words, with what it did."""
    if notice.kind == "reply":
        interest = {"interested": "interested", "not_interested": "not interested"}.get(
            notice.interest or "", "interest unclear"
        )
        said = f"*Reply* ({interest})"
    elif notice.kind == "auto_reply":
        said = "*Out of office*"
        if notice.return_date:
            said += f" until {_day(notice.return_date)}"
        if notice.waits_until:
            said += f"; their next step waits until {_date(notice.waits_until)}"
        said += " (not a reply: the sequence goes on)"
    elif notice.kind == "bounce":
        said = f"*Bounce* ({notice.bounce_type or 'hard'})"
        if notice.retry_at:
            said += f"; ScaleUp sends it once more {_date(notice.retry_at)}"
        elif notice.stopped or notice.bounce_type:
            said += "; the address is marked bounced"
    else:
        said = "*Unsubscribe request*: the address is on the do-not-contact list"
    return said


def reply_card(notice: ReplyReceived) -> tuple[str, list[Block]]:
    """``(fallback text, blocks)`` of a reply card."""
    who = esc(notice.candidate_name or notice.candidate_email)
    step = f"step {notice.step}" if notice.step is not None else "a campaign email"
    head = f"{who} <{esc(notice.candidate_email)}>" if notice.candidate_name else who
    if notice.from_email and notice.from_email != notice.candidate_email:
        # A bounce comes from a mail system: the candidate is the address that failed.
        sender = "bounce from" if notice.kind == "bounce" else "from"
        head += f" ({sender} {esc(notice.from_email)})"
    title = f":incoming_envelope: {head} answered {step} of *{esc(notice.campaign)}*"
    lines = [verdict(notice), f"Matched: {_SIGNALS.get(notice.signal, esc(notice.signal))}"]
    if notice.stopped and not notice.undone:
        names = ", ".join(f"*{esc(n)}*" for n in notice.stopped)
        lines.append(f"Stopped their sequence in {names}.")
    if notice.label:
        lines.append(
            ":star: Marked interested" if notice.label == "interested" else "Marked not interested"
        )
    if notice.undone:
        lines.append("Marked *not a reply*: what it stopped was restored.")
    blocks: list[Block | None] = [
        text(f"{title}\nReceived {_date(notice.received_at)}"),
        text(quoted(notice.text, notice.truncated)) if notice.kind != "bounce" else None,
        context(" · ".join(lines)),
    ]
    if buttons := _buttons(notice):
        blocks.append(actions(*buttons))
    summary = f"{esc(notice.candidate_email)} answered {step} of {esc(notice.campaign)}"
    return summary, [b for b in blocks if b is not None]


def _buttons(notice: ReplyReceived) -> list[Block]:
    value = reply_value(notice.reply)
    found: list[Block] = []
    if not notice.undone:
        found += [
            button("Interested", REPLY_INTERESTED, value=value, style="primary"),
            button("Not interested", REPLY_NOT_INTERESTED, value=value),
        ]
    if notice.candidate_state == EnrollmentState.ACTIVE:
        found.append(button("Pause candidate", REPLY_PAUSE, value=value))
    elif notice.candidate_state == EnrollmentState.PAUSED:
        found.append(button("Resume candidate", REPLY_RESUME, value=value))
    if not notice.undone:
        found.append(button("Not a reply", REPLY_NOT_A_REPLY, value=value, style="danger"))
    if notice.web_link:
        found.append(button("Open in Outlook", REPLY_OPEN, url=notice.web_link))
    return found
