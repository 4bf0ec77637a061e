"""The pure diff: desired values of daemon-owned fields against what the CRM holds, as a sorted plan.

Pure, like octoDNS's ``changes(desired, existing)``: no I/O and no clock, so the dry run and the real
run compute the very same plan, and the engine can call it chunk by chunk (each chunk's plan is
sorted; :meth:`Plan.concat` joins them). Three rules keep writes to a minimum and the CRM trusted:

- only fields the desired record mentions are considered, and only fields the mapping declares as
  pushed may be mentioned (anything else is a programming error, :class:`UndeclaredFieldError`);
- values equal after normalising by the field's canonical type (:mod:`.values`) are not written;
- a person's edit to a daemon-owned field since the daemon last wrote it is *drift*: the field's
  ``on_drift`` policy decides whether the daemon overwrites it (the default) or keeps the edit.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING

from connectors.base import OBJECT_KINDS, ObjectKind, RecordUpdate
from sync_daemon.config.canonical import ACCOUNT_PUSH, CONTACT_PUSH
from sync_daemon.domain.values import normalize, same

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from connectors.base import FieldType
    from sync_daemon.config.models import DriftPolicy, MappingFile

_VOCABULARY: dict[ObjectKind, dict[str, tuple[FieldType, ...]]] = {"accounts": ACCOUNT_PUSH, "contacts": CONTACT_PUSH}


@dataclass(frozen=True, order=True)
class FieldChange:
    """One field to write on one record; plans sort them by ``(kind, record_id, field)``.

    ``current`` is the value as pulled (for the dry-run table), ``desired`` the canonical value to
    write; ``drift`` marks a person's edit the daemon overwrites (policy ``overwrite``).
    """

    kind: ObjectKind
    record_id: str
    field: str
    crm_field: str
    current: object
    desired: object
    drift: bool = False


@dataclass(frozen=True)
class DesiredRecord:
    """What the domain wants one record's daemon-owned fields to hold (canonical names and values)."""

    kind: ObjectKind
    id: str
    fields: Mapping[str, object]


@dataclass(frozen=True)
class Drift:
    """A person edited a daemon-owned field since the daemon last wrote it.

    ``policy`` says what the plan does about it: ``keep`` leaves the edit (no change planned),
    ``overwrite`` writes ``desired`` over it (the change carries ``drift=True``).
    """

    kind: ObjectKind
    record_id: str
    field: str
    crm_field: str
    last_written: object
    current: object
    policy: DriftPolicy
    desired: object


@dataclass(frozen=True)
class PlanCounts:
    """Totals for the dry-run footer, the safety valve and the run summary."""

    records: Mapping[ObjectKind, int]
    fields: int
    drift_overwritten: int
    drift_kept: int

    @property
    def records_total(self) -> int:
        """Records with at least one change, all kinds together."""
        return sum(self.records.values())


def _sort_key(item: FieldChange | Drift) -> tuple[str, str, str]:
    return (item.kind, item.record_id, item.field)


@dataclass(frozen=True)
class Plan:
    """The sorted field changes of a cycle (or a chunk of one), and the drift noticed on the way."""

    changes: tuple[FieldChange, ...] = ()
    drift: tuple[Drift, ...] = ()

    @classmethod
    def concat(cls, plans: Iterable[Plan]) -> Plan:
        """One plan from chunk plans, sorted again (linear when the chunks came in id order)."""
        changes: list[FieldChange] = []
        drift: list[Drift] = []
        for plan in plans:
            changes.extend(plan.changes)
            drift.extend(plan.drift)
        return cls(tuple(sorted(changes, key=_sort_key)), tuple(sorted(drift, key=_sort_key)))

    @property
    def is_empty(self) -> bool:
        """Nothing to write (kept drift may still be reported)."""
        return not self.changes

    def records(self) -> dict[tuple[ObjectKind, str], dict[str, object]]:
        """``(kind, id)`` to the canonical fields to write and their desired values."""
        out: dict[tuple[ObjectKind, str], dict[str, object]] = {}
        for change in self.changes:
            out.setdefault((change.kind, change.record_id), {})[change.field] = change.desired
        return out

    def by_kind(self, kind: ObjectKind) -> list[RecordUpdate]:
        """The updates of one kind for :meth:`connectors.base.Writer.write`, in record id order."""
        grouped: dict[str, dict[str, object]] = {}
        for change in self.changes:
            if change.kind == kind:
                grouped.setdefault(change.record_id, {})[change.field] = change.desired
        return [RecordUpdate(record_id, fields) for record_id, fields in sorted(grouped.items())]

    @property
    def counts(self) -> PlanCounts:
        """Records changed per kind, fields changed, and drift overwritten or kept."""
        records = Counter(kind for kind, _ in {(c.kind, c.record_id) for c in self.changes})
        policies = Counter(d.policy for d in self.drift)
        return PlanCounts(
            records={kind: records.get(kind, 0) for kind in OBJECT_KINDS},
            fields=len(self.changes),
            drift_overwritten=policies.get("overwrite", 0),
            drift_kept=policies.get("keep", 0),
        )


class UndeclaredFieldError(ValueError):
    """The domain asked to write a field the mapping does not declare as daemon-owned (``push``)."""

    def __init__(self, kind: str, field: str, declared: Iterable[str]) -> None:
        names = ", ".join(sorted(declared)) or "none"
        super().__init__(
            f"{kind} field {field!r} is not declared under {kind}.push in the mapping file, so the daemon "
            f"may not write it (declared: {names})"
        )
        self.kind = kind
        self.field = field


@dataclass(frozen=True, slots=True)
class _Rule:
    """How to compare and write one push field."""

    crm_field: str
    ftype: FieldType
    policy: DriftPolicy


def field_types(mapping: MappingFile) -> dict[ObjectKind, dict[str, FieldType]]:
    """The canonical type of every push field, per kind (the first type the vocabulary lists).

    A name outside the vocabulary (only possible in a mapping built without the loader's checks)
    compares as ``other``: exact equality, ``""`` as unset.
    """
    return {
        kind: {name: _VOCABULARY[kind].get(name, ("other",))[0] for name in mapping.push_fields(kind)}
        for kind in OBJECT_KINDS
    }


def _rules(mapping: MappingFile) -> dict[ObjectKind, dict[str, _Rule]]:
    types = field_types(mapping)
    return {
        kind: {
            name: _Rule(push.field, types[kind][name], push.on_drift)
            for name, push in mapping.push_fields(kind).items()
        }
        for kind in OBJECT_KINDS
    }


def plan_changes(
    desired: Iterable[DesiredRecord],
    current: Mapping[tuple[ObjectKind, str], Mapping[str, object]],
    last_written: Mapping[tuple[ObjectKind, str, str], object],
    mapping: MappingFile,
) -> Plan:
    """The sorted plan that brings ``current`` to ``desired``, honouring each field's drift policy.

    ``current`` holds the pulled fields by canonical name; a desired record it lacks (deleted in the
    CRM, or out of scope) is skipped. ``last_written`` holds what the daemon last wrote per
    ``(kind, id, field)``; a field never written cannot drift. Linear in the input, so it may be
    called chunk by chunk and the plans joined with :meth:`Plan.concat`.

    Raises:
        UndeclaredFieldError: a desired field is not one of the mapping's push fields for its kind.
        ValueError: a field of a record is desired twice in one call (records may come in parts),
            or a value is a naive datetime.
    """
    rules = _rules(mapping)
    changes: list[FieldChange] = []
    drift: list[Drift] = []
    seen: set[tuple[ObjectKind, str, str]] = set()
    for record in desired:
        kind_rules = _check(record, rules, seen)
        pulled = current.get((record.kind, record.id))
        if pulled is None:
            continue
        for name, value in record.fields.items():
            change, noticed = _plan_field(
                record, name, value, pulled=pulled, last_written=last_written, rule=kind_rules[name]
            )
            if change is not None:
                changes.append(change)
            if noticed is not None:
                drift.append(noticed)
    return Plan(tuple(sorted(changes, key=_sort_key)), tuple(sorted(drift, key=_sort_key)))


def _check(
    record: DesiredRecord, rules: Mapping[ObjectKind, dict[str, _Rule]], seen: set[tuple[ObjectKind, str, str]]
) -> dict[str, _Rule]:
    """The record's push rules, after refusing unknown kinds, undeclared fields and fields desired twice.

    Several producers (plans, handoff, assessments) may each send part of a record's fields; two of
    them claiming the same field would make the outcome depend on their order, so that is refused.
    """
    kind_rules = rules.get(record.kind)
    if kind_rules is None:
        raise ValueError(f"unknown object kind {record.kind!r}; expected one of {', '.join(OBJECT_KINDS)}")
    for name in record.fields:
        if name not in kind_rules:
            raise UndeclaredFieldError(record.kind, name, kind_rules)
        key = (record.kind, record.id, name)
        if key in seen:
            raise ValueError(f"{record.kind} record {record.id!r}: field {name!r} is desired twice")
        seen.add(key)
    return kind_rules


def _plan_field(
    record: DesiredRecord,
    name: str,
    value: object,
    *,
    pulled: Mapping[str, object],
    last_written: Mapping[tuple[ObjectKind, str, str], object],
    rule: _Rule,
) -> tuple[FieldChange | None, Drift | None]:
    """The change (if any) and the drift (if any) for one field of one record."""
    raw_current = pulled.get(name)
    current = normalize(raw_current, rule.ftype)
    if same(normalize(value, rule.ftype), current):
        return None, None
    written_key = (record.kind, record.id, name)
    drifted = written_key in last_written and not same(normalize(last_written[written_key], rule.ftype), current)
    noticed = None
    if drifted:
        noticed = Drift(
            record.kind, record.id, name, rule.crm_field, last_written[written_key], raw_current, rule.policy, value
        )
        if rule.policy == "keep":
            return None, noticed
    change = FieldChange(record.kind, record.id, name, rule.crm_field, raw_current, value, drift=drifted)
    return change, noticed


def apply_plan(
    current: Mapping[tuple[ObjectKind, str], Mapping[str, object]], plan: Plan
) -> dict[tuple[ObjectKind, str], dict[str, object]]:
    """A new current state with every planned change applied (the local copy after a clean write)."""
    out = {key: dict(fields) for key, fields in current.items()}
    for change in plan.changes:
        out.setdefault((change.kind, change.record_id), {})[change.field] = change.desired
    return out
