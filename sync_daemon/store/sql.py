"""Dialect-aware SQL helpers shared by the store's modules.

Both supported backends speak ``INSERT .. ON CONFLICT DO UPDATE``; the two SQLAlchemy dialects
spell the construct with different classes, so the choice is made once here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import func
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from sqlalchemy import Connection, Table

# Ids per IN-list: far below SQLite's variable limit (999 on old builds), few round trips per page.
IN_CHUNK = 500


def chunks(items: Sequence[str], size: int = IN_CHUNK) -> Iterator[Sequence[str]]:
    """Split ``items`` into slices of at most ``size``."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def dialect_insert(conn: Connection, table: Table) -> Any:
    """The dialect's INSERT, which can say ``ON CONFLICT`` (both backends spell it, with different classes)."""
    return pg_insert(table) if conn.dialect.name == "postgresql" else sqlite_insert(table)


def upsert(
    conn: Connection,
    table: Table,
    rows: Sequence[dict[str, Any]],
    *,
    update: Sequence[str],
    keep_existing_if_null: Sequence[str] = (),
) -> None:
    """Insert ``rows`` in one executemany; on a key conflict overwrite only the ``update`` columns.

    Columns in ``keep_existing_if_null`` are overwritten only by non-null values.
    """
    if not rows:
        return
    stmt = dialect_insert(conn, table)
    set_: dict[str, Any] = {name: stmt.excluded[name] for name in update}
    for name in keep_existing_if_null:
        set_[name] = func.coalesce(stmt.excluded[name], table.c[name])
    keys = [column.name for column in table.primary_key.columns]
    conn.execute(stmt.on_conflict_do_update(index_elements=keys, set_=set_), list(rows))
