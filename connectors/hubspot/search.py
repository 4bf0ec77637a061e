"""Search requests and the resume token: pure functions, no I/O.

A pull is one ``filterGroup`` ANDing the mapping's scope, ``<last-modified> GTE since`` and a keyset
``hs_object_id GT <last id>``, sorted by ``hs_object_id`` ascending. Every page is a *new* search
starting after the previous page's last id, never an ``after`` offset: HubSpot's search refuses to
page past 10,000 results per query, and a keyset query never gets near that cap however large the
pull is.

Resume tokens: ``search:<last id>`` (``search:`` before the first page) while searching, then
``archived:<after>`` (``archived:`` to start) while listing archived records for tombstones.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    from sync_daemon.config.models import ScalarValue, ScopeClause

PAGE_LIMIT = 200
ARCHIVED_PAGE_LIMIT = 100
MAX_FILTERS_PER_GROUP = 10  # HubSpot's limit since August 2024
OBJECT_ID = "hs_object_id"
MERGED_IDS = "hs_merged_object_ids"
MODIFIED_PROPERTY: dict[str, str] = {
    "companies": "hs_lastmodifieddate",
    "contacts": "lastmodifieddate",
}
_OPERATORS: dict[str, str] = {
    "eq": "EQ",
    "ne": "NEQ",
    "in": "IN",
    "not_in": "NOT_IN",
    "gt": "GT",
    "gte": "GTE",
    "lt": "LT",
    "lte": "LTE",
    "is_set": "HAS_PROPERTY",
    "is_not_set": "NOT_HAS_PROPERTY",
}
_BUILT_IN_FILTERS = 2  # last-modified and keyset


def modified_property(object_name: str) -> str:
    """The last-modified property of a HubSpot object (``hs_lastmodifieddate`` unless contacts)."""
    return MODIFIED_PROPERTY.get(object_name, "hs_lastmodifieddate")


def filter_value(value: ScalarValue) -> str:
    """A scope value as HubSpot's filters want it: a string, booleans lower-case."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def epoch_ms(moment: datetime) -> str:
    """An instant as epoch milliseconds (naive datetimes are taken as UTC)."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return str(int(aware.timestamp() * 1000))


def scope_filter(clause: ScopeClause) -> dict[str, Any]:
    """One mapping scope clause as a HubSpot search filter."""
    operator = _OPERATORS[clause.op]
    out: dict[str, Any] = {"propertyName": clause.field, "operator": operator}
    if clause.op in ("is_set", "is_not_set"):
        return out
    if clause.op in ("in", "not_in"):
        values = clause.value if isinstance(clause.value, list) else [clause.value]
        out["values"] = [filter_value(v) for v in values if v is not None]
        return out
    if clause.value is None or isinstance(clause.value, list):
        raise ValueError(f"scope clause on {clause.field!r} with op {clause.op!r} needs a single value")
    out["value"] = filter_value(clause.value)
    return out


def check_scope(scope: Sequence[ScopeClause], object_name: str) -> None:
    """Refuse a scope HubSpot would refuse: too many filters in one group, a malformed clause."""
    limit = MAX_FILTERS_PER_GROUP - _BUILT_IN_FILTERS
    if len(scope) > limit:
        raise ValueError(
            f"the {object_name} scope has {len(scope)} clauses; HubSpot search allows {limit} "
            f"besides the connector's own last-modified and keyset filters"
        )
    for clause in scope:
        scope_filter(clause)


def search_request(
    scope: Iterable[ScopeClause],
    *,
    modified: str,
    since: datetime | None,
    after_id: int | None,
    properties: Sequence[str],
    limit: int = PAGE_LIMIT,
) -> dict[str, Any]:
    """The body of one keyset search page."""
    filters = [scope_filter(c) for c in scope]
    if since is not None:
        filters.append({"propertyName": modified, "operator": "GTE", "value": epoch_ms(since)})
    if after_id is not None:
        filters.append({"propertyName": OBJECT_ID, "operator": "GT", "value": str(after_id)})
    body: dict[str, Any] = {
        "sorts": [{"propertyName": OBJECT_ID, "direction": "ASCENDING"}],
        "properties": list(properties),
        "limit": limit,
    }
    body["filterGroups"] = [{"filters": filters}] if filters else []
    return body


def properties_to_read(crm_fields: Iterable[str], modified: str) -> list[str]:
    """The mapped CRM fields plus what the connector itself needs, each once, in a stable order."""
    wanted = [*crm_fields, OBJECT_ID, modified, MERGED_IDS]
    return list(dict.fromkeys(wanted))


def last_id(results: Iterable[Mapping[str, Any]]) -> int | None:
    """The largest numeric id in a page (the keyset for the next one); malformed ids are ignored."""
    best: int | None = None
    for result in results:
        try:
            value = int(str(result.get("id")))
        except ValueError:
            continue
        best = value if best is None or value > best else best
    return best


def has_more(data: Mapping[str, Any], count: int, limit: int) -> bool:
    """Whether another page may follow: a full page, or HubSpot naming a next one.

    A full page without ``paging.next`` still asks once more (an empty answer ends it): one cheap
    call is better than trusting a missing key and losing records.
    """
    paging = data.get("paging")
    has_next = isinstance(paging, dict) and bool(paging.get("next"))
    return count > 0 and (count >= limit or has_next)


@dataclass(frozen=True, slots=True)
class Cursor:
    """Where a pull stands: the phase and its position (last id, or the list's ``after``)."""

    phase: Literal["search", "archived"]
    position: str | None = None

    def token(self) -> str:
        """The opaque resume token for :attr:`connectors.base.Page.resume`."""
        return f"{self.phase}:{self.position or ''}"

    @property
    def after_id(self) -> int | None:
        """The search keyset as an int (``None`` before the first page)."""
        return int(self.position) if self.position else None


def parse_resume(token: str | None) -> Cursor:
    """The cursor a resume token names; ``None`` starts from the beginning."""
    if token is None:
        return Cursor("search")
    phase, sep, position = token.partition(":")
    if not sep or phase not in ("search", "archived"):
        raise ValueError(f"not a HubSpot resume token: {token!r}")
    if phase == "search":
        if position and not position.isdigit():
            raise ValueError(f"not a HubSpot resume token: {token!r}")
        return Cursor("search", position or None)
    return Cursor("archived", position or None)
