"""Time zones and countries as recruiters write them, read into IANA zones and ISO codes.

A shortlist's ``timezone`` and ``country`` columns are optional: a value read here decides
when a candidate's emails go out and which public holidays are skipped, and a value that
cannot be read never drops the candidate (the import keeps them on the campaign's zone, or
without holidays, and says so in the row's report).

**Time zones**, tried in this order:

1. An abbreviation or a name people write (``EST``, ``Eastern Time``, ``Pacific Time (US &
   Canada)``, ``CET``, ``IST``…) is a *region*, with its daylight saving: ``EST`` is
   ``America/New_York``. This comes before the IANA names on purpose, because ``EST``,
   ``MST`` and ``HST`` are also IANA names of fixed offsets without daylight saving, which is
   not what anyone writing "EST" means in July. Ambiguous abbreviations follow one rule: the
   meaning in the candidate's country when the country is known and has one (``IST`` with
   ``IE`` is Dublin, with ``IL`` Jerusalem), else the most common one (``IST`` India,
   ``CST`` US Central, ``BST`` British Summer Time); the report names the pick.
2. An IANA name, matched case-insensitively (``europe/berlin``).
3. An offset (``GMT+1``, ``UTC-05:00``, ``+0530``): when the candidate's country has a zone
   at that offset (standard or summer time, per ``zone.tab`` of the system's tz
   database), that zone, with its daylight saving; else a whole-hour offset is the fixed
   zone ``Etc/GMT-1`` (POSIX signs are inverted), and a half- or quarter-hour offset is a
   zone that keeps it all year (``GMT+5:30`` → ``Asia/Kolkata``, ``+0545`` →
   ``Asia/Kathmandu``; the tz database has no ``Etc/`` zones for them); the report says
   it ignores daylight saving. An offset no zone keeps all year (``-03:30``, Newfoundland
   in winter only) cannot be used: the campaign's zone is, and the report says so.

**Countries**: ISO 3166-1 alpha-2 or alpha-3 codes and English names as ``pycountry`` knows
them, plus the names people write that ISO spells otherwise (``UK``, ``England``, ``USA``,
``South Korea``, ``Turkey``, ``Deutschland``…).
"""

from __future__ import annotations

import re
import zoneinfo
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache, lru_cache
from pathlib import Path

import pycountry

# Abbreviations and written names (after :func:`_words`) → the region they mean.
_ZONES = {
    "America/New_York": ("est", "edt", "et", "eastern", "us eastern"),
    "America/Chicago": ("cst", "cdt", "ct", "central", "us central"),
    "America/Denver": ("mst", "mdt", "mt", "mountain", "us mountain"),
    "America/Phoenix": ("arizona",),
    "America/Los_Angeles": ("pst", "pdt", "pt", "pacific", "us pacific"),
    "America/Anchorage": ("akst", "akdt", "alaska"),
    "Pacific/Honolulu": ("hst", "hawaii", "hawaii aleutian"),
    "America/Halifax": ("ast", "adt", "atlantic"),
    "America/St_Johns": ("nst", "ndt", "newfoundland"),
    "Europe/London": ("bst", "british", "uk"),
    "Europe/Dublin": ("irish",),
    "Europe/Lisbon": ("wet", "west", "western european"),
    "Europe/Berlin": ("cet", "cest", "mez", "mesz", "central european", "w. europe"),
    "Europe/Athens": ("eet", "eest", "eastern european"),
    "Europe/Moscow": ("msk", "moscow"),
    "Asia/Dubai": ("gst", "gulf"),
    "Asia/Karachi": ("pkt", "pakistan"),
    "Asia/Kolkata": ("ist", "india"),
    "Asia/Bangkok": ("ict", "indochina"),
    "Asia/Jakarta": ("wib", "western indonesia"),
    "Asia/Shanghai": ("china",),
    "Asia/Singapore": ("sgt", "singapore"),
    "Asia/Hong_Kong": ("hkt", "hong kong"),
    "Asia/Manila": ("pht", "philippine"),
    "Asia/Tokyo": ("jst", "japan"),
    "Asia/Seoul": ("kst", "korea"),
    "Australia/Perth": ("awst", "australian western"),
    "Australia/Adelaide": ("acst", "acdt", "australian central"),
    "Australia/Sydney": ("aest", "aedt", "australian eastern"),
    "Pacific/Auckland": ("nzst", "nzdt", "new zealand"),
    "America/Sao_Paulo": ("brt", "brasilia"),
    "America/Argentina/Buenos_Aires": ("art", "argentina"),
    "Africa/Lagos": ("wat", "west africa"),
    "Africa/Johannesburg": ("sast", "south africa"),
    "Africa/Nairobi": ("eat", "east africa"),
    "Africa/Maputo": ("cat", "central africa"),
}
_NAMES = {name: zone for zone, names in _ZONES.items() for name in names}
# Abbreviations with more than one meaning: the country's meaning where it has one.
_BY_COUNTRY = {
    "ist": {"IE": "Europe/Dublin", "IL": "Asia/Jerusalem"},
    "cst": {"CN": "Asia/Shanghai", "TW": "Asia/Taipei", "CU": "America/Havana"},
    "ast": {"SA": "Asia/Riyadh", "KW": "Asia/Kuwait", "QA": "Asia/Qatar", "IQ": "Asia/Baghdad"},
    "bst": {"BD": "Asia/Dhaka"},
    "gmt": {"GB": "Europe/London", "IE": "Europe/Dublin", "PT": "Europe/Lisbon"},
}
_FILLER = frozenset({"standard", "daylight", "summer", "time", "zone"})
_OFFSET = re.compile(r"^(?:gmt|utc|z)?\s*([+\-\u2212])\s*(\d{1,2})(?::?(\d{2}))?$")
_COUNTRY_NAMES = {
    **dict.fromkeys(("uk", "u.k.", "great britain", "britain", "england", "scotland", "wales",
                     "northern ireland"), "GB"),
    **dict.fromkeys(("usa", "u.s.", "u.s.a.", "us", "united states", "america"), "US"),
    **dict.fromkeys(("south korea", "korea", "republic of korea"), "KR"),
    **dict.fromkeys(("turkey", "türkiye"), "TR"),
    **dict.fromkeys(("russia",), "RU"),
    **dict.fromkeys(("deutschland",), "DE"),
    **dict.fromkeys(("holland", "the netherlands"), "NL"),
    **dict.fromkeys(("uae", "emirates"), "AE"),
    **dict.fromkeys(("czech republic", "czechia"), "CZ"),
    **dict.fromkeys(("ivory coast",), "CI"),
    **dict.fromkeys(("vietnam", "viet nam"), "VN"),
}  # fmt: skip


@dataclass(frozen=True)
class Reading:
    """A value read: the canonical form (None if unusable) and, when worth saying, how."""

    value: str | None
    note: str | None = None


def _words(value: str) -> str:
    """``"Pacific Time (US & Canada)"`` → ``"pacific"``: lower case, no filler words."""
    text = re.sub(r"\(.*?\)", " ", value.lower())
    return " ".join(word for word in text.replace("_", " ").split() if word not in _FILLER)


@lru_cache(maxsize=4096)
def read_zone(value: str, country: str | None = None) -> Reading:
    """``value`` (as written in a shortlist) as an IANA zone name; ``country`` is alpha-2.

    Returns ``Reading(None, note)`` when the value cannot be used; never raises.
    """
    text = value.strip()
    if not text:
        return Reading(None)
    words = _words(text)
    if words in _BY_COUNTRY and country in _BY_COUNTRY[words]:
        zone = _BY_COUNTRY[words][country]
        return Reading(zone, f"time zone {_q(text)} read as {zone}, its meaning in {country}")
    if words in _NAMES:
        zone = _NAMES[words]
        if words in _BY_COUNTRY:
            return Reading(zone, f"time zone {_q(text)} has several meanings; read as {zone}")
        return Reading(zone)
    if words == "gmt" or words in ("utc", "z", "zulu"):
        return Reading("UTC")
    iana = _iana().get(text.lower())
    if iana:
        return Reading(iana)
    offset = _offset(words)
    if offset is not None:
        return _from_offset(text, offset, country)
    return Reading(None, f"time zone {_q(text)} is not one I know")


@lru_cache(maxsize=4096)
def read_country(value: str) -> Reading:
    """``value`` as an ISO 3166-1 alpha-2 code (``Germany``, ``DEU``, ``uk`` → ``DE``/``GB``)."""
    text = " ".join(value.split())
    if not text:
        return Reading(None)
    known = _COUNTRY_NAMES.get(text.lower())
    if known:
        return Reading(known)
    try:
        return Reading(pycountry.countries.lookup(text).alpha_2)
    except LookupError:
        return Reading(None, f"country {_q(text)} is not one I know")


def _offset(words: str) -> timedelta | None:
    match = _OFFSET.match(words.replace(" ", ""))
    if not match:
        return None
    sign = -1 if match[1] in "-\u2212" else 1
    hours, minutes = int(match[2]), int(match[3] or 0)
    if hours > 14 or minutes >= 60:
        return None
    return sign * timedelta(hours=hours, minutes=minutes)


def _from_offset(text: str, offset: timedelta, country: str | None) -> Reading:
    shown = _describe(offset)
    for zone in _country_zones().get(country or "", ()):
        if offset in _offsets(zone):
            return Reading(
                zone,
                f"time zone {_q(text)} read as {zone}, the zone of {country} at {shown} "
                "(daylight saving included)",
            )
    hours, rest = divmod(offset, timedelta(hours=1))
    if rest:  # Etc/ zones are whole hours; a region that keeps this offset all year is fixed
        steady = _steady_zone(offset)
        if steady is None:
            return Reading(None, f"time zone {_q(text)} is an offset no fixed zone has")
        return Reading(
            steady,
            f"time zone {_q(text)} read as the fixed offset {shown} ({steady}, which keeps it "
            "all year), without daylight saving",
        )
    if not -12 <= hours <= 14:
        return Reading(None, f"time zone {_q(text)} is an offset no fixed zone has")
    zone = "Etc/GMT" if hours == 0 else f"Etc/GMT{-hours:+d}"  # POSIX: east is negative
    return Reading(
        zone, f"time zone {_q(text)} read as the fixed offset {shown}, without daylight saving"
    )


@cache
def _steady_zone(offset: timedelta) -> str | None:
    """The first zone in ``zone.tab`` whose offset is ``offset`` in January and July alike
    (``+05:30`` → ``Asia/Kolkata``), island territories last; None if no zone keeps it."""
    zones = [zone for names in _country_zones().values() for zone in names]
    steady = [zone for zone in zones if _offsets(zone) == {offset}]
    steady.sort(key=lambda zone: zone.startswith(("Indian/", "Atlantic/", "Antarctica/")))
    return steady[0] if steady else None


def _describe(offset: timedelta) -> str:
    minutes = int(offset.total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


@cache
def _offsets(zone: str) -> frozenset[timedelta]:
    tz = zoneinfo.ZoneInfo(zone)
    year = datetime.now().year
    moments = (datetime(year, 1, 15, 12), datetime(year, 7, 15, 12))
    return frozenset(offset for m in moments if (offset := m.replace(tzinfo=tz).utcoffset()))


@cache
def _iana() -> dict[str, str]:
    return {name.lower(): name for name in zoneinfo.available_timezones()}


@cache
def _country_zones() -> dict[str, tuple[str, ...]]:
    """Alpha-2 code → its zones, from the tz database's ``zone.tab`` (empty if absent)."""
    zones: dict[str, list[str]] = {}
    for folder in zoneinfo.TZPATH:
        table = Path(folder) / "zone.tab"
        if not table.is_file():
            continue
        for line in table.read_text(encoding="utf-8").splitlines():
            if line.startswith("#") or not line.strip():
                continue
            code, _, zone = line.split("\t")[:3]
            zones.setdefault(code, []).append(zone)
        break
    return {code: tuple(names) for code, names in zones.items()}


def _q(value: str) -> str:
    return f"'{value}'" if len(value) <= 40 else f"'{value[:39]}…'"
