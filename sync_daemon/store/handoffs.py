"""Handoff state in the store: first-reached adoption dates, the latest decision per cycle, the handoff itself.

The rules:

- **Adoption dates never move.** :func:`record_adoption` only inserts: a status an account already reached
  keeps its first date, whatever a later cycle reports (``INSERT .. ON CONFLICT DO NOTHING``).
- **One decision row per account and onboarding cycle** (the plan's ``cycle``; 1 for an account without a
  plan). :func:`save_decisions` upserts the latest decision; once the cycle is handed off its outcome stays
  ``handed_off`` (a re-evaluation under a new policy refreshes the evidence, never undoes a handoff).
- **The handoff happens once.** :func:`record_handoff` sets ``handed_off_on`` and ``note_key`` with one
  conditional UPDATE (``WHERE handed_off_on IS NULL``) in the caller's transaction: two concurrent callers
  cannot both win, and the loser changes nothing. The decision must have been saved first (same transaction).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, case, func, select, update

from sync_daemon.store.models import ADOPTION_REACHED, HANDOFFS, PLANS
from sync_daemon.store.sql import chunks, dialect_insert

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from sqlalchemy import Connection, Row, Select

    from sync_daemon.domain.handoff import HandoffDecision

Reached = tuple[str, str, date]
"""``(account_id, status, reached_on)``: an adoption status an account was seen to reach on a day."""

_A = ADOPTION_REACHED
_H = HANDOFFS
_P = PLANS
_DECIDED = ("outcome", "decided_at", "policy_revision", "override", "evidence", "short", "at_risk_reason")


@dataclass(frozen=True, slots=True)
class DecisionRow:
    """The latest decision of one account's onboarding cycle, as stored (``at_risk_reason`` only when at risk)."""

    account_id: str
    cycle: int
    outcome: str
    policy_revision: int
    override: str | None
    evidence: str
    short: str
    at_risk_reason: str | None

    @classmethod
    def of(cls, account_id: str, cycle: int, decision: HandoffDecision) -> DecisionRow:
        """The row of a pure decision (the domain's :class:`HandoffDecision`)."""
        return cls(
            account_id=account_id,
            cycle=cycle,
            outcome=decision.outcome,
            policy_revision=decision.revision,
            override=decision.override,
            evidence=decision.evidence(),
            short=decision.short,
            at_risk_reason=decision.reason if decision.outcome == "at_risk" else None,
        )


@dataclass(frozen=True, slots=True)
class HandoffRow:
    """A stored decision and, once it happened, the handoff (its date and the note's outbox key)."""

    crm: str
    account_id: str
    cycle: int
    outcome: str
    decided_at: datetime
    policy_revision: int
    override: str | None
    evidence: str
    short: str
    handed_off_on: date | None
    note_key: str | None
    at_risk_reason: str | None
    note_text: str | None = None
    restarted_on: date | None = None


def read_adoption(conn: Connection, crm: str, account_ids: Iterable[str]) -> dict[str, dict[str, date]]:
    """First-reached dates by account then status (accounts with none are left out), one SELECT per 500 ids."""
    found: dict[str, dict[str, date]] = {}
    for chunk in chunks(sorted(set(account_ids))):
        query = select(_A.c.account_id, _A.c.status, _A.c.reached_on).where(_A.c.crm == crm, _A.c.account_id.in_(chunk))
        for account_id, status, reached_on in conn.execute(query):
            found.setdefault(account_id, {})[status] = reached_on
    return found


def record_adoption(conn: Connection, crm: str, rows: Iterable[Reached], now: datetime) -> int:
    """Insert the statuses not yet on record (one executemany); returns how many were new.

    Stored dates never move: a known ``(account, status)`` is skipped, and the insert ignores conflicts
    should another writer get there between the read and the insert. Of repeated rows the earliest date wins.
    """
    wanted: dict[tuple[str, str], date] = {}
    for account_id, status, reached_on in rows:
        key = (account_id, status)
        wanted[key] = min(reached_on, wanted.get(key, reached_on))
    stored = read_adoption(conn, crm, {account_id for account_id, _ in wanted})
    new = [
        {"crm": crm, "account_id": a, "status": s, "reached_on": d, "first_seen_at": now}
        for (a, s), d in wanted.items()
        if s not in stored.get(a, {})
    ]
    if new:
        conn.execute(dialect_insert(conn, _A).on_conflict_do_nothing(), new)
    return len(new)


def read_handoffs(conn: Connection, crm: str, account_ids: Iterable[str]) -> dict[str, HandoffRow]:
    """The decision rows of each account's current cycle (left out when none), one SELECT per 500 ids."""
    found: dict[str, HandoffRow] = {}
    for chunk in chunks(sorted(set(account_ids))):
        for row in conn.execute(_current(crm).where(_H.c.account_id.in_(chunk))):
            found[row.account_id] = _as_handoff(row)
    return found


def save_decisions(conn: Connection, crm: str, rows: Iterable[DecisionRow], now: datetime) -> int:
    """Upsert the latest decision per account and cycle in one executemany; returns how many rows were given.

    The handoff columns are never written here, and a cycle already handed off keeps ``handed_off`` as its
    outcome (the new evidence, revision and override are kept all the same).
    """
    params = [_decision_values(crm, row, now) for row in {(r.account_id, r.cycle): r for r in rows}.values()]
    if not params:
        return 0
    stmt = dialect_insert(conn, _H)
    set_: dict[str, Any] = {name: stmt.excluded[name] for name in _DECIDED}
    set_["outcome"] = case((_H.c.handed_off_on.is_not(None), _H.c.outcome), else_=stmt.excluded.outcome)
    keys = [column.name for column in _H.primary_key.columns]
    conn.execute(stmt.on_conflict_do_update(index_elements=keys, set_=set_), params)
    return len(params)


def record_handoff(
    conn: Connection,
    crm: str,
    account_id: str,
    cycle: int,
    *,
    handed_off_on: date,
    note_key: str,
    now: datetime,
    note_text: str | None = None,
) -> bool:
    """Hand the cycle off, once: True when this call did it, False when it was already handed off.

    ``LookupError`` naming the account when no decision of that cycle was saved (save it first, in the same
    transaction). The conditional UPDATE is the guard, so a concurrent second caller finds nothing to update.
    """
    key = and_(_H.c.crm == crm, _H.c.account_id == account_id, _H.c.cycle == cycle)
    values = {"handed_off_on": handed_off_on, "note_key": note_key, "note_text": note_text, "outcome": "handed_off",
              "decided_at": now}  # fmt: skip
    done = conn.execute(update(_H).where(key, _H.c.handed_off_on.is_(None)).values(values))
    if done.rowcount == 1:
        return True
    if conn.execute(select(_H.c.cycle).where(key)).first() is None:
        raise LookupError(f"account {account_id!r} has no handoff decision for cycle {cycle} on {crm}; save it first")
    return False


def mark_restarted(conn: Connection, crm: str, account_id: str, cycle: int, on: date) -> bool:
    """Record on an at-risk cycle that it was restarted on ``on``; False when it is not at risk or already was."""
    key = and_(_H.c.crm == crm, _H.c.account_id == account_id, _H.c.cycle == cycle)
    done = conn.execute(
        update(_H)
        .where(key, _H.c.outcome == "at_risk", _H.c.restarted_on.is_(None), _H.c.handed_off_on.is_(None))
        .values(restarted_on=on)
    )
    return done.rowcount == 1


def history(conn: Connection, crm: str, account_id: str) -> list[HandoffRow]:
    """Every cycle's decision row of one account, oldest cycle first (``handoff show``)."""
    query = select(_H).where(_H.c.crm == crm, _H.c.account_id == account_id).order_by(_H.c.cycle)
    return [_as_handoff(row) for row in conn.execute(query)]


def list_handoffs(conn: Connection, crm: str, outcome: str | None, limit: int) -> list[HandoffRow]:
    """Current-cycle decisions of ``crm``, optionally of one outcome, by account id."""
    query = _current(crm)
    if outcome is not None:
        query = query.where(_H.c.outcome == outcome)
    return [_as_handoff(row) for row in conn.execute(query.order_by(_H.c.account_id).limit(limit))]


def _current(crm: str) -> Select[Any]:
    """Decision rows of ``crm`` in each account's current cycle: the plan's, or 1 without a plan."""
    plan = and_(_P.c.crm == _H.c.crm, _P.c.account_id == _H.c.account_id)
    return (
        select(_H)
        .select_from(_H.outerjoin(_P, plan))
        .where(_H.c.crm == crm, _H.c.cycle == func.coalesce(_P.c.cycle, 1))
    )


def _decision_values(crm: str, row: DecisionRow, now: datetime) -> dict[str, Any]:
    values = {name: getattr(row, name) for name in DecisionRow.__slots__}
    values.update(crm=crm, decided_at=now, handed_off_on=None, note_key=None, note_text=None, restarted_on=None)
    return values


def _as_handoff(row: Row[Any]) -> HandoffRow:
    return HandoffRow(**{name: getattr(row, name) for name in HandoffRow.__slots__})


__all__: Sequence[str] = ["DecisionRow", "HandoffRow", "Reached"]
