"""The values the daemon last wrote, per (CRM, kind, record, field), for drift detection.

Values are stored as JSON in their canonical form: dates and datetimes become ISO strings (datetimes
in UTC), tuples and sets become lists. Readers get those JSON values back and normalise them by the
field's canonical type, the same way the diff normalises pulled values.
"""

from __future__ import annotations

import math
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import String, and_, bindparam, exists, func, select
from sqlalchemy.dialects.postgresql import ARRAY

from sync_daemon.store.models import PUSHED_VALUES
from sync_daemon.store.sql import chunks, upsert
from sync_daemon.store.types import to_utc

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from sqlalchemy import Connection, Select

    from connectors.base import ObjectKind

Written = tuple[str, str, object]
LastWritten = dict[tuple["ObjectKind", str, str], Any]


def to_json_value(value: object) -> Any:
    """Return ``value`` as the JSON the store keeps; refuse what JSON cannot hold faithfully."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("a pushed float must be finite")
        return value
    if isinstance(value, datetime):
        return to_utc(value).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [to_json_value(item) for item in value]
    if isinstance(value, set | frozenset):
        return sorted(to_json_value(item) for item in value)
    raise TypeError(f"cannot store a pushed value of type {type(value).__name__}")


def save_written(
    conn: Connection, crm: str, kind: str, writes: Iterable[Written], *, run_id: str | None, now: datetime
) -> int:
    """Upsert the written values in one executemany; of repeated (record, field) the last wins."""
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for record_id, field, value in writes:
        try:
            stored = to_json_value(value)
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"{kind} {record_id} field {field}: {exc}") from exc
        rows[record_id, field] = {
            "crm": crm,
            "kind": kind,
            "record_id": record_id,
            "field": field,
            "value": stored,
            "written_at": now,
            "run_id": run_id,
        }
    upsert(conn, PUSHED_VALUES, list(rows.values()), update=("value", "written_at", "run_id"))
    return len(rows)


def read_written(conn: Connection, crm: str, kind: ObjectKind, record_ids: Sequence[str]) -> LastWritten:
    """Read every stored field of ``record_ids`` in one SELECT (PostgreSQL) or a few (SQLite)."""
    ids = sorted(set(record_ids))
    if not ids:
        return {}
    if conn.dialect.name == "postgresql":
        queries = [_by_unnest(crm, kind, ids)]
    else:
        queries = [_by_in_list(crm, kind, chunk) for chunk in chunks(ids)]
    found: LastWritten = {}
    for query in queries:
        for record_id, field, value in conn.execute(query):
            found[kind, record_id, field] = value
    return found


def any_written(conn: Connection, crm: str) -> bool:
    """Whether the daemon ever wrote a value to ``crm`` (the first backfill has not happened if not)."""
    return bool(conn.execute(select(exists().where(PUSHED_VALUES.c.crm == crm))).scalar())


_COLUMNS = (PUSHED_VALUES.c.record_id, PUSHED_VALUES.c.field, PUSHED_VALUES.c.value)


def _by_in_list(crm: str, kind: str, ids: Sequence[str]) -> Select[Any]:
    """SQLite: an IN-list per chunk, under the variable limit."""
    table = PUSHED_VALUES
    return select(*_COLUMNS).where(table.c.crm == crm, table.c.kind == kind, table.c.record_id.in_(ids))


def _by_unnest(crm: str, kind: str, ids: Sequence[str]) -> Select[Any]:
    """PostgreSQL: one array parameter joined on the key (see ``pages._by_unnest`` for why)."""
    table = PUSHED_VALUES
    keys = (
        func.unnest(bindparam("ids", list(ids), type_=ARRAY(String())))
        .table_valued("id")
        .render_derived(name="chunk_ids")
    )
    on = and_(table.c.crm == crm, table.c.kind == kind, table.c.record_id == keys.c.id)
    return select(*_COLUMNS).select_from(keys.join(table, on))
