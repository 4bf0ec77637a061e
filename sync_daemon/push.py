"""The push half of a cycle: desired state, plan, safety valve, budget, batched writes, bookkeeping.

The plan is computed from the store (what was last pulled) and the desired-state providers (the domain), chunk
by chunk so a large org never sits in memory as records. Only then, with the whole plan's counts known, the safety
valve decides whether writing may start; a dry run stops here and returns the plan. Writes go out in the
connector's largest batches, accounts first and contacts grouped by account (fewer lock conflicts); each batch's
results are recorded as they come: successes become the "last written" values that drift is judged against,
failures keep the CRM's code and message and are retried next cycle.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import structlog

from connectors.base import OBJECT_KINDS, RecordUpdate
from sync_daemon.domain.budget import BudgetPolicy, Priority, calls_available, field_priority
from sync_daemon.domain.diff import DesiredRecord, FieldChange, Plan, plan_changes
from sync_daemon.domain.safety import SafetyPolicy, SafetyVerdict, check
from sync_daemon.store.pushed import to_json_value

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping, Sequence

    from connectors.base import CrmClient, ObjectKind, WriteResult
    from sync_daemon.config.models import MappingFile
    from sync_daemon.store import Store

log = structlog.get_logger(__name__)
BATCH_CALL_SIZE = {"salesforce": 200, "hubspot": 100}


@runtime_checkable
class Committing(Protocol):
    """A provider with side effects of its own (a handoff and its note), taken only once writing may start."""

    def commit(self) -> object:
        """Act on what :meth:`desired` decided; called once per cycle, after the safety valve, never in a dry run."""
        ...


class DesiredStateProvider(Protocol):
    """The domain's view of what daemon-owned fields should hold, for a chunk of stored records."""

    def desired(self, kind: ObjectKind, rows: Sequence[Mapping[str, Any]]) -> Iterable[DesiredRecord]:
        """Desired values for the rows it has an opinion on (fields it omits are left alone)."""
        ...


@dataclass(frozen=True)
class PersonaProvider:
    """Each contact's persona (classified at pull time by the mapping's rules) goes to its persona field."""

    mapping: MappingFile

    def desired(self, kind: ObjectKind, rows: Sequence[Mapping[str, Any]]) -> Iterable[DesiredRecord]:
        """``{"persona": ...}`` for every live contact, ``unknown`` when no rule matched."""
        if kind != "contacts" or "persona" not in self.mapping.push_fields("contacts"):
            return
        for row in rows:
            yield DesiredRecord("contacts", row["id"], {"persona": row.get("persona") or "unknown"})


@dataclass(frozen=True)
class PushOptions:
    """How the push runs; built from settings and the command line."""

    dry_run: bool = False
    force: bool = False
    safety: SafetyPolicy = field(default_factory=SafetyPolicy)
    budget: BudgetPolicy = field(default_factory=BudgetPolicy)
    chunk: int = 1000


@dataclass
class PushResult:
    """What the push planned and did."""

    changes: list[FieldChange] = field(default_factory=list)
    planned: Counter[str] = field(default_factory=Counter)
    written: Counter[str] = field(default_factory=Counter)
    failed: Counter[str] = field(default_factory=Counter)
    write_calls: int = 0
    drift_overwritten: int = 0
    drift_kept: int = 0
    stopped: SafetyVerdict | None = None
    deferred_records: int = 0
    dry_run: bool = False

    def as_dict(self) -> dict[str, object]:
        """JSON-able counts for the run history and the summary line."""
        return {
            "planned": dict(self.planned),
            "fields_changed": len(self.changes),
            "written": dict(self.written),
            "failed": dict(self.failed),
            "write_calls": self.write_calls,
            "drift_overwritten": self.drift_overwritten,
            "drift_kept": self.drift_kept,
            "deferred_records": self.deferred_records,
            "stopped": self.stopped.as_dict() if self.stopped else None,
            "dry_run": self.dry_run,
        }


def _chunks(rows: Iterable[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    chunk: list[dict[str, Any]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


@dataclass
class _Planned:
    plan_parts: list[Plan] = field(default_factory=list)
    account_of: dict[str, str | None] = field(default_factory=dict)


def build_plan(
    store: Store, crm: str, mapping: MappingFile, providers: Sequence[DesiredStateProvider], chunk: int
) -> tuple[list[Plan], dict[str, str | None]]:
    """Plan every kind chunk by chunk; returns the plan parts and each contact's account (for grouping)."""
    planned = _Planned()
    for kind in OBJECT_KINDS:
        dismissed = store.dismissed_ids(crm, kind)
        for rows in _chunks(store.iter_records(kind, crm, batch=chunk), chunk):
            current = {(kind, r["id"]): r["fields"] for r in rows}
            desired = [d for p in providers for d in p.desired(kind, rows) if d.id not in dismissed]
            if not desired:
                continue
            last = store.last_written(crm, kind, [r["id"] for r in rows])
            planned.plan_parts.append(plan_changes(desired, current, last, mapping))
            if kind == "contacts":
                planned.account_of.update({r["id"]: r.get("account_id") for r in rows})
    return planned.plan_parts, planned.account_of


@dataclass
class _Context:
    """What the write phase needs, in one place."""

    client: CrmClient
    store: Store
    run_id: str
    options: PushOptions
    result: PushResult
    account_of: Mapping[str, str | None]


def _by_record(writes: list[tuple[str, str, object]]) -> dict[str, dict[str, object]]:
    """Written values grouped per record, keyed by canonical name as the store keeps pulled fields."""
    out: dict[str, dict[str, object]] = {}
    for record_id, name, value in writes:
        out.setdefault(record_id, {})[name] = value
    return out


def _record(ctx: _Context, kind: ObjectKind, updates: Mapping[str, RecordUpdate], results: list[WriteResult]) -> None:
    crm, store, result = ctx.client.crm, ctx.store, ctx.result
    ok = [r.id for r in results if r.ok]
    failed = [r for r in results if not r.ok]
    writes = [(rid, name, to_json_value(value)) for rid in ok for name, value in updates[rid].fields.items()]
    with store.transaction() as conn:
        store.record_written(crm, kind, writes, ctx.run_id, conn=conn)
        store.merge_fields(crm, kind, _by_record(writes), conn=conn)
        store.clear_errors(crm, kind, ok, conn=conn)
    if failed:
        store.record_failures(crm, kind, failed, ctx.run_id)
        for f in failed:
            log.warning("sync.record_rejected", kind=kind, record_id=f.id, code=f.code, message=f.message)
    result.written[kind] += len(ok)
    result.failed[kind] += len(failed)


def _ordered(kind: ObjectKind, updates: list[RecordUpdate], account_of: Mapping[str, str | None]) -> list[RecordUpdate]:
    """Contacts grouped by account, so one batch locks few account rows (``UNABLE_TO_LOCK_ROW``)."""
    if kind != "contacts":
        return updates
    return sorted(updates, key=lambda u: (account_of.get(u.id) or "", u.id))


def _safety(store: Store, crm: str, result: PushResult, options: PushOptions) -> SafetyVerdict | None:
    has_pushed = store.has_pushed(crm)
    for kind in OBJECT_KINDS:
        verdict = check(
            kind,
            result.planned[kind],
            store.count(kind, crm),
            has_pushed_before=has_pushed,
            policy=options.safety,
            force=options.force,
        )
        if not verdict.allowed:
            return verdict
    return None


def push(
    client: CrmClient,
    store: Store,
    mapping: MappingFile,
    providers: Sequence[DesiredStateProvider],
    *,
    run_id: str,
    options: PushOptions,
) -> PushResult:
    """Plan, check, and (unless a dry run or stopped) write; never raises for a record the CRM rejects."""
    parts, account_of = build_plan(store, client.crm, mapping, providers, options.chunk)
    result = PushResult(dry_run=options.dry_run)
    by_kind: dict[ObjectKind, list[RecordUpdate]] = {kind: [] for kind in OBJECT_KINDS}
    for plan in parts:
        result.changes.extend(plan.changes)
        for kind in OBJECT_KINDS:
            by_kind[kind].extend(plan.by_kind(kind))
        for drift in plan.drift:
            kept = drift.policy == "keep"
            result.drift_kept += kept
            result.drift_overwritten += not kept
            log.info("sync.drift", kind=drift.kind, record_id=drift.record_id, field=drift.field, policy=drift.policy)
    for kind in OBJECT_KINDS:
        result.planned[kind] = len(by_kind[kind])
    if options.dry_run:
        return result
    result.stopped = _safety(store, client.crm, result, options)
    store.set_safety_warning(client.crm, result.stopped.as_dict() if result.stopped else None)
    if result.stopped is not None:
        log.warning("sync.safety_valve", **result.stopped.as_dict())
        return result
    for provider in providers:
        if isinstance(provider, Committing):
            provider.commit()
    ctx = _Context(client, store, run_id, options, result, account_of)
    _write_within_budget(ctx, by_kind)
    return result


def _only(updates: list[RecordUpdate], priority: Priority) -> list[RecordUpdate]:
    """The same updates restricted to the fields of one priority (records left with none are dropped)."""
    out = []
    for u in updates:
        kept = {k: v for k, v in u.fields.items() if field_priority(k) == priority}
        if kept:
            out.append(RecordUpdate(u.id, kept))
    return out


def _passes(
    by_kind: dict[ObjectKind, list[RecordUpdate]], *, short: bool
) -> list[tuple[ObjectKind, list[RecordUpdate]]]:
    """One pass per kind when the budget suffices; when it is short, one pass per priority and kind."""
    if not short:
        return [(kind, by_kind[kind]) for kind in OBJECT_KINDS if by_kind[kind]]
    passes = []
    for priority in (Priority.ASSESSMENT, Priority.HANDOFF, Priority.PROGRESS):
        passes += [(kind, only) for kind in OBJECT_KINDS if (only := _only(by_kind[kind], priority))]
    return passes


def _still_available(ctx: _Context, estimate: int | None) -> int | None:
    """Calls left for the next pass: the CRM's latest report, capped by what the passes so far should have left.

    Re-reading the report counts the calls an estimate misses (lock rounds, batches split to isolate a bad
    record, retries), so those extra calls are never taken from the reserve.
    """
    reported = calls_available(ctx.client.usage(), ctx.options.budget)
    if reported is None or estimate is None:
        return reported if estimate is None else estimate
    return min(reported, estimate)


def _write_within_budget(ctx: _Context, by_kind: dict[ObjectKind, list[RecordUpdate]]) -> None:
    """Write every pass that fits the budget, most valuable first; defer the rest to the next cycle."""
    available = calls_available(ctx.client.usage(), ctx.options.budget)
    size = BATCH_CALL_SIZE.get(ctx.client.crm, 100)
    needed = sum(math.ceil(len(u) / size) for u in by_kind.values())
    short = available is not None and needed > available
    if short:
        log.warning("sync.budget_short", needed_calls=needed, available_calls=available)
    for kind, updates in _passes(by_kind, short=short):
        batch = _ordered(kind, updates, ctx.account_of)
        available = _still_available(ctx, available)
        if available is not None:
            fits = min(len(batch), available * size)
            ctx.result.deferred_records += len(batch) - fits
            batch = batch[:fits]
            available -= math.ceil(len(batch) / size)
        if not batch:
            continue
        index = {u.id: u for u in batch}
        before = ctx.client.usage().calls
        for results in ctx.client.write(kind, batch):
            _record(ctx, kind, index, results)
        ctx.result.write_calls += ctx.client.usage().calls - before
