"""Which `sync-daemon run` process does the work: one active replica, the others on standby.

With PostgreSQL any number of processes may run. They share one lease row (:mod:`sync_daemon.store.leases`):
the active one renews it by calling :meth:`Leadership.try_lead` every ``renew_interval_seconds``; a standby calls
the same method on the same cadence, and the lease's one conditional UPDATE lets it in only once the lease has
expired by the database's clock (its holder died or lost the database) or was released (a clean shutdown).
A holder also keeps its own deadline, measured on its local monotonic clock from the moment it *sent* its last
successful renewal, minus a safety margin: the database stamped the expiry later than that, so the holder gives
up being active before anyone else can take over, even when it cannot reach the database to find out.

With SQLite only one process may use the store at all (SQLite is not a server, and two schedulers would both
send). :class:`SqliteLeadership` takes an exclusive ``flock`` on ``<database file>.lock`` for the life of the
process; the kernel drops it when the process dies, however it dies, so a stale lock never needs clearing. A
second process fails at start with :class:`AnotherInstanceError`, naming the pid and host holding it. An
in-memory SQLite database lives inside one process, so it needs no lock. With a store given, the SQLite holder
also mirrors itself into the lease row, so ``status`` reads the same thing on both backends.
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
import socket
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import structlog
from sqlalchemy.engine import make_url
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from sqlalchemy.engine import URL

    from sync_daemon.store.leases import LeaseRow

log = structlog.get_logger(__name__)

DEFAULT_LEASE = "sync"
# Renew three times per TTL: two renewals in a row may fail before the holder has to stand down.
RENEWALS_PER_TTL = 3
# The holder stands down this share of the TTL before the lease expires in the database: room for clock-rate
# drift, for the round trip of the renewal, and for the step it is taking when it looks.
MARGIN_SHARE = 0.2
# The database cannot be reached: the holder cannot renew, but must not crash; its deadline runs out instead.
_UNREACHABLE = (OperationalError, InterfaceError, PoolTimeoutError)


class AnotherInstanceError(RuntimeError):
    """Another process holds the SQLite store's lock; this one must not start."""

    def __init__(self, path: Path, pid: int | None, host: str | None) -> None:
        """Name the database file and, when the lock file says, the pid and host of the process holding it."""
        self.path, self.pid, self.host = path, pid, host
        who = f"pid {pid if pid is not None else 'unknown'} on host {host or 'unknown'}"
        super().__init__(
            f"another `sync-daemon run` ({who}) is using the SQLite store {path}; SQLite allows one process: "
            "stop it, or use PostgreSQL (SYNC_DATABASE_URL=postgresql+psycopg://...) to run several replicas"
        )


class Leadership(Protocol):
    """Whether this process is the active replica; ``try_lead`` is called every ``renew_interval_seconds``."""

    holder: str
    renew_interval_seconds: float

    def try_lead(self) -> bool:
        """Acquire or renew; True while this process is the active one (a database error counts as no renewal)."""
        ...

    @property
    def is_leader(self) -> bool:
        """Held, and not past this process's own deadline: checked before each unit of work."""
        ...

    def release(self) -> None:
        """Give the lead up at once (a clean shutdown), so a standby need not wait for the TTL."""
        ...

    def publish(self, info: Mapping[str, Any]) -> None:
        """Publish what ``status`` shows about the active process (next runs, version, host); holder only."""
        ...


class LeaseStore(Protocol):
    """The part of :class:`~sync_daemon.store.Store` the leaderships use (a fake needs no database)."""

    def acquire_lease(self, name: str, holder: str, ttl_seconds: float) -> LeaseRow | None:
        """Take or renew; None while another holds it."""
        ...

    def take_lease(self, name: str, holder: str, ttl_seconds: float) -> LeaseRow:
        """Take whoever holds it (SQLite's single process only)."""
        ...

    def release_lease(self, name: str, holder: str) -> bool:
        """Expire it now if held by ``holder``."""
        ...

    def publish_lease(self, name: str, holder: str, info: Mapping[str, Any]) -> bool:
        """Store ``info`` if held by ``holder``."""
        ...


def holder_id() -> str:
    """A name unique to this process: ``host:pid:random`` (the suffix tells a restarted pid apart)."""
    return f"{socket.gethostname()[:200]}:{os.getpid()}:{secrets.token_hex(4)}"


class PgLeadership:
    """The lease in PostgreSQL: exactly one holder at a time, chosen by the database's clock."""

    def __init__(
        self,
        store: LeaseStore,
        *,
        name: str = DEFAULT_LEASE,
        holder: str,
        ttl_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``clock`` is monotonic seconds (injected in tests); it times this holder's own deadline only."""
        if ttl_seconds <= 0:
            raise ValueError(f"ttl_seconds must be positive, got {ttl_seconds}")
        self.holder = holder
        self.name = name
        self.ttl_seconds = ttl_seconds
        self.renew_interval_seconds = ttl_seconds / RENEWALS_PER_TTL
        self._store = store
        self._clock = clock
        self._deadline: float | None = None
        self._led = False

    @property
    def is_leader(self) -> bool:
        """True until the local deadline: the send time of the last won renewal + TTL - margin."""
        return self._deadline is not None and self._clock() < self._deadline

    def try_lead(self) -> bool:
        """Acquire or renew the lease; on a database error keep the current deadline (no renewal)."""
        sent = self._clock()
        try:
            row = self._store.acquire_lease(self.name, self.holder, self.ttl_seconds)
        except _UNREACHABLE as exc:
            log.warning("leadership.renew_failed", lease=self.name, holder=self.holder, error=type(exc).__name__)
        else:
            self._deadline = sent + self.ttl_seconds * (1 - MARGIN_SHARE) if row is not None else None
            if row is None and self._led:
                log.warning("leadership.taken_over", lease=self.name, holder=self.holder)
        return self._note_role()

    def release(self) -> None:
        """Expire the lease now if this process holds it; a database error leaves it to expire by its TTL."""
        if self._deadline is None:
            return
        self._deadline = None
        try:
            self._store.release_lease(self.name, self.holder)
        except _UNREACHABLE as exc:
            log.warning("leadership.release_failed", lease=self.name, holder=self.holder, error=type(exc).__name__)
        self._note_role()

    def publish(self, info: Mapping[str, Any]) -> None:
        """Store ``info`` on the lease while this process holds it; a standby's or a failed publish is dropped."""
        if not self.is_leader:
            return
        try:
            stored = self._store.publish_lease(self.name, self.holder, info)
        except _UNREACHABLE as exc:
            log.warning("leadership.publish_failed", lease=self.name, holder=self.holder, error=type(exc).__name__)
            return
        if not stored:
            log.warning("leadership.publish_refused", lease=self.name, holder=self.holder)

    def _note_role(self) -> bool:
        """Log a change of role once, and return the current one."""
        leading = self.is_leader
        if leading != self._led:
            event = "leadership.active" if leading else "leadership.standby"
            log.info(event, lease=self.name, holder=self.holder, ttl_seconds=self.ttl_seconds)
            self._led = leading
        return leading


class SqliteLeadership:
    """SQLite's single process: an exclusive ``flock`` on ``<db file>.lock``, taken when constructed.

    ``db_path=None`` (an in-memory database, private to this process) takes no lock and always leads. ``flock``
    locks belong to an open file description, so even a second instance inside the same process is refused.
    A process forked while holding it shares the lock, which then lasts until both have exited.
    """

    def __init__(
        self,
        db_path: Path | str | None,
        *,
        holder: str,
        store: LeaseStore | None = None,
        name: str = DEFAULT_LEASE,
        ttl_seconds: float = 30.0,
    ) -> None:
        """Take the lock now (raising ``AnotherInstanceError`` if it is held); ``store`` mirrors the lease row."""
        self.holder = holder
        self.name = name
        self.ttl_seconds = ttl_seconds
        self.renew_interval_seconds = ttl_seconds / RENEWALS_PER_TTL
        self.db_path = None if db_path is None else Path(db_path)
        self._store = store
        self._fd: int | None = None
        self._held = True
        if self.db_path is not None:
            self._fd = _lock(self.db_path, holder)

    @property
    def lock_path(self) -> Path | None:
        """The lock file, next to the database file (None for an in-memory database)."""
        return None if self.db_path is None else _lock_path(self.db_path)

    @property
    def is_leader(self) -> bool:
        """True from construction until :meth:`release`."""
        return self._held

    def try_lead(self) -> bool:
        """True while the lock is held; also renews the mirrored lease row for ``status``."""
        if self._held and self._store is not None:
            self._mirror(self._store)
        return self._held

    def release(self) -> None:
        """Expire the mirrored lease and drop the lock; the process is then no longer the store's user."""
        if not self._held:
            return
        self._held = False
        if self._store is not None:
            try:
                self._store.release_lease(self.name, self.holder)
            except _UNREACHABLE as exc:
                log.warning("leadership.release_failed", lease=self.name, error=type(exc).__name__)
        if self._fd is not None:
            _unlock(self._fd)
            self._fd = None

    def publish(self, info: Mapping[str, Any]) -> None:
        """Store ``info`` on the mirrored lease row (taking it first if this process has not yet)."""
        if not self._held or self._store is None:
            return
        try:
            if not self._store.publish_lease(self.name, self.holder, info):
                self._store.take_lease(self.name, self.holder, self.ttl_seconds)
                self._store.publish_lease(self.name, self.holder, info)
        except _UNREACHABLE as exc:
            log.warning("leadership.publish_failed", lease=self.name, error=type(exc).__name__)

    def _mirror(self, store: LeaseStore) -> None:
        """Write this process into the lease row; a row left by a killed predecessor is overwritten."""
        try:
            store.take_lease(self.name, self.holder, self.ttl_seconds)
        except _UNREACHABLE as exc:
            log.warning("leadership.renew_failed", lease=self.name, error=type(exc).__name__)


def sqlite_file(url: URL) -> Path | None:
    """The database file of a SQLite URL, or None for an in-memory one (``:memory:``, empty, ``mode=memory``)."""
    database = url.database or ""
    if database.startswith("file:"):
        if url.query.get("mode") == "memory":
            return None
        database = database.removeprefix("file:")
    if database in {"", ":memory:"}:
        return None
    return Path(database).expanduser().resolve()


def leadership_for(
    store: LeaseStore,
    database_url: str,
    *,
    holder: str,
    ttl_seconds: float,
    clock: Callable[[], float] = time.monotonic,
) -> Leadership:
    """The leadership the database allows: a lease on PostgreSQL, the single-process lock on SQLite.

    Raises ``AnotherInstanceError`` when another process already uses a SQLite file, ``ValueError`` for other
    databases.
    """
    url = make_url(database_url)
    backend = url.get_backend_name()
    if backend == "postgresql":
        return PgLeadership(store, holder=holder, ttl_seconds=ttl_seconds, clock=clock)
    if backend == "sqlite":
        return SqliteLeadership(sqlite_file(url), holder=holder, store=store, ttl_seconds=ttl_seconds)
    raise ValueError(f"no leadership for database {backend!r}; use SQLite or PostgreSQL")


def _lock_path(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + ".lock")


def _lock(db_path: Path, holder: str) -> int:
    """Take the exclusive lock and write who holds it; raise ``AnotherInstanceError`` when it is taken."""
    path = _lock_path(db_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # O_RDWR without O_TRUNC: the holder's pid and host must survive a refused opener.
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        pid, host = _read_owner(fd)
        os.close(fd)
        raise AnotherInstanceError(db_path, pid, host) from None
    except BaseException:
        os.close(fd)
        raise
    owner = {"pid": os.getpid(), "host": socket.gethostname(), "holder": holder}
    os.ftruncate(fd, 0)
    os.pwrite(fd, json.dumps(owner).encode() + b"\n", 0)
    log.info("leadership.sqlite_locked", lock=str(path), pid=owner["pid"])
    return fd


def _unlock(fd: int) -> None:
    """Clear the owner and drop the lock; the file stays (removing it would let two processes lock two files)."""
    try:
        os.ftruncate(fd, 0)
        fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _read_owner(fd: int) -> tuple[int | None, str | None]:
    """The pid and host the holder wrote, or Nones (it may not have written them yet)."""
    try:
        owner = json.loads(os.pread(fd, 4096, 0) or b"{}")
    except (OSError, ValueError):
        return None, None
    if not isinstance(owner, dict):
        return None, None
    pid, host = owner.get("pid"), owner.get("host")
    return (pid if isinstance(pid, int) else None), (host if isinstance(host, str) else None)


__all__ = [
    "DEFAULT_LEASE",
    "AnotherInstanceError",
    "Leadership",
    "LeaseStore",
    "PgLeadership",
    "SqliteLeadership",
    "holder_id",
    "leadership_for",
    "sqlite_file",
]
