"""Read-side queries over stored records, for the engine, the CLI and the tests."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import func, null, select

from sync_daemon.store.models import record_table
from sync_daemon.store.sql import chunks

if TYPE_CHECKING:
    from collections.abc import Iterator

    from sqlalchemy import Connection, Row, Select, Table

_RECORD_KEYS = ("id", "fields", "deleted", "account_id", "persona", "merged_into", "modified_at")


def count_records(conn: Connection, kind: str, crm: str | None, *, include_deleted: bool) -> int:
    """Count stored records of ``kind``, optionally of one CRM, live ones only unless asked."""
    table = record_table(kind)
    query = select(func.count()).select_from(table)
    if crm is not None:
        query = query.where(table.c.crm == crm)
    if not include_deleted:
        query = query.where(table.c.deleted.is_(False))
    return int(conn.execute(query).scalar_one())


def _record_select(table: Table) -> Select[Any]:
    """Select the public record columns; accounts have no account link or persona, so NULL."""
    columns = [table.c[key] if key in table.c else null().label(key) for key in _RECORD_KEYS]
    return select(*columns)


def _as_dict(row: Row[Any]) -> dict[str, Any]:
    return dict(row._mapping)  # noqa: SLF001 - _mapping is public API despite its name


def fetch_record(conn: Connection, kind: str, crm: str, record_id: str) -> dict[str, Any] | None:
    """Return one record as a plain dict (deleted ones included), or ``None``."""
    table = record_table(kind)
    query = _record_select(table).where(table.c.crm == crm, table.c.id == record_id)
    row = conn.execute(query).one_or_none()
    return None if row is None else _as_dict(row)


def stream_records(
    conn: Connection, kind: str, crm: str, *, batch: int, include_deleted: bool
) -> Iterator[dict[str, Any]]:
    """Yield records ordered by id, ``batch`` rows at a time (a server-side cursor on PG)."""
    table = record_table(kind)
    query = _record_select(table).where(table.c.crm == crm).order_by(table.c.id)
    if not include_deleted:
        query = query.where(table.c.deleted.is_(False))
    # Closing the result explicitly releases PostgreSQL's server-side cursor when the caller
    # abandons the stream half-way.
    with conn.execute(query.execution_options(yield_per=batch)) as result:
        for row in result:
            yield _as_dict(row)


def contacts_by_account(conn: Connection, crm: str, account_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """The live contacts of each account (accounts without one are left out), by account then contact id."""
    table = record_table("contacts")
    found: dict[str, list[dict[str, Any]]] = {}
    for chunk in chunks(account_ids):
        query = (
            _record_select(table)
            .where(table.c.crm == crm, table.c.account_id.in_(chunk), table.c.deleted.is_(False))
            .order_by(table.c.account_id, table.c.id)
        )
        for row in conn.execute(query):
            record = _as_dict(row)
            found.setdefault(record["account_id"], []).append(record)
    return found


def count_personas(conn: Connection, crm: str, account_id: str) -> dict[str, int]:
    """Count an account's live contacts per persona; contacts without a persona are left out."""
    table = record_table("contacts")
    query = (
        select(table.c.persona, func.count())
        .where(
            table.c.crm == crm,
            table.c.account_id == account_id,
            table.c.deleted.is_(False),
            table.c.persona.is_not(None),
        )
        .group_by(table.c.persona)
        .order_by(table.c.persona)
    )
    return {persona: int(n) for persona, n in conn.execute(query)}
