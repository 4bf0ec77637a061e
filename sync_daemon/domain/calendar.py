"""Business-day and calendar-day arithmetic for plan schedules.

Plan durations are written ``5bd`` (working days: weekends and the configured holidays skipped), ``3d``
(calendar days) or ``2w`` (calendar weeks). ``add(start, "Nbd")`` is the N-th working day strictly *after*
``start``: a 1bd task that starts on a Friday ends on the Monday.

Why an index: evaluation runs for every account in onboarding (100,000 in the benchmark), two schedules each,
so ``add`` is the hottest function of the cycle. The calendar precomputes, over a bounded horizon, the running
count of working days for each day and the list of working days, which turns a business-day addition into two
array lookups. Dates outside the horizon fall back to a day-by-day walk (correct, just slower).

Internally days are proleptic ordinals (``date.toordinal()``), so the schedulers can stay in integers and build
``date`` objects only for their output.
"""

from __future__ import annotations

import functools
import re
from array import array
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable
    from collections.abc import Set as AbstractSet

    from sync_daemon.config.plan_models import Calendar

WEEKDAYS: dict[str, int] = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}
DEFAULT_HORIZON = (date(2000, 1, 1), date(2100, 12, 31))
_DURATION = re.compile(r"^(\d{1,4})(bd|d|w)$")


@dataclass(frozen=True, slots=True)
class Span:
    """A parsed duration: ``days`` working days when ``business``, else calendar days."""

    days: int
    business: bool


@functools.lru_cache(maxsize=4096)
def parse_duration(text: str) -> Span:
    """Parse ``5bd``, ``3d`` or ``2w`` (14 calendar days).

    Raises:
        ValueError: the text is not one of those forms (the loader reports it with its location first).
    """
    match = _DURATION.match(text)
    if match is None:
        raise ValueError(f"bad duration {text!r}: write a whole number and bd, d or w, e.g. 5bd, 3d, 2w")
    count, unit = int(match.group(1)), match.group(2)
    if unit == "w":
        return Span(count * 7, business=False)
    return Span(count, business=unit == "bd")


class WorkCalendar:
    """Working days: every day except the ``weekend`` weekdays (0 = Monday) and the ``holidays``.

    ``horizon`` bounds the precomputed index (first and last day, inclusive); answers are the same outside it,
    only slower.
    """

    __slots__ = ("_cum", "_first", "_holiday_ordinals", "_holidays", "_last", "_weekend", "_working")

    def __init__(
        self,
        weekend: AbstractSet[int] = frozenset({5, 6}),
        holidays: Iterable[date] = frozenset(),
        *,
        horizon: tuple[date, date] = DEFAULT_HORIZON,
    ) -> None:
        if not set(weekend) <= set(range(7)):
            raise ValueError(f"weekend days are 0 (Monday) to 6 (Sunday), got {sorted(weekend)}")
        if len(set(weekend)) == 7:  # noqa: PLR2004 - seven days a week
            raise ValueError("a calendar needs at least one working weekday")
        self._weekend = frozenset(weekend)
        self._holidays = frozenset(holidays)
        self._holiday_ordinals = frozenset(day.toordinal() for day in self._holidays)
        self._first = horizon[0].toordinal()
        self._last = horizon[1].toordinal()
        self._cum, self._working = self._build_index()

    @classmethod
    def from_config(cls, calendar: Calendar) -> WorkCalendar:
        """The calendar an admin configured in ``plans.yaml`` (weekday names, holiday dates)."""
        return cls({WEEKDAYS[day] for day in calendar.weekend}, frozenset(calendar.holidays))

    def _build_index(self) -> tuple[array[int], array[int]]:
        """``cum[i]``: working days in ``[first, first + i]``; ``working[k]``: the (k+1)-th working day."""
        cum: array[int] = array("l")
        working: array[int] = array("l")
        for ordinal in range(self._first, self._last + 1):
            if self._is_working_ordinal(ordinal):
                working.append(ordinal)
            cum.append(len(working))
        return cum, working

    @property
    def weekend(self) -> frozenset[int]:
        """The weekend weekdays (0 = Monday)."""
        return self._weekend

    @property
    def holidays(self) -> frozenset[date]:
        """The holiday dates."""
        return self._holidays

    def _is_working_ordinal(self, ordinal: int) -> bool:
        # date.weekday() is (ordinal + 6) % 7: ordinal 1 (0001-01-01) is a Monday.
        return (ordinal + 6) % 7 not in self._weekend and ordinal not in self._holiday_ordinals

    def is_working(self, day: date) -> bool:
        """Whether ``day`` is a working day (not a weekend day, not a holiday)."""
        return day.weekday() not in self._weekend and day not in self._holidays

    def add(self, start: date, duration: str | Span) -> date:
        """The day ``duration`` after ``start``: ``Nbd`` is the N-th working day strictly after ``start``."""
        span = parse_duration(duration) if isinstance(duration, str) else duration
        return date.fromordinal(self.add_ordinal(start.toordinal(), span))

    def add_ordinal(self, ordinal: int, span: Span) -> int:
        """:meth:`add` on day ordinals: the schedulers' fast path."""
        if not span.business or span.days == 0:
            return ordinal + span.days
        offset = ordinal - self._first
        if 0 <= offset <= self._last - self._first:
            target = self._cum[offset] + span.days - 1
            if target < len(self._working):
                return self._working[target]
        return self._walk(ordinal, span.days)

    def _walk(self, ordinal: int, days: int) -> int:
        """The slow path outside the horizon: step day by day."""
        while days:
            ordinal += 1
            if self._is_working_ordinal(ordinal):
                days -= 1
        return ordinal

    def working_days_between(self, a: date, b: date) -> int:
        """Working days in ``(a, b]``; negative when ``b`` is before ``a``.

        The inverse of :meth:`add`: ``working_days_between(a, add(a, "Nbd")) == N``.
        """
        lo, hi = a.toordinal(), b.toordinal()
        if hi < lo:
            return -self.working_days_between(b, a)
        if self._first <= lo and hi <= self._last:
            return self._cum[hi - self._first] - self._cum[lo - self._first]
        return sum(1 for ordinal in range(lo + 1, hi + 1) if self._is_working_ordinal(ordinal))
