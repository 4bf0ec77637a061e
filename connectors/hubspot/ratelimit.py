"""Client-side pacing for HubSpot's request limits, so the daemon rarely meets a 429 at all.

HubSpot counts private-app requests in a rolling 10-second window (100 on Free/Starter, 190 on
Professional/Enterprise) and the search endpoints separately at about 5 per second; other
integrations share both. We keep our own sliding windows of request timestamps a little under those
figures, and also listen to the ``X-HubSpot-RateLimit-*`` headers: when the server says the window
is nearly spent (someone else is busy too) we hold off for one interval.

The clock and the sleep are injected (tenacity's design), so tests drive time by hand and never
wait. The rate-limit libraries on PyPI (``limits``, ``pyrate-limiter``) read the system clock or
sleep internally, which is why this is a few lines of our own instead.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

Tier = Literal["free", "starter", "professional", "enterprise"]

TIER_PER_10S: dict[Tier, int] = {
    "free": 100,
    "starter": 100,
    "professional": 190,
    "enterprise": 190,
}
SEARCH_PER_S = 5
WINDOW_S = 10.0
SEARCH_WINDOW_S = 1.0
# Remaining figures at or below this make us wait out the server's interval.
LOW_WATER = 2


class _Window:
    """Timestamps of the requests made in the last ``span`` seconds."""

    def __init__(self, limit: int, span: float) -> None:
        self.limit = limit
        self.span = span
        self._stamps: deque[float] = deque()

    def wait_needed(self, now: float) -> float:
        """Seconds until one more request fits (0 when it fits now)."""
        while self._stamps and self._stamps[0] <= now - self.span:
            self._stamps.popleft()
        if len(self._stamps) < self.limit:
            return 0.0
        return self._stamps[0] + self.span - now

    def add(self, now: float) -> None:
        """Record a request made at ``now``."""
        self._stamps.append(now)


class RateLimiter:
    """Blocks (through the injected ``sleep``) until a request fits every window.

    ``per_10s`` applies to every request, ``search_per_s`` additionally to searches. The last daily
    figures the server reported are kept for :meth:`HubSpotConnector.usage`.
    """

    def __init__(
        self,
        per_10s: int,
        search_per_s: int = SEARCH_PER_S - 1,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """Allow ``per_10s`` requests per rolling 10 s and ``search_per_s`` searches per second."""
        if per_10s < 1 or search_per_s < 1:
            raise ValueError("rate limits must allow at least one request")
        self._general = _Window(per_10s, WINDOW_S)
        self._search = _Window(search_per_s, SEARCH_WINDOW_S)
        self._clock = clock
        self._sleep = sleep
        self._hold_until = 0.0
        self._lock = threading.Lock()
        self.daily_limit: int | None = None
        self.daily_remaining: int | None = None

    @classmethod
    def for_tier(
        cls,
        tier: Tier,
        *,
        margin: int = 10,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> RateLimiter:
        """A limiter sized to the account's tier, ``margin`` requests under HubSpot's figure."""
        return cls(TIER_PER_10S[tier] - margin, SEARCH_PER_S - 1, clock=clock, sleep=sleep)

    @property
    def per_10s(self) -> int:
        """Requests allowed per rolling 10 seconds."""
        return self._general.limit

    def acquire(self, *, search: bool = False) -> float:
        """Wait until one more request fits, record it, and return the seconds waited."""
        waited = 0.0
        with self._lock:
            while True:
                now = self._clock()
                wait = max(self._hold_until - now, self._general.wait_needed(now))
                if search:
                    wait = max(wait, self._search.wait_needed(now))
                if wait <= 0:
                    break
                self._sleep(wait)
                waited += wait
            self._general.add(now)
            if search:
                self._search.add(now)
        return waited

    def observe(self, headers: Mapping[str, str]) -> None:
        """Read HubSpot's rate-limit headers (lower-cased names) from a response."""
        remaining = _int_header(headers, "x-hubspot-ratelimit-remaining")
        interval_ms = _int_header(headers, "x-hubspot-ratelimit-interval-milliseconds")
        if remaining is not None and remaining <= LOW_WATER:
            hold = (interval_ms if interval_ms is not None else WINDOW_S * 1000) / 1000.0
            with self._lock:
                self._hold_until = max(self._hold_until, self._clock() + hold)
        daily = _int_header(headers, "x-hubspot-ratelimit-daily")
        daily_remaining = _int_header(headers, "x-hubspot-ratelimit-daily-remaining")
        if daily is not None:
            self.daily_limit = daily
        if daily_remaining is not None:
            self.daily_remaining = daily_remaining


def _int_header(headers: Mapping[str, str], name: str) -> int | None:
    """An integer header, or ``None`` when absent or garbled (a header never breaks a pull)."""
    raw = headers.get(name)
    if raw is None:
        return None
    try:
        return int(raw.strip())
    except ValueError:
        return None
