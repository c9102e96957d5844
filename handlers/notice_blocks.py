"""Block Kit for the domain's thread notices: pure functions of the notice's data.

Each builder returns ``(text, blocks)``: ``text`` is the notification fallback Slack shows
in alerts (and pings from, so it is escaped too), ``blocks`` the message. Every value in a
notice came from a user, a candidate or Microsoft and goes through :func:`esc`.
"""

from __future__ import annotations

from handlers.blocks import Block, text
from handlers.mrkdwn import esc, esc_message, mention
from outreach.errors import MailboxNeedsReconnect, MailboxRefused
from outreach.notify import (
    CampaignPaused,
    DelegationRevoked,
    SendFailed,
    SendUnconfirmed,
    ThreadNotice,
)

Rendered = tuple[str, list[Block]]


def _line(markdown: str) -> Rendered:
    return markdown, [text(markdown)]


def _step(step: int | None) -> str:
    return f"Step {step}" if step is not None else "A message"


def send_failed(notice: SendFailed) -> Rendered:
    return _line(
        f":x: {_step(notice.step)} to {esc(notice.candidate_email)} failed: "
        f"{esc(notice.reason)} Their sequence is stopped."
    )


def send_unconfirmed(notice: SendUnconfirmed) -> Rendered:
    email = esc(notice.candidate_email)
    return _line(
        f":warning: {_step(notice.step)} to {email} may or may not have gone out: it left "
        "Drafts but is not in Sent Items. ScaleUp will not resend it; check the mailbox, "
        f"then `/scaleup campaign resume {esc(notice.campaign)} {email}` to go on."
    )


def campaign_paused(notice: CampaignPaused) -> Rendered:
    """The error's own sentence (its commands as code) when the notice names its cause;
    a notice queued by an earlier version has only the plain ``reason``."""
    if notice.cause == MailboxNeedsReconnect.__name__:
        why = esc_message(MailboxNeedsReconnect().sentence)
    elif notice.cause == MailboxRefused.__name__:
        why = esc_message(MailboxRefused(notice.detail).sentence)
    else:
        why = esc(notice.reason)
    return _line(
        f":double_vertical_bar: Paused: {why} Once the mailbox owner "
        f"reconnects, run `/scaleup campaign resume {esc(notice.campaign)}`."
    )


def delegation_revoked(notice: DelegationRevoked) -> Rendered:
    who, box = mention(notice.delegate_user_id), esc(notice.mailbox_email)
    if notice.by_delegate:
        return _line(
            f":double_vertical_bar: Paused: {who} gave up their access to send from {box}."
        )
    return _line(
        f":double_vertical_bar: Paused: the owner of {box} took back {who}'s access to send from it."
    )


def thread_notice(notice: ThreadNotice) -> Rendered:
    """The builder for any thread notice."""
    match notice:
        case SendFailed():
            return send_failed(notice)
        case SendUnconfirmed():
            return send_unconfirmed(notice)
        case CampaignPaused():
            return campaign_paused(notice)
        case DelegationRevoked():
            return delegation_revoked(notice)
