"""The state store facade: what the engine, the CLI and the tests call.

Bookkeeping of what was pulled (accounts, contacts, cursors) and of every run, on a SQLite file by
default or PostgreSQL through a URL. The push side (values written, record errors, per-CRM state:
``push_api``), the outbox (``outbox_api``), onboarding plans (``plans_api``) and handoffs (``handoffs_api``)
come in as mixins.
Every method opens its own short transaction; a page and its cursor commit together, so a crash
loses at most the page being written, never half of it.
Timestamps come from the caller where the API takes them, otherwise from the injected ``clock``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

import structlog
from sqlalchemy import text

from sync_daemon.store import cursors, queries, runs
from sync_daemon.store.assessments_api import AssessmentStoreMixin
from sync_daemon.store.engine import create_store_engine, read_connection, write_transaction
from sync_daemon.store.handoffs_api import HandoffStoreMixin
from sync_daemon.store.leases_api import LeaseStoreMixin
from sync_daemon.store.migrate import current_revision, upgrade_to_head
from sync_daemon.store.models import RECORD_KINDS
from sync_daemon.store.outbox_api import OutboxStoreMixin
from sync_daemon.store.pages import write_page
from sync_daemon.store.plans_api import PlanStoreMixin
from sync_daemon.store.push_api import PushStoreMixin
from sync_daemon.store.types import to_utc

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence

    from sqlalchemy import Engine

    from connectors.base import CrmRecord
    from sync_daemon.store.values import CursorState, PageResult, RunRow

log = structlog.get_logger(__name__)


def utc_now() -> datetime:
    """The default clock: aware UTC now."""
    return datetime.now(UTC)


class Store(AssessmentStoreMixin, PushStoreMixin, OutboxStoreMixin, PlanStoreMixin, HandoffStoreMixin, LeaseStoreMixin):
    """Accounts, contacts, cursors, runs, pushed values, record errors, the outbox, plans and handoffs in one DB."""

    def __init__(self, url: str, *, echo: bool = False, clock: Callable[[], datetime] = utc_now) -> None:
        """Create the engine (no connection yet); ``clock`` stamps rows when no time is passed."""
        self._engine = create_store_engine(url, echo=echo)
        self._clock = clock

    @classmethod
    def open(cls, url: str, *, echo: bool = False, clock: Callable[[], datetime] = utc_now) -> Store:
        """Construct a store and bring its schema up to date."""
        store = cls(url, echo=echo, clock=clock)
        store.migrate()
        return store

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine, for tests and diagnostics (not for queries outside the store)."""
        return self._engine

    def migrate(self) -> None:
        """Upgrade the schema to the newest shipped revision; a no-op when it is current."""
        before = self.schema_version()
        upgrade_to_head(self._engine)
        after = self.schema_version()
        if after != before:
            log.info("store.migrated", from_revision=before, to_revision=after)

    def schema_version(self) -> str | None:
        """Return the applied revision, or ``None`` for a database never migrated."""
        return current_revision(self._engine)

    def ping(self) -> None:
        """Raise unless the database answers ``SELECT 1`` (the readiness probe's store check)."""
        with read_connection(self._engine) as conn:
            conn.execute(text("SELECT 1"))

    def apply_page(
        self,
        crm: str,
        kind: Literal["accounts", "contacts"],
        records: Sequence[CrmRecord],
        personas: Mapping[str, str | None] | None,
        cursor: CursorState,
    ) -> PageResult:
        """Store one pulled page and the cursor after it, in one transaction.

        Only new or changed rows are written; tombstones and merges retire rows; of duplicate ids
        the last wins. ``personas`` maps contact ids to personas (an id left out keeps its stored
        persona). Raises ``UnstorableRecordError`` (nothing written) for fields JSON cannot hold.
        """
        now = to_utc(self._clock())
        with write_transaction(self._engine) as conn:
            result = write_page(conn, kind, crm, records, personas=personas, now=now)
            cursors.save_cursor(conn, crm, kind, cursor, now)
        log.debug("store.page_applied", crm=crm, kind=kind, received=result.received,
                  stored=result.stored, deleted=result.deleted)  # fmt: skip
        return result

    def get_cursor(self, crm: str, kind: str) -> CursorState:
        """Return the saved cursor of ``kind``, empty when the object was never pulled."""
        with read_connection(self._engine) as conn:
            return cursors.read_cursor(conn, crm, kind)

    def set_cursor(self, crm: str, kind: str, cursor: CursorState) -> None:
        """Save a cursor on its own (e.g. when a pull completes with an empty last page)."""
        with write_transaction(self._engine) as conn:
            cursors.save_cursor(conn, crm, kind, cursor, to_utc(self._clock()))

    def start_run(
        self,
        crm: str,
        command: str,
        dry_run: bool,  # noqa: FBT001 - positional in the agreed signature
        started_at: datetime,
    ) -> str:
        """Record the start of a run and return its id."""
        with write_transaction(self._engine) as conn:
            return runs.insert_run(conn, crm, command, dry_run=dry_run, started_at=started_at)

    def finish_run(
        self,
        run_id: str,
        *,
        status: str,
        finished_at: datetime,
        counts: Mapping[str, Any],
        api_calls: int,
        errors: int,
        error_summary: str | None = None,
    ) -> None:
        """Record how a run ended; ``status`` is ``ok``, ``partial`` or ``failed``."""
        values = {
            "status": status,
            "finished_at": finished_at,
            "counts": dict(counts),
            "api_calls": api_calls,
            "errors": errors,
            "error_summary": error_summary,
        }
        with write_transaction(self._engine) as conn:
            runs.close_run(conn, run_id, values)

    def abandon_runs(self, command: str, now: datetime) -> int:
        """Close the ``command`` runs still marked running: their process died (only the leader calls this)."""
        with write_transaction(self._engine) as conn:
            closed = runs.abandon_runs(conn, command, to_utc(now))
        if closed:
            log.warning("store.runs_abandoned", command=command, closed=closed)
        return closed

    def recent_runs(self, limit: int = 10) -> list[RunRow]:
        """Return the last ``limit`` runs, newest first."""
        with read_connection(self._engine) as conn:
            return runs.latest_runs(conn, limit)

    def count(self, kind: str, crm: str | None = None, *, include_deleted: bool = False) -> int:
        """Count stored records of ``kind`` (live only unless ``include_deleted``)."""
        with read_connection(self._engine) as conn:
            return queries.count_records(conn, kind, crm, include_deleted=include_deleted)

    def get_record(self, kind: str, crm: str, record_id: str) -> dict[str, Any] | None:
        """Return one record, deleted or not, as a plain dict; ``None`` when never stored.

        Keys: id, fields, deleted, account_id, persona, merged_into, modified_at (account_id and
        persona are ``None`` for accounts).
        """
        with read_connection(self._engine) as conn:
            return queries.fetch_record(conn, kind, crm, record_id)

    def iter_records(
        self, kind: str, crm: str, *, batch: int = 1000, include_deleted: bool = False
    ) -> Iterator[dict[str, Any]]:
        """Stream the records of ``kind`` by id, ``batch`` rows in memory at a time.

        The connection stays open until the iterator is exhausted or closed.
        """
        with read_connection(self._engine) as conn:
            yield from queries.stream_records(conn, kind, crm, batch=batch, include_deleted=include_deleted)

    def contacts_of(self, crm: str, account_ids: Iterable[str]) -> dict[str, list[dict[str, Any]]]:
        """The live contacts of each account (same keys as :meth:`get_record`); accounts with none are left out."""
        with read_connection(self._engine) as conn:
            return queries.contacts_by_account(conn, crm, sorted(set(account_ids)))

    def personas_by_account(self, crm: str, account_id: str) -> dict[str, int]:
        """Count an account's live contacts per persona (contacts without one are left out)."""
        with read_connection(self._engine) as conn:
            return queries.count_personas(conn, crm, account_id)

    def close(self) -> None:
        """Close every pooled connection; the store must not be used afterwards."""
        self._engine.dispose()


__all__ = ["RECORD_KINDS", "Store", "utc_now"]
