"""SOQL for incremental pulls, built with ``format_soql`` (never f-strings with values).

Field and object names are identifiers, not values: they cannot be quoted, so they are checked
against the API-name pattern before they enter a query. Every value (scope values, the ``since``
cursor, the resume keyset) goes through ``format_soql``, which quotes and escapes it.

The pull orders by ``(SystemModstamp, Id)`` and resumes with the keyset
``SystemModstamp > ts OR (SystemModstamp = ts AND Id > id)``: many records share a timestamp, so the
``Id`` tie-break is what makes "right after this page" exact.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from simple_salesforce.format import format_soql

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from sync_daemon.config.models import ScopeClause

SYSTEM_FIELDS = ("Id", "SystemModstamp", "IsDeleted")
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)*$")
_COMPARISONS = {"eq": "=", "ne": "!=", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}


def _name(name: str) -> str:
    """An API name, checked: identifiers cannot be escaped, so anything else is refused."""
    if not _NAME.fullmatch(name):
        raise ValueError(f"not a Salesforce API name: {name!r}")
    return name


def parse_datetime(value: object) -> datetime:
    """Parse a Salesforce datetime (``2024-05-01T12:00:00.000+0000``) into an aware UTC datetime."""
    if not isinstance(value, str):
        raise TypeError(f"expected a datetime string, got {type(value).__name__}")
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError(f"datetime without a time zone: {value!r}")
    return parsed.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class Keyset:
    """The ``(SystemModstamp, Id)`` of the last record delivered; the resume token's content."""

    modstamp: datetime
    id: str

    def encode(self) -> str:
        """The opaque resume token (JSON, so it survives a trip through the store)."""
        return json.dumps([self.modstamp.isoformat(), self.id])

    @classmethod
    def decode(cls, token: str) -> Keyset:
        """Read a token written by :meth:`encode`; a foreign token is a ``ValueError``."""
        try:
            stamp, record_id = json.loads(token)
            return cls(parse_datetime(stamp), str(record_id))
        except (TypeError, ValueError) as exc:
            raise ValueError("not a Salesforce resume token") from exc


def scope_condition(clause: ScopeClause) -> str:
    """One mapping scope clause as a SOQL condition, its value quoted by ``format_soql``."""
    field = _name(clause.field)
    op = clause.op
    if op == "is_set":
        return f"{field} != null"
    if op == "is_not_set":
        return f"{field} = null"
    if op in ("in", "not_in"):
        values = clause.value if isinstance(clause.value, list) else [clause.value]
        keyword = "IN" if op == "in" else "NOT IN"
        return format_soql(f"{field} {keyword} {{}}", values)
    return format_soql(f"{field} {_COMPARISONS[op]} {{}}", clause.value)


def keyset_condition(after: Keyset) -> str:
    """Records strictly after ``after`` in ``(SystemModstamp, Id)`` order."""
    return format_soql(
        "(SystemModstamp > {ts} OR (SystemModstamp = {ts} AND Id > {id}))",
        ts=after.modstamp,
        id=after.id,
    )


def select_fields(fields: Iterable[str]) -> list[str]:
    """``Id, SystemModstamp, IsDeleted`` then ``fields`` in order, each once."""
    out: list[str] = []
    for name in (*SYSTEM_FIELDS, *fields):
        if _name(name) not in out:
            out.append(name)
    return out


def pull_query(
    object_name: str,
    fields: Sequence[str],
    scope: Sequence[ScopeClause],
    since: datetime | None,
    after: Keyset | None,
) -> str:
    """The incremental pull query for one object, ordered for keyset paging."""
    conditions = [scope_condition(c) for c in scope]
    if since is not None:
        conditions.append(format_soql("SystemModstamp >= {}", since))
    if after is not None:
        conditions.append(keyset_condition(after))
    # Names are checked identifiers and every value went through format_soql above.
    query = f"SELECT {', '.join(select_fields(fields))} FROM {_name(object_name)}"  # noqa: S608
    if conditions:
        query += " WHERE " + " AND ".join(conditions)
    return query + " ORDER BY SystemModstamp ASC, Id ASC"
