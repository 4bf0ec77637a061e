"""One fake clock shared by a sandbox, a connector's rate limiter and the retry sleeps: waits cost nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

START = datetime(2026, 2, 2, 15, 0, tzinfo=UTC)


class FakeTime:
    """Monotonic seconds, a wall clock and a sleep that moves time on instead of waiting."""

    def __init__(self, start: datetime = START) -> None:
        self.start = start
        self.elapsed = 0.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        """Seconds since the start."""
        return self.elapsed

    def now(self) -> datetime:
        """The wall clock."""
        return self.start + timedelta(seconds=self.elapsed)

    def sleep(self, seconds: float) -> None:
        """Record the wait and move time on."""
        self.sleeps.append(seconds)
        self.elapsed += max(seconds, 0.0)

    def advance(self, seconds: float) -> None:
        """Let time pass without a sleep."""
        self.elapsed += seconds
