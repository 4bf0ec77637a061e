"""Field updates through sObject Collections: ``PATCH composite/sobjects``, 200 records a call.

With ``allOrNone: false`` Salesforce answers 200 with one result per record, in order, so a bad
record never blocks the others: it comes back as a failed :class:`WriteResult` with the CRM's own
code, message and (canonical) field names. Only the mapping's push fields are ever written; a
canonical name that is not one is a programming error and stops the write before any call.

``UNABLE_TO_LOCK_ROW`` is transient: the locked records of a batch (only those) are sent again
together, at most :data:`LOCK_ROUNDS` times, waiting between rounds under the connector's one
retry policy, before they are reported failed. Each round's call is a single try inside that same
policy, so transport trouble and locks share one bounded budget instead of nesting retries.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import structlog

from connectors.base import ProtocolError, RetriableError, WriteResult
from connectors.salesforce.wire import to_wire

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping, Sequence

    from connectors.base import ObjectKind, RecordUpdate
    from connectors.retry import RetryPolicy
    from sync_daemon.config.models import MappingFile

log = structlog.get_logger(__name__)

BATCH_SIZE = 200  # the most records composite/sobjects takes in one call
LOCK_ROUNDS = 3
LOCKED = "UNABLE_TO_LOCK_ROW"
_MAX_MESSAGE = 1000


@dataclass(frozen=True, slots=True)
class WritePlan:
    """What may be written for one kind: the sObject and its push fields (canonical to CRM)."""

    kind: ObjectKind
    object_name: str
    fields: Mapping[str, str]
    canonical: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_mapping(cls, mapping: MappingFile, kind: ObjectKind) -> WritePlan:
        """The push fields of ``kind``; ``canonical`` maps CRM names back (case-insensitive)."""
        obj = mapping.accounts if kind == "accounts" else mapping.contacts
        fields = {name: push.field for name, push in mapping.push_fields(kind).items()}
        return cls(kind, obj.object, fields, {crm.lower(): name for name, crm in fields.items()})

    def record(self, update: RecordUpdate) -> dict[str, Any]:
        """One collection record: ``attributes``, ``id`` and the CRM fields in wire form."""
        body: dict[str, Any] = {"attributes": {"type": self.object_name}, "id": update.id}
        for name, value in update.fields.items():
            crm = self.fields.get(name)
            if crm is None:
                raise ValueError(f"{name!r} is not a push field of {self.kind}: the daemon writes only its own fields")
            body[crm] = to_wire(value)
        return body

    def canonical_names(self, crm_fields: object) -> tuple[str, ...]:
        """The canonical names of the CRM fields an error names (unmapped ones as the CRM spells them)."""
        if not isinstance(crm_fields, list):
            return ()
        return tuple(self.canonical.get(str(f).lower(), str(f)) for f in crm_fields)


def collection_body(records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The ``PATCH composite/sobjects`` body: every record judged on its own."""
    return {"allOrNone": False, "records": list(records)}


def _failure(plan: WritePlan, record_id: str, errors: object) -> WriteResult:
    """A failed result: the first error's code, every message, every field named."""
    if not isinstance(errors, list) or not errors or not all(isinstance(e, dict) for e in errors):
        return WriteResult(record_id, ok=False, code="UNKNOWN", message="Salesforce gave no reason")
    messages = [" ".join(str(e.get("message") or "").split()) for e in errors]
    names: list[str] = []
    for error in errors:
        names += [n for n in plan.canonical_names(error.get("fields")) if n not in names]
    return WriteResult(
        record_id,
        ok=False,
        code=str(errors[0].get("statusCode") or "UNKNOWN"),
        message="; ".join(m for m in messages if m)[:_MAX_MESSAGE],
        fields=tuple(names),
    )


def results_of(plan: WritePlan, record_ids: Sequence[str], answer: Any) -> list[WriteResult]:
    """One result per record sent, by position; anything else is a :class:`ProtocolError`."""
    if not isinstance(answer, list) or len(answer) != len(record_ids):
        got = f"{len(answer)} results" if isinstance(answer, list) else type(answer).__name__
        raise ProtocolError(f"Salesforce answered {got} for a batch of {len(record_ids)} {plan.object_name} updates")
    out: list[WriteResult] = []
    for record_id, item in zip(record_ids, answer, strict=True):
        if not isinstance(item, dict) or not isinstance(item.get("success"), bool):
            raise ProtocolError(f"Salesforce answered a {plan.object_name} write result without 'success'")
        ok = item["success"]
        out.append(WriteResult(record_id, ok=True) if ok else _failure(plan, record_id, item.get("errors")))
    return out


class _LockedRowsError(RetriableError):
    """Some records of the batch were locked: the retry policy waits, then they go again."""


@dataclass
class _Batch:
    """One batch across its lock rounds: what is still to send and the latest verdict on each id."""

    plan: WritePlan
    records: list[dict[str, Any]]
    send: Callable[[dict[str, Any]], Any]
    pending: list[dict[str, Any]] = field(default_factory=list)
    verdicts: dict[str, WriteResult] = field(default_factory=dict)
    lock_rounds: int = 0
    calls: int = 0

    def __post_init__(self) -> None:
        """Everything is pending before the first round."""
        self.pending = list(self.records)

    def round(self) -> None:
        """Send what is pending; raise :class:`_LockedRowsError` while locked records may go again."""
        ids = [r["id"] for r in self.pending]
        self.calls += 1
        results = results_of(self.plan, ids, self.send(collection_body(self.pending)))
        self.verdicts.update({r.id: r for r in results})
        locked = {r.id for r in results if not r.ok and r.code == LOCKED}
        if locked and self.lock_rounds < LOCK_ROUNDS:
            self.lock_rounds += 1
            self.pending = [r for r in self.pending if r["id"] in locked]
            raise _LockedRowsError(f"{len(locked)} {self.plan.object_name} records locked (UNABLE_TO_LOCK_ROW)")

    def results(self) -> list[WriteResult]:
        """The final verdicts, in the order the records were given."""
        return [self.verdicts[r["id"]] for r in self.records]


def write_batch(
    plan: WritePlan,
    records: list[dict[str, Any]],
    send: Callable[[dict[str, Any]], Any],
    retry: RetryPolicy,
) -> list[WriteResult]:
    """Write one batch (one call when nothing is locked); lock failures go again, then are reported."""
    batch = _Batch(plan, records, send)
    # When the policy's budget runs out with records still locked, they are reported failed.
    with contextlib.suppress(_LockedRowsError):
        retry.call(batch.round)
    results = batch.results()
    log.info(
        "crm.batch_written",
        crm="salesforce",
        kind=plan.kind,
        records=len(results),
        failed=sum(not r.ok for r in results),
        api_calls=batch.calls,
        lock_rounds=batch.lock_rounds,
    )
    return results


def write_updates(
    plan: WritePlan,
    updates: Sequence[RecordUpdate],
    send: Callable[[dict[str, Any]], Any],
    retry: RetryPolicy,
) -> Iterator[list[WriteResult]]:
    """Every update in batches of :data:`BATCH_SIZE`, each batch's results as it lands.

    All records are built (names checked, values converted) right away, before the first call and
    before the caller iterates, so an undeclared field or an unwritable value stops the write with
    nothing half-done.
    """
    records = [plan.record(u) for u in updates]
    seen: set[str] = set()
    for record in records:
        if record["id"] in seen:
            raise ValueError(f"{plan.object_name} {record['id']} appears twice in one write")
        seen.add(record["id"])
    return (
        write_batch(plan, records[start : start + BATCH_SIZE], send, retry)
        for start in range(0, len(records), BATCH_SIZE)
    )
