"""Value objects the store hands in and out, and its one error of its own.

Plain frozen dataclasses, so callers (engine, CLI, tests) never touch SQLAlchemy rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime  # noqa: TC003 - dataclass field types are read at runtime
from typing import Any


@dataclass(frozen=True, slots=True)
class CursorState:
    """Where the pull of one object stands.

    ``watermark`` is the highest ``modified_at`` fully stored; ``pull_since`` the ``since`` of the
    pull in progress (kept so a resumed pull repeats the same query); ``resume`` the connector's
    opaque token for the page after the last stored one (``None`` once a pull completes).
    """

    watermark: datetime | None = None
    pull_since: datetime | None = None
    resume: str | None = None


@dataclass(frozen=True, slots=True)
class PageResult:
    """What applying one page did.

    ``received`` counts the page's records (duplicates included); ``stored`` counts live rows
    inserted or changed; ``deleted`` counts rows newly retired, by tombstone or by merge. A page
    applied twice reports ``stored == deleted == 0`` the second time.
    """

    received: int
    stored: int
    deleted: int


@dataclass(frozen=True, slots=True)
class RunRow:
    """One row of the run history."""

    id: str
    crm: str
    command: str
    dry_run: bool
    started_at: datetime
    finished_at: datetime | None
    status: str
    counts: dict[str, Any]
    api_calls: int
    errors: int
    error_summary: str | None


class UnstorableRecordError(ValueError):
    """A record's fields cannot be stored as JSON (not serialisable, NaN, non-string keys).

    The whole page is refused and nothing is written; the message names the record, never its
    values (they may be personal data).
    """

    def __init__(self, kind: str, record_id: str, reason: str) -> None:
        """Name the record kind and id, and say why its fields cannot be stored."""
        super().__init__(f"{kind} {record_id}: fields cannot be stored as JSON: {reason}")
        self.kind = kind
        self.record_id = record_id
