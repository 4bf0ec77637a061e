"""Business-day arithmetic: weekends and holidays skipped, calendar days and weeks counted as they are."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sync_daemon.config.plan_models import Calendar
from sync_daemon.domain.calendar import Span, WorkCalendar, parse_duration
from tests.unit.plans_eval.builders import d

EASTER_MONDAY = d("2026-04-06")
CAL = WorkCalendar({5, 6}, frozenset({EASTER_MONDAY}))


def test_one_business_day_from_friday_is_monday() -> None:
    """A 1bd task starting on Friday 2026-03-06 ends on Monday 2026-03-09."""
    assert CAL.add(d("2026-03-06"), "1bd") == d("2026-03-09")


def test_business_days_skip_weekend_and_holiday() -> None:
    """From Thu 2026-04-02, 3bd = Fri 04-03 (1), [Sat, Sun, Easter Monday skipped], Tue 04-07 (2), Wed 04-08 (3)."""
    assert CAL.add(d("2026-04-02"), "3bd") == d("2026-04-08")


def test_calendar_days_and_weeks_ignore_the_calendar() -> None:
    """3d is three calendar days and 2w fourteen, weekends and holidays included."""
    assert CAL.add(d("2026-04-03"), "3d") == d("2026-04-06")
    assert CAL.add(d("2026-04-03"), "2w") == d("2026-04-17")


def test_business_days_from_a_weekend_day_count_from_the_next_working_day() -> None:
    """From Saturday 2026-03-07, 1bd is Monday 03-09 and 0bd is the Saturday itself."""
    assert CAL.add(d("2026-03-07"), "1bd") == d("2026-03-09")
    assert CAL.add(d("2026-03-07"), "0bd") == d("2026-03-07")


def test_custom_weekend() -> None:
    """With Friday and Saturday off, 1bd from Thursday 2026-03-05 is Sunday 03-08."""
    assert WorkCalendar({4, 5}).add(d("2026-03-05"), "1bd") == d("2026-03-08")


def test_is_working() -> None:
    """Weekdays work; weekends and holidays do not."""
    assert CAL.is_working(d("2026-04-07"))
    assert not CAL.is_working(d("2026-04-04"))
    assert not CAL.is_working(EASTER_MONDAY)


def test_working_days_between_counts_the_half_open_interval() -> None:
    """Between Thu 2026-04-02 and Wed 04-08 lie Fri, Tue, Wed: 3 (and -3 backwards, 0 for the same day)."""
    assert CAL.working_days_between(d("2026-04-02"), d("2026-04-08")) == 3
    assert CAL.working_days_between(d("2026-04-08"), d("2026-04-02")) == -3
    assert CAL.working_days_between(d("2026-04-08"), d("2026-04-08")) == 0


def test_parse_duration() -> None:
    """A bd duration counts business days, d calendar days, w weeks of seven calendar days; anything else is refused."""
    assert parse_duration("5bd") == Span(5, business=True)
    assert parse_duration("3d") == Span(3, business=False)
    assert parse_duration("2w") == Span(14, business=False)
    with pytest.raises(ValueError, match="bad duration"):
        parse_duration("5 days")


def test_a_calendar_without_working_days_is_refused() -> None:
    """Seven weekend days would make business-day additions endless, so the constructor refuses them."""
    with pytest.raises(ValueError, match="at least one working weekday"):
        WorkCalendar(set(range(7)))
    with pytest.raises(ValueError, match="weekend days"):
        WorkCalendar({7})


def test_from_config_maps_weekday_names() -> None:
    """The admin's weekday names and holidays become the calendar's weekday numbers and dates."""
    cal = WorkCalendar.from_config(Calendar(weekend=["fri", "sat"], holidays=[EASTER_MONDAY]))
    assert cal.weekend == frozenset({4, 5})
    assert cal.holidays == frozenset({EASTER_MONDAY})


def _naive_add(start: date, days: int, weekend: set[int], holidays: set[date]) -> date:
    day = start
    while days:
        day += timedelta(days=1)
        if day.weekday() not in weekend and day not in holidays:
            days -= 1
    return day


# The property calendars index 2000-2030 only, so that dates on both sides exercise the fallback walk cheaply.
HORIZON = (date(2000, 1, 1), date(2030, 12, 31))
DATES = st.dates(min_value=date(1997, 1, 1), max_value=date(2033, 12, 31))
WEEKENDS = st.sets(st.integers(0, 6), max_size=3)


@settings(max_examples=300, deadline=None)
@given(
    start=DATES,
    days=st.integers(0, 400),
    weekend=WEEKENDS,
    holidays=st.sets(st.dates(min_value=date(1997, 1, 1), max_value=date(2035, 12, 31)), max_size=40),
)
def test_indexed_add_matches_a_day_by_day_walk(start: date, days: int, weekend: set[int], holidays: set[date]) -> None:
    """Inside, across and outside the index horizon, Nbd equals counting N working days one by one."""
    cal = WorkCalendar(weekend, frozenset(holidays), horizon=HORIZON)
    expected = _naive_add(start, days, weekend, holidays)
    assert cal.add(start, f"{days}bd") == expected
    assert cal.working_days_between(start, expected) == days


@settings(max_examples=200, deadline=None)
@given(a=DATES, b=DATES, weekend=WEEKENDS)
def test_working_days_between_is_antisymmetric_and_horizon_independent(a: date, b: date, weekend: set[int]) -> None:
    """Counting a→b is minus b→a, and a calendar with a tiny horizon gives the same count as the default one."""
    wide = WorkCalendar(weekend, horizon=HORIZON)
    tiny = WorkCalendar(weekend, horizon=(date(2026, 1, 1), date(2026, 1, 31)))
    assert wide.working_days_between(a, b) == -wide.working_days_between(b, a)
    assert tiny.working_days_between(a, b) == wide.working_days_between(a, b)
