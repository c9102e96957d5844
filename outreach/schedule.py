"""When a campaign step may go out: send windows, business days, and mailbox pacing.

Pure functions of their arguments: no database, no clock, no I/O. Every instant going in
or out is a timezone-aware datetime in UTC; local time exists only inside this module,
computed with :mod:`zoneinfo`, so daylight-saving switches are handled in one place.

A window is judged on the candidate's wall clock: an instant is inside when its local date
is a window day that is not a public holiday of the candidate's country, and its local time
is in ``[start, end)``. On a spring-forward day a window opening in the missing hour opens
at the first instant after the gap; on a fall-back day a repeated opening time means its
first occurrence.

Holidays are the national public holidays of the ``holidays`` package (no regional ones);
a country it does not know has none.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays

from outreach.errors import InvalidSendWindow
from outreach.places import read_zone

#: Exchange Online refuses more than this many messages per mailbox per rolling minute.
EXCHANGE_PER_MINUTE = 30
#: Exchange Online's recipient limit per mailbox per rolling 24 hours. Each campaign email
#: goes to one candidate, so one send counts as one recipient.
EXCHANGE_RECIPIENTS_PER_DAY = 10_000
DEFAULT_DAILY_CAP = 200
#: The largest daily cap a campaign may set: Exchange's own limit, never above it
#: (https://learn.microsoft.com/office365/servicedescriptions/exchange-online-service-description/
#: exchange-online-limits#sending-limits). Beyond it Exchange accepts sends and bounces them.
MAX_DAILY_CAP = EXCHANGE_RECIPIENTS_PER_DAY
WEEKDAYS = frozenset({1, 2, 3, 4, 5})

# A typographic en dash, as recruiters write ranges; spelled out for the linter's sake.
_DASH = "\u2013"
_DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
# Any window day recurs within a week and holidays never fill a year, so this is only a guard.
_SEARCH_DAYS = 400


@dataclass(frozen=True)
class SendWindow:
    """Local days (ISO weekdays, 1 = Monday) and hours ``[start, end)`` for sending."""

    days: frozenset[int] = WEEKDAYS
    start: time = time(9)
    end: time = time(17)

    def __post_init__(self) -> None:
        object.__setattr__(self, "days", frozenset(self.days))
        if not self.days:
            raise InvalidSendWindow("The send window needs at least one day to send on.")
        if not self.days <= frozenset(range(1, 8)):
            raise InvalidSendWindow("The send window's days must be weekdays from Monday to Sunday.")
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise InvalidSendWindow("The send window's hours are local times, without a time zone.")
        if self.start >= self.end:
            raise InvalidSendWindow(
                f"The send window must end after it starts: {self.end:%H:%M} is not later "
                f"than {self.start:%H:%M}."
            )

    def describe(self) -> str:
        """The window as a recruiter reads it, e.g. ``"Mon-Fri 09:00-17:00"`` (en dashes)."""
        return f"{_describe_days(self.days)} {self.start:%H:%M}{_DASH}{self.end:%H:%M}"


def _describe_days(days: frozenset[int]) -> str:
    if len(days) == 7:
        return "Every day"
    runs: list[list[int]] = []
    for day in sorted(days):
        if runs and runs[-1][-1] == day - 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    parts: list[str] = []
    for run in runs:
        if len(run) >= 3:
            parts.append(f"{_DAY_NAMES[run[0] - 1]}{_DASH}{_DAY_NAMES[run[-1] - 1]}")
        else:
            parts.extend(_DAY_NAMES[d - 1] for d in run)
    return ", ".join(parts)


def resolve_zone(timezone: str | None, campaign_tz: str, country: str | None = None) -> ZoneInfo:
    """The candidate's zone, else the campaign's, else UTC: a bad name never raises here.

    Each name is read by :func:`outreach.places.read_zone` (``country``, alpha-2, settles
    ambiguous abbreviations), so a stored ``EST`` means New York with its daylight saving,
    not the fixed offset the IANA database calls ``EST``.
    """
    for name, where in ((timezone, country), (campaign_tz, None)):
        if name:
            zone = read_zone(name, where).value
            try:
                return ZoneInfo(zone or name)
            except (ZoneInfoNotFoundError, ValueError, OSError):
                continue
    return ZoneInfo("UTC")


@lru_cache(maxsize=1024)
def _holiday_dates(country: str, year: int) -> frozenset[date]:
    try:
        calendar = holidays.country_holidays(country, years=year)
    except NotImplementedError:  # a code the package doesn't know: no holidays, no crash
        return frozenset()
    return frozenset(calendar.keys())


def is_holiday(d: date, country: str | None) -> bool:
    """Whether ``d`` is a national public holiday of ``country`` (ISO 3166 alpha-2)."""
    code = (country or "").strip().upper()
    return bool(code) and d in _holiday_dates(code, d.year)


def is_business_day(d: date, country: str | None) -> bool:
    """Monday to Friday and not a public holiday of ``country`` (None: no holidays)."""
    return d.isoweekday() <= 5 and not is_holiday(d, country)


def add_business_days(start_local: date, n: int, country: str | None) -> date:
    """The ``n``-th business day after ``start_local``; ``n == 0`` returns ``start_local``.

    ``start_local`` itself never counts, business day or not: from a Friday, one business
    day later is the Monday (or the Tuesday if that Monday is a holiday).
    """
    if n < 0:
        raise ValueError("The number of business days to wait can't be negative.")
    d = start_local
    while n:
        d += timedelta(days=1)
        if is_business_day(d, country):
            n -= 1
    return d


def next_send_time(
    earliest: datetime, window: SendWindow, tz: ZoneInfo, country: str | None
) -> datetime:
    """The first instant at or after ``earliest`` inside ``window`` in zone ``tz`` (UTC).

    Inside means: the local date is one of the window's days and not a public holiday of
    ``country``, and the local wall-clock time is in ``[window.start, window.end)``.
    """
    earliest = _as_utc(earliest, "earliest")
    first_day = earliest.astimezone(tz).date()
    for offset in range(_SEARCH_DAYS):
        d = first_day + timedelta(days=offset)
        if d.isoweekday() not in window.days or is_holiday(d, country):
            continue
        found = _first_inside(d, earliest, window, tz)
        if found is not None:
            return found
    raise ValueError(f"No send time found within {_SEARCH_DAYS} days of {earliest:%Y-%m-%d}.")


def _first_inside(d: date, earliest: datetime, window: SendWindow, tz: ZoneInfo) -> datetime | None:
    # The wall clock enters [start, end) on day d only where it reaches `start` (either
    # occurrence if repeated) or where an offset change jumps into it; otherwise `earliest`
    # is already inside. So the answer is the first inside instant among these.
    opening = datetime.combine(d, window.start)
    candidates = [earliest]
    candidates += [opening.replace(tzinfo=tz, fold=fold).astimezone(UTC) for fold in (0, 1)]
    switch = _offset_change_near(d, tz)
    if switch is not None:
        candidates.append(switch)

    def inside(t: datetime) -> bool:
        local = t.astimezone(tz)
        return local.date() == d and window.start <= local.time() < window.end

    found = [t for t in candidates if t >= earliest and inside(t)]
    return min(found) if found else None


def _offset_change_near(d: date, tz: ZoneInfo) -> datetime | None:
    """The first instant (UTC, to the second) of a new UTC offset around local day ``d``."""
    # UTC offsets stay within -12 h..+14 h, so these bounds enclose the whole local day.
    lo = datetime.combine(d, time(), UTC) - timedelta(hours=14)
    hi = lo + timedelta(hours=52)
    before = lo.astimezone(tz).utcoffset()
    if before == hi.astimezone(tz).utcoffset():
        return None
    while hi - lo > timedelta(seconds=1):
        mid = lo + timedelta(seconds=(hi - lo) // timedelta(seconds=2))
        if mid.astimezone(tz).utcoffset() == before:
            lo = mid
        else:
            hi = mid
    return hi


def follow_up_earliest(
    previous_sent_at: datetime,
    wait_business_days: int,
    window: SendWindow,
    tz: ZoneInfo,
    country: str | None,
) -> datetime:
    """When a follow-up becomes due, given when the previous step was actually sent (UTC).

    "Wait N business days after the previous step" means: take the local date (in ``tz``)
    on which the previous step was sent, move N business days forward (Monday to Friday,
    skipping ``country``'s public holidays; see :func:`add_business_days`), and send at the
    window's opening time that day or at the first window instant after it. With N = 0 the
    follow-up may go out as soon as the window allows after the previous send.
    """
    previous_sent_at = _as_utc(previous_sent_at, "previous_sent_at")
    sent_on = previous_sent_at.astimezone(tz).date()
    due_on = add_business_days(sent_on, wait_business_days, country)
    # Midnight (first occurrence) starts the local day; the window search does the rest.
    day_start = datetime.combine(due_on, time(), tz).astimezone(UTC)
    return next_send_time(max(previous_sent_at, day_start), window, tz, country)


def step_due_times(
    first_earliest: datetime,
    waits_business_days: Sequence[int],
    window: SendWindow,
    tz: ZoneInfo,
    country: str | None,
) -> list[datetime]:
    """Planned send instants (UTC) of every step, for previews; one per entry of the waits.

    ``waits_business_days[i]`` is step ``i + 1``'s wait, as stored on the campaign step:
    step 1's wait counts from ``first_earliest`` (campaigns store 0: the first window
    instant at or after it), and each later step's wait counts from the planned send of
    the step before, as :func:`follow_up_earliest` defines it. The dispatcher recomputes
    each follow-up from the real send time, so a delayed send delays what follows.
    """
    planned: list[datetime] = []
    previous = _as_utc(first_earliest, "first_earliest")
    for wait in waits_business_days:
        previous = follow_up_earliest(previous, wait, window, tz, country)
        planned.append(previous)
    return planned


def earliest_allowed(
    now: datetime,
    recent_sends: Sequence[datetime],
    daily_cap: int = DEFAULT_DAILY_CAP,
    min_gap: timedelta = timedelta(0),
) -> datetime:
    """The first instant at or after ``now`` at which the mailbox may send once more (UTC).

    Three limits, each over a rolling window that counts a send made at ``t`` until just
    before ``t + window``: at most ``daily_cap`` sends per 24 hours (Exchange also counts a
    rolling 24 hours, and never more than :data:`EXCHANGE_RECIPIENTS_PER_DAY` whatever the
    cap), at most :data:`EXCHANGE_PER_MINUTE` per minute, and ``min_gap`` after the latest
    send. ``recent_sends`` are the mailbox's send instants (UTC), in any order; ones older
    than 24 hours are ignored.
    """
    now = _as_utc(now, "now")
    if daily_cap < 1:
        raise ValueError("The daily cap must be at least 1 email a day.")
    if min_gap < timedelta(0):
        raise ValueError("The gap between emails can't be negative.")
    newest_first = sorted((_as_utc(t, "recent_sends") for t in recent_sends), reverse=True)
    allowed = [now]
    if newest_first:
        allowed.append(newest_first[0] + min_gap)
    limits = (
        (EXCHANGE_PER_MINUTE, timedelta(minutes=1)),
        (min(daily_cap, EXCHANGE_RECIPIENTS_PER_DAY), timedelta(days=1)),
    )
    for limit, span in limits:
        # With `limit` sends in the span, the next must wait until the limit-th newest ages out.
        if len(newest_first) >= limit:
            allowed.append(newest_first[limit - 1] + span)
    return max(allowed)


def describe_local(dt_utc: datetime, tz: ZoneInfo) -> str:
    """An instant on the candidate's clock for previews, e.g. ``"Tue 3 Mar 2026, 09:00 CET"``."""
    local = _as_utc(dt_utc, "dt_utc").astimezone(tz)
    # Fixed English names: strftime's %a and %b follow the process locale.
    day, month = _DAY_NAMES[local.weekday()], _MONTH_NAMES[local.month - 1]
    return f"{day} {local.day} {month} {local.year}, {local:%H:%M} {local.tzname()}"


def _as_utc(dt: datetime, name: str) -> datetime:
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, got {dt.isoformat()}.")
    return dt.astimezone(UTC)
