"""The store's handoff API: first-reached adoption dates, handoff decisions, and the once-only handoff.

A mixin of :class:`~sync_daemon.store.store.Store`. ``save_decisions`` and ``record_handoff`` take the
caller's connection (``with store.transaction() as conn``) so that a cycle stores the decision, the handoff
and the note's outbox intent (``Store.enqueue``) in one transaction: all of them commit, or none. The rules
are in :mod:`sync_daemon.store.handoffs`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import structlog

from sync_daemon.store import handoffs, plans
from sync_daemon.store.engine import joined_or_new, read_connection, write_transaction
from sync_daemon.store.types import to_utc

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from datetime import date, datetime

    from sqlalchemy import Connection, Engine

    from sync_daemon.store.handoffs import DecisionRow, HandoffRow, Reached
    from sync_daemon.store.plans import NewPlan

log = structlog.get_logger(__name__)


class _NotRestartedError(Exception):
    """Rolls a restart back: the cycle is not at risk, was restarted already, or the plan is on another cycle."""


def _restart_in(conn: Connection, crm: str, plan: NewPlan, cycle: int, now: datetime) -> None:
    if not handoffs.mark_restarted(conn, crm, plan.account_id, cycle, plan.start_date):
        raise _NotRestartedError
    if not plans.restart_plan(conn, crm, plan, from_cycle=cycle, now=now):
        raise _NotRestartedError


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
        note_text: str | None = None,
    ) -> bool:
        """Hand the cycle off in ``conn``'s transaction; False (nothing changed) when it already was.

        ``LookupError`` when the cycle has no saved decision: save it first, in the same transaction.
        """
        with joined_or_new(self._engine, conn) as active:
            done = handoffs.record_handoff(active, crm, account_id, cycle, handed_off_on=handed_off_on,
                                           note_key=note_key, now=to_utc(now), note_text=note_text)  # fmt: skip
        log.info("handoffs.handed_off" if done else "handoffs.already_handed_off", crm=crm, account_id=account_id,
                 cycle=cycle, handed_off_on=handed_off_on.isoformat())  # fmt: skip
        return done

    def restart(self, crm: str, plan: NewPlan, *, cycle: int, now: datetime) -> bool:
        """Restart an at-risk cycle: mark it restarted and start the plan's next cycle from ``plan``, together.

        False (nothing changed) when that cycle is not at risk, was already restarted or is no longer current.
        """
        try:
            with write_transaction(self._engine) as conn:
                _restart_in(conn, crm, plan, cycle, to_utc(now))
        except _NotRestartedError:
            return False
        log.info("handoffs.restarted", crm=crm, account_id=plan.account_id, cycle=cycle + 1,
                 template=plan.template_id, start=plan.start_date.isoformat())  # fmt: skip
        return True

    def handoff_history(self, crm: str, account_id: str) -> list[HandoffRow]:
        """Every onboarding cycle's decision of one account, oldest first."""
        with read_connection(self._engine) as conn:
            return handoffs.history(conn, crm, account_id)

    def list_handoffs(self, crm: str, outcome: str | None = None, limit: int = 100) -> list[HandoffRow]:
        """Current-cycle decisions of ``crm``, optionally of one outcome, by account id."""
        with read_connection(self._engine) as conn:
            return handoffs.list_handoffs(conn, crm, outcome, limit)
