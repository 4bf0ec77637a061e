"""The store's push-side bookkeeping API: values written, records rejected, per-CRM state.

A mixin of :class:`~sync_daemon.store.store.Store`, kept apart so each module stays small. Each method
opens its own short transaction, except where ``conn`` lets a caller fold the write into its own
(``Store.transaction()``), e.g. to record a decision and the intent it causes atomically.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import structlog

from sync_daemon.store import errors, merge, pushed, state
from sync_daemon.store.engine import joined_or_new, read_connection, write_transaction
from sync_daemon.store.types import to_utc

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
    from datetime import datetime

    from sqlalchemy import Connection, Engine

    from connectors.base import ObjectKind, WriteResult
    from sync_daemon.store.push_values import ErrorGroup, ErrorRow

log = structlog.get_logger(__name__)


class PushStoreMixin:
    """Pushed values, per-record errors and per-CRM state (parking, safety warning)."""

    _engine: Engine
    _clock: Callable[[], datetime]

    @contextmanager
    def _writing(self, conn: Connection | None) -> Iterator[Connection]:
        """The caller's connection when given (its transaction), else a new write transaction."""
        with joined_or_new(self._engine, conn) as active:
            yield active

    def _now(self) -> datetime:
        return to_utc(self._clock())

    # -- values last written -------------------------------------------------------------

    def record_written(
        self,
        crm: str,
        kind: str,
        writes: Iterable[tuple[str, str, object]],
        run_id: str | None,
        *,
        conn: Connection | None = None,
    ) -> int:
        """Remember ``(record_id, field, value)`` as written (canonical values); returns the row count."""
        with self._writing(conn) as active:
            return pushed.save_written(active, crm, kind, writes, run_id=run_id, now=self._now())

    def merge_fields(
        self, crm: str, kind: str, values: Mapping[str, Mapping[str, Any]], *, conn: Connection | None = None
    ) -> int:
        """Fold written values into the local copy of live records (see :mod:`sync_daemon.store.merge`)."""
        with self._writing(conn) as active:
            return merge.merge_fields(active, crm, kind, values)

    def last_written(
        self, crm: str, kind: ObjectKind, record_ids: Sequence[str]
    ) -> dict[tuple[ObjectKind, str, str], Any]:
        """The values last written to ``record_ids``, keyed ``(kind, record_id, field)``, as JSON."""
        with read_connection(self._engine) as conn:
            return pushed.read_written(conn, crm, kind, record_ids)

    def has_pushed(self, crm: str) -> bool:
        """Whether anything was ever written to ``crm`` (if not, the next write is the first backfill)."""
        with read_connection(self._engine) as conn:
            return pushed.any_written(conn, crm)

    # -- per-record errors ----------------------------------------------------------------

    def record_failures(
        self,
        crm: str,
        kind: str,
        failures: Iterable[WriteResult],
        run_id: str | None,
        *,
        conn: Connection | None = None,
    ) -> int:
        """Keep the CRM's code and message for each failed result (successes are ignored)."""
        with self._writing(conn) as active:
            count = errors.save_failures(active, crm, kind, failures, run_id=run_id, now=self._now())
        log.debug("store.failures_recorded", crm=crm, kind=kind, records=count)
        return count

    def clear_errors(self, crm: str, kind: str, record_ids: Sequence[str], *, conn: Connection | None = None) -> int:
        """Forget the errors of records that were just written successfully; returns how many."""
        with self._writing(conn) as active:
            return errors.delete_errors(active, crm, kind, record_ids)

    def open_errors(self, crm: str | None = None) -> list[ErrorRow]:
        """Every open error, ordered by CRM, code, kind and record."""
        with read_connection(self._engine) as conn:
            return errors.list_errors(conn, crm, "open")

    def dismissed_errors(self, crm: str | None = None) -> list[ErrorRow]:
        """Every dismissed error, in the same order as :meth:`open_errors`."""
        with read_connection(self._engine) as conn:
            return errors.list_errors(conn, crm, "dismissed")

    def errors_by_code(self, crm: str | None = None, examples: int = 3) -> list[ErrorGroup]:
        """Open errors grouped by CRM code, largest first, with the most recent examples."""
        with read_connection(self._engine) as conn:
            return errors.group_errors(conn, crm, examples)

    def error_counts(self, crm: str | None = None) -> dict[str, int]:
        """How many records are ``open`` and ``dismissed``, for status and metrics."""
        with read_connection(self._engine) as conn:
            return errors.count_errors(conn, crm)

    def dismiss(self, crm: str, *, record_id: str | None = None, code: str | None = None) -> int:
        """Stop retrying the open errors matching a record and/or a code; returns how many.

        One of ``record_id`` and ``code`` is required: dismissing every error is too easy a slip.
        """
        if record_id is None and code is None:
            raise ValueError("dismiss needs a record id or an error code")
        with write_transaction(self._engine) as conn:
            moved = errors.set_status(conn, crm, record_id=record_id, code=code, from_status="open",
                                      to_status="dismissed")  # fmt: skip
        log.info("store.errors_dismissed", crm=crm, record_id=record_id, code=code, records=moved)
        return moved

    def retry(self, crm: str, *, record_id: str | None = None, code: str | None = None) -> int:
        """Reopen dismissed errors (all of ``crm`` when neither filter is given), attempts reset."""
        with write_transaction(self._engine) as conn:
            moved = errors.set_status(conn, crm, record_id=record_id, code=code, from_status="dismissed",
                                      to_status="open")  # fmt: skip
        log.info("store.errors_reopened", crm=crm, record_id=record_id, code=code, records=moved)
        return moved

    def dismissed_ids(self, crm: str, kind: str) -> set[str]:
        """The records of ``kind`` an operator dismissed: plans leave them out."""
        with read_connection(self._engine) as conn:
            return errors.dismissed(conn, crm, kind)

    # -- per-CRM state --------------------------------------------------------------------

    def park(self, crm: str, until: datetime | None, reason: str | None) -> None:
        """Park work on ``crm`` until ``until`` (the budget is spent); ``None`` lifts the park."""
        with write_transaction(self._engine) as conn:
            state.save_park(conn, crm, until, reason, self._now())
        log.info("store.crm_parked", crm=crm, until=until.isoformat() if until else None, reason=reason)

    def parked_until(self, crm: str) -> datetime | None:
        """Until when ``crm`` is parked (compare with now: a past instant means no longer parked)."""
        with read_connection(self._engine) as conn:
            row = state.read_state(conn, crm)
        return None if row is None else row.parked_until

    def park_reason(self, crm: str) -> str | None:
        """Why ``crm`` was last parked, for ``status``."""
        with read_connection(self._engine) as conn:
            row = state.read_state(conn, crm)
        return None if row is None else row.park_reason

    def set_safety_warning(self, crm: str, warning: Mapping[str, Any] | None) -> None:
        """Record the safety valve's last stop (counts, threshold), or clear it with ``None``."""
        with write_transaction(self._engine) as conn:
            state.save_warning(conn, crm, warning, self._now())

    def safety_warning(self, crm: str) -> dict[str, Any] | None:
        """The safety valve's last stop on ``crm``, ``None`` when the last cycle passed it."""
        with read_connection(self._engine) as conn:
            row = state.read_state(conn, crm)
        return None if row is None else row.safety_warning
