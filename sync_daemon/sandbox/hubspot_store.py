"""Storage pieces of the HubSpot sandbox: error replies, the rate limiter, one object table.

Kept apart from the HTTP layer so each can be read (and trusted) on its own.
"""

from __future__ import annotations

import json
import uuid
from collections import deque
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sync_daemon.sandbox import hubspot_data as hd
from sync_daemon.sandbox.hubspot_search import SearchIndex
from sync_daemon.sandbox.server import Response

if TYPE_CHECKING:
    from datetime import datetime

    from sync_daemon.sandbox.server import Clock

SEARCH_PER_SECOND = 5


class HttpError(Exception):
    """Raised inside a handler to answer with a HubSpot error body."""

    def __init__(self, status: int, category: str, message: str, **extra: Any) -> None:
        """Build the body HubSpot sends: status, message, correlationId, category (+ extras)."""
        super().__init__(message)
        body = {"status": "error", "message": message, "correlationId": str(uuid.uuid4())}
        self.response = Response(status, {**body, "category": category, **extra})


def iso(moment: datetime) -> str:
    """HubSpot's datetime rendering."""
    return hd.format_datetime(moment)


def millis(moment: datetime) -> int:
    """Epoch milliseconds."""
    return int(moment.timestamp() * 1000)


def invalid_properties(details: list[dict[str, Any]]) -> HttpError:
    """The whole-request 400 HubSpot answers when any property value is invalid."""
    text = json.dumps(details, ensure_ascii=False)
    return HttpError(400, "VALIDATION_ERROR", f"Property values were not valid: {text}", errors=[])


class RateLimiter:
    """The private-app budgets: a rolling 10-second window, a daily count, a search limit.

    The day ends at midnight in the portal's time zone. Times come from the injected clock.
    """

    def __init__(self, clock: Clock, per_ten: int, daily: int, tz: str) -> None:
        """Start with empty windows and a full day."""
        self.clock, self.per_ten, self.daily, self.tz = clock, per_ten, daily, ZoneInfo(tz)
        self.window: deque[float] = deque()
        self.search_window: deque[float] = deque()
        self.used_today = 0
        self.day = self._today()

    def _today(self) -> str:
        return self.clock.now().astimezone(self.tz).date().isoformat()

    def _roll(self, now: float) -> None:
        for window, span in ((self.window, 10.0), (self.search_window, 1.0)):
            while window and window[0] <= now - span:
                window.popleft()
        today = self._today()
        if today != self.day:
            self.day, self.used_today = today, 0

    def admit(self, *, search: bool, enforce: bool) -> str | None:
        """Count the request, or name the policy that refuses it (only when enforcing)."""
        now = self.clock.now().timestamp()
        self._roll(now)
        if enforce:
            if self.used_today >= self.daily:
                return "DAILY"
            if len(self.window) >= self.per_ten:
                return "TEN_SECONDLY_ROLLING"
            if search and len(self.search_window) >= SEARCH_PER_SECOND:
                return "SECONDLY"
        self.window.append(now)
        self.used_today += 1
        if search:
            self.search_window.append(now)
        return None

    def headers(self) -> dict[str, str]:
        """The X-HubSpot-RateLimit-* headers as they stand after this request."""
        return {
            "X-HubSpot-RateLimit-Max": str(self.per_ten),
            "X-HubSpot-RateLimit-Remaining": str(max(0, self.per_ten - len(self.window))),
            "X-HubSpot-RateLimit-Interval-Milliseconds": "10000",
            "X-HubSpot-RateLimit-Daily": str(self.daily),
            "X-HubSpot-RateLimit-Daily-Remaining": str(max(0, self.daily - self.used_today)),
        }


class ObjectTable:
    """One object type's records by id, with the live (not archived, not merged) ones sorted."""

    def __init__(self, object_type: str, known: dict[str, hd.PropertyDef], next_id: int) -> None:
        """An empty table whose new ids start at ``next_id``."""
        self.object_type, self.known, self.next_id = object_type, known, next_id
        self.objects: dict[int, hd.HubObject] = {}
        self.version = 0
        self._live: list[hd.HubObject] | None = None
        self._indexes: dict[str, dict[str, int]] = {}
        self.search = SearchIndex(known)

    def add(self, obj: hd.HubObject) -> None:
        """Store a new record (ids only grow, so the sorted live list stays sorted)."""
        self.objects[obj.id] = obj
        self.next_id = max(self.next_id, obj.id + 1)
        self.reindex(obj, {})
        if self._live is not None:
            self._live.append(obj)
        self.version += 1

    def live(self) -> list[hd.HubObject]:
        """Searchable records in id order, rebuilt only after archive or merge."""
        if self._live is None:
            self._live = sorted(
                (o for o in self.objects.values() if not o.archived and o.merged_into is None),
                key=lambda o: o.id,
            )
        return self._live

    def changed(self, *, membership: bool = False) -> None:
        """Invalidate search caches; ``membership`` when a record left or joined the live set."""
        self.version += 1
        if membership:
            self._live = None

    def _index(self, name: str) -> dict[str, int]:
        if name not in self._indexes:
            values = ((o.props.get(name), o.id) for o in self.live())
            self._indexes[name] = {v.lower(): oid for v, oid in values if v}
        return self._indexes[name]

    def reindex(self, obj: hd.HubObject, before: dict[str, str | None]) -> None:
        """Keep the by-value indexes right after a write (``before``: the old values)."""
        for name, index in self._indexes.items():
            old, new = before.get(name), obj.props.get(name)
            if old != new and old and index.get(old.lower()) == obj.id:
                del index[old.lower()]
            if new:
                index[new.lower()] = obj.id

    def forget(self, obj: hd.HubObject) -> None:
        """Drop an archived or merged-away record from the by-value indexes."""
        for name, index in self._indexes.items():
            value = obj.props.get(name)
            if value and index.get(value.lower()) == obj.id:
                del index[value.lower()]

    def find(self, key: str, id_property: str | None = None) -> hd.HubObject | None:
        """A record by id (following merges) or a live one by a property's value (indexed)."""
        if id_property and id_property != "hs_object_id":
            oid = self._index(id_property).get(key.lower())
            return None if oid is None else self.objects[oid]
        try:
            obj = self.objects.get(int(key))
        except ValueError:
            return None
        while obj is not None and obj.merged_into is not None:
            obj = self.objects.get(obj.merged_into)
        return obj
