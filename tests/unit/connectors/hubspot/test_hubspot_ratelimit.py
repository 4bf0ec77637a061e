"""The HubSpot client-side rate limiter, driven by a fake clock (no test waits)."""

from __future__ import annotations

import pytest

from connectors.hubspot.ratelimit import RateLimiter


class FakeTime:
    """A clock that only moves when the limiter sleeps (or the test says so)."""

    def __init__(self) -> None:
        """Start at zero."""
        self.now = 0.0
        self.slept: list[float] = []

    def clock(self) -> float:
        """The fake now."""
        return self.now

    def sleep(self, seconds: float) -> None:
        """Move time forward instead of waiting."""
        self.slept.append(seconds)
        self.now += seconds


def _limiter(t: FakeTime, per_10s: int = 3, search_per_s: int = 2) -> RateLimiter:
    return RateLimiter(per_10s, search_per_s, clock=t.clock, sleep=t.sleep)


def test_requests_within_the_window_do_not_wait() -> None:
    """Up to ``per_10s`` requests go through at once."""
    t = FakeTime()
    limiter = _limiter(t)
    assert [limiter.acquire() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert t.slept == []


def test_the_next_request_waits_for_the_oldest_to_leave_the_window() -> None:
    """Request N+1 waits until the first one is 10 s old, then the window rolls on."""
    t = FakeTime()
    limiter = _limiter(t)
    for _ in range(3):
        limiter.acquire()
        t.now += 1.0
    assert limiter.acquire() == pytest.approx(7.0)
    assert t.now == pytest.approx(10.0)


def test_searches_are_also_limited_per_second() -> None:
    """Searches are held to ``search_per_s`` within any second, and count in the 10 s window."""
    t = FakeTime()
    limiter = _limiter(t, per_10s=100, search_per_s=2)
    limiter.acquire(search=True)
    limiter.acquire(search=True)
    assert limiter.acquire(search=True) == pytest.approx(1.0)
    assert limiter.acquire() == 0.0  # a non-search request is not held by the search window


def test_for_tier_keeps_a_safety_margin() -> None:
    """Tiers map to HubSpot's figures minus the margin."""
    assert RateLimiter.for_tier("free").per_10s == 90
    assert RateLimiter.for_tier("enterprise", margin=5).per_10s == 185


def test_low_remaining_header_holds_off_for_one_interval() -> None:
    """When HubSpot says the window is nearly spent, the next request waits the interval."""
    t = FakeTime()
    limiter = _limiter(t, per_10s=100)
    limiter.observe({"x-hubspot-ratelimit-remaining": "1", "x-hubspot-ratelimit-interval-milliseconds": "10000"})
    assert limiter.acquire() == pytest.approx(10.0)


def test_healthy_remaining_header_does_not_slow_down() -> None:
    """A comfortable Remaining figure changes nothing."""
    t = FakeTime()
    limiter = _limiter(t, per_10s=100)
    limiter.observe(
        {
            "x-hubspot-ratelimit-remaining": "150",
            "x-hubspot-ratelimit-interval-milliseconds": "10000",
        }
    )
    assert limiter.acquire() == 0.0


def test_daily_figures_are_kept_and_garbage_ignored() -> None:
    """The last daily limit and remaining are kept; unparsable headers are ignored."""
    limiter = _limiter(FakeTime())
    limiter.observe({"x-hubspot-ratelimit-daily": "250000", "x-hubspot-ratelimit-daily-remaining": "249000"})
    limiter.observe({"x-hubspot-ratelimit-daily-remaining": "many"})
    assert (limiter.daily_limit, limiter.daily_remaining) == (250000, 249000)


def test_zero_limits_are_refused() -> None:
    """A limiter that could never let a request through is a configuration error."""
    with pytest.raises(ValueError, match="at least one"):
        RateLimiter(0)
