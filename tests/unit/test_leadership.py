"""Leadership: the SQLite single-process lock, the PostgreSQL lease holder's own deadline, and the choice by URL."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from sync_daemon.leadership import (
    MARGIN_SHARE,
    AnotherInstanceError,
    PgLeadership,
    SqliteLeadership,
    holder_id,
    leadership_for,
    sqlite_file,
)
from sync_daemon.store.leases import LeaseRow
from tests.faketime import FakeTime

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping

ROOT = Path(__file__).resolve().parents[2]
TTL = 30.0
T0 = datetime(2026, 2, 2, 15, 0, tzinfo=UTC)
# A child that takes the lock, says so, and holds it until its stdin closes (or it is killed).
CHILD = """
import sys
from sync_daemon.leadership import SqliteLeadership
lock = SqliteLeadership(sys.argv[1], holder="child")
print("locked", flush=True)
sys.stdin.read()
lock.release()
"""


def _unreachable() -> OperationalError:
    return OperationalError("UPDATE leases ...", {}, ConnectionRefusedError("connection refused"))


@dataclass
class FakeLeaseStore:
    """A lease store that grants, refuses or fails as told, and records every call."""

    grant: bool = True
    fail: bool = False
    on_acquire: Callable[[], None] | None = None
    calls: list[tuple[str, ...]] = field(default_factory=list)
    published: list[dict[str, Any]] = field(default_factory=list)

    def acquire_lease(self, name: str, holder: str, ttl_seconds: float) -> LeaseRow | None:
        """Grant, refuse or fail as told (after ``on_acquire``: a slow round trip)."""
        self.calls.append(("acquire", name, holder))
        if self.on_acquire is not None:
            self.on_acquire()
        if self.fail:
            raise _unreachable()
        return _row(name, holder, ttl_seconds) if self.grant else None

    def take_lease(self, name: str, holder: str, ttl_seconds: float) -> LeaseRow:
        """Take it, or fail as told."""
        self.calls.append(("take", name, holder))
        if self.fail:
            raise _unreachable()
        return _row(name, holder, ttl_seconds)

    def release_lease(self, name: str, holder: str) -> bool:
        """Release it, or fail as told."""
        self.calls.append(("release", name, holder))
        if self.fail:
            raise _unreachable()
        return True

    def publish_lease(self, name: str, holder: str, info: Mapping[str, Any]) -> bool:
        """Keep what was published."""
        self.calls.append(("publish", name, holder))
        self.published.append(dict(info))
        return True


def _row(name: str, holder: str, ttl: float) -> LeaseRow:
    return LeaseRow(name, holder, T0, T0, T0 + timedelta(seconds=ttl), None, T0)


def _wait_for_line(child: subprocess.Popen[str], wanted: str) -> bool:
    """Read the child's stdout (its log lines included) until ``wanted``; False if it ends first."""
    assert child.stdout is not None
    return any(line.strip() == wanted for line in child.stdout)


@pytest.fixture
def time_() -> FakeTime:
    return FakeTime()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "state.db"


@pytest.fixture
def held(db_path: Path) -> Iterator[SqliteLeadership]:
    """The lock on ``db_path``, released after the test."""
    lock = SqliteLeadership(db_path, holder="first")
    yield lock
    lock.release()


def _pg(store: FakeLeaseStore, time_: FakeTime) -> PgLeadership:
    return PgLeadership(store, holder="me", ttl_seconds=TTL, clock=time_.monotonic)


# --- PostgreSQL: the holder's own deadline ------------------------------------------------------------------------


def test_a_granted_lease_makes_the_process_leader(time_: FakeTime) -> None:
    """try_lead is True when the store grants the lease, and is_leader stays True until the deadline."""
    leadership = _pg(FakeLeaseStore(), time_)
    assert not leadership.is_leader
    assert leadership.try_lead()
    time_.advance(TTL * (1 - MARGIN_SHARE) - 0.001)
    assert leadership.is_leader


def test_a_holder_that_cannot_renew_stands_down_before_the_ttl(time_: FakeTime) -> None:
    """With the database unreachable, renewals fail quietly and the holder turns standby before its lease expires."""
    store = FakeLeaseStore()
    leadership = _pg(store, time_)
    assert leadership.try_lead()
    store.fail = True
    time_.advance(TTL / 3)
    assert leadership.try_lead(), "one failed renewal leaves the deadline of the last good one"
    time_.advance(TTL * (1 - MARGIN_SHARE) - TTL / 3)
    assert not leadership.is_leader
    assert not leadership.try_lead()
    assert ("acquire", "sync", "me") in store.calls[-1:]


def test_the_deadline_counts_from_when_the_renewal_was_sent(time_: FakeTime) -> None:
    """A slow reply does not extend the holder's deadline: it runs from the send, which the database stamped later."""
    store = FakeLeaseStore(on_acquire=lambda: time_.advance(5.0))
    leadership = _pg(store, time_)
    assert leadership.try_lead()
    time_.advance(TTL * (1 - MARGIN_SHARE) - 5.0)
    assert not leadership.is_leader


def test_a_renewal_extends_the_deadline(time_: FakeTime) -> None:
    """Each won renewal moves the deadline to its own send time + TTL - margin."""
    leadership = _pg(FakeLeaseStore(), time_)
    leadership.try_lead()
    time_.advance(TTL / 2)
    assert leadership.try_lead()
    time_.advance(TTL / 2)
    assert leadership.is_leader


def test_a_refused_renewal_makes_a_leader_standby_at_once(time_: FakeTime) -> None:
    """When another process holds the lease (the store says so), this one is standby immediately."""
    store = FakeLeaseStore()
    leadership = _pg(store, time_)
    assert leadership.try_lead()
    store.grant = False
    assert not leadership.try_lead()
    assert not leadership.is_leader


def test_release_gives_the_lease_back_and_only_a_holder_releases(time_: FakeTime) -> None:
    """release() expires the lease in the store and ends the lead; a standby's release asks nothing of the store."""
    store = FakeLeaseStore(grant=False)
    leadership = _pg(store, time_)
    leadership.try_lead()
    leadership.release()
    assert ("release", "sync", "me") not in store.calls
    store.grant = True
    leadership.try_lead()
    leadership.release()
    assert store.calls[-1] == ("release", "sync", "me")
    assert not leadership.is_leader


def test_release_survives_an_unreachable_database(time_: FakeTime) -> None:
    """A release that cannot reach the database still ends the lead (the lease then lapses by its TTL)."""
    store = FakeLeaseStore()
    leadership = _pg(store, time_)
    leadership.try_lead()
    store.fail = True
    leadership.release()
    assert not leadership.is_leader


def test_only_the_leader_publishes(time_: FakeTime) -> None:
    """publish() reaches the store while leading, and is dropped on standby."""
    store = FakeLeaseStore(grant=False)
    leadership = _pg(store, time_)
    leadership.try_lead()
    leadership.publish({"next_runs": ["a"]})
    assert store.published == []
    store.grant = True
    leadership.try_lead()
    leadership.publish({"next_runs": ["b"]})
    assert store.published == [{"next_runs": ["b"]}]


def test_renewals_happen_three_times_per_ttl_and_the_ttl_must_be_positive(time_: FakeTime) -> None:
    """The renewal cadence leaves room for two failed renewals; a TTL of zero is refused."""
    assert _pg(FakeLeaseStore(), time_).renew_interval_seconds == TTL / 3
    with pytest.raises(ValueError, match="ttl_seconds"):
        PgLeadership(FakeLeaseStore(), holder="me", ttl_seconds=0, clock=time_.monotonic)


# --- SQLite: one process ------------------------------------------------------------------------------------------


def test_a_second_instance_in_the_same_process_is_refused(held: SqliteLeadership, db_path: Path) -> None:
    """A flock belongs to the open file: a second lock on the same file, even in this process, raises."""
    with pytest.raises(AnotherInstanceError) as caught:
        SqliteLeadership(db_path, holder="second")
    message = str(caught.value)
    assert f"pid {os.getpid()} on host {socket.gethostname()}" in message
    assert str(db_path) in message
    assert "SQLite allows one process" in message
    assert "SYNC_DATABASE_URL=postgresql+psycopg://" in message
    assert (caught.value.pid, caught.value.path) == (os.getpid(), db_path)


def test_the_lock_file_names_its_holder_and_is_kept_empty_after_release(db_path: Path) -> None:
    """The lock file beside the database holds the pid and host; a release empties it and frees the lock."""
    lock = SqliteLeadership(db_path, holder="first")
    assert lock.lock_path == db_path.with_name("state.db.lock")
    owner = json.loads(lock.lock_path.read_text())
    assert owner == {"pid": os.getpid(), "host": socket.gethostname(), "holder": "first"}
    assert lock.try_lead()
    assert lock.is_leader
    lock.release()
    assert not lock.try_lead()
    assert lock.lock_path.read_text() == ""
    again = SqliteLeadership(db_path, holder="again")
    assert again.try_lead()
    again.release()


def test_another_process_holding_the_lock_is_named_and_its_death_frees_the_lock(db_path: Path) -> None:
    """A child holding the lock makes this process fail with the child's pid; once SIGKILLed, the lock is free."""
    child = subprocess.Popen(  # noqa: S603 - our own interpreter and a fixed script
        [sys.executable, "-c", CHILD, str(db_path)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert _wait_for_line(child, "locked")
        with pytest.raises(AnotherInstanceError, match=f"pid {child.pid} on host "):
            SqliteLeadership(db_path, holder="parent")
    finally:
        child.kill()
        child.wait()
        if child.stdin is not None:
            child.stdin.close()
        if child.stdout is not None:
            child.stdout.close()
    lock = SqliteLeadership(db_path, holder="parent")
    assert lock.try_lead()
    lock.release()


def test_an_in_memory_database_needs_no_lock() -> None:
    """Without a file there is nothing to share: any number of in-memory leaderships lead."""
    first, second = SqliteLeadership(None, holder="a"), SqliteLeadership(None, holder="b")
    assert first.try_lead()
    assert second.try_lead()
    assert first.lock_path is None


def test_the_sqlite_holder_mirrors_itself_into_the_lease_row(db_path: Path) -> None:
    """With a store, try_lead takes the lease row, publish stores its info, release expires it."""
    store = FakeLeaseStore()
    lock = SqliteLeadership(db_path, holder="me", store=store, ttl_seconds=TTL)
    assert lock.try_lead()
    lock.publish({"version": "1"})
    lock.release()
    assert store.calls == [("take", "sync", "me"), ("publish", "sync", "me"), ("release", "sync", "me")]
    assert lock.renew_interval_seconds == TTL / 3


def test_an_unreachable_mirror_does_not_cost_the_lock(db_path: Path) -> None:
    """The lock, not the lease row, decides on SQLite: a failing store leaves the process leader."""
    lock = SqliteLeadership(db_path, holder="me", store=FakeLeaseStore(fail=True))
    assert lock.try_lead()
    lock.release()


# --- Choosing by URL ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    ["sqlite://", "sqlite:///:memory:", "sqlite:///file:shared?mode=memory&cache=shared&uri=true"],
)
def test_in_memory_sqlite_urls_have_no_file(url: str) -> None:
    """Empty, :memory: and mode=memory URLs name no file to lock."""
    assert sqlite_file(make_url(url)) is None


def test_file_sqlite_urls_name_their_absolute_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Relative paths resolve from the working directory; file: URIs name their file."""
    monkeypatch.chdir(tmp_path)
    assert sqlite_file(make_url("sqlite:///data/state.db")) == tmp_path / "data" / "state.db"
    assert sqlite_file(make_url(f"sqlite:///file:{tmp_path}/x.db?uri=true")) == tmp_path / "x.db"


def test_leadership_follows_the_database(db_path: Path) -> None:
    """PostgreSQL gets the lease (no connection made), a SQLite file the lock, other databases an error."""
    store = FakeLeaseStore()
    pg = leadership_for(store, "postgresql+psycopg://u@db.invalid/sync", holder="h", ttl_seconds=TTL)
    assert isinstance(pg, PgLeadership)
    assert store.calls == []
    lite = leadership_for(store, f"sqlite:///{db_path}", holder="h", ttl_seconds=TTL)
    try:
        assert isinstance(lite, SqliteLeadership)
        with pytest.raises(AnotherInstanceError):
            leadership_for(store, f"sqlite:///{db_path}", holder="h2", ttl_seconds=TTL)
    finally:
        lite.release()
    with pytest.raises(ValueError, match="mysql"):
        leadership_for(store, "mysql+pymysql://u@localhost/db", holder="h", ttl_seconds=TTL)


def test_holder_ids_name_the_host_and_pid_and_differ() -> None:
    """A holder id is host:pid:random, unique even for a pid reused after a restart."""
    first, second = holder_id(), holder_id()
    assert first.startswith(f"{socket.gethostname()[:200]}:{os.getpid()}:")
    assert first != second
