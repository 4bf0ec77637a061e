"""The store's outbox API: enqueue inside a decision's transaction, claim, complete, release.

A mixin of :class:`~sync_daemon.store.store.Store`. ``enqueue`` takes the caller's connection so that
an intent commits or rolls back with the decision that caused it (``with store.transaction() as
conn``). The other calls run in their own short transactions: a claim must commit before any API
call, and a completion right after it.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import structlog

from sync_daemon.store import outbox
from sync_daemon.store.engine import joined_or_new, read_connection, write_transaction
from sync_daemon.store.types import to_utc

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping
    from datetime import datetime, timedelta

    from sqlalchemy import Connection, Engine

    from sync_daemon.store.push_values import Intent

log = structlog.get_logger(__name__)


class OutboxStoreMixin:
    """The durable outbox of exactly-once side effects."""

    _engine: Engine
    _clock: Callable[[], datetime]

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A write transaction for several store calls that must commit together (or not at all)."""
        with write_transaction(self._engine) as conn:
            yield conn

    def enqueue(
        self,
        conn: Connection | None,
        *,
        key: str,
        crm: str,
        kind: str,
        payload: Mapping[str, Any],
        priority: int,
        now: datetime,
    ) -> bool:
        """Store an intent under its deterministic ``key`` in ``conn``'s transaction (or its own).

        Returns whether it was new: enqueuing a key already stored, in any status, does nothing.
        """
        with joined_or_new(self._engine, conn) as active:
            new = outbox.insert_intent(active, key=key, crm=crm, kind=kind, payload=payload, priority=priority,
                                       now=to_utc(now))  # fmt: skip
        log.debug("outbox.enqueued", key=key, crm=crm, kind=kind, new=new)
        return new

    def claim(
        self, *, worker: str, limit: int, now: datetime, lease: timedelta, crm: str | None = None
    ) -> list[Intent]:
        """Take up to ``limit`` due intents for ``worker`` (pending ones, or expired leases), committed."""
        with write_transaction(self._engine) as conn:
            return outbox.claim_intents(conn, worker=worker, limit=limit, now=to_utc(now), lease=lease, crm=crm)

    def complete(self, intent_id: int, worker: str, result: Mapping[str, Any], *, now: datetime | None = None) -> bool:
        """Mark a held intent done with its result; False (and a warning) when the lease was lost."""
        with write_transaction(self._engine) as conn:
            held = outbox.finish_intent(conn, intent_id, worker, result, self._at(now))
        if not held:
            log.warning("outbox.lease_lost", intent_id=intent_id, worker=worker, action="complete")
        return held

    def release(
        self,
        intent_id: int,
        worker: str,
        error: str | None,
        retry_at: datetime,
        max_attempts: int,
        *,
        count_attempt: bool = True,
        now: datetime | None = None,
    ) -> bool:
        """Hand a held intent back for a retry at ``retry_at`` (``dead`` after ``max_attempts``).

        ``count_attempt=False`` when the CRM never got to act (budget spent, drain stopping).
        Returns False (and warns) when ``worker`` no longer holds it.
        """
        with write_transaction(self._engine) as conn:
            held = outbox.release_intent(conn, intent_id, worker, error=error, retry_at=to_utc(retry_at),
                                         max_attempts=max_attempts, count_attempt=count_attempt,
                                         now=self._at(now))  # fmt: skip
        if not held:
            log.warning("outbox.lease_lost", intent_id=intent_id, worker=worker, action="release")
        return held

    def backlog(self, crm: str | None = None) -> dict[str, int]:
        """How many intents are pending, in flight, done and dead."""
        with read_connection(self._engine) as conn:
            return outbox.count_by_status(conn, crm)

    def intent(self, key: str) -> Intent | None:
        """The intent stored under ``key`` (for status, tests and diagnostics)."""
        with read_connection(self._engine) as conn:
            return outbox.find_intent(conn, key)

    def _at(self, now: datetime | None) -> datetime:
        return to_utc(now if now is not None else self._clock())
