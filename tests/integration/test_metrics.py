"""The metrics an operator scrapes reflect the store: last cycle, rejected records, outbox, safety valve, parking."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from click.testing import CliRunner
from prometheus_client.parser import text_string_to_metric_families

from connectors.base import WriteResult
from sync_daemon.cli import main
from sync_daemon.metrics import exposition

if TYPE_CHECKING:
    from pathlib import Path

    from sync_daemon.store import Store

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
