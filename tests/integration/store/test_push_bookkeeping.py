"""Push-side bookkeeping: values last written, per-record errors, per-CRM state."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import TYPE_CHECKING

import pytest

from connectors.base import WriteResult

if TYPE_CHECKING:
    from sync_daemon.store import Store
    from tests.integration.store.store_builders import FakeClock

CET = timezone(timedelta(hours=1))


def _bad(record_id: str, code: str = "INVALID_FIELD", message: str = "bad value") -> WriteResult:
    return WriteResult(id=record_id, ok=False, code=code, message=message, fields=("health",))


def test_written_values_round_trip_as_canonical_json(store: Store) -> None:
    """Dates and datetimes come back as ISO strings (UTC), lists as lists, None and bools as such."""
    writes = [
        ("a1", "go_live", date(2025, 4, 1)),
        ("a1", "handoff_at", datetime(2025, 4, 1, 10, 0, tzinfo=CET)),
        ("a1", "steps", ("kickoff", "sso")),
        ("a1", "owner", None),
        ("a1", "at_risk", False),
        ("a1", "progress", 42.5),
        ("a2", "progress", 7),
    ]
    assert store.record_written("hubspot", "accounts", writes, "run1") == 7
    assert store.last_written("hubspot", "accounts", ["a1", "a2", "a3"]) == {
        ("accounts", "a1", "go_live"): "2025-04-01",
        ("accounts", "a1", "handoff_at"): "2025-04-01T09:00:00+00:00",
        ("accounts", "a1", "steps"): ["kickoff", "sso"],
        ("accounts", "a1", "owner"): None,
        ("accounts", "a1", "at_risk"): False,
        ("accounts", "a1", "progress"): 42.5,
        ("accounts", "a2", "progress"): 7,
    }


def test_the_latest_write_wins_and_scopes_do_not_mix(store: Store) -> None:
    """A later write of a field overwrites it; other CRMs and kinds keep their own values."""
    store.record_written("hubspot", "accounts", [("x", "health", "on track"), ("x", "health", "at risk")], None)
    store.record_written("hubspot", "contacts", [("x", "persona", "admin")], None)
    store.record_written("salesforce", "accounts", [("x", "health", "off track")], None)
    store.record_written("hubspot", "accounts", [("x", "health", "off track")], "run2")
    assert store.last_written("hubspot", "accounts", ["x"]) == {("accounts", "x", "health"): "off track"}
    assert store.last_written("hubspot", "contacts", ["x"]) == {("contacts", "x", "persona"): "admin"}


def test_last_written_reads_a_large_chunk_of_ids(store: Store) -> None:
    """Reading 1,200 ids (more than one IN-list on SQLite) returns every stored field."""
    ids = [f"003{n:06d}" for n in range(1200)]
    store.record_written("salesforce", "contacts", [(i, "persona", "admin") for i in ids], "run1")
    found = store.last_written("salesforce", "contacts", ids)
    assert len(found) == 1200
    assert store.last_written("salesforce", "contacts", []) == {}


def test_a_value_json_cannot_hold_is_refused_and_nothing_is_written(store: Store) -> None:
    """A NaN or an unknown type names the record and field; the whole call writes nothing."""
    with pytest.raises(ValueError, match="accounts a2 field progress"):
        store.record_written("hubspot", "accounts", [("a1", "progress", 1.0), ("a2", "progress", float("nan"))], None)
    with pytest.raises(TypeError, match=r"accounts a1 field blob: .*bytes"):
        store.record_written("hubspot", "accounts", [("a1", "blob", b"x")], None)
    assert store.last_written("hubspot", "accounts", ["a1", "a2"]) == {}


def test_has_pushed_is_per_crm(store: Store) -> None:
    """has_pushed is False until a value was recorded for that CRM."""
    assert store.has_pushed("hubspot") is False
    store.record_written("hubspot", "accounts", [("a1", "health", "on track")], None)
    assert (store.has_pushed("hubspot"), store.has_pushed("salesforce")) == (True, False)


def test_failures_are_kept_with_the_crm_message_and_counted(store: Store, clock: FakeClock) -> None:
    """A failure stores code, message and fields; a repeat counts an attempt and keeps first_seen."""
    first_seen = clock.now
    results = [_bad("a1"), WriteResult(id="a2", ok=True), _bad("a3", code="", message="")]
    assert store.record_failures("hubspot", "accounts", results, "run1") == 2
    clock.advance(60)
    store.record_failures("hubspot", "accounts", [_bad("a1", message="still bad")], "run2")
    [a1, a3] = store.open_errors("hubspot")
    assert (a1.record_id, a1.code, a1.message, a1.fields, a1.attempts, a1.run_id) == (
        "a1", "INVALID_FIELD", "still bad", ("health",), 2, "run2",
    )  # fmt: skip
    assert (a1.first_seen_at, a1.last_seen_at, a1.status) == (first_seen, clock.now, "open")
    assert (a3.code, a3.message, a3.attempts) == ("UNKNOWN", "", 1)


def test_a_record_that_succeeds_loses_its_error(store: Store) -> None:
    """clear_errors forgets the given records only."""
    store.record_failures("hubspot", "accounts", [_bad("a1"), _bad("a2")], None)
    assert store.clear_errors("hubspot", "accounts", ["a1", "zzz"]) == 1
    assert [e.record_id for e in store.open_errors()] == ["a2"]


def test_errors_are_grouped_by_code_with_recent_examples(store: Store, clock: FakeClock) -> None:
    """errors_by_code puts the largest group first, with at most ``examples`` newest records each."""
    for n in range(4):
        store.record_failures("hubspot", "contacts", [_bad(f"c{n}", code="INVALID_EMAIL")], None)
        clock.advance(1)
    store.record_failures("hubspot", "accounts", [_bad("a1", code="LOCKED")], None)
    store.record_failures("salesforce", "accounts", [_bad("s1", code="LOCKED")], None)
    groups = store.errors_by_code("hubspot", examples=2)
    assert [(g.code, g.count) for g in groups] == [("INVALID_EMAIL", 4), ("LOCKED", 1)]
    assert [e.record_id for e in groups[0].examples] == ["c3", "c2"]
    assert [(g.code, g.count) for g in store.errors_by_code()] == [("INVALID_EMAIL", 4), ("LOCKED", 2)]


def test_dismissed_errors_are_left_out_until_retried(store: Store) -> None:
    """Dismissing moves matching open errors aside (and out of plans); retry reopens them, attempts reset."""
    store.record_failures("hubspot", "contacts", [_bad("c1", code="DUP"), _bad("c2", code="DUP"), _bad("c3")], None)
    assert store.dismiss("hubspot", code="DUP") == 2
    assert store.dismiss("hubspot", record_id="c3", code="OTHER") == 0
    assert store.dismissed_ids("hubspot", "contacts") == {"c1", "c2"}
    assert store.error_counts("hubspot") == {"open": 1, "dismissed": 2}
    assert [e.record_id for e in store.errors_by_code("hubspot")[0].examples] == ["c3"]
    store.record_failures("hubspot", "contacts", [_bad("c1", code="DUP", message="again")], None)
    [c1, c2] = store.dismissed_errors("hubspot")
    assert (c1.status, c1.message, c1.attempts, c2.attempts) == ("dismissed", "again", 2, 1)
    assert store.retry("hubspot", record_id="c1") == 1
    assert store.dismissed_ids("hubspot", "contacts") == {"c2"}
    assert [(e.record_id, e.attempts) for e in store.open_errors("hubspot")] == [("c1", 0), ("c3", 1)]
    assert store.retry("hubspot") == 1


def test_dismissing_needs_a_record_or_a_code(store: Store) -> None:
    """Dismissing with neither filter is refused rather than silencing every error."""
    with pytest.raises(ValueError, match="record id or an error code"):
        store.dismiss("hubspot")


def test_a_crm_can_be_parked_and_unparked(store: Store) -> None:
    """Parking stores until when (UTC) and why; None lifts it; an unknown CRM is not parked."""
    until = datetime(2025, 3, 2, 0, 0, tzinfo=CET)
    assert store.parked_until("hubspot") is None
    store.park("hubspot", until, "DAILY limit reached")
    assert store.parked_until("hubspot") == until
    assert store.parked_until("hubspot").tzinfo is UTC  # type: ignore[union-attr]
    assert store.park_reason("hubspot") == "DAILY limit reached"
    store.park("hubspot", None, None)
    assert (store.parked_until("hubspot"), store.park_reason("hubspot")) == (None, None)


def test_the_safety_warning_is_kept_and_cleared_apart_from_the_park(store: Store) -> None:
    """set_safety_warning stores the valve's figures, None clears it, and neither touches the park."""
    warning = {"changed": 80, "existing": 100, "share": 0.8, "threshold": 0.3}
    until = datetime(2025, 3, 2, tzinfo=UTC)
    store.park("salesforce", until, "budget")
    store.set_safety_warning("salesforce", warning)
    assert store.safety_warning("salesforce") == warning
    assert store.parked_until("salesforce") == until
    store.set_safety_warning("salesforce", None)
    assert store.safety_warning("salesforce") is None
    assert store.parked_until("salesforce") == until
    store.set_safety_warning("hubspot", None)
    assert store.safety_warning("hubspot") is None
