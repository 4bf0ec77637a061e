"""``sync-daemon run``: the daemon. Cycles on a schedule, one active replica, health and metrics, clean stops.

Everything is built once here, from settings (configuration flows one way): the validated configuration (a broken
file stops the process with exit 2 before any CRM call), the store (migrated), the leadership (a PostgreSQL lease,
or a single-instance lock beside a SQLite file: a second process on the same SQLite store exits 2 with a message
saying why), the connector, the health server, and the scheduler's jobs. SIGTERM and SIGINT stop it: the cycle in
flight ends at a safe point, the lease is released, and the process exits 0.
"""

from __future__ import annotations

import os
import signal
import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import structlog

from sync_daemon.commands.sync import push_setup
from sync_daemon.config.loader import load_mapping
from sync_daemon.domain.personas import PersonaClassifier
from sync_daemon.engine import CycleOptions, CycleResult, run_cycle
from sync_daemon.leadership import holder_id, leadership_for
from sync_daemon.metrics import registry_for
from sync_daemon.ops import DaemonState, HealthServer, ready_max_age
from sync_daemon.scheduler import Daemon, Schedule
from sync_daemon.store import Store
from sync_daemon.wiring import (
    build_connector,
    load_assessment_policy,
    load_handoff_setup,
    load_plan_set,
    webhook_senders,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from types import FrameType

    from sync_daemon.settings import AppSettings

log = structlog.get_logger(__name__)


def run_daemon(settings: AppSettings, environ: Mapping[str, str]) -> int:
    """Run until SIGTERM/SIGINT; returns the exit code (0 after a clean stop)."""
    mapping = load_mapping(settings.mapping_path())
    plans = load_plan_set(settings, mapping)
    handoff = load_handoff_setup(settings, mapping, plans)
    assessments = load_assessment_policy(settings, mapping, environ)
    webhooks = webhook_senders(settings, environ) if assessments is not None else None
    classifier = PersonaClassifier.from_rules(mapping.personas)
    url = settings.sync.database_url
    store = Store(url)
    # The lead first: a second process on a SQLite store is refused before it could migrate under the first.
    lead = leadership_for(store, url, holder=holder_id(), ttl_seconds=settings.sync.lease_ttl_seconds)
    store.migrate()
    connector = build_connector(settings, mapping, sleep=time.sleep)
    state = DaemonState(started_at=datetime.now(UTC))

    def cycle(*, send_assessments: bool, interrupted: Callable[[], bool]) -> CycleResult:
        now = datetime.now(UTC)
        # Cycles never overlap (one leader, one worker): a `run` cycle still marked running died with its process.
        store.abandon_runs("run", now)
        setup = push_setup(settings, mapping, force=False, plans=plans, store=store, crm=mapping.crm, now=now,
                           handoff=handoff, assessments=assessments, webhooks=webhooks,
                           send_assessments=send_assessments)  # fmt: skip
        options = CycleOptions(overlap=timedelta(seconds=settings.sync.overlap_seconds), command="run",
                               interrupted=interrupted,
                               outbox_lease=timedelta(seconds=settings.sync.outbox_lease_seconds))  # fmt: skip
        result = run_cycle(connector, store, options=options, clock=lambda: datetime.now(UTC), classifier=classifier,
                           push_setup=setup)  # fmt: skip
        state.record_usage(mapping.crm, connector.usage())
        return result

    def published(runs: dict[str, datetime | None]) -> None:
        state.set_next_runs(runs)
        if lead.is_leader:
            lead.publish({"next_runs": {k: v.isoformat() if v else None for k, v in runs.items()}})

    daemon = Daemon(Schedule.from_settings(settings), cycle, lead, assessments=assessments is not None,
                    on_cycle=state.record_cycle, on_role=state.set_role, on_schedule=published)  # fmt: skip
    health = _health(settings, state, store)

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("daemon.signal", signal=signal.Signals(signum).name)
        daemon.request_stop()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    finished = True
    try:
        if health is not None:
            health.start()
        daemon.start()
        daemon.wait()
    finally:
        finished = daemon.shutdown(settings.sync.shutdown_grace_seconds)
        if health is not None:
            health.stop()
        if webhooks is not None:
            webhooks.close()
        connector.close()
        store.close()
    if not finished:  # a worker thread is still in a CRM call: do not wait for it at interpreter exit
        log.info("daemon.exit", abandoned=True)
        os._exit(0)
    return 0


def _health(settings: AppSettings, state: DaemonState, store: Store) -> HealthServer | None:
    s = settings.sync
    if s.health_port == 0:
        return None
    return HealthServer(s.health_host, s.health_port, state=state, store=store, now=lambda: datetime.now(UTC),
                        max_age=ready_max_age(s), registry=registry_for(store, state=state, process=True))  # fmt: skip
