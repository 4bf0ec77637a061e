"""The run history: one row per sync or demo cycle, written at its start and its end."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, select, update

from sync_daemon.store.models import RUNS
from sync_daemon.store.values import RunRow

if TYPE_CHECKING:
    from collections.abc import Mapping
    from datetime import datetime

    from sqlalchemy import Connection

RUN_STATUSES = ("running", "ok", "partial", "failed", "stopped", "parked", "interrupted")


def insert_run(conn: Connection, crm: str, command: str, *, dry_run: bool, started_at: datetime) -> str:
    """Record a run as ``running`` and return its id (a uuid4 hex)."""
    run_id = uuid.uuid4().hex
    values = {
        "id": run_id,
        "crm": crm,
        "command": command,
        "dry_run": dry_run,
        "started_at": started_at,
        "status": "running",
        "counts": {},
        "api_calls": 0,
        "errors": 0,
    }
    conn.execute(insert(RUNS).values(values))
    return run_id


def close_run(conn: Connection, run_id: str, values: Mapping[str, Any]) -> None:
    """Write a run's outcome; an unknown id or status is a programming error and raises."""
    status = values["status"]
    if status not in RUN_STATUSES:
        raise ValueError(f"unknown run status {status!r}; expected one of {RUN_STATUSES}")
    result = conn.execute(update(RUNS).where(RUNS.c.id == run_id).values(dict(values)))
    if result.rowcount != 1:
        raise LookupError(f"no run with id {run_id!r}")


def abandon_runs(conn: Connection, command: str, now: datetime) -> int:
    """Close the runs of ``command`` still ``running`` (their process died): ``failed``, saying so; how many."""
    summary = "abandoned: the process running it stopped before it finished (killed or lost)"
    values = {"status": "failed", "finished_at": now, "error_summary": summary}
    query = update(RUNS).where(RUNS.c.command == command, RUNS.c.status == "running").values(values)
    return int(conn.execute(query).rowcount)


def latest_runs(conn: Connection, limit: int) -> list[RunRow]:
    """Return the ``limit`` most recently started runs, newest first."""
    query = select(RUNS).order_by(RUNS.c.started_at.desc(), RUNS.c.id.desc()).limit(limit)
    return [RunRow(**row._asdict()) for row in conn.execute(query)]
