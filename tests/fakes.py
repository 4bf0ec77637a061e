"""An in-memory connector: the fast fake of the connector seam (no inheritance needed, it is a Protocol)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from connectors.base import ApiUsage, CrmRecord, FieldInfo, ObjectKind, ObjectSchema, Page

if TYPE_CHECKING:
    from collections.abc import Iterator
    from datetime import datetime


@dataclass
class FakeConnector:
    """Records held in memory, served in (modified_at, id) order, ``page_size`` at a time."""

    crm: str = "fake"
    page_size: int = 3
    records: dict[ObjectKind, dict[str, CrmRecord]] = field(default_factory=lambda: {"accounts": {}, "contacts": {}})
    calls: int = 0
    fail_after_pages: int | None = None
    failure: Exception | None = None
    since_seen: list[datetime | None] = field(default_factory=list)

    def put(self, kind: ObjectKind, record: CrmRecord) -> None:
        """Add or replace a record."""
        self.records[kind][record.id] = record

    def pull(self, kind: ObjectKind, since: datetime | None, resume: str | None = None) -> Iterator[Page]:
        """Stream records modified at or after ``since``, resuming after the (time, id) in ``resume``."""
        self.since_seen.append(since)
        rows = sorted(self.records[kind].values(), key=lambda r: (r.modified_at, r.id))
        rows = [r for r in rows if since is None or r.modified_at >= since]
        if resume is not None:
            ts, rid = json.loads(resume)
            rows = [r for r in rows if (r.modified_at.isoformat(), r.id) > (ts, rid)]
        for served, start in enumerate(range(0, max(len(rows), 1), self.page_size)):
            if self.failure is not None and self.fail_after_pages is not None and served >= self.fail_after_pages:
                raise self.failure
            chunk = rows[start : start + self.page_size]
            self.calls += 1
            last = chunk[-1] if chunk else None
            token = json.dumps([last.modified_at.isoformat(), last.id]) if last else None
            yield Page(kind, chunk, token)

    def describe(self, kind: ObjectKind) -> ObjectSchema:
        """A schema with every field a string."""
        names = {n for r in self.records[kind].values() for n in r.fields}
        return ObjectSchema(kind, {n: FieldInfo(n, "string", "string", updateable=True) for n in names})

    def usage(self) -> ApiUsage:
        """Calls made so far."""
        return ApiUsage(calls=self.calls)

    def close(self) -> None:
        """Nothing to release."""
