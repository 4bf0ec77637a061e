"""When each task of a plan cycle was first seen done, by which source, and the tasks people reopened.

The rules (one row per task of a plan cycle that was ever seen done):

- **First seen wins.** CRM evidence (a ticked step, a set field, a condition) for a task with no row inserts
  one: ``done_on`` = the cycle's ``today``, ``first_seen_at`` = now. Evidence for a task already done changes
  nothing, and evidence that disappears does not undo a completion: ``done_on`` never moves on its own.
- **By hand.** ``task done`` marks a task done on the date given (``source = manual``, with an optional note),
  replacing any earlier completion of it: a person's word beats what the daemon inferred.
- **Reopened by hand.** ``task reopen`` keeps the row (its date and source stay as history) and sets
  ``reopened_at``: the task counts as open. While the CRM evidence that marked it done is still there, it is
  ignored (otherwise the next cycle would undo the person's reopen). Once a cycle sees the account *without*
  that evidence, ``evidence_gone_at`` is set; the next time the evidence is seen, the task is done again
  with a new ``done_on`` (today) and the new source, and the reopen is cleared.

"Without evidence" needs to know which accounts a call reports in full: :func:`record_completions` takes
them as ``accounts`` (the chunk the cycle evaluated); an account left out is never judged to lack evidence.
Only the plan's current cycle is touched: evidence for another cycle, or an account without a plan, is ignored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime  # noqa: TC003 - dataclass field types are read at runtime
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from sqlalchemy import and_, bindparam, select, update

from sync_daemon.store.models import PLAN_TASKS, PLANS
from sync_daemon.store.plans import current_cycle
from sync_daemon.store.sql import chunks, dialect_insert, upsert

if TYPE_CHECKING:
    from collections.abc import Collection, Iterable

    from sqlalchemy import Connection, Update

Source = Literal["crm_step", "crm_field", "condition", "manual"]
SOURCES: tuple[Source, ...] = ("crm_step", "crm_field", "condition", "manual")
Seen = tuple[str, int, str, str]
"""``(account_id, cycle, task_id, source)``: a task the CRM shows done in one account's plan cycle."""

_T = PLAN_TASKS
_P = PLANS
_COMPLETION = (_T.c.task_id, _T.c.cycle, _T.c.done_on, _T.c.source, _T.c.first_seen_at, _T.c.note, _T.c.reopened_at,
               _T.c.evidence_gone_at)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Completion:
    """One task's completion record; ``done`` is False while it is reopened by hand."""

    task_id: str
    cycle: int
    done_on: date
    source: str
    first_seen_at: datetime
    note: str | None
    reopened_at: datetime | None
    evidence_gone_at: datetime | None

    @property
    def done(self) -> bool:
        """Whether the task counts as done (it was not reopened since)."""
        return self.reopened_at is None


class RecordedCompletions(NamedTuple):
    """What :func:`record_completions` did: tasks marked done, reopens re-armed, evidence ignored."""

    marked: int
    rearmed: int
    ignored: int


class _Held(NamedTuple):
    reopened: bool
    gone: bool


class _PlanState(NamedTuple):
    cycle: int
    tasks: dict[str, _Held]


def done_dates(completions: dict[str, Completion]) -> dict[str, date]:
    """The ``done`` mapping the plan evaluator takes: task id to the day it was done (reopened left out)."""
    return {task_id: c.done_on for task_id, c in completions.items() if c.done}


def read_completions(conn: Connection, crm: str, account_ids: Iterable[str]) -> dict[str, dict[str, Completion]]:
    """Every completion row of each plan's current cycle; an account with a plan and none maps to ``{}``."""
    found: dict[str, dict[str, Completion]] = {}
    for chunk in chunks(sorted(set(account_ids))):
        on = and_(_T.c.crm == _P.c.crm, _T.c.account_id == _P.c.account_id, _T.c.cycle == _P.c.cycle)
        query = select(_P.c.account_id.label("plan_account_id"), *_COMPLETION).select_from(_P.outerjoin(_T, on))
        for row in conn.execute(query.where(_P.c.crm == crm, _P.c.account_id.in_(chunk))):
            tasks = found.setdefault(row.plan_account_id, {})
            if row.task_id is not None:
                tasks[row.task_id] = _as_completion(row)
    return found


def record_completions(
    conn: Connection, crm: str, seen: Iterable[Seen], *, accounts: Collection[str] | None, today: date, now: datetime
) -> RecordedCompletions:
    """Apply the module's rules to the CRM evidence ``seen``; ``accounts`` are reported in full (default: seen's).

    One SELECT per 500 accounts, then at most one INSERT and two UPDATE executemany statements.
    """
    evidence = _evidence(seen)
    checked = set(accounts) if accounts is not None else {key[0] for key in evidence}
    state = _read_state(conn, crm, checked | {key[0] for key in evidence})
    inserts: list[dict[str, Any]] = []
    redone: list[dict[str, Any]] = []
    ignored = 0
    for (account_id, cycle, task_id), source in evidence.items():
        plan = state.get(account_id)
        held = plan.tasks.get(task_id) if plan is not None and plan.cycle == cycle else None
        if plan is None or plan.cycle != cycle:
            ignored += 1
        elif held is None:
            inserts.append(_row(crm, account_id, cycle, task_id, source=source, done_on=today, now=now))
        elif held.reopened and held.gone:
            redone.append(
                _key(crm, account_id, cycle, task_id) | {"b_source": source, "b_done_on": today, "b_now": now}
            )
    rearm = [_key(crm, account_id, plan.cycle, task_id) | {"b_now": now}
             for account_id in checked if (plan := state.get(account_id)) is not None
             for task_id, held in plan.tasks.items()
             if held.reopened and not held.gone and (account_id, plan.cycle, task_id) not in evidence]  # fmt: skip
    _write(conn, inserts, redone, rearm)
    return RecordedCompletions(len(inserts) + len(redone), len(rearm), ignored)


def mark_done(
    conn: Connection, crm: str, account_id: str, task_id: str, *, at: date, note: str | None, now: datetime
) -> Completion:
    """Mark a task of the account's current cycle done by hand on ``at``, replacing any earlier completion."""
    cycle = current_cycle(conn, crm, account_id)
    row = _row(crm, account_id, cycle, task_id, source="manual", done_on=at, now=now, note=note)
    update_columns = ("done_on", "source", "first_seen_at", "note", "reopened_at", "evidence_gone_at")
    upsert(conn, _T, [row], update=update_columns)
    return Completion(task_id, cycle, at, "manual", now, note, None, None)


def reopen(conn: Connection, crm: str, account_id: str, task_id: str, *, now: datetime) -> bool:
    """Reopen a done task of the account's current cycle; False when it was not done (open or reopened)."""
    cycle = current_cycle(conn, crm, account_id)
    where = (_T.c.crm == crm, _T.c.account_id == account_id, _T.c.cycle == cycle, _T.c.task_id == task_id)
    query = update(_T).where(*where, _T.c.reopened_at.is_(None)).values(reopened_at=now, evidence_gone_at=None)
    return bool(conn.execute(query).rowcount)


def _evidence(seen: Iterable[Seen]) -> dict[tuple[str, int, str], str]:
    """Seen tuples by key (the last source of a repeated task wins); an unknown source is a caller bug."""
    evidence: dict[tuple[str, int, str], str] = {}
    for account_id, cycle, task_id, source in seen:
        if source not in SOURCES or source == "manual":
            raise ValueError(f"unknown completion source {source!r} for task {task_id!r}; CRM evidence is one of "
                             "crm_step, crm_field, condition")  # fmt: skip
        evidence[account_id, cycle, task_id] = source
    return evidence


def _read_state(conn: Connection, crm: str, account_ids: Iterable[str]) -> dict[str, _PlanState]:
    """Each plan's current cycle and its task rows (reopened? evidence gone?), one SELECT per 500 accounts."""
    state: dict[str, _PlanState] = {}
    on = and_(_T.c.crm == _P.c.crm, _T.c.account_id == _P.c.account_id, _T.c.cycle == _P.c.cycle)
    columns = (_P.c.account_id, _P.c.cycle, _T.c.task_id, _T.c.reopened_at, _T.c.evidence_gone_at)
    for chunk in chunks(sorted(set(account_ids))):
        query = select(*columns).select_from(_P.outerjoin(_T, on)).where(_P.c.crm == crm, _P.c.account_id.in_(chunk))
        for account_id, cycle, task_id, reopened_at, gone_at in conn.execute(query):
            plan = state.setdefault(account_id, _PlanState(int(cycle), {}))
            if task_id is not None:
                plan.tasks[task_id] = _Held(reopened_at is not None, gone_at is not None)
    return state


def _write(
    conn: Connection, inserts: list[dict[str, Any]], redone: list[dict[str, Any]], rearm: list[dict[str, Any]]
) -> None:
    """The writes of one call; a concurrent insert of the same task keeps the first (DO NOTHING)."""
    if inserts:
        stmt = dialect_insert(conn, _T)
        conn.execute(stmt.on_conflict_do_nothing(), inserts)
    if redone:
        values: dict[str, Any] = {"done_on": bindparam("b_done_on"), "source": bindparam("b_source"),
                                  "first_seen_at": bindparam("b_now"), "note": None, "reopened_at": None,
                                  "evidence_gone_at": None}  # fmt: skip
        conn.execute(_by_key().where(_T.c.evidence_gone_at.is_not(None)).values(values), redone)
    if rearm:
        stmt_rearm = _by_key().where(_T.c.reopened_at.is_not(None), _T.c.evidence_gone_at.is_(None))
        conn.execute(stmt_rearm.values(evidence_gone_at=bindparam("b_now")), rearm)


def _by_key() -> Update:
    return update(_T).where(
        _T.c.crm == bindparam("b_crm"),
        _T.c.account_id == bindparam("b_account_id"),
        _T.c.cycle == bindparam("b_cycle"),
        _T.c.task_id == bindparam("b_task_id"),
    )


def _key(crm: str, account_id: str, cycle: int, task_id: str) -> dict[str, Any]:
    return {"b_crm": crm, "b_account_id": account_id, "b_cycle": cycle, "b_task_id": task_id}


def _row(
    crm: str,
    account_id: str,
    cycle: int,
    task_id: str,
    *,
    source: str,
    done_on: date,
    now: datetime,
    note: str | None = None,
) -> dict[str, Any]:
    return {"crm": crm, "account_id": account_id, "cycle": cycle, "task_id": task_id, "done_on": done_on,
            "source": source, "first_seen_at": now, "note": note, "reopened_at": None,
            "evidence_gone_at": None}  # fmt: skip


def _as_completion(row: Any) -> Completion:
    return Completion(row.task_id, row.cycle, row.done_on, row.source, row.first_seen_at, row.note,
                      row.reopened_at, row.evidence_gone_at)  # fmt: skip
