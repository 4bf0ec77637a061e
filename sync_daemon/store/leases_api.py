"""The store's lease API: which replica of ``sync-daemon run`` is active, for how long, and what it publishes.

A mixin of :class:`~sync_daemon.store.store.Store`. Each call is its own short write transaction, so a renewal
is committed before the holder acts on it. :mod:`sync_daemon.leadership` builds the replicas' election on it;
``status`` and the metrics read :meth:`LeaseStoreMixin.lease`. The rules are in :mod:`sync_daemon.store.leases`.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

import structlog

from sync_daemon.store import leases
from sync_daemon.store.engine import read_connection, write_transaction
from sync_daemon.store.types import to_utc

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from datetime import datetime

    from sqlalchemy import Engine

    from sync_daemon.store.leases import LeaseRow

log = structlog.get_logger(__name__)


class LeaseStoreMixin:
    """Named leases with a TTL, taken and renewed by one conditional statement."""

    _engine: Engine
    _clock: Callable[[], datetime]

    def acquire_lease(self, name: str, holder: str, ttl_seconds: float) -> LeaseRow | None:
        """Take or renew ``name`` for ``holder`` for ``ttl_seconds``; ``None`` while another holder has it.

        Also takes it over once the other holder's lease has expired (by the database's clock on PostgreSQL).
        """
        with write_transaction(self._engine) as conn:
            row = leases.acquire(conn, name, holder, ttl=_ttl(ttl_seconds), now=self._lease_now())
        log.debug("lease.acquire", name=name, holder=holder, won=row is not None)
        return row

    def take_lease(self, name: str, holder: str, ttl_seconds: float) -> LeaseRow:
        """Take ``name`` whoever holds it; SQLite only, for the process that holds the store's file lock.

        Raises ``ValueError`` on PostgreSQL, where only :meth:`acquire_lease` may decide.
        """
        with write_transaction(self._engine) as conn:
            return leases.take(conn, name, holder, ttl=_ttl(ttl_seconds), now=self._lease_now())

    def release_lease(self, name: str, holder: str) -> bool:
        """Expire ``name`` at once if ``holder`` holds it, so a standby takes over without waiting for the TTL."""
        with write_transaction(self._engine) as conn:
            released = leases.release(conn, name, holder, now=self._lease_now())
        log.debug("lease.release", name=name, holder=holder, released=released)
        return released

    def publish_lease(self, name: str, holder: str, info: Mapping[str, Any]) -> bool:
        """Store what the holder publishes (next runs, version, host); False, nothing stored, for a non-holder."""
        with write_transaction(self._engine) as conn:
            return leases.publish(conn, name, holder, info, now=self._lease_now())

    def lease(self, name: str) -> LeaseRow | None:
        """The lease ``name`` as stored, with the store's time of reading (``LeaseRow.live``); None if never made."""
        with read_connection(self._engine) as conn:
            return leases.find(conn, name, now=self._lease_now())

    def _lease_now(self) -> datetime:
        """The injected clock, used on SQLite only: PostgreSQL's own clock decides there."""
        return to_utc(self._clock())


def _ttl(seconds: float) -> timedelta:
    if seconds <= 0:
        raise ValueError(f"a lease's TTL must be positive, got {seconds}")
    return timedelta(seconds=seconds)
