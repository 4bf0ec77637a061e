"""The metrics an operator scrapes reflect the store: last cycle, rejected records, outbox, safety valve, parking.

And the totals over the run history and the assessment tables, summed by the database (JSON paths differ between
SQLite and PostgreSQL, so those run on both backends).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from click.testing import CliRunner
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from connectors.base import ApiUsage, WriteResult
from sync_daemon.cli import main
from sync_daemon.metrics import exposition, registry_for
from sync_daemon.ops import DaemonState
from sync_daemon.store import Store
from sync_daemon.store.assessments import LeftRow, SendRow
from tests.integration.store import conftest as store_fixtures

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

# The store suite's fixtures: the totals on SQLite and on a throwaway PostgreSQL database.
postgres_database = store_fixtures.postgres_database
store_url = store_fixtures.store_url

NOW = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def seed_state(store: Store) -> None:
    run = store.start_run("salesforce", "sync", False, NOW)  # noqa: FBT003 - positional as the API takes it
    store.finish_run(run, status="stopped", finished_at=NOW + timedelta(seconds=3), counts={}, api_calls=7, errors=0)
    store.set_safety_warning("salesforce", {"kind": "contacts", "reason": "first backfill"})
    failures = [
        WriteResult(f"003{i}", ok=False, code="FIELD_CUSTOM_VALIDATION_EXCEPTION", message="no") for i in range(3)
    ]
    store.record_failures("salesforce", "contacts", failures, run)
    with store.transaction() as conn:
        store.enqueue(conn, key="note:1", crm="salesforce", kind="note", payload={}, priority=3, now=NOW)
    store.park("salesforce", datetime(2999, 1, 1, tzinfo=UTC), "spent")


def test_exposition_reflects_the_store(store: Store) -> None:
    """Each gauge carries what the store holds, and the text parses with the Prometheus client's parser."""
    seed_state(store)
    got = samples(exposition(store))
    assert got[("sync_last_cycle_status", (("crm", "salesforce"), ("status", "stopped")))] == 1.0
    assert got[("sync_last_cycle_status", (("crm", "salesforce"), ("status", "ok")))] == 0.0
    assert got[("sync_last_cycle_api_calls", (("crm", "salesforce"),))] == 7.0
    assert got[("sync_record_errors_open", (("code", "FIELD_CUSTOM_VALIDATION_EXCEPTION"),))] == 3.0
    assert got[("sync_outbox_intents", (("status", "pending"),))] == 1.0
    assert got[("sync_safety_valve_stopped", (("crm", "salesforce"),))] == 1.0
    assert got[("sync_budget_parked", (("crm", "salesforce"),))] == 1.0


def test_cleared_warning_reads_zero(store: Store) -> None:
    """Once the valve is passed and the park has ended, both gauges read 0."""
    seed_state(store)
    store.set_safety_warning("salesforce", None)
    store.park("salesforce", None, None)
    got = samples(exposition(store))
    assert got[("sync_safety_valve_stopped", (("crm", "salesforce"),))] == 0.0
    assert got[("sync_budget_parked", (("crm", "salesforce"),))] == 0.0


def test_metrics_command_prints_the_exposition(store: Store, tmp_path: Path) -> None:
    """`sync-daemon metrics` prints the same text for the configured store."""
    seed_state(store)
    url = str(store.engine.url)
    env = {"SYNC_DATABASE_URL": url, "SYNC_SECRETS_DIR": str(tmp_path / "none"), "SYNC_LOG_FORMAT": "json"}
    result = CliRunner().invoke(main, ["metrics"], env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert samples(result.output)[("sync_safety_valve_stopped", (("crm", "salesforce"),))] == 1.0


@pytest.fixture
def any_store(store_url: str) -> Iterator[Store]:
    """A migrated store on each backend."""
    opened = Store.open(store_url)
    yield opened
    opened.close()


def run(store: Store, crm: str, status: str, counts: dict[str, Any], api_calls: int, *, dry_run: bool = False) -> None:
    run_id = store.start_run(crm, "sync", dry_run, NOW)
    store.finish_run(run_id, status=status, finished_at=NOW + timedelta(seconds=4), counts=counts,
                     api_calls=api_calls, errors=0)  # fmt: skip


def cycle_counts(
    pulled: tuple[int, int], written: dict[str, int], *, drift: tuple[int, int] = (0, 0)
) -> dict[str, Any]:
    """Counts shaped as the engine stores them (pull stats per kind, then the push's)."""
    push = {"written": written, "failed": {"contacts": 1} if written else {}, "drift_overwritten": drift[0],
            "drift_kept": drift[1], "write_calls": 2, "planned": written, "stopped": None}  # fmt: skip
    out: dict[str, Any] = {kind: {"pulled": n, "stored": n, "api_calls": 1, "personas": {}}
                           for kind, n in zip(("accounts", "contacts"), pulled, strict=True)}  # fmt: skip
    return out | {"push": push}


def seed_history(store: Store) -> None:
    """Two live cycles, a dry run, a failure and one still running on Salesforce; one cycle on HubSpot."""
    run(store, "salesforce", "ok", cycle_counts((10, 20), {"accounts": 3, "contacts": 5}, drift=(2, 1)), 7)
    run(store, "salesforce", "partial", cycle_counts((4, 6), {"contacts": 2}), 5)
    run(store, "salesforce", "ok", cycle_counts((4, 0), {}, drift=(5, 0)), 3, dry_run=True)  # drift not acted on
    run(store, "salesforce", "failed", {}, 1)
    store.start_run("salesforce", "sync", False, NOW + timedelta(minutes=1))  # noqa: FBT003 - the API's positional
    run(store, "hubspot", "ok", cycle_counts((1, 1), {"accounts": 1}), 12)


def seed_assessments(store: Store) -> None:
    day = date(2026, 5, 4)
    for contact, kind in (("c1", "onboarding"), ("c2", "onboarding"), ("c1", "relationship")):
        row = SendRow(contact, kind, 0 if kind == "onboarding" else 1, "a1", "champion", "crm_fields", day, day, NOW,
                      f"assessment:salesforce:{contact}:{kind}", 1)  # fmt: skip
        assert store.record_send(None, "salesforce", row)
    store.record_left("salesforce", [
        LeftRow("c3", "onboarding", 0, "a1", "waiting", "daily cap: 20 a day in all; it waits for the next day", NOW),
        LeftRow("c4", "onboarding", 0, "a1", "waiting", "daily cap: 20 a day in all; it waits for the next day", NOW),
        LeftRow("c5", "onboarding", 0, "a2", "skipped", "persona end_user does not receive onboarding", NOW),
    ])  # fmt: skip


def test_totals_over_the_run_history(any_store: Store) -> None:
    """Counters sum every finished run per CRM: cycles by outcome, API calls, records, drift of live runs only."""
    seed_history(any_store)
    got = samples(exposition(any_store))
    sf, hs = ("crm", "salesforce"), ("crm", "hubspot")
    assert got[("sync_cycles_total", (sf, ("status", "ok")))] == 2.0
    assert got[("sync_cycles_total", (sf, ("status", "partial")))] == 1.0
    assert got[("sync_cycles_total", (sf, ("status", "failed")))] == 1.0
    assert ("sync_cycles_total", (sf, ("status", "running"))) not in got
    assert got[("sync_cycles_total", (hs, ("status", "ok")))] == 1.0
    assert got[("sync_api_calls_total", (sf,))] == 16.0
    assert got[("sync_api_calls_total", (hs,))] == 12.0
    assert got[("sync_records_pulled_total", (sf, ("kind", "accounts")))] == 18.0
    assert got[("sync_records_pulled_total", (sf, ("kind", "contacts")))] == 26.0
    assert got[("sync_records_written_total", (sf, ("kind", "accounts")))] == 3.0
    assert got[("sync_records_written_total", (sf, ("kind", "contacts")))] == 7.0
    assert got[("sync_records_written_total", (hs, ("kind", "accounts")))] == 1.0
    assert got[("sync_records_rejected_total", (sf, ("kind", "contacts")))] == 2.0
    assert got[("sync_drift_total", (("action", "overwritten"), sf))] == 2.0
    assert got[("sync_drift_total", (("action", "kept"), sf))] == 1.0
    assert got[("sync_last_cycle_status", (sf, ("status", "running")))] == 1.0
    assert got[("sync_last_cycle_duration_seconds", (sf,))] == 4.0  # the last finished one


def test_assessments_sent_and_left_out(any_store: Store) -> None:
    """Sends count by kind; the latest look's left-out contacts count by status and the reason's head."""
    seed_assessments(any_store)
    got = samples(exposition(any_store))
    sf = ("crm", "salesforce")
    assert got[("sync_assessments_sent_total", (sf, ("kind", "onboarding")))] == 2.0
    assert got[("sync_assessments_sent_total", (sf, ("kind", "relationship")))] == 1.0
    assert got[("sync_assessments_left_out", (sf, ("reason", "daily cap"), ("status", "waiting")))] == 2.0
    reason = "persona end_user does not receive onboarding"
    assert got[("sync_assessments_left_out", (sf, ("reason", reason), ("status", "skipped")))] == 1.0


def test_the_process_state_adds_role_and_budget(store: Store) -> None:
    """With the daemon's state: its role (one of four set) and the budget its connector last reported."""
    state = DaemonState(started_at=NOW)
    state.set_role("standby")
    state.record_usage("hubspot", ApiUsage(calls=30, used=400, limit=1000))
    state.record_usage("salesforce", ApiUsage(calls=3))  # no daily figures reported: no gauge
    got = samples(generate_latest(registry_for(store, lambda: NOW, state=state)).decode())
    assert [labels for (name, labels), v in got.items() if name == "sync_daemon_role" and v == 1] == [
        (("role", "standby"),)
    ]
    assert got[("sync_api_budget_remaining", (("crm", "hubspot"),))] == 600.0
    assert got[("sync_api_budget_limit", (("crm", "hubspot"),))] == 1000.0
    assert ("sync_api_budget_remaining", (("crm", "salesforce"),)) not in got
    assert not any(name == "sync_daemon_role" for name, _ in samples(exposition(store)))
