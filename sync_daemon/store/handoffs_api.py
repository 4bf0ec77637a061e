"""The store's handoff API: first-reached adoption dates, handoff decisions, and the once-only handoff.

A mixin of :class:`~sync_daemon.store.store.Store`. ``save_decisions`` and ``record_handoff`` take the
caller's connection (``with store.transaction() as conn``) so that a cycle stores the decision, the handoff
and the note's outbox intent (``Store.enqueue``) in one transaction: all of them commit, or none. The rules
are in :mod:`sync_daemon.store.handoffs`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import structlog

from sync_daemon.store import handoffs
from sync_daemon.store.engine import joined_or_new, read_connection, write_transaction
from sync_daemon.store.types import to_utc

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from datetime import date, datetime

    from sqlalchemy import Connection, Engine

    from sync_daemon.store.handoffs import DecisionRow, HandoffRow, Reached

log = structlog.get_logger(__name__)


class HandoffStoreMixin:
    """When accounts reached each adoption status, and each onboarding cycle's handoff decision."""

    _engine: Engine
    _clock: Callable[[], datetime]

    def adoption_reached_for(self, crm: str, account_ids: Iterable[str]) -> dict[str, dict[str, date]]:
        """First-reached dates by account then status (accounts with none are left out)."""
        with read_connection(self._engine) as conn:
            return handoffs.read_adoption(conn, crm, account_ids)

    def record_adoption(self, crm: str, rows: Iterable[Reached], now: datetime) -> int:
        """Store ``(account_id, status, reached_on)`` rows not yet on record; a stored date never moves."""
        with write_transaction(self._engine) as conn:
            new = handoffs.record_adoption(conn, crm, rows, to_utc(now))
        if new:
            log.info("handoffs.adoption_reached", crm=crm, new=new)
        return new

    def handoffs_for(self, crm: str, account_ids: Iterable[str]) -> dict[str, HandoffRow]:
        """Each account's decision of its current onboarding cycle (accounts without one are left out)."""
        with read_connection(self._engine) as conn:
            return handoffs.read_handoffs(conn, crm, account_ids)

    def save_decisions(
        self, crm: str, rows: Iterable[DecisionRow], now: datetime, *, conn: Connection | None = None
    ) -> int:
        """Upsert the latest decision per account and cycle, in ``conn``'s transaction (or its own)."""
        with joined_or_new(self._engine, conn) as active:
            saved = handoffs.save_decisions(active, crm, rows, to_utc(now))
        log.debug("handoffs.decisions_saved", crm=crm, saved=saved)
        return saved

    def record_handoff(
        self,
        conn: Connection | None,
        crm: str,
        account_id: str,
        cycle: int,
        *,
        handed_off_on: date,
        note_key: str,
        now: datetime,
    ) -> bool:
        """Hand the cycle off in ``conn``'s transaction; False (nothing changed) when it already was.

        ``LookupError`` when the cycle has no saved decision: save it first, in the same transaction.
        """
        with joined_or_new(self._engine, conn) as active:
            done = handoffs.record_handoff(active, crm, account_id, cycle, handed_off_on=handed_off_on,
                                           note_key=note_key, now=to_utc(now))  # fmt: skip
        log.info("handoffs.handed_off" if done else "handoffs.already_handed_off", crm=crm, account_id=account_id,
                 cycle=cycle, handed_off_on=handed_off_on.isoformat())  # fmt: skip
        return done

    def list_handoffs(self, crm: str, outcome: str | None = None, limit: int = 100) -> list[HandoffRow]:
        """Current-cycle decisions of ``crm``, optionally of one outcome, by account id."""
        with read_connection(self._engine) as conn:
            return handoffs.list_handoffs(conn, crm, outcome, limit)
