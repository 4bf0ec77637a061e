"""Onboarding plans in the store: one plan per account, its template and start, and its last evaluation.

A plan is started (or its template switched) by :func:`start_plans`, in bulk: rows already as asked are not
written. A template switch or a new revision keeps the plan's ``cycle``, so every completion, keyed by task id,
stays with the plan: tasks the new template shares are still done, added tasks start open, and tasks it
dropped are kept on record but no longer evaluated. The last evaluation is kept on the plan for ``plan list``.
When each task was seen done is kept in :mod:`sync_daemon.store.plan_tasks`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime  # noqa: TC003 - dataclass field types are read at runtime
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from sqlalchemy import Boolean, bindparam, case, select, update

from sync_daemon.store.models import PLANS
from sync_daemon.store.sql import chunks, dialect_insert

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from sqlalchemy import Connection, Row, Update

    from sync_daemon.domain.plans import PlanEvaluation

PlanStatus = Literal["active", "finished", "restarted"]
PLAN_STATUSES: tuple[PlanStatus, ...] = ("active", "finished", "restarted")
_T = PLANS
_EVALUATED = ("progress", "health", "slip_days", "projected_go_live", "next_task", "next_task_due", "current_phase")


@dataclass(frozen=True, slots=True)
class NewPlan:
    """The plan an account should have now: the template the segment rules chose and the start date."""

    account_id: str
    template_id: str
    template_revision: int
    start_date: date


@dataclass(frozen=True, slots=True)
class PlanRow:
    """A stored plan; the evaluation fields are ``None`` until the plan is first evaluated."""

    crm: str
    account_id: str
    template_id: str
    template_revision: int
    start_date: date
    started_at: datetime
    status: str
    cycle: int
    progress: float | None
    health: str | None
    slip_days: int | None
    projected_go_live: date | None
    next_task: str | None
    next_task_due: date | None
    current_phase: str | None
    evaluated_at: datetime | None


@dataclass(frozen=True, slots=True)
class EvaluationRow:
    """What ``plan list`` shows of one plan's last evaluation; ``finished`` when every task is done."""

    account_id: str
    progress: float
    health: str
    slip_days: int
    projected_go_live: date
    next_task: str | None
    next_task_due: date | None
    current_phase: str | None
    finished: bool

    @classmethod
    def of(cls, account_id: str, evaluation: PlanEvaluation) -> EvaluationRow:
        """The row of a pure evaluation (the domain's :class:`PlanEvaluation`)."""
        return cls(
            account_id=account_id,
            progress=evaluation.progress,
            health=evaluation.health,
            slip_days=evaluation.slip_days,
            projected_go_live=evaluation.projected_go_live,
            next_task=evaluation.next_task,
            next_task_due=evaluation.next_task_due,
            current_phase=evaluation.current_phase,
            finished=evaluation.progress >= 100,  # noqa: PLR2004 - progress is a percentage
        )


class StartedPlans(NamedTuple):
    """What :func:`start_plans` did: plans inserted, and plans whose template, revision or start changed."""

    started: int
    changed: int


def read_plans(conn: Connection, crm: str, account_ids: Iterable[str]) -> dict[str, PlanRow]:
    """The stored plans of ``account_ids`` (accounts without a plan are left out), one SELECT per 500 ids."""
    found: dict[str, PlanRow] = {}
    for chunk in chunks(sorted(set(account_ids))):
        for row in conn.execute(select(_T).where(_T.c.crm == crm, _T.c.account_id.in_(chunk))):
            found[row.account_id] = _as_plan(row)
    return found


def start_plans(conn: Connection, crm: str, rows: Iterable[NewPlan], now: datetime) -> StartedPlans:
    """Insert new plans (cycle 1, active) and update those whose template, revision or start changed.

    Of repeated accounts the last row wins. At most one INSERT and one UPDATE executemany after the reads.
    """
    wanted = {row.account_id: row for row in rows}
    stored = read_plans(conn, crm, wanted)
    new = [_new_values(crm, row, now) for key, row in wanted.items() if key not in stored]
    changed = [_changed_values(crm, row) for key, row in wanted.items() if key in stored and _differs(stored[key], row)]
    if new:  # a replica that started the same plan a moment ago wins; its row is the same plan
        conn.execute(dialect_insert(conn, _T).on_conflict_do_nothing(), new)
    if changed:
        keys = ("template_id", "template_revision", "start_date")
        conn.execute(_by_key().values({name: bindparam(f"b_{name}") for name in keys}), changed)
    return StartedPlans(len(new), len(changed))


def save_evaluations(conn: Connection, crm: str, rows: Iterable[EvaluationRow], now: datetime) -> int:
    """Keep each plan's last evaluation, in one UPDATE executemany; returns how many rows were given.

    A finished evaluation marks the plan ``finished``; an unfinished one turns a finished plan back to
    ``active`` (a task was reopened, or the template grew); a ``restarted`` plan keeps its status.
    """
    params = [_evaluation_values(crm, row, now) for row in {row.account_id: row for row in rows}.values()]
    if not params:
        return 0
    values: dict[str, Any] = {name: bindparam(f"b_{name}") for name in (*_EVALUATED, "evaluated_at")}
    values["status"] = case(
        (bindparam("b_finished", type_=Boolean()), "finished"),
        (_T.c.status == "finished", "active"),
        else_=_T.c.status,
    )
    conn.execute(_by_key().values(values), params)
    return len(params)


def list_plans(conn: Connection, crm: str, health: str | None, limit: int) -> list[PlanRow]:
    """Plans worst first: the largest slip first, never-evaluated plans last, then by account id."""
    query = select(_T).where(_T.c.crm == crm)
    if health is not None:
        query = query.where(_T.c.health == health)
    query = query.order_by(_T.c.slip_days.is_(None), _T.c.slip_days.desc(), _T.c.account_id).limit(limit)
    return [_as_plan(row) for row in conn.execute(query)]


def current_cycle(conn: Connection, crm: str, account_id: str) -> int:
    """The running cycle of an account's plan; ``LookupError`` naming the account when it has none."""
    cycle = conn.execute(select(_T.c.cycle).where(_T.c.crm == crm, _T.c.account_id == account_id)).scalar()
    if cycle is None:
        raise LookupError(f"account {account_id!r} has no onboarding plan on {crm} (has a cycle run since it started?)")
    return int(cycle)


def restart_plan(conn: Connection, crm: str, plan: NewPlan, *, from_cycle: int, now: datetime) -> bool:
    """Start the plan's next cycle from ``plan`` (a retention template, today); False when the cycle moved on.

    Guarded by ``from_cycle``: two restarts of the same cycle (a retry, a second replica) make one new cycle.
    The new cycle has no completions (they are kept per cycle) and no evaluation yet.
    """
    values: dict[str, Any] = dict.fromkeys((*_EVALUATED, "evaluated_at"))
    values.update(template_id=plan.template_id, template_revision=plan.template_revision, start_date=plan.start_date,
                  started_at=now, status="active", cycle=from_cycle + 1)  # fmt: skip
    key = (_T.c.crm == crm, _T.c.account_id == plan.account_id, _T.c.cycle == from_cycle)
    return conn.execute(update(_T).where(*key).values(values)).rowcount == 1


def _by_key() -> Update:
    """An UPDATE of one plan by its key, for executemany with ``b_crm``/``b_account_id`` parameters."""
    return update(_T).where(_T.c.crm == bindparam("b_crm"), _T.c.account_id == bindparam("b_account_id"))


def _differs(stored: PlanRow, row: NewPlan) -> bool:
    return (stored.template_id, stored.template_revision, stored.start_date) != (
        row.template_id,
        row.template_revision,
        row.start_date,
    )


def _new_values(crm: str, row: NewPlan, now: datetime) -> dict[str, Any]:
    values: dict[str, Any] = dict.fromkeys((*_EVALUATED, "evaluated_at"))
    values.update(crm=crm, account_id=row.account_id, template_id=row.template_id,
                  template_revision=row.template_revision, start_date=row.start_date, started_at=now,
                  status="active", cycle=1)  # fmt: skip
    return values


def _changed_values(crm: str, row: NewPlan) -> dict[str, Any]:
    return {
        "b_crm": crm,
        "b_account_id": row.account_id,
        "b_template_id": row.template_id,
        "b_template_revision": row.template_revision,
        "b_start_date": row.start_date,
    }


def _evaluation_values(crm: str, row: EvaluationRow, now: datetime) -> dict[str, Any]:
    values = {f"b_{name}": getattr(row, name) for name in _EVALUATED}
    values.update(b_crm=crm, b_account_id=row.account_id, b_evaluated_at=now, b_finished=row.finished)
    return values


def _as_plan(row: Row[Any]) -> PlanRow:
    return PlanRow(**{name: getattr(row, name) for name in PlanRow.__slots__})


__all__: Sequence[str] = [
    "PLAN_STATUSES",
    "EvaluationRow",
    "NewPlan",
    "PlanRow",
    "PlanStatus",
    "StartedPlans",
]
