"""The leases' SQL: one named row says which process is the active replica, and until when.

Taking or renewing a lease is one conditional ``UPDATE .. WHERE holder = :me OR expires_at < :now RETURNING``
on a row that an ``INSERT .. ON CONFLICT DO NOTHING`` creates, vacant and already expired, the first time. On
PostgreSQL the UPDATE locks the row: a second process updating at the same moment waits for the first to commit,
then re-checks the condition against the row the first one wrote (unexpired, someone else's) and updates
nothing. So two processes never both hold a lease, and RETURNING (not rowcount, which SQLAlchemy reads as -1 on
some paths) says who won. On SQLite the caller's ``BEGIN IMMEDIATE`` serialises writers instead.

Time: on PostgreSQL every comparison and stamp uses the database's own clock (``statement_timestamp()``: one
value for the whole statement, so ``renewed_at`` and ``expires_at`` agree), so a replica whose clock is off
cannot see a live lease as expired. On SQLite, which has no server, the caller's ``now`` (the store's clock).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Interval, and_, case, func, literal, or_, select, type_coerce, update

from sync_daemon.store.models import LEASES
from sync_daemon.store.sql import dialect_insert
from sync_daemon.store.types import UTCDateTime

if TYPE_CHECKING:
    from collections.abc import Mapping

    from sqlalchemy import ColumnElement, Connection

_T = LEASES
# A vacant lease row: nobody's, expired since long ago, so the first UPDATE may take it.
_VACANT = ""
_LONG_AGO = datetime(1970, 1, 1, tzinfo=UTC)
# A released lease expires this far before the release, so the very next statement finds it expired.
_RELEASED_BY = timedelta(seconds=1)


@dataclass(frozen=True, slots=True)
class LeaseRow:
    """A lease as stored, with ``read_at``: the store's time when it was read (the database's on PostgreSQL).

    ``live`` compares ``expires_at`` with that same clock, so a reader with a skewed clock still judges it right.
    ``holder`` is empty for a lease created but never taken.
    """

    name: str
    holder: str
    acquired_at: datetime
    renewed_at: datetime
    expires_at: datetime
    info: dict[str, Any] | None
    read_at: datetime

    @property
    def live(self) -> bool:
        """Whether the lease was held (not expired) when read."""
        return bool(self.holder) and self.expires_at >= self.read_at

    @property
    def remaining_seconds(self) -> float:
        """Seconds left until it expires, as of ``read_at`` (negative once expired)."""
        return (self.expires_at - self.read_at).total_seconds()


def acquire(conn: Connection, name: str, holder: str, *, ttl: timedelta, now: datetime) -> LeaseRow | None:
    """Take or renew ``name`` for ``holder`` until the store's now + ``ttl``; ``None`` while someone else holds it.

    ``acquired_at`` moves only when the lease changes hands or is taken back after it lapsed, so it says how
    long the holder has held it without a break.
    """
    _ensure_row(conn, name)
    at, until = _now(conn, now), _now(conn, now, ttl)
    held_unbroken = and_(_T.c.holder == holder, _T.c.expires_at >= at)
    stmt = (
        update(_T)
        .where(_T.c.name == name, or_(_T.c.holder == holder, _T.c.expires_at < at))
        .values(
            holder=holder,
            acquired_at=case((held_unbroken, _T.c.acquired_at), else_=at),
            renewed_at=at,
            expires_at=until,
        )
        .returning(*_T.c, _read_at(conn, now))
    )
    row = conn.execute(stmt).first()
    return None if row is None else _as_lease(row)


def take(conn: Connection, name: str, holder: str, *, ttl: timedelta, now: datetime) -> LeaseRow:
    """Take ``name`` for ``holder`` whoever holds it: only for a caller that knows no one else can (SQLite).

    With SQLite the file lock (:class:`sync_daemon.leadership.SqliteLeadership`) makes the process the only one,
    so a row left behind by a killed predecessor is stale by proof, not by expiry. PostgreSQL is refused: there
    only :func:`acquire`'s condition keeps replicas apart.
    """
    if conn.dialect.name != "sqlite":
        raise ValueError("taking a lease unconditionally is only for SQLite's single process; use acquire()")
    _ensure_row(conn, name)
    conn.execute(update(_T).where(_T.c.name == name, _T.c.holder != holder).values(expires_at=_LONG_AGO))
    row = acquire(conn, name, holder, ttl=ttl, now=now)
    if row is None:  # pragma: no cover - the row was just made takeable inside this transaction
        raise AssertionError(f"lease {name!r} could not be taken")
    return row


def release(conn: Connection, name: str, holder: str, *, now: datetime) -> bool:
    """Expire ``name`` at once if ``holder`` holds it, so a standby takes over on its next try; else False."""
    stmt = (
        update(_T)
        .where(_T.c.name == name, _T.c.holder == holder)
        .values(expires_at=_now(conn, now, -_RELEASED_BY))
        .returning(_T.c.name)
    )
    return conn.execute(stmt).first() is not None


def publish(conn: Connection, name: str, holder: str, info: Mapping[str, Any], *, now: datetime) -> bool:
    """Store ``info`` on the lease while ``holder`` holds it (unexpired); False, and nothing written, otherwise."""
    stmt = (
        update(_T)
        .where(_T.c.name == name, _T.c.holder == holder, _T.c.expires_at >= _now(conn, now))
        .values(info=dict(info))
        .returning(_T.c.name)
    )
    return conn.execute(stmt).first() is not None


def find(conn: Connection, name: str, *, now: datetime) -> LeaseRow | None:
    """The lease ``name`` with the store's current time, or ``None`` when it was never created."""
    row = conn.execute(select(*_T.c, _read_at(conn, now)).where(_T.c.name == name)).first()
    return None if row is None else _as_lease(row)


def _ensure_row(conn: Connection, name: str) -> None:
    """Create ``name`` vacant and expired if it does not exist; a row already there is left alone."""
    row = {"name": name, "holder": _VACANT, "acquired_at": _LONG_AGO, "renewed_at": _LONG_AGO,
           "expires_at": _LONG_AGO, "info": None}  # fmt: skip
    conn.execute(dialect_insert(conn, _T).values(row).on_conflict_do_nothing(index_elements=["name"]))


def _now(conn: Connection, now: datetime, shift: timedelta = timedelta(0)) -> ColumnElement[datetime]:
    """The store's now plus ``shift``: the database's clock on PostgreSQL, the caller's ``now`` on SQLite."""
    if conn.dialect.name == "postgresql":
        clock = func.statement_timestamp(type_=UTCDateTime())
        return clock + literal(shift, Interval()) if shift else clock
    return literal(now + shift, UTCDateTime())


def _read_at(conn: Connection, now: datetime) -> ColumnElement[datetime]:
    """The store's now as a result column, read back as an aware UTC datetime."""
    return type_coerce(_now(conn, now), UTCDateTime()).label("read_at")


def _as_lease(row: Any) -> LeaseRow:
    """A result row (every lease column and ``read_at``) as a value object."""
    return LeaseRow(
        name=row.name,
        holder=row.holder,
        acquired_at=row.acquired_at,
        renewed_at=row.renewed_at,
        expires_at=row.expires_at,
        info=row.info,
        read_at=row.read_at,
    )
