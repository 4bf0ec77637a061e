"""Per-record errors: what the CRM said about each record it rejected, until it accepts it.

One row per (CRM, kind, record). A new failure of a known record updates its code and message and
counts one more attempt; a record an operator dismissed stays dismissed (the engine leaves it out of
plans) but still shows its latest error. A record that is written successfully loses its row.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, func, select, update

from sync_daemon.store.models import RECORD_ERRORS
from sync_daemon.store.push_values import ErrorGroup, ErrorRow
from sync_daemon.store.sql import chunks, dialect_insert

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from datetime import datetime

    from sqlalchemy import ColumnElement, Connection, Row

    from connectors.base import WriteResult

UNKNOWN_CODE = "UNKNOWN"
_T = RECORD_ERRORS
_ORDER = (_T.c.crm, _T.c.code, _T.c.kind, _T.c.record_id)


def save_failures(
    conn: Connection, crm: str, kind: str, failures: Iterable[WriteResult], *, run_id: str | None, now: datetime
) -> int:
    """Upsert one row per failed record in one executemany; returns how many records failed."""
    rows = {
        failure.id: {
            "crm": crm,
            "kind": kind,
            "record_id": failure.id,
            "code": failure.code or UNKNOWN_CODE,
            "message": failure.message or "",
            "fields": list(failure.fields),
            "first_seen_at": now,
            "last_seen_at": now,
            "attempts": 1,
            "status": "open",
            "run_id": run_id,
        }
        for failure in failures
        if not failure.ok
    }
    if not rows:
        return 0
    stmt = dialect_insert(conn, _T)
    set_: dict[str, Any] = {name: stmt.excluded[name] for name in ("code", "message", "fields", "last_seen_at")}
    set_["run_id"] = stmt.excluded.run_id
    set_["attempts"] = _T.c.attempts + 1
    keys = [column.name for column in _T.primary_key.columns]
    conn.execute(stmt.on_conflict_do_update(index_elements=keys, set_=set_), list(rows.values()))
    return len(rows)


def delete_errors(conn: Connection, crm: str, kind: str, record_ids: Sequence[str]) -> int:
    """Forget the errors of records that were just written successfully."""
    removed = 0
    for chunk in chunks(sorted(set(record_ids))):
        where = (_T.c.crm == crm, _T.c.kind == kind, _T.c.record_id.in_(chunk))
        removed += conn.execute(delete(_T).where(*where)).rowcount
    return removed


def list_errors(conn: Connection, crm: str | None, status: str = "open") -> list[ErrorRow]:
    """Every error in ``status``, of one CRM or all, ordered by CRM, code, kind and record."""
    query = select(_T).where(_T.c.status == status).order_by(*_ORDER)
    if crm is not None:
        query = query.where(_T.c.crm == crm)
    return [_as_error(row) for row in conn.execute(query)]


def group_errors(conn: Connection, crm: str | None, examples: int, status: str = "open") -> list[ErrorGroup]:
    """Errors grouped by code, largest group first, each with its ``examples`` most recent records."""
    where = [_T.c.status == status] + ([_T.c.crm == crm] if crm is not None else [])
    counts = select(_T.c.code, func.count().label("n")).where(*where).group_by(_T.c.code)
    rank = func.row_number().over(partition_by=_T.c.code, order_by=(_T.c.last_seen_at.desc(), _T.c.record_id))
    ranked = select(_T, rank.label("rank")).where(*where).subquery()
    sample = select(ranked).where(ranked.c.rank <= examples).order_by(ranked.c.code, ranked.c.rank)
    by_code: dict[str, list[ErrorRow]] = {}
    for row in conn.execute(sample):
        by_code.setdefault(row.code, []).append(_as_error(row))
    groups = [ErrorGroup(code, int(n), by_code.get(code, [])) for code, n in conn.execute(counts)]
    return sorted(groups, key=lambda group: (-group.count, group.code))


def count_errors(conn: Connection, crm: str | None) -> dict[str, int]:
    """How many records are in each error status (both keys always present)."""
    query = select(_T.c.status, func.count()).group_by(_T.c.status)
    if crm is not None:
        query = query.where(_T.c.crm == crm)
    counts = {"open": 0, "dismissed": 0}
    counts.update({status: int(n) for status, n in conn.execute(query)})
    return counts


def set_status(
    conn: Connection, crm: str, *, record_id: str | None, code: str | None, from_status: str, to_status: str
) -> int:
    """Move the matching errors between statuses; a retry also restarts the attempt count."""
    where: list[ColumnElement[bool]] = [_T.c.crm == crm, _T.c.status == from_status]
    if record_id is not None:
        where.append(_T.c.record_id == record_id)
    if code is not None:
        where.append(_T.c.code == code)
    values: dict[str, Any] = {"status": to_status}
    if to_status == "open":
        values["attempts"] = 0
    return int(conn.execute(update(_T).where(*where).values(values)).rowcount)


def dismissed(conn: Connection, crm: str, kind: str) -> set[str]:
    """The ids of dismissed records of ``kind``: the engine plans no write for them."""
    query = select(_T.c.record_id).where(_T.c.crm == crm, _T.c.kind == kind, _T.c.status == "dismissed")
    return set(conn.execute(query).scalars())


def _as_error(row: Row[Any]) -> ErrorRow:
    return ErrorRow(
        crm=row.crm,
        kind=row.kind,
        record_id=row.record_id,
        code=row.code,
        message=row.message,
        fields=tuple(row.fields),
        first_seen_at=row.first_seen_at,
        last_seen_at=row.last_seen_at,
        attempts=row.attempts,
        status=row.status,
        run_id=row.run_id,
    )
