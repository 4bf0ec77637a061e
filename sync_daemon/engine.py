"""One cycle: pull, then (when configured) plan and push, then drain the outbox; recorded in the run history.

The cycle never lets a CRM failure escape half-recorded: the run row is finished with a status that says what
happened: ``ok``; ``partial`` when the CRM's budget or patience ran out and the pull will resume; ``failed`` for
credentials, permissions or answers we cannot read; ``stopped`` when the safety valve withheld the writes;
``parked`` when the CRM's daily budget is spent and the cycle did nothing; ``interrupted`` when the daemon was
shutting down and the cycle stopped at a safe point (between pages, before the push, between outbox intents).
One canonical summary line is logged per cycle (``sync.cycle_finished``) with the counts, API calls and duration.
"""

from __future__ import annotations

import dataclasses
import os
import socket
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, cast

import structlog

from connectors.base import (
    OBJECT_KINDS,
    BudgetExhaustedError,
    ConnectorError,
    RetriableError,
    Writer,
)
from sync_daemon.domain.budget import calls_available
from sync_daemon.intents import handlers
from sync_daemon.logs import bind_run, clear_run
from sync_daemon.outbox import DrainStats, drain
from sync_daemon.pull import PullInterruptedError, PullStats, pull_object
from sync_daemon.push import DesiredStateProvider, PushOptions, PushResult, push

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from connectors.base import Connector, CrmClient
    from sync_daemon.config.models import MappingFile
    from sync_daemon.domain.budget import BudgetPolicy
    from sync_daemon.domain.personas import PersonaClassifier
    from sync_daemon.intents import WebhookSenders
    from sync_daemon.progress import PullProgress
    from sync_daemon.store import Store

log = structlog.get_logger(__name__)

# What a connector failure means for the run: partial runs resume next cycle; failed ones need a person.
_PARTIAL: tuple[type[ConnectorError], ...] = (BudgetExhaustedError, RetriableError)
PARK_WHEN_UNKNOWN = timedelta(minutes=30)
# The most calls one outbox intent takes (a lookup by key, then the write): the drain stops short of the reserve.
INTENT_CALLS = 2


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
    push: PushResult | None = None
    outbox: DrainStats | None = None

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
    # Asked between pages, before the push and between outbox intents: the daemon is shutting down. The cycle
    # then stops there, ``interrupted``: every page, batch and intent before it is fully recorded.
    interrupted: Callable[[], bool] = field(default=lambda: False, compare=False)
    # How long a claimed outbox intent stays this process's: a process that dies holding claims delays them so long.
    outbox_lease: timedelta = timedelta(minutes=5)


@dataclass(frozen=True)
class PushSetup:
    """What the push phase needs: the mapping (daemon-owned fields), the domain's providers, the options."""

    mapping: MappingFile
    providers: Sequence[DesiredStateProvider]
    options: PushOptions = field(default_factory=PushOptions)
    webhooks: WebhookSenders | None = None  # the assessment channels' webhook senders, when the policy has any


def _classify(exc: ConnectorError) -> str:
    if isinstance(exc, _PARTIAL):
        return "partial"
    return "failed"


@dataclass
class _Run:
    """The bookkeeping of one run: what to write to the run history when it ends."""

    store: Store
    connector: Connector
    clock: Callable[[], datetime]
    run_id: str
    calls_before: int
    started: datetime
    stats: dict[str, PullStats] = field(default_factory=dict)
    push: PushResult | None = None
    outbox: DrainStats | None = None

    def counts(self) -> dict[str, object]:
        out: dict[str, object] = {kind: s.as_dict() | {"personas": s.personas} for kind, s in self.stats.items()}
        if self.push is not None:
            out["push"] = self.push.as_dict()
        if self.outbox is not None:
            out["outbox"] = {k: v for k, v in dataclasses.asdict(self.outbox).items() if v}
        usage = self.connector.usage()
        if usage.limit is not None:  # the CRM's daily budget as it last reported it: for status and metrics
            out["api_budget"] = {"used": usage.used, "limit": usage.limit}
        return out

    def finish(self, status: str, error: str | None) -> CycleResult:
        finished = self.clock()
        calls = self.connector.usage().calls - self.calls_before
        errors = int(error is not None) + (sum(self.push.failed.values()) if self.push else 0)
        self.store.finish_run(
            self.run_id,
            status=status,
            finished_at=finished,
            counts=self.counts(),
            api_calls=calls,
            errors=errors,
            error_summary=error,
        )
        return CycleResult(
            self.run_id, self.connector.crm, status, self.started, 0.0, calls, self.stats, error, self.push, self.outbox
        )


def worker_id(run_id: str) -> str:
    """Who holds an outbox lease: host, process and run, for an operator reading the table."""
    return f"{socket.gethostname()}:{os.getpid()}:{run_id[:8]}"


def _pull_all(
    run: _Run,
    options: CycleOptions,
    *,
    started: datetime,
    classifier: PersonaClassifier | None,
    progress: PullProgress | None,
) -> None:
    for kind in OBJECT_KINDS:
        try:
            run.stats[kind] = pull_object(
                run.connector,
                run.store,
                kind,
                signpost=started,
                overlap=options.overlap,
                classifier=classifier if kind == "contacts" else None,
                progress=progress,
                interrupted=options.interrupted,
            )
        except PullInterruptedError as exc:
            run.stats[kind] = exc.stats
            raise _InterruptedError(str(exc)) from None


def _writer(connector: Connector) -> CrmClient:
    """The connector as a writer; a read-only connector cannot run a push (a programming error)."""
    if not isinstance(connector, Writer):
        raise TypeError(f"{type(connector).__name__} cannot write, so it cannot run a push")
    return cast("CrmClient", connector)


class _InterruptedError(Exception):
    """The daemon is shutting down: the cycle stops at a safe point."""


def _push_and_drain(
    run: _Run,
    client: CrmClient,
    setup: PushSetup,
    *,
    dry_run: bool,
    interrupted: Callable[[], bool],
    outbox_lease: timedelta,
) -> str:
    options = PushOptions(
        dry_run=dry_run or setup.options.dry_run,
        force=setup.options.force,
        safety=setup.options.safety,
        budget=setup.options.budget,
        chunk=setup.options.chunk,
    )
    run.push = push(client, run.store, setup.mapping, setup.providers, run_id=run.run_id, options=options)
    if run.push.stopped is not None:
        return "stopped"
    if not options.dry_run:
        return _drain(run, client, options.budget, webhooks=setup.webhooks, interrupted=interrupted, lease=outbox_lease)
    return "ok"


def _reserve_reached(client: CrmClient, policy: BudgetPolicy) -> bool:
    """Whether another intent could take calls from the reserve (intents come last: they are worth least)."""
    available = calls_available(client.usage(), policy)
    return available is not None and available < INTENT_CALLS


def _drain(
    run: _Run,
    client: CrmClient,
    policy: BudgetPolicy,
    *,
    webhooks: WebhookSenders | None = None,
    interrupted: Callable[[], bool] = lambda: False,
    lease: timedelta = timedelta(minutes=5),
) -> str:
    """Drain the outbox within the budget; ``partial`` when the CRM refused for a spent budget."""
    run.outbox = drain(run.store, handlers(client, webhooks), worker=worker_id(run.run_id), now=run.clock,
                       crm=client.crm, lease=lease,
                       should_stop=lambda: interrupted() or _reserve_reached(client, policy))  # fmt: skip
    if run.outbox.stopped == "requested" and interrupted():
        log.info("sync.outbox_deferred", reason="shutting down")
        return "interrupted"
    if run.outbox.stopped == "requested":
        run.outbox.stopped = "reserve"
        log.info("sync.outbox_deferred", reason="the API budget's reserve is reached")
    return "partial" if run.outbox.stopped == "budget" else "ok"


def _work(
    run: _Run,
    options: CycleOptions,
    *,
    started: datetime,
    classifier: PersonaClassifier | None,
    progress: PullProgress | None,
    push_setup: PushSetup | None,
) -> str:
    """Pull, then push and drain when configured; the status (``_InterruptedError`` at a safe point)."""
    _pull_all(run, options, started=started, classifier=classifier, progress=progress)
    if push_setup is None:
        return "ok"
    if options.interrupted():
        raise _InterruptedError("shutting down before the push")
    return _push_and_drain(run, _writer(run.connector), push_setup, dry_run=options.dry_run,
                           interrupted=options.interrupted, outbox_lease=options.outbox_lease)  # fmt: skip


def run_cycle(
    connector: Connector,
    store: Store,
    *,
    options: CycleOptions,
    clock: Callable[[], datetime],
    classifier: PersonaClassifier | None = None,
    progress: PullProgress | None = None,
    monotonic: Callable[[], float] = time.monotonic,
    push_setup: PushSetup | None = None,
) -> CycleResult:
    """Run one cycle and record it; connector failures end the cycle with a status, never a crash."""
    started, t0 = clock(), monotonic()
    run = _Run(store, connector, clock, store.start_run(connector.crm, options.command, options.dry_run, started),
               connector.usage().calls, started)  # fmt: skip
    bind_run(run.run_id)
    status, error = "ok", None
    try:
        parked = store.parked_until(connector.crm)
        if parked is not None and parked > started:
            status, error = "parked", f"the CRM's API budget is spent until {parked.isoformat()}"
        else:
            status = _work(run, options, started=started, classifier=classifier, progress=progress,
                           push_setup=push_setup)  # fmt: skip
    except _InterruptedError as exc:
        status, error = "interrupted", str(exc)
        log.info("sync.cycle_interrupted", reason=str(exc))
    except ConnectorError as exc:
        status, error = _classify(exc), f"{type(exc).__name__}: {exc}"
        if isinstance(exc, BudgetExhaustedError):
            until = exc.resume_at or clock() + PARK_WHEN_UNKNOWN
            store.park(connector.crm, until, str(exc))
        log.error("sync.cycle_error", status=status, error=error)  # noqa: TRY400 - the message is the record
    except BaseException as exc:
        run.finish("failed", repr(exc))
        clear_run()
        raise
    if status == "stopped" and run.push is not None and run.push.stopped is not None:
        error = run.push.stopped.reason
    if status == "partial" and error is None and run.outbox is not None:
        error = f"the outbox stopped: the CRM's API budget is spent until {_parked_text(store, connector.crm)}"
    result = run.finish(status, error)
    result.duration_s = round(monotonic() - t0, 3)
    _summary(result, connector)
    clear_run()
    return result


def _parked_text(store: Store, crm: str) -> str:
    until = store.parked_until(crm)
    return until.isoformat() if until is not None else "it resets"


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
    if result.push is not None:
        p = result.push
        fields.update(
            records_written=sum(p.written.values()),
            records_failed=sum(p.failed.values()),
            write_calls=p.write_calls,
            drift=p.drift_overwritten + p.drift_kept,
        )
    if result.outbox is not None:
        fields.update(outbox_done=result.outbox.done, outbox_retried=result.outbox.retried)
    if result.error:
        fields["error"] = result.error
    log.info("sync.cycle_finished", **fields)
