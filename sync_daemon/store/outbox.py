"""The outbox's SQL: intents stored before any API call, claimed by one worker at a time.

An intent goes ``pending`` -> ``in_flight`` (claimed, with a lease) -> ``done``; a failure sends it
back to ``pending`` with a ``not_before`` for backoff, or to ``dead`` after too many attempts. A
worker that crashes leaves its intents ``in_flight``; once their lease runs out they are due again.

Claiming is one ``WITH picked AS (SELECT .. LIMIT n) UPDATE .. FROM picked RETURNING``: on
PostgreSQL the pick takes ``FOR UPDATE SKIP LOCKED``, so concurrent workers lock disjoint rows and never block
on each other; on SQLite the caller's ``BEGIN IMMEDIATE`` serialises claimers instead.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, case, func, or_, select, update

from sync_daemon.store.models import OUTBOX
from sync_daemon.store.push_values import INTENT_STATUSES, Intent
from sync_daemon.store.sql import dialect_insert

if TYPE_CHECKING:
    from collections.abc import Mapping
    from datetime import datetime, timedelta

    from sqlalchemy import Connection, Row

_T = OUTBOX


def insert_intent(
    conn: Connection,
    *,
    key: str,
    crm: str,
    kind: str,
    payload: Mapping[str, Any],
    priority: int,
    now: datetime,
) -> bool:
    """Store a pending intent; a key already stored is left as it is. Returns whether it was new."""
    row = {
        "key": key,
        "crm": crm,
        "kind": kind,
        "priority": priority,
        "payload": dict(payload),
        "status": "pending",
        "attempts": 0,
        "created_at": now,
        "updated_at": now,
        "not_before": now,
    }
    insert = dialect_insert(conn, _T)
    stmt = insert.values(row).on_conflict_do_nothing(index_elements=["key"]).returning(_T.c.id)
    # RETURNING, not rowcount: SQLAlchemy adds its own RETURNING for the key on PostgreSQL, and
    # the rowcount then reads -1 whether or not a row was inserted.
    return conn.execute(stmt).first() is not None


def claim_intents(
    conn: Connection, *, worker: str, limit: int, now: datetime, lease: timedelta, crm: str | None
) -> list[Intent]:
    """Move up to ``limit`` due intents to ``in_flight`` for ``worker``, by (priority, id)."""
    due = or_(
        and_(_T.c.status == "pending", _T.c.not_before <= now),
        and_(_T.c.status == "in_flight", _T.c.lease_until <= now),
    )
    pick = select(_T.c.id).where(due).order_by(_T.c.priority, _T.c.id).limit(limit)
    if crm is not None:
        pick = pick.where(_T.c.crm == crm)
    if conn.dialect.name == "postgresql":
        pick = pick.with_for_update(skip_locked=True)
    # MATERIALIZED: run the locking pick exactly once. As an IN-subquery, PostgreSQL may plan a
    # semi-join that rescans it per row, and each rescan can lock and return further rows.
    picked = pick.cte("picked").prefix_with("MATERIALIZED", dialect="postgresql")
    claim = (
        update(_T)
        # ``due`` again: should a row change between the pick and the update, the re-check skips it.
        .where(_T.c.id == picked.c.id, due)
        .values(
            status="in_flight",
            claimed_by=worker,
            lease_until=now + lease,
            attempts=_T.c.attempts + 1,
            updated_at=now,
        )
        .returning(*_T.c)
    )
    intents = [_as_intent(row) for row in conn.execute(claim)]
    return sorted(intents, key=lambda intent: (intent.priority, intent.id))


def finish_intent(conn: Connection, intent_id: int, worker: str, result: Mapping[str, Any], now: datetime) -> bool:
    """Mark an intent ``done`` with its result, if ``worker`` still holds it."""
    values = {"status": "done", "result": dict(result), "lease_until": None, "updated_at": now}
    return _update_held(conn, intent_id, worker, values)


def release_intent(
    conn: Connection,
    intent_id: int,
    worker: str,
    *,
    error: str | None,
    retry_at: datetime,
    max_attempts: int,
    count_attempt: bool,
    now: datetime,
) -> bool:
    """Give a held intent back: ``pending`` until ``retry_at``, or ``dead`` after ``max_attempts``.

    ``count_attempt=False`` undoes the claim's increment (the CRM never got to act: a spent budget,
    a drain stopping early), so such releases never kill an intent. ``error=None`` keeps the last one.
    """
    values: dict[str, Any] = {
        "status": case((_T.c.attempts >= max_attempts, "dead"), else_="pending") if count_attempt else "pending",
        "attempts": _T.c.attempts if count_attempt else _T.c.attempts - 1,
        "not_before": retry_at,
        "claimed_by": None,
        "lease_until": None,
        "updated_at": now,
    }
    if error is not None:
        values["last_error"] = error
    return _update_held(conn, intent_id, worker, values)


def count_by_status(conn: Connection, crm: str | None) -> dict[str, int]:
    """How many intents are in each status (every status present, zero included)."""
    query = select(_T.c.status, func.count()).group_by(_T.c.status)
    if crm is not None:
        query = query.where(_T.c.crm == crm)
    counts: dict[str, int] = dict.fromkeys(INTENT_STATUSES, 0)
    counts.update({status: int(n) for status, n in conn.execute(query)})
    return counts


def find_intent(conn: Connection, key: str) -> Intent | None:
    """The intent stored under ``key``, if any."""
    row = conn.execute(select(_T).where(_T.c.key == key)).one_or_none()
    return None if row is None else _as_intent(row)


def _update_held(conn: Connection, intent_id: int, worker: str, values: Mapping[str, Any]) -> bool:
    """Apply ``values`` only while ``worker`` holds the intent; False when its lease was lost."""
    held = and_(_T.c.id == intent_id, _T.c.claimed_by == worker, _T.c.status == "in_flight")
    return conn.execute(update(_T).where(held).values(dict(values))).rowcount == 1


def _as_intent(row: Row[Any]) -> Intent:
    return Intent(**row._asdict())
