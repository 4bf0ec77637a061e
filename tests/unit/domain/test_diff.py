"""The pure diff: only changed, declared fields are planned, drift follows the mapping, plans are sorted."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from typing import TYPE_CHECKING

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.base import OBJECT_KINDS, FieldType, ObjectKind, RecordUpdate
from sync_daemon.config.loader import load_mapping
from sync_daemon.config.models import PushField
from sync_daemon.domain.diff import (
    DesiredRecord,
    Drift,
    FieldChange,
    Plan,
    UndeclaredFieldError,
    apply_plan,
    field_types,
    plan_changes,
)
from sync_daemon.resources import shipped

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

    from sync_daemon.config.models import MappingFile

SF = load_mapping(shipped("mappings/salesforce.yaml"))
HS = load_mapping(shipped("mappings/hubspot.yaml"))
Current = dict[tuple[ObjectKind, str], dict[str, object]]
LastWritten = dict[tuple[ObjectKind, str, str], object]


def _with_every_type(mapping: MappingFile) -> MappingFile:
    """The shipped mapping plus push fields of the types it lacks (boolean, datetime), one kept on drift."""
    accounts = dict(mapping.accounts.push) | {"detractor_alert": PushField(field="Detractor_Alert__c")}
    contacts = dict(mapping.contacts.push) | {
        "assessment_requested_at": PushField(field="Assessment_Requested_At__c", on_drift="keep"),
        "assessment_cycle": "Assessment_Cycle__c",
    }
    return mapping.model_copy(
        update={
            "accounts": mapping.accounts.model_copy(update={"push": accounts}),
            "contacts": mapping.contacts.model_copy(update={"push": contacts}),
        }
    )


def acc(record_id: str, **fields: object) -> DesiredRecord:
    return DesiredRecord("accounts", record_id, fields)


def plan(
    desired: list[DesiredRecord], current: Mapping[tuple[ObjectKind, str], Mapping[str, object]], last: LastWritten
) -> Plan:
    return plan_changes(desired, current, last, SF)


# ---- rules ----------------------------------------------------------------------------------------------


def test_field_types_are_the_first_canonical_type() -> None:
    """Each push field's canonical type is the first one the vocabulary lists for it."""
    types = field_types(SF)
    assert types["accounts"]["onboarding_progress"] == "percent"
    assert types["accounts"]["handoff_date"] == "date"
    assert types["accounts"]["plan_summary"] == "text"
    assert types["contacts"] == {
        "persona": "picklist",
        "assessment_kind": "picklist",
        "assessment_persona": "picklist",
        "assessment_cycle": "integer",
        "assessment_requested_at": "datetime",
    }
    assert set(types["accounts"]) == set(SF.push_fields("accounts"))


def test_equal_values_after_normalising_are_not_written() -> None:
    """A percent as a double, a date as text and padded text match the desired values: no change."""
    current: Current = {
        ("accounts", "A1"): {"onboarding_progress": 40.0, "next_task_due": "2026-01-05", "health": " On track "}
    }
    desired = [acc("A1", onboarding_progress=40, next_task_due=date(2026, 1, 5), health="On track")]
    assert plan(desired, current, {}) == Plan()


def test_a_changed_field_is_planned_with_crm_name_and_raw_values() -> None:
    """A change carries the CRM field name, the value as pulled and the canonical value to write."""
    current: Current = {("accounts", "A1"): {"onboarding_progress": 40.0}}
    result = plan([acc("A1", onboarding_progress=55)], current, {})
    assert result.changes == (
        FieldChange("accounts", "A1", "onboarding_progress", "Onboarding_Progress__c", 40.0, 55, drift=False),
    )
    assert result.drift == ()


def test_fields_not_mentioned_are_left_alone() -> None:
    """Only fields present in the desired record are compared; others keep whatever the CRM holds."""
    current: Current = {("accounts", "A1"): {"health": "Off track", "slip_days": 3.0, "onboarding_plan": "Std"}}
    result = plan([acc("A1", slip_days=4)], current, {})
    assert [c.field for c in result.changes] == ["slip_days"]


def test_clearing_a_field_is_a_change_and_unset_forms_match() -> None:
    """Desired None clears a set field; None, "" and an absent key all count as unset."""
    current: Current = {("accounts", "A1"): {"health": "On track", "next_task": ""}}
    result = plan([acc("A1", health=None, next_task=None, adoption_status="")], current, {})
    assert [(c.field, c.desired) for c in result.changes] == [("health", None)]


@pytest.mark.parametrize("field", ["name", "email_opt_out", "not_a_field"])
def test_an_undeclared_field_is_refused(field: str) -> None:
    """A desired value for a field outside ``push`` raises, naming the field and the kind."""
    with pytest.raises(UndeclaredFieldError, match=rf"accounts field '{field}'") as caught:
        plan([acc("A1", **{field: "x"})], {("accounts", "A1"): {}}, {})
    assert (caught.value.kind, caught.value.field) == ("accounts", field)


def test_a_field_pushed_on_the_other_kind_is_refused() -> None:
    """Push fields are per kind: an account field on a contact is undeclared."""
    with pytest.raises(UndeclaredFieldError, match="contacts field 'health'"):
        plan([DesiredRecord("contacts", "C1", {"health": "x"})], {}, {})


def test_a_record_the_crm_lacks_is_skipped_and_not_counted() -> None:
    """A desired record absent from the pulled state (deleted, out of scope) produces nothing."""
    result = plan([acc("GONE", health="At risk")], {("accounts", "A1"): {}}, {})
    assert result == Plan()
    assert result.counts.records_total == 0


def test_a_record_may_come_in_parts() -> None:
    """Two producers may each desire different fields of one record: both parts are planned."""
    result = plan([acc("A1", health="x"), acc("A1", slip_days=1)], {("accounts", "A1"): {}}, {})
    assert result.records() == {("accounts", "A1"): {"health": "x", "slip_days": 1}}
    assert result.counts.records == {"accounts": 1, "contacts": 0}


def test_a_field_desired_twice_is_refused() -> None:
    """Two desired values for one field of one record are a programming error, whatever their order."""
    with pytest.raises(ValueError, match="'A1': field 'health' is desired twice"):
        plan([acc("A1", health="x"), acc("A1", slip_days=1, health="x")], {("accounts", "A1"): {}}, {})


def test_a_naive_desired_datetime_raises() -> None:
    """The domain must hand over aware datetimes; a naive one is refused, not guessed."""
    mapping = _with_every_type(SF)
    record = DesiredRecord("contacts", "C1", {"assessment_cycle": 1})
    naive = DesiredRecord("contacts", "C2", {"assessment_requested_at": datetime(2026, 1, 5)})  # noqa: DTZ001
    current: Current = {("contacts", "C1"): {}, ("contacts", "C2"): {}}
    with pytest.raises(ValueError, match="naive datetime"):
        plan_changes([record, naive], current, {}, mapping)


# ---- drift ----------------------------------------------------------------------------------------------


def test_drift_overwrite_plans_the_change_and_records_it() -> None:
    """A person's edit since the daemon's write is overwritten by default, and reported as drift."""
    current: Current = {("accounts", "A1"): {"health": "Off track"}}
    last: LastWritten = {("accounts", "A1", "health"): "On track"}
    result = plan([acc("A1", health="At risk")], current, last)
    assert result.changes == (
        FieldChange("accounts", "A1", "health", "Onboarding_Health__c", "Off track", "At risk", drift=True),
    )
    assert result.drift == (
        Drift("accounts", "A1", "health", "Onboarding_Health__c", "On track", "Off track", "overwrite", "At risk"),
    )
    assert (result.counts.drift_overwritten, result.counts.drift_kept) == (1, 0)


def test_drift_keep_leaves_the_persons_edit() -> None:
    """With ``on_drift: keep`` the edited field is not written, and the drift is reported as kept."""
    current: Current = {("accounts", "A1"): {"handoff_status": "Held by CSM"}}
    last: LastWritten = {("accounts", "A1", "handoff_status"): "Ready"}
    result = plan([acc("A1", handoff_status="Done")], current, last)
    assert result.changes == ()
    assert [(d.field, d.policy, d.current, d.desired) for d in result.drift] == [
        ("handoff_status", "keep", "Held by CSM", "Done")
    ]
    assert (result.counts.drift_overwritten, result.counts.drift_kept) == (0, 1)


def test_a_field_the_daemon_never_wrote_is_not_drift() -> None:
    """Without a last-written value a differing field is a plain change, even under ``keep``."""
    current: Current = {("accounts", "A1"): {"handoff_status": "Held by CSM"}}
    result = plan([acc("A1", handoff_status="Done")], current, {})
    assert [(c.field, c.drift) for c in result.changes] == [("handoff_status", False)]
    assert result.drift == ()


def test_current_matching_last_written_in_another_form_is_not_drift() -> None:
    """The CRM's echo of the daemon's own write ("40" for 40) is no edit: a plain change follows."""
    current: Current = {("accounts", "A1"): {"onboarding_progress": "40"}}
    last: LastWritten = {("accounts", "A1", "onboarding_progress"): 40}
    result = plan([acc("A1", onboarding_progress=50)], current, last)
    assert [(c.field, c.drift) for c in result.changes] == [("onboarding_progress", False)]
    assert result.drift == ()


def test_an_edit_that_agrees_with_desired_is_nothing() -> None:
    """A person who set the value the daemon wants causes neither a change nor drift."""
    current: Current = {("accounts", "A1"): {"handoff_status": "Done"}}
    last: LastWritten = {("accounts", "A1", "handoff_status"): "Ready"}
    assert plan([acc("A1", handoff_status="Done")], current, last) == Plan()


def test_a_cleared_field_after_a_write_is_drift() -> None:
    """A person clearing a daemon-written field is an edit too."""
    current: Current = {("accounts", "A1"): {"handoff_status": None}}
    last: LastWritten = {("accounts", "A1", "handoff_status"): "Ready"}
    result = plan([acc("A1", handoff_status="Done")], current, last)
    assert [(d.field, d.policy) for d in result.drift] == [("handoff_status", "keep")]


# ---- the plan's views -----------------------------------------------------------------------------------


def _sample() -> Plan:
    current: Current = {
        ("contacts", "C2"): {"persona": "end_user"},
        ("accounts", "B2"): {"health": "x", "slip_days": 1.0},
        ("accounts", "A1"): {"health": "x"},
    }
    desired = [
        DesiredRecord("contacts", "C2", {"persona": "champion"}),
        acc("B2", slip_days=2, health="y"),
        acc("A1", health="y"),
    ]
    return plan(desired, current, {})


def test_changes_are_sorted_by_kind_record_and_field() -> None:
    """Whatever the input order, changes come sorted by (kind, record id, canonical field)."""
    keys = [(c.kind, c.record_id, c.field) for c in _sample().changes]
    assert keys == [
        ("accounts", "A1", "health"),
        ("accounts", "B2", "health"),
        ("accounts", "B2", "slip_days"),
        ("contacts", "C2", "persona"),
    ]
    assert keys == sorted(keys)


def test_records_and_by_kind_group_changes_per_record() -> None:
    """``records`` maps each record to its fields to write; ``by_kind`` gives writer-ready updates in id order."""
    sample = _sample()
    assert sample.records() == {
        ("accounts", "A1"): {"health": "y"},
        ("accounts", "B2"): {"health": "y", "slip_days": 2},
        ("contacts", "C2"): {"persona": "champion"},
    }
    assert sample.by_kind("accounts") == [
        RecordUpdate("A1", {"health": "y"}),
        RecordUpdate("B2", {"health": "y", "slip_days": 2}),
    ]
    assert sample.by_kind("contacts") == [RecordUpdate("C2", {"persona": "champion"})]


def test_counts() -> None:
    """Counts give records changed per kind and fields changed."""
    counts = _sample().counts
    assert counts.records == {"accounts": 2, "contacts": 1}
    assert (counts.records_total, counts.fields, counts.drift_overwritten, counts.drift_kept) == (3, 4, 0, 0)


def test_apply_plan_returns_a_new_state_with_desired_values() -> None:
    """Applying a plan replaces the planned fields in a copy; the input is untouched."""
    current: Current = {("accounts", "A1"): {"health": "x", "name": "Acme"}}
    result = plan([acc("A1", health="y")], current, {})
    applied = apply_plan(current, result)
    assert applied == {("accounts", "A1"): {"health": "y", "name": "Acme"}}
    assert current == {("accounts", "A1"): {"health": "x", "name": "Acme"}}


def test_plan_accepts_a_one_shot_stream() -> None:
    """Desired records may come from a generator (read once), as the engine streams them."""

    def stream() -> Iterator[DesiredRecord]:
        for number in range(3):
            yield acc(f"A{number}", slip_days=number + 1)

    current: Current = {("accounts", f"A{n}"): {"slip_days": 0.0} for n in range(3)}
    assert plan_changes(stream(), current, {}, SF).counts.fields == 3


# ---- properties -----------------------------------------------------------------------------------------

Wire = Callable[[object, FieldType], object]
_ZONES = st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-8))])


def _sf_datetime(moment: datetime) -> str:
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def salesforce_wire(value: object, ftype: FieldType) -> object:
    """What Salesforce's REST API returns after storing ``value``: JSON doubles, ISO text, ';'-joined options."""
    if value is None:
        return False if ftype == "boolean" else None
    if ftype in ("number", "integer", "currency", "percent"):
        return float(value)  # type: ignore[arg-type]
    if isinstance(value, datetime):
        return _sf_datetime(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list):
        return ";".join(value)
    return value


def hubspot_wire(value: object, ftype: FieldType) -> object:
    """What HubSpot's v3 API returns after storing ``value``: every property as a string, "" when unset."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, date):
        return _hs_moment(value)
    if isinstance(value, list):
        return ";".join(value)
    return str(value) if ftype != "multipicklist" else value


def _hs_moment(value: date) -> str:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return value.isoformat()


@dataclass(frozen=True)
class Case:
    """A mapping and the wire form its CRM returns values in."""

    name: str
    mapping: MappingFile
    wire: Wire
    nullable_checkbox: bool  # Salesforce stores a cleared checkbox as false, so it never desires None

    def __repr__(self) -> str:
        """The case's name, so Hypothesis reports stay readable."""
        return self.name


CASES = [
    Case("salesforce", SF, salesforce_wire, nullable_checkbox=False),
    Case("hubspot", HS, hubspot_wire, nullable_checkbox=True),
    Case("salesforce+all types", _with_every_type(SF), salesforce_wire, nullable_checkbox=False),
    Case("hubspot+all types", _with_every_type(HS), hubspot_wire, nullable_checkbox=True),
]


def canonical(ftype: FieldType, case: Case) -> st.SearchStrategy[object]:
    """Desired values of the right canonical type (what the domain produces), or None to clear."""
    return _canonical(ftype, nullable_checkbox=case.nullable_checkbox)


@functools.cache
def _canonical(ftype: FieldType, *, nullable_checkbox: bool) -> st.SearchStrategy[object]:
    # Numbers stay within doubles' exact-integer range: beyond it a CRM's rendering of 1e300 is not 1e300.
    by_type: dict[str, st.SearchStrategy[object]] = {
        "percent": st.integers(-(10**6), 10**6) | st.floats(-1e12, 1e12, allow_nan=False),
        "number": st.integers(-(10**6), 10**6) | st.floats(-1e12, 1e12, allow_nan=False),
        "integer": st.integers(-(10**9), 10**9),
        "date": st.dates(date(1900, 1, 1), date(2200, 1, 1)),
        "datetime": st.datetimes(datetime(1971, 1, 1), datetime(2200, 1, 1), timezones=_ZONES),  # noqa: DTZ001
        "boolean": st.booleans(),
        "multipicklist": st.lists(st.sampled_from(["Kickoff", "Training", "Go-live"]), unique=True),
    }
    value = by_type.get(ftype, st.text(max_size=12))
    if ftype == "boolean" and not nullable_checkbox:
        return value
    return st.none() | value


def current_value(ftype: FieldType, case: Case) -> st.SearchStrategy[object]:
    """What a pull may hold: the CRM's wire form of some value, or garbage text."""
    return canonical(ftype, case).map(lambda v: case.wire(v, ftype)) | st.text(max_size=4)


@st.composite
def scenario(draw: st.DrawFn, case: Case) -> tuple[list[DesiredRecord], Current, LastWritten]:
    """A desired state, a pulled state (some records missing) and a last-written log over a few records."""
    types = field_types(case.mapping)
    desired: list[DesiredRecord] = []
    current: Current = {}
    last: LastWritten = {}
    for kind in OBJECT_KINDS:
        names = sorted(types[kind])
        for record_id in draw(st.lists(st.sampled_from(["r1", "r2", "r3", "r4", "r5"]), unique=True, max_size=5)):
            chosen = draw(st.lists(st.sampled_from(names), unique=True, max_size=len(names)))
            desired.append(DesiredRecord(kind, record_id, {f: draw(canonical(types[kind][f], case)) for f in chosen}))
            if draw(st.integers(0, 9)) == 0:
                continue  # the CRM no longer has it
            pulled = st.dictionaries(st.sampled_from(names), st.none(), max_size=len(names))
            current[(kind, record_id)] = {f: draw(current_value(types[kind][f], case)) for f in draw(pulled)}
            for name in draw(st.lists(st.sampled_from(names), unique=True)):
                last[(kind, record_id, name)] = draw(canonical(types[kind][name], case))
    return desired, current, last


def apply_through_crm(current: Current, result: Plan, case: Case) -> Current:
    """The pulled state after the CRM stored the plan's values and returned them in its wire form."""
    types = field_types(case.mapping)
    out = {key: dict(fields) for key, fields in current.items()}
    for change in result.changes:
        out[(change.kind, change.record_id)][change.field] = case.wire(change.desired, types[change.kind][change.field])
    return out


@settings(max_examples=150, deadline=None)
@given(case=st.sampled_from(CASES), data=st.data())
def test_applying_the_plan_then_planning_again_is_empty(case: Case, data: st.DataObject) -> None:
    """For any desired and pulled state, planning after the CRM took the plan finds nothing to write (property)."""
    desired, current, last = data.draw(scenario(case))
    first = plan_changes(desired, current, last, case.mapping)
    for after in (apply_plan(current, first), apply_through_crm(current, first, case)):
        again = plan_changes(desired, after, last, case.mapping)
        assert again.changes == ()
        assert again.drift == tuple(d for d in first.drift if d.policy == "keep")


@settings(max_examples=150, deadline=None)
@given(case=st.sampled_from(CASES), data=st.data())
def test_planning_a_record_against_itself_is_empty(case: Case, data: st.DataObject) -> None:
    """A CRM already holding the desired values (in its wire form, or as given) needs no write and shows no drift."""
    desired, _, last = data.draw(scenario(case))
    types = field_types(case.mapping)
    as_given: Current = {(r.kind, r.id): dict(r.fields) for r in desired}
    on_wire: Current = {
        (r.kind, r.id): {f: case.wire(v, types[r.kind][f]) for f, v in r.fields.items()} for r in desired
    }
    assert plan_changes(desired, as_given, last, case.mapping) == Plan()
    assert plan_changes(desired, on_wire, last, case.mapping) == Plan()


@settings(max_examples=100, deadline=None)
@given(case=st.sampled_from(CASES), data=st.data(), size=st.integers(1, 4))
def test_chunked_planning_equals_whole_planning(case: Case, data: st.DataObject, size: int) -> None:
    """Planning chunk by chunk and joining the plans gives the plan of the whole (property)."""
    desired, current, last = data.draw(scenario(case))
    order = data.draw(st.permutations(desired))
    chunks = [order[i : i + size] for i in range(0, len(order), size)]
    joined = Plan.concat(plan_changes(chunk, current, last, case.mapping) for chunk in chunks)
    assert joined == plan_changes(desired, current, last, case.mapping)


@settings(max_examples=100, deadline=None)
@given(case=st.sampled_from(CASES), data=st.data())
def test_every_planned_change_is_a_declared_differing_field(case: Case, data: st.DataObject) -> None:
    """Plans only hold push fields the desired record named, with their CRM names, never twice (property)."""
    desired, current, last = data.draw(scenario(case))
    result = plan_changes(desired, current, last, case.mapping)
    wanted = {(r.kind, r.id, f): v for r in desired for f, v in r.fields.items()}
    keys = [(c.kind, c.record_id, c.field) for c in result.changes]
    assert keys == sorted(set(keys))
    for change in result.changes:
        assert wanted[(change.kind, change.record_id, change.field)] is change.desired
        assert change.crm_field == case.mapping.push_fields(change.kind)[change.field].field
