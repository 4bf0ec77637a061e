"""Reading and saving pull cursors (one row per CRM and object kind)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select

from sync_daemon.store.models import CURSORS
from sync_daemon.store.sql import upsert
from sync_daemon.store.values import CursorState

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy import Connection


def read_cursor(conn: Connection, crm: str, kind: str) -> CursorState:
    """Return the saved cursor, or an empty one (pull everything) when none was saved."""
    query = select(CURSORS.c.watermark, CURSORS.c.pull_since, CURSORS.c.resume).where(
        CURSORS.c.crm == crm, CURSORS.c.kind == kind
    )
    row = conn.execute(query).one_or_none()
    if row is None:
        return CursorState()
    return CursorState(watermark=row.watermark, pull_since=row.pull_since, resume=row.resume)


def save_cursor(conn: Connection, crm: str, kind: str, cursor: CursorState, now: datetime) -> None:
    """Insert or overwrite the cursor of ``crm``/``kind``."""
    row = {
        "crm": crm,
        "kind": kind,
        "watermark": cursor.watermark,
        "pull_since": cursor.pull_since,
        "resume": cursor.resume,
        "updated_at": now,
    }
    upsert(conn, CURSORS, [row], update=("watermark", "pull_since", "resume", "updated_at"))
