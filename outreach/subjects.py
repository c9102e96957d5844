"""The subject of a follow-up sent as a reply: ``RE: <subject of step 1>`` unless overridden.

Gmail keeps a message in a conversation only when its subject matches too (after the
``RE:``/``FW:`` prefixes), so a follow-up with a subject of its own starts a new one
(``../shared/fixtures/inputs/followup-subject.txt``). Outlook's ``createReply`` composes
``RE: <parent's subject>`` itself (Exchange prefixes the normalized subject), so a reply
whose subject is that default is sent without one of ours.
"""

from __future__ import annotations

import re

_PREFIX = re.compile(r"^\s*((re|fw|fwd|aw|wg|sv|vs)\s*:\s*)+", re.IGNORECASE)


def normalized(subject: str) -> str:
    """The subject without its reply/forward prefixes (``RE: RE: Role`` → ``Role``)."""
    return _PREFIX.sub("", subject).strip()


def reply_subject(first_subject: str) -> str:
    """``RE: <first_subject>``, the default subject of a follow-up sent as a reply."""
    return f"RE: {normalized(first_subject)}"


def step_subject(rendered: str, first_subject: str, *, as_reply: bool) -> str:
    """The subject a step goes out with: its own, else (blank) the reply default."""
    if rendered.strip() or not as_reply:
        return rendered
    return reply_subject(first_subject)


def outlook_composes(subject: str, parent_subject: str) -> bool:
    """Whether ``createReply`` on a message titled ``parent_subject`` gives ``subject``
    by itself, so the draft needs no subject of ours."""
    return subject == reply_subject(parent_subject)
