"""Per-CRM state that must outlive a process: budget parking and the safety valve's last stop.

A spent daily budget parks a CRM until its reset, so a restarted daemon (or another replica) does not
spend the reserve on a retry; the safety valve's warning stays visible in ``status`` and metrics
until a cycle passes the valve again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import null, select

from sync_daemon.store.models import CRM_STATE
from sync_daemon.store.sql import dialect_insert

if TYPE_CHECKING:
    from collections.abc import Mapping
    from datetime import datetime

    from sqlalchemy import Connection, Row

_EMPTY: dict[str, Any] = {"parked_until": None, "park_reason": None, "safety_warning": null()}


def save_park(conn: Connection, crm: str, until: datetime | None, reason: str | None, now: datetime) -> None:
    """Park ``crm`` until ``until`` (``None`` lifts the park), keeping its safety warning."""
    row = {**_EMPTY, "crm": crm, "parked_until": until, "park_reason": reason, "updated_at": now}
    _upsert_one(conn, row, update=("parked_until", "park_reason", "updated_at"))


def save_warning(conn: Connection, crm: str, warning: Mapping[str, Any] | None, now: datetime) -> None:
    """Store (or clear, with ``None``) the safety valve's last stop, keeping the park."""
    stored: Any = null() if warning is None else dict(warning)
    row = {**_EMPTY, "crm": crm, "safety_warning": stored, "updated_at": now}
    _upsert_one(conn, row, update=("safety_warning", "updated_at"))


def read_state(conn: Connection, crm: str) -> Row[Any] | None:
    """The state row of ``crm``, ``None`` when nothing was ever recorded."""
    return conn.execute(select(CRM_STATE).where(CRM_STATE.c.crm == crm)).one_or_none()


def _upsert_one(conn: Connection, row: Mapping[str, Any], *, update: tuple[str, ...]) -> None:
    """Insert or update one row given as ``VALUES`` (not bound parameters).

    A JSON column binds Python ``None`` as the JSON ``null``; clearing the warning needs SQL NULL,
    which only the ``null()`` construct inside ``VALUES`` can express.
    """
    stmt = dialect_insert(conn, CRM_STATE)
    stmt = stmt.values(dict(row))
    set_ = {name: stmt.excluded[name] for name in update}
    conn.execute(stmt.on_conflict_do_update(index_elements=["crm"], set_=set_))
