"""Merging written values into the local copy of records, so the store mirrors what the CRM now holds.

After a batch lands, the CRM holds the daemon's values; the next pull will re-read those records (the write bumped
their modification time) and, were the local copy stale, would count them as changed, or, if the CRM's search lags
the write, make a person's edit look like drift. Folding the written values in right away keeps both honest.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, bindparam, select, update

from sync_daemon.store.models import record_table
from sync_daemon.store.plan import content_hash
from sync_daemon.store.sql import chunks

if TYPE_CHECKING:
    from collections.abc import Mapping

    from sqlalchemy import Connection


def merge_fields(conn: Connection, crm: str, kind: str, values: Mapping[str, Mapping[str, Any]]) -> int:
    """Set ``values[record_id][field]`` on live stored records and refresh their content hash."""
    table = record_table(kind)
    has_account = "account_id" in table.c
    merged = 0
    for ids in chunks(sorted(values), 500):
        columns = [table.c.id, table.c.fields, table.c.account_id if has_account else table.c.id]
        rows = conn.execute(
            select(*columns).where(and_(table.c.crm == crm, table.c.id.in_(ids), table.c.deleted.is_(False)))
        ).all()
        params = []
        for record_id, fields, account in rows:
            new = {**(fields or {}), **values[record_id]}
            link = account if has_account else None
            params.append({"b_id": record_id, "b_fields": new, "b_hash": content_hash(new, link, deleted=False)})
        if params:
            stmt = (
                update(table)
                .where(and_(table.c.crm == crm, table.c.id == bindparam("b_id")))
                .values(fields=bindparam("b_fields"), content_hash=bindparam("b_hash"))
            )
            conn.execute(stmt, params)
            merged += len(params)
    return merged
