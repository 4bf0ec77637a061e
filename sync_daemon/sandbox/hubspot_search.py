"""The CRM search endpoint's semantics: filterGroups, one sort, offset paging and its 10,000 cap.

Filters compare typed values (numbers as numbers, dates and datetimes as epoch milliseconds, text
case-insensitively), as HubSpot's documentation describes. Speed matters because the performance
suite pulls 100,000 contacts 200 at a time with ``hs_object_id > last`` filters: the live objects
are kept sorted by id, filtered lists are cached per data version, and id bounds are applied by
bisection, so a page costs a logarithm, not a scan.
"""

from __future__ import annotations

import bisect
import fnmatch
import json
import re
from dataclasses import dataclass
from itertools import islice
from typing import TYPE_CHECKING, Any

from sync_daemon.sandbox.hubspot_data import PropertyDef, to_millis

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from sync_daemon.sandbox.hubspot_data import HubObject

MAX_LIMIT = 200
MAX_RESULTS = 10_000
MAX_GROUPS, MAX_FILTERS_PER_GROUP, MAX_FILTERS = 5, 10, 25
OPERATORS = {
    "EQ", "NEQ", "LT", "LTE", "GT", "GTE", "BETWEEN", "IN", "NOT_IN", "HAS_PROPERTY",
    "NOT_HAS_PROPERTY", "CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN",
}  # fmt: skip
ID = "hs_object_id"
_TEXT_SEARCHED = ("name", "domain", "website", "firstname", "lastname", "email", "phone")

Predicate = "Callable[[HubObject], bool]"


class SearchError(ValueError):
    """A request HubSpot would answer with 400 VALIDATION_ERROR."""


@dataclass(frozen=True)
class Filter:
    """One filter as sent: ``value``; ``high`` (highValue) for BETWEEN; ``values`` for IN."""

    prop: str
    op: str
    value: Any = None
    high: Any = None
    values: tuple[Any, ...] = ()


@dataclass(frozen=True)
class SearchQuery:
    """A parsed search body."""

    groups: tuple[tuple[Filter, ...], ...]
    sort: str
    descending: bool
    limit: int
    offset: int
    properties: tuple[str, ...]
    text: str | None


def parse_search(body: Any, known: dict[str, PropertyDef]) -> SearchQuery:
    """Validate a search body the way HubSpot does; ``SearchError`` carries the 400 message."""
    body = body or {}
    groups = tuple(_parse_group(g, known) for g in body.get("filterGroups") or ())
    if len(groups) > MAX_GROUPS or sum(len(g) for g in groups) > MAX_FILTERS:
        raise SearchError(f"Too many filters: at most {MAX_GROUPS} filterGroups, {MAX_FILTERS} filters")
    sort, descending = _parse_sorts(body.get("sorts") or [], known)
    limit = _int(body.get("limit", 10), "limit")
    if not 0 < limit <= MAX_LIMIT:
        raise SearchError(f"limit must be between 1 and {MAX_LIMIT}, got {limit}")
    offset = _int(body.get("after") or 0, "after")
    if offset >= MAX_RESULTS:
        raise SearchError(
            f"Search results are limited to {MAX_RESULTS} per query; after={offset} pages past "
            "them. "
            "Narrow the query (for example with hs_object_id or a time window) and page within it."
        )
    props = tuple(body.get("properties") or ())
    return SearchQuery(groups, sort, descending, limit, offset, props, body.get("query") or None)


def _int(value: Any, name: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise SearchError(f"{name} must be an integer, got {value!r}") from None


def _parse_group(group: Any, known: dict[str, PropertyDef]) -> tuple[Filter, ...]:
    filters = tuple(_parse_filter(f, known) for f in (group or {}).get("filters") or ())
    if len(filters) > MAX_FILTERS_PER_GROUP:
        raise SearchError(f"A filterGroup may hold at most {MAX_FILTERS_PER_GROUP} filters")
    return filters


def _parse_filter(raw: Any, known: dict[str, PropertyDef]) -> Filter:
    prop, op = raw.get("propertyName"), raw.get("operator") or "EQ"
    if prop not in known:
        raise SearchError(f"Property '{prop}' does not exist or is not searchable")
    if prop == ID and any(to_millis(v) is None for v in (raw.get("value"), raw.get("highValue")) if v):
        raise SearchError(f"{ID} filter values must be numeric")
    if op not in OPERATORS:
        raise SearchError(f"Unknown operator '{op}'; use one of {sorted(OPERATORS)}")
    needs_value = op not in ("HAS_PROPERTY", "NOT_HAS_PROPERTY", "IN", "NOT_IN")
    if needs_value and raw.get("value") is None:
        raise SearchError(f"Filter on '{prop}' with operator {op} needs a value")
    if op in ("IN", "NOT_IN") and not raw.get("values"):
        raise SearchError(f"Filter on '{prop}' with operator {op} needs values")
    if op == "BETWEEN" and raw.get("highValue") is None:
        raise SearchError(f"Filter on '{prop}' with operator BETWEEN needs a highValue")
    return Filter(prop, op, raw.get("value"), raw.get("highValue"), tuple(raw.get("values") or ()))


def _parse_sorts(sorts: list[Any], known: dict[str, PropertyDef]) -> tuple[str, bool]:
    if len(sorts) > 1:
        raise SearchError("Only one sort is supported")
    if not sorts:
        return ID, False
    sort = sorts[0]
    if isinstance(sort, str):
        name, descending = sort.lstrip("-"), sort.startswith("-")
    else:
        name, descending = sort.get("propertyName"), sort.get("direction") == "DESCENDING"
    if name not in known:
        raise SearchError(f"Cannot sort by '{name}': property does not exist")
    return str(name), descending


def typed(obj: HubObject, prop: PropertyDef) -> Any:
    """A comparable value: float, epoch ms or lower-cased text; ``None`` when unset."""
    if prop.name == ID:
        return obj.id
    if prop.name in obj.typed:
        return obj.typed[prop.name]
    value = _convert(prop, obj.props.get(prop.name))
    obj.typed[prop.name] = value
    return value


def _convert(prop: PropertyDef, raw: Any) -> Any:
    if raw is None or raw == "":
        return None
    if prop.type == "number":
        try:
            return float(raw)
        except (TypeError, ValueError):
            return None
    if prop.type in ("date", "datetime"):
        return to_millis(raw)
    return str(raw).lower()


def compile_filter(f: Filter, prop: PropertyDef) -> Callable[[HubObject], bool]:
    """A predicate for one filter; unset values match only NEQ, NOT_IN and NOT_HAS_PROPERTY."""
    if f.op in ("HAS_PROPERTY", "NOT_HAS_PROPERTY"):
        want = f.op == "HAS_PROPERTY"
        return lambda o: (typed(o, prop) is not None) is want
    if f.op in ("CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"):
        return _token_filter(f, prop)
    if f.op in ("EQ", "NEQ", "IN", "NOT_IN"):
        return _membership_filter(f, prop)
    low, high = _target(prop, f.value), _target(prop, f.high)
    compare: dict[str, Callable[[Any], bool]] = {
        "LT": lambda v: v < low, "LTE": lambda v: v <= low, "GT": lambda v: v > low,
        "GTE": lambda v: v >= low, "BETWEEN": lambda v: low <= v <= high,
    }  # fmt: skip
    check = compare[f.op]

    def ordered(o: HubObject) -> bool:
        value = typed(o, prop)
        return value is not None and type(value) is type(low) and check(value)

    return ordered


def _target(prop: PropertyDef, value: Any) -> Any:
    converted = _convert(prop, value)
    if prop.name == ID and isinstance(converted, float):
        return int(converted)
    return converted


def _membership_filter(f: Filter, prop: PropertyDef) -> Callable[[HubObject], bool]:
    raw = f.values if f.op in ("IN", "NOT_IN") else (f.value,)
    wanted = {_target(prop, v) for v in raw}
    multi = prop.type == "enumeration"
    negate = f.op in ("NEQ", "NOT_IN")

    def member(o: HubObject) -> bool:
        value = typed(o, prop)
        if value is None:
            return negate
        hit = value in wanted or (multi and not wanted.isdisjoint(value.split(";")))
        return hit is not negate

    return member


def _token_filter(f: Filter, prop: PropertyDef) -> Callable[[HubObject], bool]:
    pattern = str(f.value).lower()
    negate = f.op == "NOT_CONTAINS_TOKEN"

    def contains(o: HubObject) -> bool:
        value = typed(o, prop)
        if value is None:
            return negate
        text = str(value)
        tokens = [text, *re.split(r"[^\w@.*-]+", text)]
        hit = any(fnmatch.fnmatchcase(t, pattern) for t in tokens) or pattern in re.split(r"\W+", text)
        return hit is not negate

    return contains


def _split_id_bounds(group: tuple[Filter, ...]) -> tuple[int, int, tuple[Filter, ...]]:
    """Pull ``hs_object_id`` range filters out of a group so they can be served by bisection."""
    lo, hi, rest = 0, 1 << 62, []
    for f in group:
        if f.prop != ID or f.op not in ("GT", "GTE", "LT", "LTE", "EQ", "BETWEEN"):
            rest.append(f)
            continue
        value = int(float(f.value))
        if f.op in ("GT", "GTE", "EQ", "BETWEEN"):
            lo = max(lo, value + (f.op == "GT"))
        if f.op in ("LT", "LTE", "EQ"):
            hi = min(hi, value - (f.op == "LT"))
        if f.op == "BETWEEN":
            hi = min(hi, int(float(f.high)))
    return lo, hi, tuple(rest)


class SearchIndex:
    """Searches one object type's live objects (sorted by id; archived and merged left out)."""

    def __init__(self, known: dict[str, PropertyDef]) -> None:
        """``known`` is the type's property registry (shared, so created properties are seen)."""
        self.known = known
        self._cache: dict[tuple[Any, ...], tuple[list[HubObject], list[int]]] = {}
        self._version = -1

    def run(
        self, live: Sequence[HubObject], version: int, q: SearchQuery, hidden_after_ms: int | None
    ) -> tuple[int, list[HubObject]]:
        """``(total, page)``; objects written after ``hidden_after_ms`` are not yet indexed."""
        if version != self._version:
            self._cache.clear()
            self._version = version
        lo, hi, groups = 0, 1 << 62, q.groups
        if len(groups) == 1:
            lo, hi, rest = _split_id_bounds(groups[0])
            groups = (rest,) if rest else ()
        matching, ids = self._matching(live, groups, q.sort)
        if q.sort == ID:
            window: Sequence[HubObject] = matching[bisect.bisect_left(ids, lo) : bisect.bisect_right(ids, hi)]
            window = window[::-1] if q.descending else window
        else:
            window = [o for o in matching if lo <= o.id <= hi]
            window = window[::-1] if q.descending else window
        return _page(window, q, hidden_after_ms)

    def _matching(
        self, live: Sequence[HubObject], groups: tuple[tuple[Filter, ...], ...], sort: str
    ) -> tuple[list[HubObject], list[int]]:
        key = (json.dumps([[f.__dict__ for f in g] for g in groups], default=str), sort)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        found = list(live)
        if groups:
            compiled = [[compile_filter(f, self.known[f.prop]) for f in g] for g in groups]
            found = [o for o in found if any(all(p(o) for p in g) for g in compiled)]
        if sort != ID:
            prop = self.known[sort]
            found.sort(key=lambda o: (typed(o, prop) is None, _sort_key(typed(o, prop)), o.id))
        self._cache[key] = (found, [o.id for o in found])
        return self._cache[key]


def _sort_key(value: Any) -> tuple[int, Any]:
    return (0, value) if isinstance(value, (int, float)) else (1, "" if value is None else str(value))


def _page(window: Sequence[HubObject], q: SearchQuery, hidden_after_ms: int | None) -> tuple[int, list[HubObject]]:
    """Offset paging over the visible objects; the page never reaches past result 10,000."""
    limit = min(q.limit, MAX_RESULTS - q.offset)
    visible: Sequence[HubObject] = window
    if hidden_after_ms is not None:
        visible = [o for o in window if o.written_ms <= hidden_after_ms]
    if q.text:
        visible = [o for o in visible if _text_match(o, q.text.lower())]
    return len(visible), list(islice(visible, q.offset, q.offset + limit))


def _text_match(obj: HubObject, text: str) -> bool:
    """The ``query`` field: a token prefix match over the default searchable properties."""
    for name in _TEXT_SEARCHED:
        value = (obj.props.get(name) or "").lower()
        if text in value:
            return True
    return False
