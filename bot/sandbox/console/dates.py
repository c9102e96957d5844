"""Slack's ``<!date^TS^FORMAT[^LINK]|FALLBACK>`` as the date it stands for.

Slack shows each reader the time in their own zone; the console shows the console
machine's. Tokens as documented in Slack's "Formatting text for app surfaces"
(``{date_num}`` 2014-02-18, ``{date}`` February 18th, 2014, ``{date_short}`` Feb 18, 2014,
``{date_long}`` Tuesday, February 18th, 2014, the ``_pretty`` forms with today,
yesterday or tomorrow, ``{time}`` 6:39 AM, ``{time_secs}`` 6:39:42 AM, ``{ago}``); an
unknown token stays as written, an unreadable timestamp shows the fallback.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime

__all__ = ["slack_date"]

_TOKEN = re.compile(r"\{([a-z_]+)\}")


def _ordinal(day: int) -> str:
    suffix = "th" if 10 <= day % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


def _date(d: datetime) -> str:
    return f"{d:%B} {_ordinal(d.day)}, {d.year}"


def _date_short(d: datetime) -> str:
    return f"{d:%b} {d.day}, {d.year}"


def _date_long(d: datetime) -> str:
    return f"{d:%A}, {_date(d)}"


def _time(d: datetime, seconds: bool = False) -> str:
    hour = d.hour % 12 or 12
    return f"{hour}:{d:%M}" + (f":{d:%S}" if seconds else "") + f" {d:%p}"


def _pretty(d: datetime, now: datetime, otherwise: Callable[[datetime], str]) -> str:
    days = (d.date() - now.date()).days
    return {-1: "yesterday", 0: "today", 1: "tomorrow"}.get(days) or otherwise(d)


def _ago(d: datetime, now: datetime) -> str:
    seconds = int((now - d).total_seconds())
    span = abs(seconds)
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if span >= size:
            n = span // size
            amount = f"{n} {unit}{'s' if n != 1 else ''}"
            break
    else:
        return "just now"
    return f"{amount} ago" if seconds > 0 else f"in {amount}"


def _formats(d: datetime, now: datetime) -> dict[str, str]:
    return {
        "date_num": f"{d:%Y-%m-%d}",
        "date_slash": f"{d:%d/%m/%Y}",
        "date": _date(d),
        "date_short": _date_short(d),
        "date_long": _date_long(d),
        "date_long_full": f"{d:%B} {d.day}, {d.year}",
        "date_pretty": _pretty(d, now, _date),
        "date_short_pretty": _pretty(d, now, _date_short),
        "date_long_pretty": _pretty(d, now, _date_long),
        "time": _time(d),
        "time_secs": _time(d, seconds=True),
        "ago": _ago(d, now),
    }


def slack_date(
    timestamp: str, template: str, now: datetime | None = None
) -> tuple[datetime, str] | None:
    """The moment of the Unix ``timestamp`` in local time and ``template`` with its tokens
    filled for it; None when the timestamp is unreadable (show the fallback)."""
    try:
        when = datetime.fromtimestamp(int(timestamp)).astimezone()
    except (ValueError, OverflowError, OSError):
        return None
    filled = _formats(when, now or datetime.now().astimezone())
    return when, _TOKEN.sub(lambda m: filled.get(m[1], m[0]), template)
