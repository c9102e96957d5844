"""Email addresses as the product accepts them: checked by ``email-validator``, stored lower-case.

Syntax, internationalised domains (IDNA 2008) and internationalised local parts are the
library's rules (``check_deliverability=False``: no DNS at import time). ``.test`` domains are
allowed (``test_environment``) because the sandbox and the tests use them. An address whose
local part is ASCII is stored in its ASCII form (``jane@bücher.example`` →
``jane@xn--bcher-kva.example``), which every mail server accepts and which is the same
whichever way the recruiter typed it.

:func:`email_from_cell` reads an address the way a mail client's "To" field would: a display
name with the address in angle brackets, a ``mailto:`` link, invisible characters pasted
along with it.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from email.utils import getaddresses
from urllib.parse import unquote

from email_validator import EmailNotValidError, validate_email

from outreach.errors import InvalidEmail

#: Characters that show as nothing (or as a space) and that copying from web pages, Word
#: or Excel leaves in cells, with the name the import report uses for them.
INVISIBLE = {
    "\u00a0": "a non-breaking space",
    "\u00ad": "a soft hyphen",
    "\u200b": "a zero-width space",
    "\u200c": "a zero-width non-joiner",
    "\u200d": "a zero-width joiner",
    "\u200e": "a left-to-right mark",
    "\u200f": "a right-to-left mark",
    "\u202a": "a directional formatting character",
    "\u202b": "a directional formatting character",
    "\u202c": "a directional formatting character",
    "\u202d": "a directional formatting character",
    "\u202e": "a directional formatting character",
    "\u2060": "a word joiner",
    "\u2028": "a line separator",
    "\u3000": "an ideographic space",
    "\ufeff": "a byte-order mark",
}
_GOOGLE_SEPARATOR = " ::: "  # Google Contacts puts several addresses in one cell this way
_ANGLED = re.compile(r"<([^<>]*)>")
#: A mailto link, bare or in angle brackets: the address ends where a URI's query begins
#: or at a character a URI cannot hold unescaped (RFC 3986), such as "|" or a space.
_MAILTO = re.compile(r"<?mailto:([^?|<>\s]*)[^<>]*>?", re.IGNORECASE)


def normalize_email(value: str) -> str:
    """``value`` checked and lower-cased, or :class:`InvalidEmail` naming it.

    ``value`` is an address as a person typed it; Slack's link form of a typed address
    is unwrapped where Slack text comes in (``handlers/commands.py``).
    """
    text = value.strip()
    if len(text) > 254:
        raise InvalidEmail(value.strip())
    try:
        checked = validate_email(
            text, check_deliverability=False, test_environment=True, allow_smtputf8=True
        )
    except EmailNotValidError:
        raise InvalidEmail(value.strip()) from None
    return (checked.ascii_email or checked.normalized).lower()


@dataclass(frozen=True)
class CellAddress:
    """The address in a spreadsheet cell, and what was done to find it (for the row's report)."""

    email: str
    notes: tuple[str, ...] = ()


def email_from_cell(cell: str) -> CellAddress:
    """The address in ``cell`` as a mail client reads it, or :class:`InvalidEmail` for the cell.

    Commands that take an address (``dnc add|remove``, ``message``) read it with this too, so
    what the importer accepts they accept (Slack's own link form is unwrapped before, in
    ``handlers/commands.py``).

    Accepted: ``jane@x.com``, ``Jane Doe <jane@x.com>``, ``"Doe, Jane" <jane@x.com>`` and
    ``Doe, Jane <jane@x.com>`` (Outlook copies names unquoted: whatever stands before a single
    ``<addr>`` is the display name), ``mailto:jane@x.com``, also in angle brackets (the link
ends at ``?`` or at a character a URI cannot hold unescaped, so ``?subject=…`` or a chat
tool's ``|label`` is dropped),
    several addresses (a Google Contacts cell with ``:::``, a list separated by ``,`` or ``;``
    as ``email.utils.getaddresses`` reads it: the first is taken) and any of
    :data:`INVISIBLE`, which are removed. Each invisible character removed and each extra
    address ignored is named in ``notes``.
    """
    notes: list[str] = []
    found = sorted({name for char, name in INVISIBLE.items() if char in cell})
    text = cell
    for char in INVISIBLE:
        text = text.replace(char, "")
    text = unicodedata.normalize("NFC", text).strip()
    if found:
        notes.append(f"removed {' and '.join(found)} from the email address")
    if _GOOGLE_SEPARATOR in text:
        first, *others = text.split(_GOOGLE_SEPARATOR)
        text = first.strip()
        notes.append(f"the email cell holds {len(others) + 1} addresses; the first is used")
    if link := _MAILTO.fullmatch(text):
        text = unquote(link[1]).strip()
    elif "<" in text or "," in text or ";" in text:
        angled = [inside.strip() for inside in _ANGLED.findall(text)]
        found_all = angled or [a for _, a in getaddresses([text.replace(";", ",")]) if a]
        if found_all:
            text = found_all[0]
        if len(found_all) > 1:
            notes.append(f"the email cell holds {len(found_all)} addresses; the first is used")
    try:
        return CellAddress(normalize_email(text), tuple(notes))
    except InvalidEmail:
        raise InvalidEmail(cell.strip()) from None
