"""Writing one pulled page: a handful of bulk statements inside the caller's transaction.

The page's ids (and the ids merged away by its records) are looked up in one SELECT (PostgreSQL)
or a few chunked IN-lists (SQLite), the plan decides what changed, and the changed rows go out in
at most two executemany upserts.
Nothing here commits: the store wraps the page and its cursor in one transaction.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import String, and_, bindparam, func, select
from sqlalchemy.dialects.postgresql import ARRAY

from sync_daemon.store.models import record_table
from sync_daemon.store.plan import Existing, latest_by_id, merge_losers, plan_page
from sync_daemon.store.sql import chunks, upsert

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from datetime import datetime

    from sqlalchemy import ColumnElement, Connection, Select, Table

    from connectors.base import CrmRecord
    from sync_daemon.store.values import PageResult

_LIVE_UPDATE = ("fields", "content_hash", "modified_at", "deleted", "merged_into", "changed_at")
_CONTACT_UPDATE = ("account_id", "persona")
# Retiring keeps the last known fields, account and persona; only the deletion columns move.
_RETIRE_UPDATE = ("content_hash", "modified_at", "deleted", "changed_at")


def write_page(
    conn: Connection,
    kind: str,
    crm: str,
    records: Sequence[CrmRecord],
    *,
    personas: Mapping[str, str | None] | None,
    now: datetime,
) -> PageResult:
    """Upsert the changed records of one page and retire tombstoned or merged rows."""
    table = record_table(kind)
    latest = latest_by_id(records)
    wanted = sorted(set(latest) | set(merge_losers(latest.values())))
    existing = fetch_existing(conn, table, crm, wanted)
    plan = plan_page(kind, crm, records, existing, personas=personas, now=now)
    live_update = _LIVE_UPDATE + (_CONTACT_UPDATE if kind == "contacts" else ())
    upsert(conn, table, plan.live, update=live_update)
    upsert(conn, table, plan.retired, update=_RETIRE_UPDATE, keep_existing_if_null=("merged_into",))
    return plan.result


def fetch_existing(conn: Connection, table: Table, crm: str, ids: Sequence[str]) -> dict[str, Existing]:
    """Read the change-detection columns of ``ids`` in as few SELECTs as the backend allows."""
    columns: list[ColumnElement[Any]] = [
        table.c.id,
        table.c.content_hash,
        table.c.deleted,
        table.c.merged_into,
    ]
    if "persona" in table.c:
        columns.append(table.c.persona)
    if conn.dialect.name == "postgresql":
        queries = [_by_unnest(table, columns, crm, ids)] if ids else []
    else:
        queries = [_by_in_list(table, columns, crm, chunk) for chunk in chunks(ids)]
    found: dict[str, Existing] = {}
    for query in queries:
        for row in conn.execute(query).mappings():
            found[row["id"]] = Existing(
                content_hash=row["content_hash"],
                deleted=row["deleted"],
                merged_into=row["merged_into"],
                persona=row.get("persona"),
            )
    return found


def _by_in_list(table: Table, columns: Sequence[ColumnElement[Any]], crm: str, ids: Sequence[str]) -> Select[Any]:
    """SQLite: an IN-list per chunk, kept under the variable limit."""
    return select(*columns).where(table.c.crm == crm, table.c.id.in_(ids))


def _by_unnest(table: Table, columns: Sequence[ColumnElement[Any]], crm: str, ids: Sequence[str]) -> Select[Any]:
    """PostgreSQL: one array parameter joined on the primary key.

    A long IN-list of parameters goes bad under psycopg's prepared (generic) plans while a fresh
    table has no statistics: every page then rescans the CRM's rows once per id. The join is
    a nested loop over the key once statistics exist, and a single hash join before.
    """
    keys = (
        func.unnest(bindparam("ids", list(ids), type_=ARRAY(String())))
        .table_valued("id")
        .render_derived(name="page_ids")
    )
    on = and_(table.c.crm == crm, table.c.id == keys.c.id)
    return select(*columns).select_from(keys.join(table, on))
