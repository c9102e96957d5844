"""A shortlist's column names as exports spell them, mapped to the columns ScaleUp reads.

Every header becomes a snake-case key (``"Current Company"`` → ``current_company``), which is
also the template variable. Five keys are core columns (:data:`CORE_COLUMNS`); each has
spellings that mean it outright, from spreadsheets people make and from the exports of the
tools recruiters use (Google Contacts: ``E-mail 1 - Value``, ``Given Name``, ``Family Name``;
Outlook: ``E-mail Address``, ``Country/Region``; LinkedIn: ``Email Address``; ATS exports
such as Greenhouse, Lever, Ashby and Workable: ``Primary Email``, ``Candidate Email``, ``Time
Zone``…). Two headers with such spellings of one column are a conflict the recruiter settles.

Some spellings only count when nothing better is there (:data:`_FALLBACKS`): an export with
``Personal Email`` and ``Work Email`` uses the personal one; Outlook's ``Home Country/Region``
is the country unless a ``Country`` column exists. Columns holding a whole name (``Name``,
``Full Name``) or a place (``Location``: ``"Berlin, Germany"``) fill ``first_name``/
``last_name`` and ``country`` when those columns are absent or empty in that row; they stay
variables too.
"""

from __future__ import annotations

import re
import unicodedata

CORE_COLUMNS = ("email", "first_name", "last_name", "timezone", "country")
#: Headers that hold a whole name, or a place whose last part may be a country.
FULL_NAME_KEYS = ("name", "full_name", "candidate_name", "display_name", "contact_name")
LOCATION_KEYS = ("location", "candidate_location", "current_location", "city_country")

_ALIASES = {
    **dict.fromkeys(
        (
            "e_mail", "email_address", "e_mail_address", "emailaddress", "mail", "e_mail_1",
            "email_1", "e_mail_1_value", "email_1_value", "primary_email", "primary_e_mail",
            "candidate_email", "candidate_email_address", "email_addresses",
        ),
        "email",
    ),
    **dict.fromkeys(
        ("first", "firstname", "given_name", "forename", "candidate_first_name"), "first_name"
    ),
    **dict.fromkeys(
        ("last", "lastname", "surname", "family_name", "candidate_last_name"), "last_name"
    ),
    **dict.fromkeys(
        ("time_zone", "tz", "timezone_name", "candidate_timezone", "candidate_time_zone"),
        "timezone",
    ),
    **dict.fromkeys(
        ("country_code", "country_iso", "iso_country", "country_region", "country_name",
         "candidate_country"),
        "country",
    ),
}  # fmt: skip
_FALLBACKS = {
    "email": ("personal_email", "work_email", "business_email", "other_email", "contact_email"),
    "country": (
        "home_country_region", "business_country_region", "address_1_country",
        "address_country", "location_country",
    ),
}  # fmt: skip


def snake(header: str) -> str:
    """``"Current Company"`` → ``current_company``: NFKC, lower case, runs of others → ``_``."""
    text = unicodedata.normalize("NFKC", header).strip().lower()
    return re.sub(r"\W+", "_", text).strip("_")


def column_key(header: str) -> str:
    """A column's key: snake case, core columns' usual spellings unified ("E-mail" → email)."""
    key = snake(header)
    return _ALIASES.get(key, key)


def column_keys(headers: list[str]) -> list[str]:
    """Each header's key (:func:`column_key`), then fallbacks for core columns still absent.

    Only the first header of a fallback list that is present becomes the core column.
    """
    keys = [column_key(header) for header in headers]
    for core, fallbacks in _FALLBACKS.items():
        if core in keys:
            continue
        for fallback in fallbacks:
            if fallback in keys:
                keys[keys.index(fallback)] = core
                break
    return keys


def split_name(full: str) -> tuple[str, str]:
    """``"Jana Novak"`` → ``("Jana", "Novak")``; ``"Novak, Jana"`` → the same."""
    if "," in full:
        last, _, first = full.partition(",")
        return first.strip(), last.strip()
    first, _, last = full.strip().partition(" ")
    return first, last.strip()
