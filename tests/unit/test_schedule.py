from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from outreach.schedule import (
    EXCHANGE_RECIPIENTS_PER_DAY,
    SendWindow,
    add_business_days,
    describe_local,
    earliest_allowed,
    follow_up_earliest,
    is_business_day,
    next_send_time,
    resolve_zone,
    step_due_times,
)

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
TOKYO = ZoneInfo("Asia/Tokyo")
LOS_ANGELES = ZoneInfo("America/Los_Angeles")
OFFICE = SendWindow()  # Mon-Fri 09:00-17:00
EVERY_DAY = SendWindow(days=frozenset(range(1, 8)))


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def every_day(start: time, end: time) -> SendWindow:
    return SendWindow(days=frozenset(range(1, 8)), start=start, end=end)


# --- the window itself ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("window", "text"),
    [
        (OFFICE, "Mon\u2013Fri 09:00\u201317:00"),
        (EVERY_DAY, "Every day 09:00\u201317:00"),
        (SendWindow(days=frozenset({1, 3, 5})), "Mon, Wed, Fri 09:00\u201317:00"),
        (
            SendWindow(days=frozenset({1, 2, 3, 5, 6}), start=time(8, 30), end=time(12)),
            "Mon\u2013Wed, Fri, Sat 08:30\u201312:00",
        ),
    ],
)
def test_window_describes_itself(window: SendWindow, text: str) -> None:
    assert window.describe() == text


def test_window_refuses_no_days_and_backwards_hours() -> None:
    with pytest.raises(ValueError, match=r"^The send window needs at least one day"):
        SendWindow(days=frozenset())
    with pytest.raises(ValueError, match=r"^The send window must end after it starts: 09:00"):
        SendWindow(start=time(17), end=time(9))
    with pytest.raises(ValueError, match="must end after it starts"):
        SendWindow(start=time(9), end=time(9))
    with pytest.raises(ValueError, match="Monday to Sunday"):
        SendWindow(days=frozenset({0, 1}))


# --- windows in the candidate's zone -------------------------------------------------


def test_same_instant_is_inside_in_tokyo_and_outside_in_los_angeles() -> None:
    now = utc(2026, 3, 3, 2)  # Tue 11:00 in Tokyo, Mon 18:00 in Los Angeles
    assert next_send_time(now, OFFICE, TOKYO, "JP") == now
    assert next_send_time(now, OFFICE, LOS_ANGELES, "US") == utc(2026, 3, 3, 17)  # Tue 09:00 PST


def test_before_opening_waits_for_it_and_end_is_exclusive() -> None:
    assert next_send_time(utc(2026, 3, 3, 5), OFFICE, BERLIN, None) == utc(2026, 3, 3, 8)
    assert next_send_time(utc(2026, 3, 3, 15, 59, 59), OFFICE, BERLIN, None) == utc(
        2026, 3, 3, 15, 59, 59
    )
    assert next_send_time(utc(2026, 3, 3, 16), OFFICE, BERLIN, None) == utc(2026, 3, 4, 8)


def test_weekend_is_skipped() -> None:
    friday_evening = utc(2026, 3, 13, 17)  # Fri 18:00 CET
    assert next_send_time(friday_evening, OFFICE, BERLIN, "DE") == utc(2026, 3, 16, 8)


def test_naive_datetime_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        next_send_time(datetime(2026, 3, 3, 9), OFFICE, BERLIN, None)


# --- daylight saving: Europe/Berlin ----------------------------------------------------


def test_berlin_spring_forward_opens_at_nine_summer_time() -> None:
    assert next_send_time(utc(2026, 3, 28, 5), EVERY_DAY, BERLIN, None) == utc(2026, 3, 28, 8)
    assert next_send_time(utc(2026, 3, 28, 20), EVERY_DAY, BERLIN, None) == utc(2026, 3, 29, 7)
    assert next_send_time(utc(2026, 3, 27, 17), OFFICE, BERLIN, "DE") == utc(2026, 3, 30, 7)


def test_berlin_window_opening_in_the_missing_hour_opens_when_clocks_jump() -> None:
    window = every_day(time(2, 30), time(5))
    sunday_midnight = utc(2026, 3, 28, 23)  # 00:00 CET
    assert next_send_time(sunday_midnight, window, BERLIN, None) == utc(
        2026, 3, 29, 1
    )  # 03:00 CEST
    assert next_send_time(utc(2026, 3, 29, 3), window, BERLIN, None) == utc(2026, 3, 30, 0, 30)


def test_berlin_fall_back_uses_the_first_of_the_repeated_hour() -> None:
    window = every_day(time(2, 30), time(5))
    saturday_evening = utc(2026, 10, 24, 20)
    assert next_send_time(saturday_evening, window, BERLIN, None) == utc(2026, 10, 25, 0, 30)
    assert next_send_time(utc(2026, 10, 25, 0, 45), window, BERLIN, None) == utc(
        2026, 10, 25, 0, 45
    )
    assert next_send_time(utc(2026, 10, 24, 20), EVERY_DAY, BERLIN, None) == utc(2026, 10, 25, 8)


def test_berlin_fall_back_judges_the_wall_clock() -> None:
    opens_late = every_day(time(2, 30), time(5))
    # 01:10 UTC is 02:10 CET, the second 02:10 of the night: before 02:30 on the clock.
    assert next_send_time(utc(2026, 10, 25, 1, 10), opens_late, BERLIN, None) == utc(
        2026, 10, 25, 1, 30
    )
    closes_early = every_day(time(0), time(2, 30))
    # 02:40 CEST is after closing, but at 01:00 UTC the clock goes back to 02:00 CET.
    assert next_send_time(utc(2026, 10, 25, 0, 40), closes_early, BERLIN, None) == utc(
        2026, 10, 25, 1
    )


# --- daylight saving: America/New_York -------------------------------------------------


def test_new_york_spring_forward() -> None:
    assert next_send_time(utc(2026, 3, 7, 12), EVERY_DAY, NEW_YORK, None) == utc(2026, 3, 7, 14)
    assert next_send_time(utc(2026, 3, 7, 23), EVERY_DAY, NEW_YORK, None) == utc(2026, 3, 8, 13)
    assert next_send_time(utc(2026, 3, 6, 23), OFFICE, NEW_YORK, "US") == utc(2026, 3, 9, 13)
    window = every_day(time(2, 30), time(17))
    sunday_midnight = utc(2026, 3, 8, 5)  # 00:00 EST
    assert next_send_time(sunday_midnight, window, NEW_YORK, "US") == utc(
        2026, 3, 8, 7
    )  # 03:00 EDT


def test_new_york_fall_back() -> None:
    assert next_send_time(utc(2026, 11, 1, 4), EVERY_DAY, NEW_YORK, None) == utc(2026, 11, 1, 14)
    window = every_day(time(1, 30), time(17))
    sunday_midnight = utc(2026, 11, 1, 4)  # 00:00 EDT
    assert next_send_time(sunday_midnight, window, NEW_YORK, "US") == utc(2026, 11, 1, 5, 30)


# --- holidays --------------------------------------------------------------------------


def test_german_holiday_is_skipped_for_german_candidates_only() -> None:
    thursday_evening = utc(2026, 4, 30, 16)  # 18:00 CEST before 1 May, a Friday
    assert next_send_time(thursday_evening, OFFICE, BERLIN, "DE") == utc(2026, 5, 4, 7)
    assert next_send_time(thursday_evening, OFFICE, BERLIN, "US") == utc(2026, 5, 1, 7)
    assert next_send_time(thursday_evening, OFFICE, BERLIN, None) == utc(2026, 5, 1, 7)


def test_thanksgiving_is_skipped_for_us_candidates_only() -> None:
    wednesday_evening = utc(2026, 11, 25, 23)  # 18:00 EST
    assert next_send_time(wednesday_evening, OFFICE, NEW_YORK, "US") == utc(2026, 11, 27, 14)
    assert next_send_time(wednesday_evening, OFFICE, NEW_YORK, "DE") == utc(2026, 11, 26, 14)


def test_a_holiday_on_a_window_weekend_day_is_skipped_too() -> None:
    christmas_eve = utc(2026, 12, 24, 17)
    assert next_send_time(christmas_eve, EVERY_DAY, BERLIN, "DE") == utc(2026, 12, 27, 8)


def test_unknown_or_missing_country_has_no_holidays() -> None:
    assert is_business_day(date(2026, 12, 25), "ZZ")
    assert is_business_day(date(2026, 12, 25), None)
    assert is_business_day(date(2026, 12, 25), "")
    assert not is_business_day(date(2026, 12, 25), "de")
    assert not is_business_day(date(2026, 12, 26), None)  # a Saturday
    assert next_send_time(utc(2026, 12, 24, 17), OFFICE, BERLIN, "ZZ") == utc(2026, 12, 25, 8)


def test_add_business_days() -> None:
    assert add_business_days(date(2026, 4, 30), 1, "DE") == date(2026, 5, 4)
    assert add_business_days(date(2026, 4, 30), 1, None) == date(2026, 5, 1)
    assert add_business_days(date(2026, 4, 2), 1, "DE") == date(2026, 4, 7)  # Easter
    assert add_business_days(date(2026, 11, 25), 1, "US") == date(2026, 11, 27)
    assert add_business_days(date(2026, 3, 14), 1, "US") == date(2026, 3, 16)  # from a Saturday
    assert add_business_days(date(2026, 3, 14), 0, "US") == date(2026, 3, 14)
    assert add_business_days(date(2026, 12, 23), 3, "DE") == date(2026, 12, 29)
    with pytest.raises(ValueError, match="can't be negative"):
        add_business_days(date(2026, 3, 14), -1, "US")


# --- follow-ups ------------------------------------------------------------------------


def test_follow_up_counts_business_days_from_the_local_send_date() -> None:
    sent = utc(2026, 4, 24, 10)  # Fri 12:00 CEST
    assert follow_up_earliest(sent, 3, OFFICE, BERLIN, "DE") == utc(2026, 4, 29, 7)
    wednesday = utc(2026, 4, 29, 12)
    assert follow_up_earliest(wednesday, 2, OFFICE, BERLIN, "DE") == utc(2026, 5, 4, 7)
    # Tue 23:30 UTC is already Wednesday in Tokyo but still Tuesday in Los Angeles.
    late = utc(2026, 3, 3, 23, 30)
    assert follow_up_earliest(late, 1, OFFICE, TOKYO, "JP") == utc(2026, 3, 5, 0)
    assert follow_up_earliest(late, 1, OFFICE, LOS_ANGELES, "US") == utc(2026, 3, 4, 17)


def test_follow_up_without_wait_goes_at_the_next_window_instant() -> None:
    assert follow_up_earliest(utc(2026, 4, 29, 12), 0, OFFICE, BERLIN, "DE") == utc(2026, 4, 29, 12)
    assert follow_up_earliest(utc(2026, 4, 29, 16, 30), 0, OFFICE, BERLIN, "DE") == utc(
        2026, 4, 30, 7
    )


def test_step_due_times_plan_each_step_from_the_one_before() -> None:
    friday_evening = utc(2026, 4, 24, 18)
    planned = step_due_times(friday_evening, [0, 2, 3], OFFICE, BERLIN, "DE")
    assert planned == [utc(2026, 4, 27, 7), utc(2026, 4, 29, 7), utc(2026, 5, 5, 7)]
    assert step_due_times(friday_evening, [], OFFICE, BERLIN, "DE") == []


# --- mailbox pacing --------------------------------------------------------------------

NOW = utc(2026, 3, 3, 12)


def test_nothing_sent_means_now() -> None:
    assert earliest_allowed(NOW, []) == NOW


def test_min_gap_after_the_latest_send() -> None:
    recent = [NOW - timedelta(minutes=5), NOW - timedelta(seconds=20)]
    assert earliest_allowed(NOW, recent, min_gap=timedelta(seconds=60)) == NOW + timedelta(
        seconds=40
    )
    assert earliest_allowed(NOW, recent, min_gap=timedelta(seconds=10)) == NOW


def test_thirty_per_rolling_minute() -> None:
    thirty = [NOW - timedelta(seconds=59 - i) for i in range(30)]
    assert earliest_allowed(NOW, thirty) == NOW + timedelta(seconds=1)
    assert earliest_allowed(NOW, thirty[::-1]) == NOW + timedelta(seconds=1)
    assert earliest_allowed(NOW, thirty[1:]) == NOW


def test_daily_cap_waits_for_the_oldest_send_to_leave_the_rolling_day() -> None:
    day = [NOW - timedelta(hours=23) + timedelta(minutes=5 * i) for i in range(200)]
    assert earliest_allowed(NOW, day, daily_cap=200) == NOW + timedelta(hours=1)
    assert earliest_allowed(NOW, day[1:], daily_cap=200) == NOW
    assert earliest_allowed(NOW, day, daily_cap=150) == NOW + timedelta(hours=1, minutes=250)
    aged_out = [NOW - timedelta(hours=24), *day[1:]]  # a send exactly 24 h ago no longer counts
    assert earliest_allowed(NOW, aged_out, daily_cap=200) == NOW


def test_exchange_daily_limit_applies_even_above_the_cap() -> None:
    assert EXCHANGE_RECIPIENTS_PER_DAY == 10_000
    day = [NOW - timedelta(hours=23) + timedelta(seconds=8 * i) for i in range(10_000)]
    assert earliest_allowed(NOW, day, daily_cap=50_000) == NOW + timedelta(hours=1)
    assert earliest_allowed(NOW, day[1:], daily_cap=50_000) == NOW


def test_pacing_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        earliest_allowed(NOW, [], daily_cap=0)
    with pytest.raises(ValueError, match="can't be negative"):
        earliest_allowed(NOW, [], min_gap=timedelta(seconds=-1))


# --- presentation and zones ------------------------------------------------------------


def test_describe_local() -> None:
    assert describe_local(utc(2026, 3, 3, 8), BERLIN) == "Tue 3 Mar 2026, 09:00 CET"
    assert describe_local(utc(2026, 3, 3, 8), TOKYO) == "Tue 3 Mar 2026, 17:00 JST"
    assert describe_local(utc(2026, 7, 14, 7, 5), BERLIN) == "Tue 14 Jul 2026, 09:05 CEST"


def test_resolve_zone_falls_back_to_the_campaign_then_utc() -> None:
    assert resolve_zone("Asia/Tokyo", "Europe/Berlin") == TOKYO
    assert resolve_zone(None, "Europe/Berlin") == BERLIN
    assert resolve_zone("Mars/Olympus", "Europe/Berlin") == BERLIN
    assert resolve_zone("../etc/passwd", "") == ZoneInfo("UTC")
