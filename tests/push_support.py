"""What the push acceptance tests share: a fixed desired state, a push cycle on fake time, CLI plumbing.

The domain that will produce desired values (plans, handoff, assessments) comes in later issues; until then
:class:`FixedProvider` stands in for it, desiring exactly the values a test names, so every write a cycle
makes can be predicted and counted.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from click.testing import CliRunner

from sync_daemon.cli import main
from sync_daemon.domain.diff import DesiredRecord
from sync_daemon.engine import CycleOptions, CycleResult, PushSetup, run_cycle
from sync_daemon.push import PushOptions

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping, Sequence
    from pathlib import Path

    from connectors.base import ObjectKind
    from sync_daemon.store import Store
    from tests.conformance.drivers import Driver

BATCH = {"salesforce": 200, "hubspot": 100}  # records per batched field-update call (CRM_NOTES.md)
# The code each CRM gives a record its validation rules refuse: Salesforce per record; HubSpot the whole
# batch (400 VALIDATION_ERROR), which the connector splits until the record stands alone.
RULE_CODE = {"salesforce": "FIELD_CUSTOM_VALIDATION_EXCEPTION", "hubspot": "VALIDATION_ERROR"}
CYCLE_GAP_SECONDS = 60


@dataclass
class FixedProvider:
    """A :class:`sync_daemon.push.DesiredStateProvider` that desires exactly the values it was given."""

    values: dict[tuple[ObjectKind, str], dict[str, object]] = field(default_factory=dict)

    def want(self, kind: ObjectKind, ids: Iterable[str], **fields: object) -> FixedProvider:
        """Desire ``fields`` on every record of ``ids`` (added to what it already desires); returns self."""
        for record_id in ids:
            self.values.setdefault((kind, record_id), {}).update(fields)
        return self

    def desired(self, kind: ObjectKind, rows: Sequence[Mapping[str, Any]]) -> Iterator[DesiredRecord]:
        """The desired fields of the rows it has values for; other rows are left alone."""
        for row in rows:
            fields = self.values.get((kind, row["id"]))
            if fields:
                yield DesiredRecord(kind, row["id"], dict(fields))


def push_cycle(
    driver: Driver, store: Store, provider: FixedProvider | None = None, *, dry_run: bool = False
) -> CycleResult:
    """One whole cycle (pull, plan, push) with a fresh connector, forced past the safety valve.

    The safety valve has its own tests; here it would only stop the first backfill. Fake time moves on
    after the cycle, so the next one is a later cycle as the scheduler would run it.
    """
    setup = PushSetup(driver.mapping, [provider or FixedProvider()], PushOptions(force=True))
    connector = driver.connector()
    try:
        return run_cycle(
            connector,
            store,
            options=CycleOptions(overlap=timedelta(minutes=5), dry_run=dry_run),
            clock=driver.time.now,
            monotonic=driver.time.monotonic,
            push_setup=setup,
        )
    finally:
        connector.close()
        driver.time.advance(CYCLE_GAP_SECONDS)


def customer_accounts(driver: Driver) -> list[str]:
    """The accounts a pull stores, in the order a plan writes them (by id)."""
    return sorted(driver.in_scope_ids("accounts"))


def bisection_calls(size: int, bad: set[int]) -> int:
    """Calls HubSpot's whole-batch 400 costs: one per batch sent, halves (larger first) until isolated.

    The connector's documented splitting (connectors/hubspot/writes.py): a batch holding a bad record is
    refused and split into ``ceil(n/2)`` and ``floor(n/2)``; a batch without one lands in one call.
    """
    if not bad or size == 1:
        return 1
    middle = (size + 1) // 2
    left = {i for i in bad if i < middle}
    right = {i - middle for i in bad if i >= middle}
    return 1 + bisection_calls(middle, left) + bisection_calls(size - middle, right)


def cli(args: list[str], tmp_path: Path, database_url: str) -> str:
    """Run ``sync-daemon ARGS`` on the store at ``database_url``; its output (exit 0 asserted)."""
    env = {
        "SYNC_DATABASE_URL": database_url,
        "SYNC_LOG_FORMAT": "json",
        "SYNC_SECRETS_DIR": str(tmp_path / "no-secrets"),
    }
    result = CliRunner().invoke(main, args, env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def cli_json(args: list[str], tmp_path: Path, database_url: str) -> dict[str, Any]:
    """The JSON document a ``--output json`` command prints (log lines around it are skipped)."""
    output = cli(args, tmp_path, database_url)
    data, _ = json.JSONDecoder().raw_decode(output, output.index("{\n"))
    assert isinstance(data, dict), output
    return data
