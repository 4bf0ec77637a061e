"""Fake CRMs for outbox tests: every effect is recorded, so a duplicate would be visible.

``FakeCrm`` keeps effects in memory and can fail on cue, before committing (the CRM refused) or after
(the CRM acted and the reply was lost). ``FileCrm`` appends effects to a file, so they survive a
SIGKILLed process. ``PgLogCrm`` inserts into a PostgreSQL table without a UNIQUE constraint, shared
by worker processes.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import text

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlalchemy import Engine

    from sync_daemon.store import Intent


class FakeCrm:
    """In-memory effects (keys, duplicates kept), a call log, and scripted failures."""

    def __init__(self) -> None:
        self.items: list[str] = []
        self.calls: list[tuple[str, str]] = []
        self.fail_before: list[Exception] = []
        self.fail_after: list[Exception] = []
        self.fail_find: list[Exception] = []
        self.on_perform: list[Callable[[Intent], None]] = []

    def find(self, intent: Intent) -> dict[str, object] | None:
        """Return the note made for the intent's key, if any."""
        self.calls.append(("find", intent.key))
        if self.fail_find:
            raise self.fail_find.pop(0)
        if intent.key not in self.items:
            return None
        return {"note_id": f"note-{self.items.index(intent.key)}"}

    def perform(self, intent: Intent) -> dict[str, object]:
        """Create the note, failing first or after committing when told to."""
        self.calls.append(("perform", intent.key))
        for hook in self.on_perform:
            hook(intent)
        if self.fail_before:
            raise self.fail_before.pop(0)
        self.items.append(intent.key)
        if self.fail_after:
            raise self.fail_after.pop(0)
        return {"note_id": f"note-{len(self.items) - 1}"}


class FileCrm:
    """Effects appended to a file, one key per line: what a killed process did stays done."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def items(self) -> list[str]:
        """Every effect recorded, in order, duplicates included."""
        if not self.path.exists():
            return []
        return self.path.read_text(encoding="utf-8").splitlines()

    def find(self, intent: Intent) -> dict[str, object] | None:
        """The effect of the intent's key, if recorded."""
        return {"line": self.items().index(intent.key)} if intent.key in self.items() else None

    def perform(self, intent: Intent) -> dict[str, object]:
        """Record the effect (appended and closed before returning)."""
        with self.path.open("a", encoding="utf-8") as out:
            out.write(intent.key + "\n")
        return {"line": len(self.items()) - 1}


PG_LOG_DDL = "CREATE TABLE IF NOT EXISTS fake_crm_log (n serial PRIMARY KEY, key text NOT NULL, worker text NOT NULL)"


class PgLogCrm:
    """Effects inserted into ``fake_crm_log``, which has no UNIQUE on ``key``: duplicates would show."""

    def __init__(self, engine: Engine, worker: str) -> None:
        self.engine = engine
        self.worker = worker

    def find(self, intent: Intent) -> dict[str, object] | None:
        """The log row of the intent's key, if any."""
        with self.engine.connect() as conn:
            row = conn.execute(text("SELECT min(n) FROM fake_crm_log WHERE key = :k"), {"k": intent.key}).scalar()
        return None if row is None else {"n": row}

    def perform(self, intent: Intent) -> dict[str, object]:
        """Insert a log row, committed before returning."""
        with self.engine.begin() as conn:
            query = text("INSERT INTO fake_crm_log (key, worker) VALUES (:k, :w) RETURNING n")
            n = conn.execute(query, {"k": intent.key, "w": self.worker}).scalar_one()
        return {"n": n}
