"""Progress of long pulls: a live bar on a terminal, a throttled log line elsewhere, or nothing.

The pull loop reports through the small :class:`PullProgress` protocol (``start``, ``advance``,
``finish`` per object kind, then ``close``), so it never learns where progress goes. The log variant
takes its clock as an argument: tests drive time by hand and never sleep.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol

import structlog
from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

if TYPE_CHECKING:
    from collections.abc import Callable


class PullProgress(Protocol):
    """Where a pull reports how far it got, per object ``kind`` (accounts, contacts)."""

    def start(self, kind: str, total: int | None) -> None:
        """A pull of ``kind`` begins; ``total`` when the CRM said how many records match."""

    def advance(self, kind: str, n: int) -> None:
        """``n`` more records of ``kind`` were pulled."""

    def finish(self, kind: str) -> None:
        """The pull of ``kind`` is done."""

    def close(self) -> None:
        """Release the display; no more calls follow."""


class NullProgress:
    """Reports nothing (tests, ``--quiet``, and progress turned off with an interval of 0)."""

    def start(self, kind: str, total: int | None) -> None:
        """Ignore the start."""

    def advance(self, kind: str, n: int) -> None:
        """Ignore the advance."""

    def finish(self, kind: str) -> None:
        """Ignore the end."""

    def close(self) -> None:
        """Nothing to release."""


class _EventLogger(Protocol):
    def info(self, event: str, **kw: Any) -> Any: ...


@dataclass(slots=True)
class _Tally:
    started_at: float
    last_logged_at: float
    total: int | None
    records: int = 0
    logged: bool = False


class LogProgress:
    """Logs ``sync.progress`` (kind, records, rate_per_s) at most once per interval per kind.

    A pull that ends before its first interval logs nothing: the run's summary line says enough.
    One that logged progress also logs a final ``sync.progress`` with ``done=True`` at ``finish``.
    """

    def __init__(
        self,
        interval_seconds: float,
        clock: Callable[[], float] = time.monotonic,
        logger: _EventLogger | None = None,
    ) -> None:
        """Log at most every ``interval_seconds`` of ``clock`` time, through ``logger``."""
        self._interval = interval_seconds
        self._clock = clock
        self._log: _EventLogger = logger if logger is not None else structlog.get_logger(__name__)
        self._tallies: dict[str, _Tally] = {}

    def start(self, kind: str, total: int | None) -> None:
        """Start counting ``kind`` from now."""
        now = self._clock()
        self._tallies[kind] = _Tally(started_at=now, last_logged_at=now, total=total)

    def advance(self, kind: str, n: int) -> None:
        """Count ``n`` records; log when an interval has passed since the last line."""
        tally = self._tallies.get(kind)
        if tally is None:  # tolerate a missing start(): progress must never break a pull
            self.start(kind, None)
            tally = self._tallies[kind]
        tally.records += n
        now = self._clock()
        if now - tally.last_logged_at >= self._interval:
            self._emit(kind, tally, now, done=False)

    def finish(self, kind: str) -> None:
        """Log the final count of a pull that was long enough to have logged progress."""
        tally = self._tallies.pop(kind, None)
        if tally is not None and tally.logged:
            self._emit(kind, tally, self._clock(), done=True)

    def close(self) -> None:
        """Forget unfinished pulls."""
        self._tallies.clear()

    def _emit(self, kind: str, tally: _Tally, now: float, *, done: bool) -> None:
        elapsed = now - tally.started_at
        fields: dict[str, Any] = {
            "kind": kind,
            "records": tally.records,
            "rate_per_s": round(tally.records / elapsed, 1) if elapsed > 0 else None,
            "elapsed_s": round(elapsed, 1),
        }
        if tally.total:
            fields["total"] = tally.total
            fields["percent"] = round(100 * tally.records / tally.total, 1)
        if done:
            fields["done"] = True
        self._log.info("sync.progress", **fields)
        tally.last_logged_at = now
        tally.logged = True


class _RateColumn(ProgressColumn):
    """Records per second (rich's speed column counts bytes)."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:,.0f}/s" if speed else "--/s", style="progress.data.speed")


class _CountColumn(ProgressColumn):
    """``1,234/5,000 records``, or ``1,234 records`` when the total is unknown."""

    def render(self, task: Task) -> Text:
        total = f"/{task.total:,.0f}" if task.total is not None else ""
        return Text(f"{task.completed:,.0f}{total} records", style="progress.download")


class RichProgress:
    """A live bar per object kind on a terminal: records, rate, and time remaining when known."""

    def __init__(self, console: Console | None = None, *, auto_refresh: bool = True) -> None:
        """Draw on ``console`` (default: stderr); ``auto_refresh=False`` draws only on changes."""
        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            _CountColumn(),
            _RateColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console or Console(stderr=True),
            auto_refresh=auto_refresh,
        )
        self._tasks: dict[str, TaskID] = {}
        self._started = False

    def start(self, kind: str, total: int | None) -> None:
        """Add a bar for ``kind`` (started lazily, so an unused display never draws)."""
        if not self._started:
            self._progress.start()
            self._started = True
        self._tasks[kind] = self._progress.add_task(kind, total=total)

    def advance(self, kind: str, n: int) -> None:
        """Move ``kind``'s bar by ``n`` records."""
        if kind not in self._tasks:
            self.start(kind, None)
        self._progress.advance(self._tasks[kind], n)

    def finish(self, kind: str) -> None:
        """Mark ``kind`` done (an unknown total becomes the final count)."""
        task_id = self._tasks.get(kind)
        if task_id is None:
            return
        completed = next(task.completed for task in self._progress.tasks if task.id == task_id)
        self._progress.update(task_id, total=completed, completed=completed)
        self._progress.stop_task(task_id)

    def close(self) -> None:
        """Stop the live display, leaving the final bars on screen."""
        if self._started:
            self._progress.stop()
            self._started = False


def make_progress(
    fmt: Literal["auto", "json", "console"],
    is_tty: bool,  # noqa: FBT001 - the signature the CLI calls
    interval: float,
) -> PullProgress:
    """A bar on a terminal with human logs, log lines elsewhere, nothing when ``interval`` is 0."""
    if is_tty and fmt != "json":
        return RichProgress()
    if interval > 0:
        return LogProgress(interval)
    return NullProgress()
