"""``sync-daemon run``: the jobs, who runs them, and how the process stops.

Three APScheduler (3.x) jobs:

- ``sync``: a cycle (pull, evaluate, push, drain) every ``SYNC_SCHEDULE_INTERVAL_SECONDS`` or on the
  ``SYNC_SCHEDULE_CRON`` line; assessment *sends* are left to the next job, so they go out once a day at a known
  hour (fields, responses and rollups still move every cycle);
- ``assessments``: the same cycle with the sends, daily at ``SYNC_ASSESSMENT_TIME`` in ``SYNC_SCHEDULE_TIMEZONE``
  (only when an assessment policy is configured; without one the ``sync`` job is all there is);
- ``lease``: every third of ``SYNC_LEASE_TTL_SECONDS``, acquire or renew the leadership. Only the leader runs
  cycles; the others stand by and take over within the TTL when it dies.

The two cycle jobs share one worker thread, so no two cycles ever overlap in a process (and the lease keeps
them apart across processes); each has ``max_instances=1``, coalescing (a backlog of missed runs is one run) and
a misfire grace time. The lease job has its own thread, so a long cycle never lets the lease lapse.

Stopping: SIGTERM or SIGINT sets the stop flag. The scheduler takes no new work; the cycle in flight sees the
flag at its next safe point (between pages, before the push, between outbox intents: see
:class:`sync_daemon.engine.CycleOptions`) and ends ``interrupted`` with everything before that point recorded.
The process then releases its lease and exits 0. A cycle stuck beyond ``SYNC_SHUTDOWN_GRACE_SECONDS`` (a CRM call
hanging until its timeout) is abandoned: every write it made is already a committed transaction, exactly as after
a crash, and the next start resumes from the stored cursors and outbox.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol

import structlog
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import time

    from apscheduler.triggers.base import BaseTrigger

    from sync_daemon.engine import CycleResult
    from sync_daemon.settings import AppSettings

log = structlog.get_logger(__name__)

__all__ = ["JOB_ASSESSMENTS", "JOB_LEASE", "JOB_SYNC", "CycleRunner", "Daemon", "Lead", "Schedule"]

JOB_SYNC = "sync"
JOB_ASSESSMENTS = "assessments"
JOB_LEASE = "lease"
_CYCLES = "cycles"  # the one-thread executor both cycle jobs share
_LEASE = "lease"


class CycleRunner(Protocol):
    """Runs one cycle now (built at the entrypoint with the store, connector and providers)."""

    def __call__(self, *, send_assessments: bool, interrupted: Callable[[], bool]) -> CycleResult:
        """Run the cycle; ``interrupted`` says the daemon is stopping."""
        ...


class Lead(Protocol):
    """The leadership the daemon needs (see :mod:`sync_daemon.leadership`)."""

    def try_lead(self) -> bool:
        """Acquire or renew; True while this process leads."""
        ...

    @property
    def is_leader(self) -> bool:
        """Whether this process leads now (a lease not renewed in time is not held)."""
        ...

    def release(self) -> None:
        """Give the leadership up (another process may take it at once)."""
        ...


@dataclass(frozen=True)
class Schedule:
    """When the jobs run, from settings."""

    interval_seconds: int
    cron: str | None
    timezone: str
    assessment_time: time
    misfire_grace_seconds: int
    lease_ttl_seconds: float

    @classmethod
    def from_settings(cls, settings: AppSettings) -> Schedule:
        """The schedule the ``SYNC_SCHEDULE_*``, ``SYNC_ASSESSMENT_TIME`` and lease settings describe."""
        s = settings.sync
        return cls(s.schedule_interval_seconds, s.schedule_cron, s.schedule_timezone, s.assessment_time,
                   s.misfire_grace_seconds, s.lease_ttl_seconds)  # fmt: skip

    def sync_trigger(self) -> BaseTrigger:
        """The crontab line when set, else the interval."""
        if self.cron:
            return CronTrigger.from_crontab(self.cron, timezone=self.timezone)
        return IntervalTrigger(seconds=self.interval_seconds, timezone=self.timezone)

    def assessment_trigger(self) -> BaseTrigger:
        """Daily at the assessment time."""
        at = self.assessment_time
        return CronTrigger(hour=at.hour, minute=at.minute, second=at.second, timezone=self.timezone)

    @property
    def lease_every(self) -> float:
        """Renew at a third of the TTL: two renewals may fail before the lease lapses."""
        return self.lease_ttl_seconds / 3


class Daemon:
    """The jobs of ``sync-daemon run`` on a background scheduler, and the stop sequence."""

    def __init__(
        self,
        schedule: Schedule,
        runner: CycleRunner,
        lead: Lead,
        *,
        assessments: bool,
        on_cycle: Callable[[CycleResult], None] = lambda _result: None,
        on_role: Callable[[str], None] = lambda _role: None,
        on_schedule: Callable[[dict[str, datetime | None]], None] = lambda _runs: None,
    ) -> None:
        self._schedule, self._runner, self._lead = schedule, runner, lead
        self._assessments = assessments
        self._on_cycle, self._on_role, self._on_schedule = on_cycle, on_role, on_schedule
        self._stop = threading.Event()
        self._idle = threading.Event()
        self._idle.set()
        self._role = "standby"
        self._scheduler = BackgroundScheduler(
            executors={_CYCLES: ThreadPoolExecutor(1), _LEASE: ThreadPoolExecutor(1)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": schedule.misfire_grace_seconds},
            timezone=schedule.timezone,
        )

    @property
    def stopping(self) -> bool:
        """Whether a stop was asked for."""
        return self._stop.is_set()

    def start(self) -> None:
        """Take the lead if free, add the jobs and start the scheduler (returns at once)."""
        self._renew()
        sched = self._scheduler
        sched.add_job(self._renew, IntervalTrigger(seconds=self._schedule.lease_every), id=JOB_LEASE,
                      executor=_LEASE)  # fmt: skip
        sched.add_job(self._run_sync, self._schedule.sync_trigger(), id=JOB_SYNC, executor=_CYCLES)
        if self._assessments:
            sched.add_job(self._run_assessments, self._schedule.assessment_trigger(), id=JOB_ASSESSMENTS,
                          executor=_CYCLES)  # fmt: skip
        sched.start()
        self._publish_schedule()
        if self._role == "active":
            self.run_now()
        log.info("daemon.started", role=self._role, jobs=[job.id for job in sched.get_jobs()])

    def run_now(self) -> None:
        """Run the ``sync`` job as soon as the worker is free (at start, and on taking over)."""
        if self._scheduler.get_job(JOB_SYNC) is not None:  # its trigger carries on from there as usual
            self._scheduler.modify_job(JOB_SYNC, next_run_time=datetime.now(UTC))

    def next_runs(self) -> dict[str, datetime | None]:
        """Each job's next run time (for ``status`` and ``/readyz``)."""
        return {job.id: job.next_run_time for job in self._scheduler.get_jobs() if job.id != JOB_LEASE}

    def request_stop(self) -> None:
        """Ask the daemon to stop (the signal handler's whole job: it must not block)."""
        self._stop.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until a stop is asked for (or ``timeout``); True when it was."""
        return self._stop.wait(timeout)

    def shutdown(self, grace_seconds: float) -> bool:
        """Stop taking work, let the cycle in flight reach a safe point, give the lease up; False if abandoned."""
        self._stop.set()
        self._set_role("stopping")
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        finished = self._idle.wait(grace_seconds)
        if not finished:
            reason = "the cycle in flight did not reach a safe point in time; its writes are committed"
            log.warning("daemon.cycle_abandoned", grace_seconds=grace_seconds, reason=reason)
        self._lead.release()
        log.info("daemon.stopped", cycle_finished=finished)
        return finished

    # -- jobs --------------------------------------------------------------------------------------------

    def _renew(self) -> None:
        if self._stop.is_set():
            return
        try:
            leads = self._lead.try_lead()
        except Exception as exc:  # noqa: BLE001 - a store hiccup must not kill the lease job; we lose the lead
            log.warning("daemon.lease_error", error=f"{type(exc).__name__}: {exc}")
            leads = False
        was = self._role
        self._set_role("active" if leads else "standby")
        if was == "standby" and leads and self._scheduler.running:
            log.info("daemon.took_over")
            self.run_now()

    def _set_role(self, role: str) -> None:
        if role != self._role:
            log.info("daemon.role", role=role, was=self._role)
        self._role = role
        self._on_role(role)

    def _run_sync(self) -> None:
        self._cycle(send_assessments=not self._assessments)

    def _run_assessments(self) -> None:
        self._cycle(send_assessments=True)

    def _cycle(self, *, send_assessments: bool) -> None:
        if self._stop.is_set():
            return
        if not self._lead.is_leader:
            log.debug("daemon.standby_skip", reason="another process leads")
            return
        self._idle.clear()
        try:
            result = self._runner(send_assessments=send_assessments, interrupted=self._stop.is_set)
            self._on_cycle(result)
        except Exception:  # a bug or the store failing: log it, keep the daemon alive for the next run
            log.exception("daemon.cycle_crashed")
        finally:
            self._idle.set()
            self._publish_schedule()

    def _publish_schedule(self) -> None:
        if self._scheduler.running:
            self._on_schedule(self.next_runs())
