"""What a candidate answers from the console: presets, own words, out of office.

Each answer goes through :class:`~bot.sandbox.inbound.Inbound`, the sandbox's one way for
outside mail to arrive, so it is threaded as Exchange threads it and reaches the bot by
the same Graph reply sync as a real candidate's mail. The preset texts are worded so the
bot's classifier (``outreach/replytext.py``) reads them as their label says.
"""

from __future__ import annotations

from datetime import date

from bot.sandbox.graph_mailbox import Message
from bot.sandbox.inbound import Inbound, InboundError

__all__ = ["OUT_OF_OFFICE", "OWN_WORDS", "PRESETS", "answer"]

#: preset -> (button label, the candidate's text).
PRESETS = {
    "interested": (
        "Interested",
        "Hi, thanks for reaching out. Yes, I'm interested: happy to chat this week.",
    ),
    "not_interested": (
        "Not interested",
        "Thanks for thinking of me, but I'm not interested at the moment.",
    ),
    "unsubscribe": (
        "Unsubscribe",
        "Please remove me from your list and do not email me again.",
    ),
}
OUT_OF_OFFICE = "out_of_office"
OWN_WORDS = "text"


def answer(
    inbound: Inbound,
    mailbox: str,
    sent_message_id: str,
    preset: str,
    *,
    text: str = "",
    until: date | None = None,
    from_address: str | None = None,
    references_only: bool = False,
) -> Message:
    """The candidate's answer to what ``mailbox`` sent as ``sent_message_id``, in its Inbox.

    ``preset``: a key of :data:`PRESETS`, :data:`OUT_OF_OFFICE` (needs ``until``) or
    :data:`OWN_WORDS` (needs ``text``). Raises :class:`InboundError` with a sentence for a
    preset it does not know, a missing date or text, or a message the mailbox did not send.
    """
    if preset == OUT_OF_OFFICE:
        if until is None:
            raise InboundError("Give the date the candidate is back.")
        return inbound.out_of_office(
            mailbox, sent_message_id, until=until, from_address=from_address
        )
    if preset == OWN_WORDS:
        if not text.strip():
            raise InboundError("Type the candidate's answer first.")
        words = text
    elif preset in PRESETS:
        words = PRESETS[preset][1]
    else:
        raise InboundError(f"Unknown answer {preset!r}.")
    return inbound.reply(
        mailbox,
        sent_message_id,
        text=words,
        from_address=from_address,
        references_only=references_only,
    )
