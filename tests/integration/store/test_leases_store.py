"""Leases in the store: one holder at a time, renewal, expiry, release, publishing, races, and migration 0007.

Expiry is simulated without sleeping: on SQLite the injected clock moves; on both backends a test can also write
``expires_at`` just before the store's own time of reading (the database's clock on PostgreSQL).
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest
from alembic import command
from sqlalchemy import inspect, update

from sync_daemon.leadership import PgLeadership, SqliteLeadership
from sync_daemon.store import Store
from sync_daemon.store.migrate import alembic_config
from sync_daemon.store.models import LEASES

if TYPE_CHECKING:
    from pathlib import Path

    from tests.integration.store.store_builders import FakeClock

TTL = 30.0
RACERS = 8
ROUNDS = 5
only_sqlite = pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)


def _lapse(store: Store, name: str = "sync") -> None:
    """Make the lease expire now by the store's own clock (a holder that stopped renewing TTL ago)."""
    row = store.lease(name)
    assert row is not None
    with store.engine.begin() as conn:
        conn.execute(update(LEASES).where(LEASES.c.name == name).values(expires_at=row.read_at - timedelta(seconds=1)))


def test_the_first_holder_wins_and_the_second_is_refused(store: Store) -> None:
    """A free lease goes to the first caller for the TTL; a second holder gets None while it is live."""
    assert store.lease("sync") is None
    won = store.acquire_lease("sync", "a", TTL)
    assert won is not None
    assert (won.holder, won.live) == ("a", True)
    assert won.expires_at == won.renewed_at + timedelta(seconds=TTL) == won.acquired_at + timedelta(seconds=TTL)
    assert store.acquire_lease("sync", "b", TTL) is None
    seen = store.lease("sync")
    assert seen is not None
    assert (seen.holder, seen.live, seen.expires_at) == ("a", True, won.expires_at)


def test_leases_with_different_names_are_independent(store: Store) -> None:
    """Holding one lease says nothing about another name."""
    assert store.acquire_lease("sync", "a", TTL) is not None
    assert store.acquire_lease("other", "b", TTL) is not None


def test_renewing_extends_the_expiry_and_keeps_the_acquisition_time(store: Store) -> None:
    """A renewal restarts the TTL from the store's now; acquired_at stays that of the first acquisition."""
    first = store.acquire_lease("sync", "a", TTL)
    assert first is not None
    with store.engine.begin() as conn:  # most of the TTL has gone by
        conn.execute(update(LEASES).values(expires_at=first.expires_at - timedelta(seconds=TTL - 1)))
    renewed = store.acquire_lease("sync", "a", TTL)
    assert renewed is not None
    assert renewed.expires_at == renewed.read_at + timedelta(seconds=TTL)
    assert renewed.expires_at >= first.expires_at
    assert renewed.acquired_at == first.acquired_at


def test_another_holder_takes_over_once_the_lease_has_expired(store: Store) -> None:
    """After the holder stops renewing, the lease expires and the next caller gets it, with a new acquired_at."""
    first = store.acquire_lease("sync", "a", TTL)
    assert first is not None
    _lapse(store)
    lapsed = store.lease("sync")
    assert lapsed is not None
    assert not lapsed.live
    taken = store.acquire_lease("sync", "b", TTL)
    assert taken is not None
    assert taken.holder == "b"
    assert taken.acquired_at == taken.read_at
    assert store.acquire_lease("sync", "a", TTL) is None


def test_a_holder_taking_back_its_lapsed_lease_restarts_acquired_at(store: Store) -> None:
    """A lapse is a break in holding: the same holder re-acquiring gets a new acquired_at."""
    first = store.acquire_lease("sync", "a", TTL)
    assert first is not None
    _lapse(store)
    again = store.acquire_lease("sync", "a", TTL)
    assert again is not None
    assert again.acquired_at == again.read_at


@only_sqlite
def test_on_sqlite_the_injected_clock_decides_expiry(store: Store, clock: FakeClock) -> None:
    """Live up to and including expires_at; taken over the moment after."""
    assert store.acquire_lease("sync", "a", TTL) is not None
    clock.advance(TTL)
    assert store.acquire_lease("sync", "b", TTL) is None
    clock.advance(0.001)
    taken = store.acquire_lease("sync", "b", TTL)
    assert taken is not None
    assert taken.acquired_at == clock.now


def test_release_lets_another_holder_acquire_at_once(store: Store) -> None:
    """Releasing expires the lease immediately; only the holder can release it."""
    assert store.acquire_lease("sync", "a", TTL) is not None
    assert not store.release_lease("sync", "b")
    assert store.acquire_lease("sync", "b", TTL) is None
    assert store.release_lease("sync", "a")
    released = store.lease("sync")
    assert released is not None
    assert not released.live
    taken = store.acquire_lease("sync", "b", TTL)
    assert taken is not None
    assert taken.holder == "b"


def test_only_the_live_holder_publishes(store: Store) -> None:
    """Publishing stores the holder's info; a non-holder, or a holder whose lease lapsed, changes nothing."""
    assert not store.publish_lease("sync", "a", {"x": 1}), "no lease yet"
    assert store.acquire_lease("sync", "a", TTL) is not None
    info = {"next_runs": {"cycle": "2025-03-01T09:15:00+00:00"}, "version": "1.2.0", "host": "h1"}
    assert store.publish_lease("sync", "a", info)
    assert not store.publish_lease("sync", "b", {"version": "evil"})
    _lapse(store)
    assert not store.publish_lease("sync", "a", {"version": "late"})
    row = store.lease("sync")
    assert row is not None
    assert row.info == info


def test_renewal_keeps_the_published_info(store: Store) -> None:
    """Renewing does not wipe what the holder published."""
    store.acquire_lease("sync", "a", TTL)
    store.publish_lease("sync", "a", {"version": "1"})
    store.acquire_lease("sync", "a", TTL)
    row = store.lease("sync")
    assert row is not None
    assert row.info == {"version": "1"}


def test_a_ttl_must_be_positive(store: Store) -> None:
    """A lease for zero seconds is a mistake, refused before any write."""
    with pytest.raises(ValueError, match="TTL"):
        store.acquire_lease("sync", "a", 0)
    assert store.lease("sync") is None


@only_sqlite
def test_on_sqlite_the_lock_holder_takes_a_stale_row(store: Store) -> None:
    """take_lease overwrites a live row left by a killed process (the file lock proves it gone)."""
    assert store.acquire_lease("sync", "killed", TTL) is not None
    taken = store.take_lease("sync", "me", TTL)
    assert (taken.holder, taken.live, taken.acquired_at) == ("me", True, taken.read_at)
    again = store.take_lease("sync", "me", TTL)
    assert again.acquired_at == taken.acquired_at


@only_sqlite
def test_the_sqlite_leadership_mirrors_into_a_real_store(store: Store, store_url: str, tmp_path: Path) -> None:
    """On SQLite, status sees the lock holder in the lease row, with what it published, until it releases."""
    assert store.acquire_lease("sync", "killed", TTL) is not None
    lock = SqliteLeadership(tmp_path / "state.db", holder="me", store=store, ttl_seconds=TTL)
    try:
        assert lock.try_lead()
        lock.publish({"version": "2"})
        row = store.lease("sync")
        assert row is not None
        assert (row.holder, row.live, row.info) == ("me", True, {"version": "2"})
    finally:
        lock.release()
    released = store.lease("sync")
    assert released is not None
    assert not released.live


@pytest.mark.parametrize("store_url", ["postgresql"], indirect=True)
@pytest.mark.postgres
def test_postgresql_refuses_an_unconditional_take(store: Store) -> None:
    """On PostgreSQL only the conditional acquire decides: take_lease raises and changes nothing."""
    assert store.acquire_lease("sync", "a", TTL) is not None
    with pytest.raises(ValueError, match="SQLite"):
        store.take_lease("sync", "b", TTL)
    row = store.lease("sync")
    assert row is not None
    assert row.holder == "a"


@pytest.mark.parametrize("store_url", ["postgresql"], indirect=True)
@pytest.mark.postgres
def test_postgresql_decides_by_its_own_clock_not_the_hosts(store_url: str, store: Store) -> None:
    """A replica whose clock runs a day ahead still finds the lease live: the database's clock decides."""
    assert store.acquire_lease("sync", "a", TTL) is not None
    skewed = Store(store_url, clock=lambda: datetime.now(UTC) + timedelta(days=1))
    try:
        assert skewed.acquire_lease("sync", "b", TTL) is None
        row = skewed.lease("sync")
        assert row is not None
        assert row.live
    finally:
        skewed.close()


def _race(racers: list[PgLeadership]) -> list[bool]:
    """Release every racer at once through a barrier; each calls try_lead once."""
    barrier = threading.Barrier(len(racers))

    def run(leadership: PgLeadership) -> bool:
        barrier.wait()
        return leadership.try_lead()

    with ThreadPoolExecutor(len(racers)) as pool:
        return list(pool.map(run, racers))


@pytest.mark.parametrize("store_url", ["postgresql"], indirect=True)
@pytest.mark.postgres
def test_concurrent_candidates_on_postgresql_elect_exactly_one(store: Store) -> None:
    """Eight threads racing for a missing, then an expired, lease: each round exactly one wins, the store agrees."""
    racers = [PgLeadership(store, holder=f"h{i}", ttl_seconds=TTL) for i in range(RACERS)]
    for round_no in range(ROUNDS):
        results = _race(racers)
        assert results.count(True) == 1, f"round {round_no}: {results}"
        winner = racers[results.index(True)]
        row = store.lease("sync")
        assert row is not None
        assert (row.holder, row.live) == (winner.holder, True)
        assert [r.is_leader for r in racers].count(True) == 1
        _lapse(store)


def test_migration_0007_goes_down_and_up(store: Store) -> None:
    """Downgrading to 0006 drops the leases table and keeps the rest; upgrading brings it back, empty."""
    store.acquire_lease("sync", "a", TTL)
    with store.engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0006")
    tables = set(inspect(store.engine).get_table_names())
    assert "leases" not in tables
    assert "assessment_sends" in tables
    assert store.schema_version() == "0006"
    store.migrate()
    assert store.schema_version() == "0007"
    assert "leases" in set(inspect(store.engine).get_table_names())
    assert store.lease("sync") is None
