"""Prometheus metrics read from the store: what an operator's dashboard and alerts need.

A custom collector reads the store's bookkeeping at scrape time (the last run per CRM, open record errors by CRM
code, the outbox backlog, the safety valve and budget parking), so a scrape always reflects the shared state, even
with several replicas on one PostgreSQL. ``sync-daemon metrics`` prints the exposition text; the daemon's HTTP
server serves the same registry.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from prometheus_client.registry import Collector

    from sync_daemon.store import RunRow, Store

RUN_STATUSES = ("ok", "partial", "failed", "stopped", "parked", "running")


def _last_runs(store: Store) -> dict[str, RunRow]:
    last: dict[str, RunRow] = {}
    for run in store.recent_runs(50):
        last.setdefault(run.crm, run)
    return last


class StoreCollector:
    """Gauges computed from the store at each scrape."""

    def __init__(self, store: Store, now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._store = store
        self._now = now

    def describe(self) -> list[GaugeMetricFamily]:
        """No static description: the families are produced at collect time."""
        return []

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """Yield every family."""
        runs = _last_runs(self._store)
        yield from self._run_families(runs)
        yield self._errors()
        yield self._outbox()
        yield from self._guards(sorted(runs))

    def _run_families(self, runs: dict[str, RunRow]) -> Iterator[GaugeMetricFamily]:
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

    def _guards(self, crms: list[str]) -> Iterator[GaugeMetricFamily]:
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


def registry_for(store: Store, now: Callable[[], datetime] | None = None) -> CollectorRegistry:
    """A registry holding the store collector (no process metrics: the HTTP server adds its own)."""
    registry = CollectorRegistry(auto_describe=False)
    collector: Collector = StoreCollector(store, now) if now else StoreCollector(store)
    registry.register(collector)
    return registry


def exposition(store: Store) -> str:
    """The metrics in Prometheus's text format."""
    return generate_latest(registry_for(store)).decode()
