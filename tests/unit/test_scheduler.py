"""The daemon's jobs and stop sequence (sync_daemon.scheduler), with a fake cycle and a fake lease.

Nothing waits on the clock: the triggers are a day apart, jobs are run by calling them or through ``run_now``,
and the tests wait on events the fake cycle sets.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, time
from typing import TYPE_CHECKING

import pytest

from sync_daemon.engine import CycleResult
from sync_daemon.scheduler import JOB_ASSESSMENTS, JOB_SYNC, Daemon, Schedule
from sync_daemon.settings import load_settings

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

WAIT = 10.0  # seconds an event may take to be set by the scheduler's worker thread: a deadline, not a sleep
DAY = 86_400


@dataclass
class FakeLead:
    """Leads when ``free``; counts renewals and the release."""

    free: bool = True
    leading: bool = False
    renewals: int = 0
    released: bool = False

    def try_lead(self) -> bool:
        """Lead when free."""
        self.renewals += 1
        self.leading = self.free
        return self.leading

    @property
    def is_leader(self) -> bool:
        """Whether the last try led."""
        return self.leading

    def release(self) -> None:
        """Give it up."""
        self.released = True
        self.leading = False


@dataclass
class FakeCycles:
    """Records each cycle's arguments; ``hold`` makes a cycle wait until the daemon says it is stopping."""

    calls: list[bool] = field(default_factory=list)
    ran: threading.Event = field(default_factory=threading.Event)
    started: threading.Event = field(default_factory=threading.Event)
    hold: bool = False
    stuck: threading.Event | None = None

    def __call__(self, *, send_assessments: bool, interrupted: Callable[[], bool]) -> CycleResult:
        """One fake cycle."""
        self.calls.append(send_assessments)
        self.started.set()
        if self.stuck is not None:
            self.stuck.wait(WAIT)  # ignores the stop flag: a CRM call hanging until its timeout
        while self.hold and not interrupted():
            threading.Event().wait(0.005)  # polls the flag the way a cycle does between pages
        self.ran.set()
        status = "interrupted" if interrupted() else "ok"
        return CycleResult("r1", "salesforce", status, datetime(2026, 3, 2, tzinfo=UTC), 0.1, 0)


def schedule(**changes: object) -> Schedule:
    base = {"interval_seconds": DAY, "cron": None, "timezone": "UTC", "assessment_time": time(10),
            "misfire_grace_seconds": 60, "lease_ttl_seconds": 3 * DAY}  # fmt: skip
    return Schedule(**{**base, **changes})  # type: ignore[arg-type]


@pytest.fixture
def made() -> Iterator[tuple[Daemon, FakeLead, FakeCycles, list[str]]]:
    lead, cycles, roles = FakeLead(), FakeCycles(), list[str]()
    daemon = Daemon(schedule(), cycles, lead, assessments=True, on_role=roles.append)
    yield daemon, lead, cycles, roles
    daemon.shutdown(0.5)


def test_the_schedule_comes_from_settings_and_a_cron_line_wins() -> None:
    """Interval by default; a crontab line and the assessment time in the configured zone."""
    settings = load_settings({"SYNC_SCHEDULE_CRON": "*/15 6-20 * * mon-fri", "SYNC_SCHEDULE_TIMEZONE": "Europe/Berlin",
                              "SYNC_ASSESSMENT_TIME": "09:30"})  # fmt: skip
    sched = Schedule.from_settings(settings)
    trigger = sched.sync_trigger()
    start = datetime(2026, 3, 2, 4, 50, tzinfo=UTC)  # a Monday, 05:50 in Berlin
    assert trigger.get_next_fire_time(None, start) == datetime(2026, 3, 2, 5, 0, tzinfo=UTC)
    daily = sched.assessment_trigger().get_next_fire_time(None, start)
    assert daily == datetime(2026, 3, 2, 8, 30, tzinfo=UTC)
    assert sched.lease_every == settings.sync.lease_ttl_seconds / 3
    interval = Schedule.from_settings(load_settings({"SYNC_SCHEDULE_INTERVAL_SECONDS": "120"})).sync_trigger()
    assert interval.get_next_fire_time(None, start) is not None


def test_a_leader_runs_a_cycle_at_start_without_sends_and_the_daily_job_sends(
    made: tuple[Daemon, FakeLead, FakeCycles, list[str]],
) -> None:
    """With an assessment policy, the regular cycle leaves the sends to the daily job, which makes them."""
    daemon, lead, cycles, roles = made
    daemon.start()
    assert cycles.ran.wait(WAIT)
    assert roles[0] == "active"
    assert set(daemon.next_runs()) >= {JOB_SYNC, JOB_ASSESSMENTS}
    daemon._run_assessments()
    assert cycles.calls == [False, True]
    assert lead.renewals == 1


def test_a_standby_runs_nothing_and_takes_over_when_the_lease_frees(
    made: tuple[Daemon, FakeLead, FakeCycles, list[str]],
) -> None:
    """Another process leads: no cycle; once the lease is free the next renewal takes over and runs at once."""
    daemon, lead, cycles, roles = made
    lead.free = False
    daemon.start()
    daemon._run_sync()
    assert cycles.calls == []
    assert roles[-1] == "standby"
    lead.free = True
    daemon._renew()
    assert cycles.ran.wait(WAIT)
    assert roles[-1] == "active"
    assert cycles.calls == [False]


def test_a_stop_lets_the_cycle_in_flight_reach_a_safe_point_then_releases_the_lease() -> None:
    """The cycle sees the stop flag, ends interrupted, shutdown reports it finished, the lease is given up."""
    lead, results = FakeLead(), list[CycleResult]()
    cycles = FakeCycles(hold=True)
    daemon = Daemon(schedule(), cycles, lead, assessments=False, on_cycle=results.append)
    daemon.start()
    assert cycles.started.wait(WAIT)
    daemon.request_stop()
    assert daemon.wait(0)
    assert daemon.shutdown(WAIT) is True
    assert [r.status for r in results] == ["interrupted"]
    assert lead.released


def test_a_cycle_stuck_past_the_grace_is_abandoned_and_the_lease_still_released() -> None:
    """A cycle that never reaches a safe point: shutdown returns False after the grace, lease released."""
    lead = FakeLead()
    stuck = threading.Event()
    cycles = FakeCycles(stuck=stuck)
    daemon = Daemon(schedule(), cycles, lead, assessments=False)
    daemon.start()
    assert cycles.started.wait(WAIT)
    assert daemon.shutdown(0.05) is False
    assert lead.released
    stuck.set()  # let the worker thread end


def test_a_crashing_cycle_keeps_the_daemon_alive(made: tuple[Daemon, FakeLead, FakeCycles, list[str]]) -> None:
    """An exception in a cycle is logged; the next run goes ahead."""
    daemon, lead, cycles, _roles = made
    calls: list[bool] = []

    def crash(*, send_assessments: bool, interrupted: Callable[[], bool]) -> CycleResult:
        del interrupted
        calls.append(send_assessments)
        raise RuntimeError("boom")

    daemon._runner = crash
    lead.try_lead()
    daemon._run_sync()
    daemon._run_sync()
    assert calls == [False, False]
    assert cycles.calls == []
