"""Pull progress: throttled log lines on a fake clock, a rich bar, and the factory's choice."""

from __future__ import annotations

import io
from typing import Any

from rich.console import Console
from structlog.testing import capture_logs

from sync_daemon.progress import (
    LogProgress,
    NullProgress,
    PullProgress,
    RichProgress,
    make_progress,
)


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        """Start at an arbitrary monotonic time."""
        self.now = 1000.0

    def __call__(self) -> float:
        """The current fake time."""
        return self.now


class FakeLog:
    """Collects (event, fields) pairs."""

    def __init__(self) -> None:
        """Start empty."""
        self.events: list[tuple[str, dict[str, Any]]] = []

    def info(self, event: str, **kw: Any) -> None:
        """Record one event."""
        self.events.append((event, kw))


def make_log_progress(interval: float = 10.0) -> tuple[LogProgress, FakeClock, FakeLog]:
    clock, log = FakeClock(), FakeLog()
    return LogProgress(interval, clock=clock, logger=log), clock, log


def test_logs_at_most_once_per_interval() -> None:
    """Advances within an interval are counted silently; one line per elapsed interval."""
    progress, clock, log = make_log_progress(10)
    progress.start("accounts", None)
    for _ in range(5):
        clock.now += 1
        progress.advance("accounts", 200)
    assert log.events == []
    clock.now += 5
    progress.advance("accounts", 200)
    clock.now += 9
    progress.advance("accounts", 200)
    assert log.events == [
        (
            "sync.progress",
            {"kind": "accounts", "records": 1200, "rate_per_s": 120.0, "elapsed_s": 10.0},
        )
    ]
    clock.now += 1
    progress.advance("accounts", 100)
    assert len(log.events) == 2
    assert log.events[1][1]["records"] == 1500


def test_short_pull_stays_quiet() -> None:
    """A pull that finishes within the first interval logs nothing at all."""
    progress, clock, log = make_log_progress(10)
    progress.start("contacts", None)
    progress.advance("contacts", 50)
    clock.now += 3
    progress.finish("contacts")
    assert log.events == []


def test_long_pull_logs_a_final_line() -> None:
    """A pull that logged progress logs a final count with done=True at finish."""
    progress, clock, log = make_log_progress(10)
    progress.start("contacts", 4000)
    clock.now += 10
    progress.advance("contacts", 2000)
    clock.now += 2
    progress.advance("contacts", 1000)
    progress.finish("contacts")
    assert [fields for _, fields in log.events] == [
        {"kind": "contacts", "records": 2000, "rate_per_s": 200.0, "elapsed_s": 10.0, "total": 4000,
         "percent": 50.0},
        {"kind": "contacts", "records": 3000, "rate_per_s": 250.0, "elapsed_s": 12.0, "total": 4000,
         "percent": 75.0, "done": True},
    ]  # fmt: skip


def test_kinds_are_independent() -> None:
    """Each object kind has its own interval and count."""
    progress, clock, log = make_log_progress(10)
    progress.start("accounts", None)
    clock.now += 6
    progress.start("contacts", None)
    clock.now += 5
    progress.advance("contacts", 10)
    progress.advance("accounts", 20)
    assert [(f["kind"], f["records"]) for _, f in log.events] == [("accounts", 20)]


def test_advance_without_start_is_tolerated() -> None:
    """A missing start() never breaks a pull: counting starts at the first advance."""
    progress, clock, log = make_log_progress(1)
    progress.advance("accounts", 5)
    clock.now += 1
    progress.advance("accounts", 5)
    assert log.events[0][1]["records"] == 10


def test_default_logger_is_structlog() -> None:
    """Without an injected logger, LogProgress emits a structlog sync.progress event."""
    clock = FakeClock()
    progress = LogProgress(1, clock=clock)
    with capture_logs() as logs:
        progress.start("accounts", None)
        clock.now += 2
        progress.advance("accounts", 7)
    assert logs == [
        {"event": "sync.progress", "log_level": "info", "kind": "accounts", "records": 7,
         "rate_per_s": 3.5, "elapsed_s": 2.0},
    ]  # fmt: skip


def test_rich_progress_draws_counts() -> None:
    """The rich display shows each kind with its record count and total."""
    out = io.StringIO()
    progress = RichProgress(Console(file=out, force_terminal=True, width=120), auto_refresh=False)
    progress.start("accounts", 5000)
    progress.advance("accounts", 1234)
    progress.start("contacts", None)
    progress.advance("contacts", 10)
    progress.finish("accounts")
    progress.finish("contacts")
    progress.close()
    text = out.getvalue()
    assert "accounts" in text
    assert "1,234/1,234 records" in text
    assert "10/10 records" in text


def test_rich_progress_close_without_start() -> None:
    """Closing a display that never started draws nothing."""
    out = io.StringIO()
    progress = RichProgress(Console(file=out, force_terminal=True), auto_refresh=False)
    progress.finish("accounts")
    progress.close()
    assert out.getvalue() == ""


def test_make_progress_choice() -> None:
    """A TTY with human logs gets a bar; JSON or no TTY gets log lines; interval 0 gets nothing."""
    tty, no_tty = True, False
    assert isinstance(make_progress("auto", tty, 10), RichProgress)
    assert isinstance(make_progress("console", tty, 10), RichProgress)
    assert isinstance(make_progress("json", tty, 10), LogProgress)
    assert isinstance(make_progress("auto", no_tty, 10), LogProgress)
    assert isinstance(make_progress("console", no_tty, 0), NullProgress)


def test_null_progress_is_a_pull_progress() -> None:
    """NullProgress accepts every call and satisfies the protocol."""
    progress: PullProgress = NullProgress()
    progress.start("accounts", 3)
    progress.advance("accounts", 3)
    progress.finish("accounts")
    progress.close()
