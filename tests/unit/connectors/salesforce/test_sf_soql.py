"""SOQL for incremental pulls: field lists, scope clauses, cursors and keysets, all escaped."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from connectors.salesforce.soql import Keyset, keyset_condition, pull_query, scope_condition
from sync_daemon.config.models import ScopeClause

T0 = datetime(2026, 3, 1, 12, 0, 5, 123456, tzinfo=UTC)


def test_pull_query_selects_system_fields_first_then_mapped_ones_once() -> None:
    """Id, SystemModstamp and IsDeleted come first; a field mapped twice is selected once."""
    soql = pull_query("Account", ["Name", "Id", "Plan_Tier__c", "Name"], [], None, None)
    assert soql == (
        "SELECT Id, SystemModstamp, IsDeleted, Name, Plan_Tier__c FROM Account ORDER BY SystemModstamp ASC, Id ASC"
    )


def test_pull_query_filters_on_scope_and_since_in_utc() -> None:
    """Scope clauses and the ``since`` cursor are ANDed; the cursor is a UTC literal."""
    scope = [ScopeClause(field="Type", op="eq", value="Customer")]
    since = datetime(2026, 3, 1, 14, 0, tzinfo=timezone(timedelta(hours=2)))
    soql = pull_query("Account", ["Name"], scope, since, None)
    assert "WHERE Type = 'Customer' AND SystemModstamp >= 2026-03-01T12:00:00+00:00 ORDER BY" in soql


@pytest.mark.parametrize(
    ("op", "value", "expected"),
    [
        ("eq", "O'Brien", "F = 'O\\'Brien'"),
        ("ne", "x\\y", "F != 'x\\\\y'"),
        ("in", ["A", "B's"], "F IN ('A','B\\'s')"),
        ("not_in", ["A"], "F NOT IN ('A')"),
        ("in", "solo", "F IN ('solo')"),
        ("gt", 5, "F > 5"),
        ("gte", 2.5, "F >= 2.5"),
        ("lt", True, "F < true"),
        ("lte", "2026-01-01", "F <= '2026-01-01'"),
        ("is_set", None, "F != null"),
        ("is_not_set", None, "F = null"),
    ],
)
def test_scope_clauses_become_quoted_soql(op: str, value: object, expected: str) -> None:
    """Every scope operator maps to SOQL with its value quoted and escaped by format_soql."""
    clause = ScopeClause.model_validate({"field": "F", "op": op, "value": value})
    assert scope_condition(clause) == expected


def test_injection_through_a_value_stays_inside_the_string() -> None:
    """A value trying to close the string and add a condition is escaped, not executed."""
    clause = ScopeClause(field="Name", op="eq", value="x' OR Name != '")
    assert scope_condition(clause) == "Name = 'x\\' OR Name != \\''"


@pytest.mark.parametrize("name", ["Name FROM User--", "Na me", "1Field", "Owner..Name", ""])
def test_names_that_are_not_api_names_are_refused(name: str) -> None:
    """Identifiers cannot be quoted, so anything but an API name (or a dotted path) is refused."""
    with pytest.raises(ValueError, match="not a Salesforce API name"):
        pull_query("Account", [name], [], None, None)


def test_keyset_condition_pages_strictly_after_the_last_record() -> None:
    """The keyset is (SystemModstamp > ts OR (= ts AND Id > id)), ts without fractions."""
    condition = keyset_condition(Keyset(T0, "001A'"))
    assert condition == (
        "(SystemModstamp > 2026-03-01T12:00:05+00:00 OR "
        "(SystemModstamp = 2026-03-01T12:00:05+00:00 AND Id > '001A\\''))"
    )


def test_pull_query_with_a_keyset_keeps_since_and_scope() -> None:
    """Resuming adds the keyset to the filters instead of replacing them."""
    scope = [ScopeClause(field="Type", op="is_set")]
    soql = pull_query("Contact", ["Email"], scope, T0, Keyset(T0, "003"))
    assert "WHERE Type != null AND SystemModstamp >= " in soql
    assert " AND (SystemModstamp > 2026-03-01T12:00:05+00:00 OR " in soql


def test_keyset_tokens_round_trip_and_foreign_tokens_are_refused() -> None:
    """A resume token decodes to the keyset it encodes; anything else is a ValueError."""
    key = Keyset(T0, "001xx")
    assert Keyset.decode(key.encode()) == key
    for bad in ("nonsense", "[1]", '["not a date", "001"]', '{"a": 1}'):
        with pytest.raises(ValueError, match="resume token"):
            Keyset.decode(bad)
