"""The store's onboarding-plan API: plans, task completions, manual done/reopen, last evaluations.

A mixin of :class:`~sync_daemon.store.store.Store`. The cycle works in chunks of about 1,000 accounts: every
bulk call reads with one SELECT per 500 accounts and writes with a few executemany statements, whatever the
chunk holds. The rules for completions (first seen wins, reopen and evidence) are in
:mod:`sync_daemon.store.plan_tasks`; those for plans (template switches keep the history) in
:mod:`sync_daemon.store.plans`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import structlog

from sync_daemon.store import plan_tasks, plans
from sync_daemon.store.engine import read_connection, write_transaction
from sync_daemon.store.types import to_utc

if TYPE_CHECKING:
    from collections.abc import Callable, Collection, Iterable
    from datetime import date, datetime

    from sqlalchemy import Engine

    from sync_daemon.store.plan_tasks import Completion, RecordedCompletions, Seen
    from sync_daemon.store.plans import EvaluationRow, NewPlan, PlanRow, StartedPlans

log = structlog.get_logger(__name__)


class PlanStoreMixin:
    """Onboarding plans and when each task was first seen done."""

    _engine: Engine
    _clock: Callable[[], datetime]

    def plans_for(self, crm: str, account_ids: Iterable[str]) -> dict[str, PlanRow]:
        """The stored plans of ``account_ids``, by account id (accounts without a plan are left out)."""
        with read_connection(self._engine) as conn:
            return plans.read_plans(conn, crm, account_ids)

    def start_plans(self, crm: str, rows: Iterable[NewPlan], now: datetime) -> StartedPlans:
        """Start a plan for each new account; switch template, revision or start date where they changed.

        A switch keeps the plan's cycle and so its completions: shared tasks stay done, added ones start open.
        """
        with write_transaction(self._engine) as conn:
            result = plans.start_plans(conn, crm, rows, to_utc(now))
        if result.started or result.changed:
            log.info("plans.started", crm=crm, started=result.started, changed=result.changed)
        return result

    def completions_for(self, crm: str, account_ids: Iterable[str]) -> dict[str, dict[str, Completion]]:
        """Each plan's completion rows of its current cycle, by account then task (reopened ones included)."""
        with read_connection(self._engine) as conn:
            return plan_tasks.read_completions(conn, crm, account_ids)

    def record_completions(
        self,
        crm: str,
        seen: Iterable[Seen],
        today: date,
        now: datetime,
        *,
        accounts: Collection[str] | None = None,
    ) -> RecordedCompletions:
        """Record the tasks the CRM shows done, ``(account_id, cycle, task_id, source)``, first seen wins.

        Pass the chunk's account ids as ``accounts`` so that a task reopened by hand whose evidence is gone
        from an account can be re-armed (see :mod:`sync_daemon.store.plan_tasks` for the rule).
        """
        with write_transaction(self._engine) as conn:
            result = plan_tasks.record_completions(conn, crm, seen, accounts=accounts, today=today, now=to_utc(now))
        log.debug("plans.completions_recorded", crm=crm, marked=result.marked, rearmed=result.rearmed,
                  ignored=result.ignored)  # fmt: skip
        return result

    def mark_done(
        self, crm: str, account_id: str, task_id: str, *, at: date, note: str | None = None, now: datetime | None = None
    ) -> Completion:
        """Mark a task done by hand on ``at`` (``task done``); ``LookupError`` when the account has no plan."""
        with write_transaction(self._engine) as conn:
            done = plan_tasks.mark_done(conn, crm, account_id, task_id, at=at, note=note, now=self._stamp(now))
        log.info("plans.task_done_by_hand", crm=crm, account_id=account_id, task_id=task_id, done_on=at.isoformat())
        return done

    def reopen(self, crm: str, account_id: str, task_id: str, *, now: datetime | None = None) -> bool:
        """Reopen a done task (``task reopen``); False when it was not done; ``LookupError`` without a plan."""
        with write_transaction(self._engine) as conn:
            reopened = plan_tasks.reopen(conn, crm, account_id, task_id, now=self._stamp(now))
        log.info("plans.task_reopened", crm=crm, account_id=account_id, task_id=task_id, reopened=reopened)
        return reopened

    def save_evaluations(self, crm: str, rows: Iterable[EvaluationRow], now: datetime | None = None) -> int:
        """Keep each plan's last evaluation (one executemany), for ``plan list``; returns how many."""
        with write_transaction(self._engine) as conn:
            return plans.save_evaluations(conn, crm, rows, self._stamp(now))

    def list_plans(self, crm: str, health: str | None = None, limit: int = 100) -> list[PlanRow]:
        """Plans of ``crm``, optionally of one health, the largest slip first."""
        with read_connection(self._engine) as conn:
            return plans.list_plans(conn, crm, health, limit)

    def _stamp(self, now: datetime | None) -> datetime:
        return to_utc(now if now is not None else self._clock())
