"""Whole cycles (connector + store + cursors) against both sandbox CRMs, with the real client libraries.

These are the issue's acceptance points for the read side: a second cycle with no change stores nothing and
only reads the incremental window; changes after a sync are picked up, including a commit backdated
behind the saved cursor and a record beyond HubSpot's 10,000-result search window; and the 20,000-account,
100,000-contact pull completes (marked slow).
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import pytest

from sync_daemon.engine import CycleOptions, CycleResult, run_cycle
from tests.conformance.drivers import Driver, start_driver

if TYPE_CHECKING:
    from collections.abc import Iterator

    from sync_daemon.store import Store

CRMS = ["salesforce", "hubspot"]
OPTIONS = CycleOptions(overlap=timedelta(minutes=5))


def cycle(driver: Driver, store: Store) -> CycleResult:
    connector = driver.connector()
    try:
        return run_cycle(connector, store, options=OPTIONS, clock=driver.time.now, monotonic=driver.time.monotonic)
    finally:
        connector.close()


def run_twice(driver: Driver, store: Store) -> tuple[CycleResult, CycleResult]:
    first = cycle(driver, store)
    driver.time.advance(3600)
    return first, cycle(driver, store)


def assert_full_then_quiet(driver: Driver, store: Store, first: CycleResult, second: CycleResult) -> None:
    assert first.ok, first.error
    for kind in ("accounts", "contacts"):
        expected = len(driver.in_scope_ids(kind))  # type: ignore[arg-type]
        assert first.stats[kind].stored == expected
        assert store.count(kind, driver.crm) == expected
        assert second.stats[kind].stored == 0
    assert second.ok
    # Only the incremental window is read again: one query (and, for HubSpot, the archived sweep) per object.
    assert second.api_calls <= 6, second.api_calls
    assert driver.app.count() >= first.api_calls + second.api_calls - 2


@pytest.fixture(params=CRMS)
def small(request: pytest.FixtureRequest) -> Iterator[Driver]:
    d = start_driver(request.param, accounts=300, contacts=1_200)
    yield d
    d.server.stop()


def test_second_cycle_without_change_stores_nothing(small: Driver, store: Store) -> None:
    """A cycle run twice with no CRM change stores nothing the second time and makes a handful of reads."""
    first, second = run_twice(small, store)
    assert_full_then_quiet(small, store, first, second)
    runs = store.recent_runs(2)
    assert [r.api_calls for r in runs] == [second.api_calls, first.api_calls]


@pytest.fixture(params=CRMS)
def past_search_cap(request: pytest.FixtureRequest) -> Iterator[Driver]:
    d = start_driver(request.param, accounts=200, contacts=12_000)
    yield d
    d.server.stop()


def test_changes_after_a_sync_are_picked_up(past_search_cap: Driver, store: Store) -> None:
    """A fresh change, a commit backdated behind the cursor and a contact beyond 10,000 results all land."""
    d = past_search_cap
    first = cycle(d, store)
    assert first.ok, first.error
    newest = max(r["modified_at"] for r in store.iter_records("contacts", d.crm))
    ids = sorted(d.in_scope_ids("contacts"), key=lambda i: (len(i), i))
    fresh, backdated, far = ids[5], ids[6], ids[11_500]  # ``far`` sits past the 10,000th search result
    d.time.advance(600)
    d.rename("contacts", fresh, "Fresh")
    d.rename("contacts", backdated, "Backdated", at=newest - timedelta(minutes=3))
    d.rename("contacts", far, "Faraway")
    second = cycle(d, store)
    assert second.ok, second.error
    assert second.stats["contacts"].stored == 3
    for record_id, name in ((fresh, "Fresh"), (backdated, "Backdated"), (far, "Faraway")):
        stored = store.get_record("contacts", d.crm, record_id)
        assert stored is not None
        assert stored["fields"]["last_name"] == name


@pytest.mark.slow
@pytest.mark.parametrize("crm", CRMS)
def test_pull_of_20k_accounts_and_100k_contacts(crm: str, store: Store) -> None:
    """The issue's scale: 20,000 accounts and 100,000 contacts pull completely; a re-run stores nothing."""
    d = start_driver(crm, accounts=20_000, contacts=100_000)
    try:
        first, second = run_twice(d, store)
        assert_full_then_quiet(d, store, first, second)
    finally:
        d.server.stop()
