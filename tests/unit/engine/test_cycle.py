"""A cycle against the in-memory connector and a real SQLite store: counts, idempotence, resumption."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest

from connectors.base import AuthError, BudgetExhaustedError, CrmRecord, RetriableError
from sync_daemon.engine import CycleOptions, run_cycle
from tests.fakes import FakeConnector

if TYPE_CHECKING:
    from sync_daemon.store import Store

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
OPTIONS = CycleOptions(overlap=timedelta(minutes=5))


def seeded(n_accounts: int = 7, n_contacts: int = 10) -> FakeConnector:
    fake = FakeConnector()
    for i in range(n_accounts):
        at = NOW - timedelta(days=1, minutes=i)
        fake.put("accounts", CrmRecord(f"a{i:03d}", at, {"name": f"Account {i}"}))
    for i in range(n_contacts):
        at = NOW - timedelta(days=1, seconds=i)
        fields = {"title": "VP Sales" if i % 2 else "Support Agent", "last_name": "Müller"}
        fake.put("contacts", CrmRecord(f"c{i:03d}", at, fields, account_id=f"a{i % n_accounts:03d}"))
    return fake


def cycle(fake: FakeConnector, store: Store, now: datetime = NOW):  # noqa: ANN201 - test helper
    return run_cycle(fake, store, options=OPTIONS, clock=lambda: now)


def test_first_cycle_stores_everything_and_second_stores_nothing(store: Store) -> None:
    """A second cycle with no change in the CRM stores nothing new and only re-reads the overlap window."""
    fake = seeded()
    first = cycle(fake, store)
    assert first.ok
    assert (first.stats["accounts"].stored, first.stats["contacts"].stored) == (7, 10)
    calls_before = fake.calls
    second = cycle(fake, store, NOW + timedelta(hours=1))
    assert (second.stats["accounts"].stored, second.stats["contacts"].stored) == (0, 0)
    assert fake.calls - calls_before <= 6  # the overlap re-read only: a few pages, not the whole org
    assert store.count("contacts", "fake") == 10


def test_a_record_committed_behind_the_cursor_is_picked_up(store: Store) -> None:
    """A change whose timestamp is behind the saved watermark (within the overlap) is seen next cycle."""
    fake = seeded()
    cycle(fake, store)
    newest = max(r.modified_at for r in fake.records["accounts"].values())
    late = CrmRecord("a000", newest - timedelta(minutes=2), {"name": "Renamed"})
    fake.put("accounts", late)
    result = cycle(fake, store, NOW + timedelta(hours=1))
    assert result.stats["accounts"].stored == 1
    record = store.get_record("accounts", "fake", "a000")
    assert record is not None
    assert record["fields"]["name"] == "Renamed"


def test_an_interrupted_pull_resumes_without_loss_or_duplicates(store: Store) -> None:
    """A pull cut short by a spent retry budget resumes from its last committed page next cycle."""
    fake = seeded(n_accounts=10)
    fake.fail_after_pages, fake.failure = 2, RetriableError("503 after retries")
    first = cycle(fake, store)
    assert first.status == "partial"
    assert store.count("accounts", "fake") == 6
    fake.fail_after_pages = None
    second = cycle(fake, store, NOW + timedelta(minutes=10))
    assert second.ok
    assert second.stats["accounts"].resumed
    assert second.stats["accounts"].stored == 4
    assert store.count("accounts", "fake") == 10


@pytest.mark.parametrize(
    ("failure", "status"),
    [
        (BudgetExhaustedError("daily limit"), "partial"),
        (AuthError("credentials refused"), "failed"),
    ],
)
def test_connector_failures_end_the_cycle_with_a_status(store: Store, failure: Exception, status: str) -> None:
    """A spent budget leaves a partial run to resume; refused credentials fail the run; neither crashes."""
    fake = seeded()
    fake.fail_after_pages, fake.failure = 0, failure
    result = cycle(fake, store)
    assert result.status == status
    runs = store.recent_runs(1)
    assert runs[0].status == status
    assert runs[0].error_summary is not None
    assert str(failure) in runs[0].error_summary


def test_contacts_get_a_persona_and_the_run_is_recorded(store: Store) -> None:
    """Personas are classified at pull time and the run history keeps the counts."""
    from sync_daemon.config.models import PersonaRules, TitleRule  # noqa: PLC0415
    from sync_daemon.domain.personas import PersonaClassifier  # noqa: PLC0415

    rules = PersonaRules(role_field=None, titles=[TitleRule(persona="decision_maker", patterns=[r"\bvp\b"])])
    fake = seeded()
    result = run_cycle(
        fake,
        store,
        options=OPTIONS,
        clock=lambda: NOW,
        classifier=PersonaClassifier.from_rules(rules),
    )
    assert result.stats["contacts"].personas == {"decision_maker": 5, "unknown": 5}
    contact = store.get_record("contacts", "fake", "c001")
    assert contact is not None
    assert contact["persona"] == "decision_maker"
    run = store.recent_runs(1)[0]
    assert run.counts["contacts"]["stored"] == 10
    assert run.api_calls == result.api_calls > 0
