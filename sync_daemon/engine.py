"""One cycle: pull (and, as later issues land, evaluate, diff and apply), recorded in the run history.

The cycle never lets a CRM failure escape half-recorded: the run row is finished with a status that says
what happened (``ok``; ``partial`` when the CRM's budget or patience ran out and the pull will resume;
``failed`` for credentials, permissions or answers we cannot read), and one canonical summary line is
logged per cycle (``sync.cycle_finished``) with the counts, API calls and duration.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import structlog

from connectors.base import (
    OBJECT_KINDS,
    AccessDeniedError,
    AuthError,
    BudgetExhaustedError,
    ConnectorError,
    ProtocolError,
    RetriableError,
)
from sync_daemon.logs import bind_run, clear_run
from sync_daemon.pull import PullStats, pull_object

if TYPE_CHECKING:
    from collections.abc import Callable

    from connectors.base import Connector
    from sync_daemon.domain.personas import PersonaClassifier
    from sync_daemon.progress import PullProgress
    from sync_daemon.store import Store

log = structlog.get_logger(__name__)

# What a connector failure means for the run: partial runs resume next cycle; failed ones need a person.
_PARTIAL: tuple[type[ConnectorError], ...] = (BudgetExhaustedError, RetriableError)
_FAILED: tuple[type[ConnectorError], ...] = (AuthError, AccessDeniedError, ProtocolError)


@dataclass
class CycleResult:
    """The outcome of one cycle, as the CLI and the run history see it."""

    run_id: str
    crm: str
    status: str
    started_at: datetime
    duration_s: float
    api_calls: int
    stats: dict[str, PullStats] = field(default_factory=dict)
    error: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the cycle completed."""
        return self.status == "ok"


@dataclass(frozen=True)
class CycleOptions:
    """How a cycle runs; built from settings at the entrypoint."""

    overlap: timedelta = timedelta(minutes=5)
    command: str = "sync"
    dry_run: bool = False


def _classify(exc: ConnectorError) -> str:
    if isinstance(exc, _PARTIAL):
        return "partial"
    return "failed"


def _counts(stats: dict[str, PullStats]) -> dict[str, object]:
    return {kind: s.as_dict() | {"personas": s.personas} for kind, s in stats.items()}


@dataclass
class _Run:
    """The bookkeeping of one run: what to write to the run history when it ends."""

    store: Store
    connector: Connector
    clock: Callable[[], datetime]
    run_id: str
    calls_before: int
    stats: dict[str, PullStats] = field(default_factory=dict)

    def finish(self, status: str, error: str | None) -> CycleResult:
        finished = self.clock()
        calls = self.connector.usage().calls - self.calls_before
        self.store.finish_run(
            self.run_id,
            status=status,
            finished_at=finished,
            counts=_counts(self.stats),
            api_calls=calls,
            errors=int(error is not None),
            error_summary=error,
        )
        return CycleResult(self.run_id, self.connector.crm, status, finished, 0.0, calls, self.stats, error)


def run_cycle(
    connector: Connector,
    store: Store,
    *,
    options: CycleOptions,
    clock: Callable[[], datetime],
    classifier: PersonaClassifier | None = None,
    progress: PullProgress | None = None,
    monotonic: Callable[[], float] = time.monotonic,
) -> CycleResult:
    """Run one cycle and record it; connector failures end the cycle with a status, never a crash."""
    started, t0 = clock(), monotonic()
    calls_before = connector.usage().calls
    run = _Run(
        store, connector, clock, store.start_run(connector.crm, options.command, options.dry_run, started), calls_before
    )
    bind_run(run.run_id)
    status, error = "ok", None
    try:
        for kind in OBJECT_KINDS:
            run.stats[kind] = pull_object(
                connector,
                store,
                kind,
                signpost=started,
                overlap=options.overlap,
                classifier=classifier if kind == "contacts" else None,
                progress=progress,
            )
    except ConnectorError as exc:
        status, error = _classify(exc), f"{type(exc).__name__}: {exc}"
        log.error("sync.cycle_error", status=status, error=error)  # noqa: TRY400 - the message is the record
    except BaseException as exc:
        run.finish("failed", repr(exc))
        clear_run()
        raise
    result = run.finish(status, error)
    result.duration_s = round(monotonic() - t0, 3)
    _summary(result, connector)
    clear_run()
    return result


def _summary(result: CycleResult, connector: Connector) -> None:
    usage = connector.usage()
    fields: dict[str, object] = {
        "crm": result.crm,
        "status": result.status,
        "api_calls": result.api_calls,
        "duration_s": result.duration_s,
        "api_used": usage.used,
        "api_limit": usage.limit,
    }
    for kind, s in result.stats.items():
        fields.update({f"{kind}_pulled": s.pulled, f"{kind}_stored": s.stored, f"{kind}_deleted": s.deleted})
    if result.error:
        fields["error"] = result.error
    log.info("sync.cycle_finished", **fields)
