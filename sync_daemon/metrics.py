"""Prometheus metrics read from the store: what an operator's dashboard and alerts need.

A custom collector reads the store's bookkeeping at scrape time, so a scrape always reflects the shared state,
even with several replicas on one PostgreSQL (every replica reports the same totals: aggregate them with ``max``,
not ``sum``):

- the last cycle per CRM (status, end, duration, API calls);
- totals over the run history (``*_total`` counters): cycles by outcome, records pulled, written and rejected by
  kind, API calls, drift found by what the push did about it. Finished runs never change, so the sums only grow;
- open record errors by CRM code, the outbox backlog, the safety valve and budget parking;
- assessments sent by kind (sends are kept for good) and those left out at the latest look by status and reason
  (the reason up to its first ``:``, which names the rule without the contact's particulars);
- with a :class:`~sync_daemon.ops.DaemonState` (the daemon's HTTP server): this process's role and the API budget
  its connector last reported, which the run history does not keep.

When the store does not answer, the scrape still succeeds with ``sync_store_up 0`` and the process's own figures.
``sync-daemon metrics`` prints the exposition text; the daemon's HTTP server serves the same families.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import structlog
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.process_collector import ProcessCollector
from sqlalchemy import case, func, select
from sqlalchemy.exc import SQLAlchemyError

from connectors.base import OBJECT_KINDS
from sync_daemon.ops import ROLES
from sync_daemon.store.engine import read_connection
from sync_daemon.store.models import ASSESSMENT_SENDS, ASSESSMENT_SKIPS, RUNS
from sync_daemon.store.runs import RUN_STATUSES  # every status a run can end with, one list

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from prometheus_client.metrics_core import Metric
    from prometheus_client.registry import Collector
    from sqlalchemy import ColumnElement, Connection

    from sync_daemon.ops import DaemonState
    from sync_daemon.store import RunRow, Store

log = structlog.get_logger(__name__)

LAST_RUNS_SCANNED = 50
DRIFT_ACTIONS = ("overwritten", "kept")


def _last_runs(recent: list[RunRow], *, finished: bool = False) -> dict[str, RunRow]:
    """The newest run per CRM (the newest finished one when ``finished``)."""
    last: dict[str, RunRow] = {}
    for run in recent:
        if not finished or run.finished_at is not None:
            last.setdefault(run.crm, run)
    return last


# -- totals over the run history, summed by the database --------------------------------------------------


def _count(*path: str, live_only: bool = False) -> ColumnElement[Any]:
    """``sum`` of an integer inside each run's counts document (0 where a run has none; dry runs when live only)."""
    value: ColumnElement[Any] = RUNS.c.counts[path].as_integer()
    if live_only:
        value = case((RUNS.c.dry_run.is_(False), value), else_=0)
    return func.coalesce(func.sum(value), 0)


def _totals_columns() -> list[ColumnElement[Any]]:
    columns: list[ColumnElement[Any]] = [_count(kind, "pulled").label(f"pulled_{kind}") for kind in OBJECT_KINDS]
    columns += [_count("push", "written", kind).label(f"written_{kind}") for kind in OBJECT_KINDS]
    columns += [_count("push", "failed", kind).label(f"failed_{kind}") for kind in OBJECT_KINDS]
    columns += [_count("push", f"drift_{action}", live_only=True).label(f"drift_{action}") for action in DRIFT_ACTIONS]
    return columns


def _run_totals(conn: Connection) -> tuple[list[Any], list[Any]]:
    """Finished cycles and API calls by CRM and status; and the counts' sums by CRM."""
    finished = RUNS.c.status != "running"
    by_status = select(RUNS.c.crm, RUNS.c.status, func.count(), func.coalesce(func.sum(RUNS.c.api_calls), 0))
    outcomes = list(conn.execute(by_status.where(finished).group_by(RUNS.c.crm, RUNS.c.status)))
    sums = select(RUNS.c.crm, *_totals_columns()).where(finished).group_by(RUNS.c.crm)
    return outcomes, [row._asdict() for row in conn.execute(sums)]


def _assessment_rows(conn: Connection) -> tuple[list[Any], list[Any]]:
    sent = select(ASSESSMENT_SENDS.c.crm, ASSESSMENT_SENDS.c.kind, func.count()).group_by(
        ASSESSMENT_SENDS.c.crm, ASSESSMENT_SENDS.c.kind
    )
    left = select(ASSESSMENT_SKIPS.c.crm, ASSESSMENT_SKIPS.c.status, ASSESSMENT_SKIPS.c.reason)
    return list(conn.execute(sent)), list(conn.execute(left))


class StoreCollector:
    """Families computed from the store (and, when given, this process's state) at each scrape."""

    def __init__(
        self,
        store: Store,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        *,
        state: DaemonState | None = None,
    ) -> None:
        self._store = store
        self._now = now
        self._state = state

    def describe(self) -> list[Metric]:
        """No static description: the families are produced at collect time."""
        return []

    def collect(self) -> Iterator[Metric]:
        """Yield every family; the store's all or none, so a failing store never yields half a scrape."""
        try:
            families = list(self._store_families())
        except SQLAlchemyError as exc:
            log.warning("metrics.store_unreachable", error=f"{type(exc).__name__}: {exc}")
            families = []
        yield _gauge("sync_store_up", "1 when the store answered this scrape", [([], float(bool(families)))])
        yield from families
        if self._state is not None:
            yield from self._process_families(self._state)

    def _store_families(self) -> Iterator[Metric]:
        recent = self._store.recent_runs(LAST_RUNS_SCANNED)
        runs = _last_runs(recent)
        yield from self._run_families(runs)
        yield _duration(_last_runs(recent, finished=True))
        yield from self._totals()
        yield self._errors()
        yield self._outbox()
        yield from self._assessments()
        yield from self._guards(sorted(runs))

    def _run_families(self, runs: dict[str, RunRow]) -> Iterator[Metric]:
        status = GaugeMetricFamily(
            "sync_last_cycle_status", "1 for the status of the last cycle", labels=["crm", "status"]
        )
        finished = GaugeMetricFamily(
            "sync_last_cycle_finished_timestamp_seconds", "End of the last cycle", labels=["crm"]
        )
        calls = GaugeMetricFamily("sync_last_cycle_api_calls", "API calls made by the last cycle", labels=["crm"])
        for crm, run in runs.items():
            for name in RUN_STATUSES:
                status.add_metric([crm, name], float(run.status == name))
            if run.finished_at is not None:
                finished.add_metric([crm], run.finished_at.timestamp())
            calls.add_metric([crm], float(run.api_calls))
        yield from (status, finished, calls)

    def _totals(self) -> Iterator[Metric]:
        with read_connection(self._store.engine) as conn:
            outcomes, sums = _run_totals(conn)
        cycles = CounterMetricFamily("sync_cycles", "Finished cycles by outcome", labels=["crm", "status"])
        calls = CounterMetricFamily("sync_api_calls", "API calls made by every cycle", labels=["crm"])
        per_crm: Counter[str] = Counter()
        for crm, status, count, api_calls in outcomes:
            cycles.add_metric([crm, status], float(count))
            per_crm[crm] += int(api_calls)
        for crm, total in sorted(per_crm.items()):
            calls.add_metric([crm], float(total))
        yield from (cycles, calls, *_record_counters(sums))

    def _errors(self) -> GaugeMetricFamily:
        family = GaugeMetricFamily("sync_record_errors_open", "Records the CRM rejected, by its code", labels=["code"])
        for group in self._store.errors_by_code(None, examples=0):
            family.add_metric([group.code], float(group.count))
        return family

    def _outbox(self) -> GaugeMetricFamily:
        family = GaugeMetricFamily("sync_outbox_intents", "Outbox intents by status", labels=["status"])
        for status, count in sorted(self._store.backlog(None).items()):
            family.add_metric([status], float(count))
        return family

    def _assessments(self) -> Iterator[Metric]:
        with read_connection(self._store.engine) as conn:
            sent_rows, left_rows = _assessment_rows(conn)
        sent = CounterMetricFamily("sync_assessments_sent", "Assessments sent, by kind", labels=["crm", "kind"])
        for crm, kind, count in sorted(sent_rows):
            sent.add_metric([crm, kind], float(count))
        left = GaugeMetricFamily(
            "sync_assessments_left_out", "Due assessments not sent at the latest look, by status and reason",
            labels=["crm", "status", "reason"],
        )  # fmt: skip
        heads = Counter((crm, status, reason.split(":", 1)[0].strip()) for crm, status, reason in left_rows)
        for labels, count in sorted(heads.items()):
            left.add_metric(list(labels), float(count))
        yield from (sent, left)

    def _guards(self, crms: list[str]) -> Iterator[Metric]:
        safety = GaugeMetricFamily(
            "sync_safety_valve_stopped", "1 while the safety valve withholds writes (check --dry-run, then --force)",
            labels=["crm"],
        )  # fmt: skip
        parked = GaugeMetricFamily("sync_budget_parked", "1 while the CRM's API budget is spent", labels=["crm"])
        now = self._now()
        for crm in crms:
            safety.add_metric([crm], float(self._store.safety_warning(crm) is not None))
            until = self._store.parked_until(crm)
            parked.add_metric([crm], float(until is not None and until > now))
        yield from (safety, parked)

    def _process_families(self, state: DaemonState) -> Iterator[Metric]:
        snap = state.snapshot()
        yield _gauge("sync_daemon_role", "1 for this process's role", [([r], float(r == snap.role)) for r in ROLES],
                     labels=["role"])  # fmt: skip
        remaining = GaugeMetricFamily(
            "sync_api_budget_remaining", "Calls left in the CRM's daily API budget, as last reported", labels=["crm"]
        )
        limit = GaugeMetricFamily("sync_api_budget_limit", "The CRM's daily API budget", labels=["crm"])
        for crm, usage in sorted(snap.usage.items()):
            if usage.remaining is not None and usage.limit is not None:
                remaining.add_metric([crm], float(usage.remaining))
                limit.add_metric([crm], float(usage.limit))
        yield from (remaining, limit)


def _duration(last_finished: dict[str, RunRow]) -> GaugeMetricFamily:
    family = GaugeMetricFamily(
        "sync_last_cycle_duration_seconds", "Wall time of the last finished cycle", labels=["crm"]
    )
    for crm, run in sorted(last_finished.items()):
        if run.finished_at is not None:
            family.add_metric([crm], (run.finished_at - run.started_at).total_seconds())
    return family


def _gauge(
    name: str, documentation: str, samples: list[tuple[list[str], float]], labels: list[str] | None = None
) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, documentation, labels=labels or [])
    for values, value in samples:
        family.add_metric(values, value)
    return family


def _record_counters(sums: list[dict[str, Any]]) -> Iterator[Metric]:
    """Records pulled, written and rejected by CRM and kind; drift by what the push did about it."""
    names = {
        "pulled": ("sync_records_pulled", "Records pulled from the CRM (tombstones included)"),
        "written": ("sync_records_written", "Records the push wrote to the CRM"),
        "failed": ("sync_records_rejected", "Record writes the CRM rejected"),
    }
    for key, (name, doc) in names.items():
        family = CounterMetricFamily(name, doc, labels=["crm", "kind"])
        for row in sums:
            for kind in OBJECT_KINDS:
                family.add_metric([row["crm"], kind], float(row[f"{key}_{kind}"]))
        yield family
    drift = CounterMetricFamily(
        "sync_drift", "Fields a person changed after the daemon wrote them", labels=["crm", "action"]
    )
    for row in sums:
        for action in DRIFT_ACTIONS:
            drift.add_metric([row["crm"], action], float(row[f"drift_{action}"]))
    yield drift


def registry_for(
    store: Store,
    now: Callable[[], datetime] | None = None,
    *,
    state: DaemonState | None = None,
    process: bool = False,
) -> CollectorRegistry:
    """A registry holding the store collector; ``state`` adds this process's role and budget gauges.

    ``process`` adds the standard ``process_*`` metrics (memory, CPU, open files) for the daemon's HTTP server;
    ``sync-daemon metrics`` prints the store's families only.
    """
    registry = CollectorRegistry(auto_describe=False)
    collector: Collector = StoreCollector(store, now, state=state) if now else StoreCollector(store, state=state)
    registry.register(collector)
    if process:
        ProcessCollector(registry=registry)
    return registry


def exposition(store: Store) -> str:
    """The metrics in Prometheus's text format."""
    return generate_latest(registry_for(store)).decode()
