"""Evaluate a parsed SOQL query over in-memory records, with Salesforce's typing and null rules.

A query is compiled once against the object's fields into closures (a predicate and sort keys), then
run over the table: fast enough to filter and sort 100,000 rows in well under a second. Typing is
strict as on a real org: a quoted value for a date field, or a bare date for a dateTime field, is an
INVALID_FIELD error, and a malformed record id is INVALID_QUERY_FILTER_OPERATOR. Nulls follow SOQL:
``!=`` and ``NOT IN`` match nulls, ordering comparisons never do.
"""

from __future__ import annotations

import operator
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from sync_daemon.sandbox.soql import (
    BoolOp,
    Compare,
    Condition,
    Includes,
    InList,
    Like,
    Lit,
    Not,
    Query,
    SoqlError,
)

Kind = Literal["id", "string", "multipicklist", "number", "boolean", "date", "datetime"]

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping
    from typing import TypeAlias

    Predicate: TypeAlias = Callable[[Mapping[str, Any]], bool]
    Resolver: TypeAlias = Callable[[str], tuple[str, Kind]]

_LITERAL_FOR: dict[str, str] = {
    "id": "string",
    "string": "string",
    "multipicklist": "string",
    "number": "number",
    "boolean": "boolean",
    "date": "date",
    "datetime": "datetime",
}
_TYPE_NAMES = {"string": "string", "number": "double", "boolean": "boolean", "date": "date"}
_ORDERING = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}
_ID = re.compile(r"[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?")


def _key(kind: Kind, value: Any) -> Any:
    """The comparable form of a value: text ignores case, ids compare on their 15-char core."""
    if value is None:
        return None
    if kind == "string":
        return str(value).casefold()
    if kind == "id":
        return str(value)[:15]
    if kind == "multipicklist":
        return frozenset(part.casefold() for part in str(value).split(";") if part)
    return value


def _check_literal(field: str, kind: Kind, lit: Lit) -> Any:
    """Refuse a literal of the wrong type for the field, as Salesforce does; return its key."""
    if lit.kind == "null":
        return None
    want = _LITERAL_FOR[kind]
    if lit.kind != want:
        quoted = "be enclosed in quotes" if want == "string" else "not be enclosed in quotes"
        type_name = {"datetime": "dateTime"}.get(kind, _TYPE_NAMES.get(want, want))
        raise SoqlError(
            "INVALID_FIELD",
            f"value of filter criterion for field '{field}' must be of type {type_name} and should {quoted}",
        )
    if kind == "id" and not _ID.fullmatch(str(lit.value)):
        raise SoqlError("INVALID_QUERY_FILTER_OPERATOR", f"invalid ID field: {lit.value}")
    return _key(kind, lit.value)


def _compare(name: str, field: str, kind: Kind, node: Compare) -> Predicate:
    key = _check_literal(field, kind, node.value)
    if key is None:
        if node.op not in ("=", "!="):
            raise SoqlError("MALFORMED_QUERY", f"null can only be compared with = or != ({field})")
        if node.op == "=":
            return lambda row: row.get(name) is None
        return lambda row: row.get(name) is not None
    if kind in ("boolean", "multipicklist") and node.op not in ("=", "!="):
        raise SoqlError("INVALID_FIELD", f"operator {node.op} is not valid for field '{field}'")
    if node.op == "=":
        return lambda row: _key(kind, row.get(name)) == key
    if node.op == "!=":
        return lambda row: _key(kind, row.get(name)) != key
    cmp = _ORDERING[node.op]

    def ordered(row: Mapping[str, Any]) -> bool:
        value = _key(kind, row.get(name))
        return value is not None and bool(cmp(value, key))

    return ordered


def _in_list(name: str, field: str, kind: Kind, node: InList) -> Predicate:
    keys = {_check_literal(field, kind, lit) for lit in node.values}
    if node.negated:
        return lambda row: _key(kind, row.get(name)) not in keys
    return lambda row: _key(kind, row.get(name)) in keys


def _like(name: str, field: str, kind: Kind, node: Like) -> Predicate:
    if kind not in ("string", "id"):
        raise SoqlError("INVALID_FIELD", f"invalid operator on field '{field}': LIKE")
    pattern = re.compile(node.pattern.like or "", re.IGNORECASE | re.DOTALL)

    def like(row: Mapping[str, Any]) -> bool:
        value = row.get(name)
        return value is not None and pattern.fullmatch(str(value)) is not None

    return like


def _includes(name: str, field: str, kind: Kind, node: Includes) -> Predicate:
    if kind != "multipicklist":
        word = "excludes" if node.excludes else "includes"
        raise SoqlError(
            "INVALID_FIELD",
            f"{word} or excludes operator only valid on multipicklist field ({field})",
        )
    wanted = [_check_literal(field, kind, lit) or frozenset() for lit in node.values]

    def includes(row: Mapping[str, Any]) -> bool:
        value = _key(kind, row.get(name))
        hit = value is not None and any(group <= value for group in wanted)
        return hit != node.excludes

    return includes


def _predicate(cond: Condition, resolve: Resolver) -> Predicate:
    """Compile a condition tree into one closure."""
    if isinstance(cond, BoolOp):
        parts = [_predicate(c, resolve) for c in cond.operands]
        if cond.op == "AND":
            return lambda row: all(p(row) for p in parts)
        return lambda row: any(p(row) for p in parts)
    if isinstance(cond, Not):
        inner = _predicate(cond.operand, resolve)
        return lambda row: not inner(row)
    name, kind = resolve(cond.field)
    builder: Any = _LEAF_BUILDERS[type(cond)]
    return builder(name, cond.field, kind, cond)  # type: ignore[no-any-return]


_LEAF_BUILDERS: dict[type, Any] = {
    Compare: _compare,
    InList: _in_list,
    Like: _like,
    Includes: _includes,
}


@dataclass(frozen=True)
class _SortKey:
    name: str
    kind: Kind
    descending: bool
    null_rank: int

    def __call__(self, row: Mapping[str, Any]) -> tuple[int, Any]:
        value = _key(self.kind, row.get(self.name))
        if value is None:
            return (self.null_rank, 0)
        if self.kind == "multipicklist":
            return (1, sorted(value))
        return (1, value)


@dataclass(frozen=True)
class CompiledQuery:
    """A query bound to an object's fields: selected names (canonical spelling), filter, order."""

    sobject: str
    fields: tuple[str, ...]
    count: bool
    predicate: Predicate | None
    sort_keys: tuple[_SortKey, ...]
    limit: int | None
    offset: int | None

    def run(self, rows: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
        """Filter, sort once (stable, last key first) and slice."""
        pred = self.predicate
        matched = [row for row in rows if pred is None or pred(row)]
        for key in reversed(self.sort_keys):
            matched.sort(key=key, reverse=key.descending)
        start = self.offset or 0
        end = None if self.limit is None else start + self.limit
        return matched[start:end]


def compile_query(query: Query, resolve: Resolver) -> CompiledQuery:
    """Bind ``query`` to an object's fields; ``resolve`` maps any-case names to (name, kind)."""
    fields = tuple(resolve(name)[0] for name in query.fields)
    predicate = _predicate(query.where, resolve) if query.where is not None else None
    keys = []
    for item in query.order_by:
        name, kind = resolve(item.field)
        nulls_first = (not item.descending) if item.nulls_first is None else item.nulls_first
        keys.append(_SortKey(name, kind, item.descending, 0 if nulls_first != item.descending else 2))
    return CompiledQuery(query.sobject, fields, query.count, predicate, tuple(keys), query.limit, query.offset)
