"""Email addresses as the product accepts them."""

from __future__ import annotations

import re

from outreach.errors import InvalidEmail

# Deliberately plain: one @, a dot in the domain, no spaces or angle brackets. Exchange
# rejects the exotic forms RFC 5322 allows, so accepting them would only fail later.
_EMAIL = re.compile(
    r"^[^@\s<>(),;:\"\[\]]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$"
)


def normalize_email(value: str) -> str:
    """``value`` trimmed and lower-cased, or :class:`InvalidEmail` if it is not an address.

    Slack sends typed addresses as ``<mailto:a@b.c|a@b.c>``; that form is unwrapped.
    """
    text = value.strip()
    if text.startswith("<mailto:") and text.endswith(">"):
        text = text[len("<mailto:") : -1].split("|", 1)[0]
    if len(text) > 254 or not _EMAIL.match(text):
        raise InvalidEmail(value.strip())
    return text.lower()
