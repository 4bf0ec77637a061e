"""The pull half of a cycle: stream pages from a connector into the store, one transaction a page.

Cursors are small pure computations over state (Singer SDK's bookmarks): a pull reads from the saved
watermark minus an overlap window (records can commit with a timestamp behind a cursor already saved,
and HubSpot's search lags writes), and the new watermark is capped at a "signpost" taken when the pull
started, so a CRM clock running ahead cannot make us skip records. An interrupted pull (crash, spent
budget) resumes from the last committed page: the resume token is saved with the page it follows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import structlog

from sync_daemon.store import CursorState

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime, timedelta

    from connectors.base import Connector, CrmRecord, ObjectKind
    from sync_daemon.domain.personas import PersonaClassifier
    from sync_daemon.progress import PullProgress
    from sync_daemon.store import Store

log = structlog.get_logger(__name__)


@dataclass
class PullStats:
    """What one object's pull did; ``stored`` counts rows inserted or changed."""

    pulled: int = 0
    stored: int = 0
    deleted: int = 0
    pages: int = 0
    api_calls: int = 0
    resumed: bool = False
    since: datetime | None = None
    personas: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        """JSON-able form for the run history."""
        return {
            "pulled": self.pulled,
            "stored": self.stored,
            "deleted": self.deleted,
            "pages": self.pages,
            "api_calls": self.api_calls,
            "resumed": self.resumed,
            "since": self.since.isoformat() if self.since else None,
        }


def start_point(cursor: CursorState, overlap: timedelta) -> tuple[datetime | None, str | None]:
    """Where a pull starts: an interrupted pull resumes; otherwise the watermark minus the overlap."""
    if cursor.resume is not None and cursor.pull_since is not None:
        return cursor.pull_since, cursor.resume
    if cursor.resume is not None:  # an interrupted full pull
        return None, cursor.resume
    if cursor.watermark is None:
        return None, None
    return cursor.watermark - overlap, None


def next_watermark(old: datetime | None, seen: datetime | None, signpost: datetime) -> datetime | None:
    """The watermark after a complete pull: the newest record seen, never past the signpost."""
    candidates = [t for t in (old, seen) if t is not None]
    if not candidates:
        return None
    return min(max(candidates), signpost)


def _personas(
    records: list[CrmRecord], classifier: PersonaClassifier | None, tally: dict[str, int]
) -> dict[str, str | None] | None:
    if classifier is None:
        return None
    out: dict[str, str | None] = {}
    for record in records:
        if record.deleted:
            continue
        persona = classifier.classify(record.fields)
        out[record.id] = persona
        tally[persona] = tally.get(persona, 0) + 1
    return out


class PullInterruptedError(Exception):
    """The pull stopped between two pages because the daemon is shutting down; its counts so far."""

    def __init__(self, kind: str, stats: PullStats) -> None:
        super().__init__(f"the pull of {kind} stopped after {stats.pages} pages: shutting down")
        self.kind = kind
        self.stats = stats


def pull_object(
    connector: Connector,
    store: Store,
    kind: ObjectKind,
    *,
    signpost: datetime,
    overlap: timedelta,
    classifier: PersonaClassifier | None = None,
    progress: PullProgress | None = None,
    interrupted: Callable[[], bool] | None = None,
) -> PullStats:
    """Pull one object kind into the store and move its cursor; returns the counts.

    ``interrupted`` is asked after each stored page: when it says so the pull stops there with
    :class:`PullInterruptedError`; the page's resume point is already stored, so the next cycle goes on from it.
    """
    cursor = store.get_cursor(connector.crm, kind)
    since, resume = start_point(cursor, overlap)
    stats = PullStats(resumed=resume is not None, since=since)
    newest: datetime | None = None
    for page in connector.pull(kind, since, resume):
        if progress is not None and stats.pages == 0:
            progress.start(kind, page.total)
        personas = _personas(page.records, classifier, stats.personas)
        state = CursorState(watermark=cursor.watermark, pull_since=since, resume=page.resume)
        result = store.apply_page(connector.crm, kind, page.records, personas, state)
        stats.pages += 1
        stats.pulled += result.received
        stats.stored += result.stored
        stats.deleted += result.deleted
        stats.api_calls += page.api_calls
        times = [r.modified_at for r in page.records]
        if times:
            newest = max([*times, newest] if newest else times)
        if progress is not None:
            progress.advance(kind, len(page.records))
        if interrupted is not None and interrupted():
            raise PullInterruptedError(kind, stats)
    final = CursorState(watermark=next_watermark(cursor.watermark, newest, signpost), pull_since=None, resume=None)
    store.set_cursor(connector.crm, kind, final)
    if progress is not None:
        if stats.pages == 0:
            progress.start(kind, 0)
        progress.finish(kind)
    log.info("sync.object_pulled", kind=kind, **stats.as_dict())
    return stats
