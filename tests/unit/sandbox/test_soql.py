"""The sandbox's SOQL parser and evaluator: grammar, literals, typing and null rules, ordering."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from simple_salesforce.format import format_soql

from sync_daemon.sandbox.soql import BoolOp, Compare, Not, SoqlError, parse
from sync_daemon.sandbox.soql_eval import Kind, compile_query

KINDS: dict[str, Kind] = {
    "Id": "id",
    "Name": "string",
    "Steps__c": "multipicklist",
    "Amount": "number",
    "Active": "boolean",
    "Close": "date",
    "Stamp": "datetime",
}
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
ROWS: list[dict[str, Any]] = [
    {"Id": "001000000000001AAA", "Name": "Acme", "Steps__c": "a;b;c", "Amount": 10, "Active": True,
     "Close": date(2026, 1, 1), "Stamp": T0},
    {"Id": "001000000000002AAA", "Name": "acme ltd", "Steps__c": "b", "Amount": 20.5,
     "Active": False, "Close": date(2026, 1, 5), "Stamp": T0 + timedelta(hours=1)},
    {"Id": "001000000000003AAA", "Name": None, "Steps__c": None, "Amount": None, "Active": False,
     "Close": None, "Stamp": T0 - timedelta(days=1)},
    {"Id": "001000000000004AAA", "Name": "50%_off", "Steps__c": "c", "Amount": 5, "Active": True,
     "Close": date(2025, 12, 31), "Stamp": T0},
]  # fmt: skip


def resolve(name: str) -> tuple[str, Kind]:
    for canonical, kind in KINDS.items():
        if canonical.lower() == name.lower():
            return canonical, kind
    raise SoqlError("INVALID_FIELD", f"No such column '{name}' on entity 'Thing'")


def run(where: str, *, order: str = "", rows: list[dict[str, Any]] | None = None) -> list[str]:
    soql = f"SELECT Id FROM Thing WHERE {where}" if where else "SELECT Id FROM Thing"  # noqa: S608
    plan = compile_query(parse(soql + (f" ORDER BY {order}" if order else "")), resolve)
    return [str(r["Id"])[14] for r in plan.run(ROWS if rows is None else rows)]


def error_code(soql: str) -> str:
    with pytest.raises(SoqlError) as info:
        compile_query(parse(soql), resolve)
    return info.value.code


def test_parse_reads_fields_object_order_and_limit() -> None:
    """A full SELECT parses into its parts; keywords and field names in any case."""
    query = parse("select Id, name from Account where Name = 'x' order by Name desc nulls first limit 5 offset 2")
    assert query.sobject == "Account"
    assert query.fields == ("Id", "name")
    assert query.where == Compare("Name", "=", query.where.value)  # type: ignore[union-attr]
    assert (query.order_by[0].descending, query.order_by[0].nulls_first) == (True, True)
    assert (query.limit, query.offset) == (5, 2)


def test_count_query_has_no_fields() -> None:
    """``SELECT COUNT()`` is a count query."""
    query = parse("SELECT COUNT() FROM Contact")
    assert query.count
    assert query.fields == ()


@pytest.mark.parametrize(
    "where",
    ["Name = 'a' AND Amount = 1 OR Active = true", "Name = 'a' OR Amount = 1 AND Active = true",
     "Name = 'a' AND NOT Amount = 1"],
)  # fmt: skip
def test_mixing_logical_operators_without_parentheses_is_malformed(where: str) -> None:
    """SOQL refuses AND, OR and NOT mixed at one level without parentheses."""
    assert error_code(f"SELECT Id FROM Thing WHERE {where}") == "MALFORMED_QUERY"  # noqa: S608


def test_parentheses_decide_grouping() -> None:
    """``a AND (b OR c)`` and ``(a AND b) OR c`` select different records."""
    assert run("Active = true AND (Amount = 20.5 OR Amount = 5)") == ["4"]
    assert run("(Active = true AND Amount = 20.5) OR Amount = 5") == ["4"]
    assert run("(Active = false AND Amount = 20.5) OR Amount = 5") == ["2", "4"]
    assert isinstance(parse("SELECT Id FROM T WHERE (a = 1 OR b = 2) AND c = 3").where, BoolOp)


def test_not_applies_to_a_parenthesised_condition() -> None:
    """``NOT (...)`` at the top and ``a AND (NOT b)`` are valid and negate."""
    assert isinstance(parse("SELECT Id FROM T WHERE NOT (a = 1)").where, Not)
    assert run("NOT (Amount > 6)") == ["3", "4"]
    assert run("Active = false AND (NOT Amount = 20.5)") == ["3"]


@pytest.mark.parametrize("value", ["O'Brien", 'say "hi"', "back\\slash", "line\nbreak\ttab", "ünïcödé 李", "\\'", "%_"])
def test_strings_escaped_by_format_soql_round_trip(value: str) -> None:
    """Whatever ``format_soql`` quotes, the lexer decodes back to the same text."""
    query = parse(format_soql("SELECT Id FROM T WHERE Name = {}", value))
    assert query.where.value.value == value  # type: ignore[union-attr]


@given(st.text())
def test_any_text_round_trips_through_format_soql(value: str) -> None:
    """Property: the lexer inverts ``format_soql``'s quoting for any string."""
    query = parse(format_soql("SELECT Id FROM T WHERE Name = {}", value))
    assert query.where.value.value == value  # type: ignore[union-attr]


def test_string_equality_ignores_case() -> None:
    """Text compares case-insensitively, as on an org."""
    assert run("Name = 'ACME'") == ["1"]
    assert run("Name IN ('acme LTD', 'nobody')") == ["2"]


def test_like_wildcards_and_escapes() -> None:
    r"""``%`` and ``_`` are wildcards, ``\\%`` and ``\\_`` literal; LIKE ignores case."""
    assert run("Name LIKE 'acme%'") == ["1", "2"]
    assert run("Name LIKE '_cme'") == ["1"]
    assert run(format_soql("Name LIKE '{:like}%'", "50%_")) == ["4"]
    assert run(format_soql("Name LIKE '{:like}%'", "5%")) == []


def test_bad_escape_and_unterminated_string_are_malformed() -> None:
    """An unknown escape or a missing quote is MALFORMED_QUERY."""
    assert error_code(r"SELECT Id FROM T WHERE Name = 'a\qb'") == "MALFORMED_QUERY"
    assert error_code("SELECT Id FROM T WHERE Name = 'abc") == "MALFORMED_QUERY"


@pytest.mark.parametrize(
    "literal",
    ["2026-01-05T09:00:00Z", "2026-01-05T09:00:00.000Z", "2026-01-05T09:00:00+00:00",
     "2026-01-05T10:00:00+01:00", "2026-01-05T04:00:00-05:00"],
)  # fmt: skip
def test_datetime_literals_in_every_offset_form(literal: str) -> None:
    """DateTime literals with Z, fractional seconds or an offset denote the same instant."""
    assert run(f"Stamp = {literal}") == ["1", "4"]
    assert run(f"Stamp > {literal}") == ["2"]


def test_format_soql_datetimes_compare_as_instants() -> None:
    """A timezone-aware datetime quoted by ``format_soql`` filters by instant."""
    since = datetime(2026, 1, 5, 11, 0, tzinfo=timezone(timedelta(hours=2)))
    assert run(format_soql("Stamp >= {}", since)) == ["1", "2", "4"]


def test_date_literals_compare_dates() -> None:
    """Date fields take bare date literals."""
    assert run("Close >= 2026-01-01") == ["1", "2"]
    assert run("Close < 2026-01-01") == ["4"]


@pytest.mark.parametrize(
    "where",
    ["Close = '2026-01-01'", "Stamp >= 2026-01-05", "Close = 2026-01-05T09:00:00Z", "Amount = '10'",
     "Name = 10", "Active = 'true'"],
)  # fmt: skip
def test_literals_of_the_wrong_type_are_invalid_field(where: str) -> None:
    """A quoted date, a date for a dateTime, or text for a number is refused as on an org."""
    assert error_code(f"SELECT Id FROM Thing WHERE {where}") == "INVALID_FIELD"  # noqa: S608


def test_null_comparisons() -> None:
    """``= null`` finds nulls, ``!= null`` the rest; ``!=`` a value also matches nulls."""
    assert run("Name = null") == ["3"]
    assert run("Name != null") == ["1", "2", "4"]
    assert run("Name != 'acme'") == ["2", "3", "4"]
    assert run("Amount < 100") == ["1", "2", "4"]


def test_in_and_not_in() -> None:
    """IN matches listed values; NOT IN matches everything else, nulls included."""
    assert run("Amount IN (10, 5)") == ["1", "4"]
    assert run("Amount NOT IN (10, 5)") == ["2", "3"]
    assert run("Name IN (null, 'Acme')") == ["1", "3"]


def test_includes_and_excludes_on_multipicklists() -> None:
    """INCLUDES matches any listed value; ``'a;b'`` needs both; EXCLUDES is the complement."""
    assert run("Steps__c INCLUDES ('c')") == ["1", "4"]
    assert run("Steps__c INCLUDES ('a;b', 'x')") == ["1"]
    assert run("Steps__c EXCLUDES ('b')") == ["3", "4"]
    assert run("Steps__c = 'c;b;a'") == ["1"]
    assert error_code("SELECT Id FROM Thing WHERE Name INCLUDES ('a')") == "INVALID_FIELD"


def test_ids_match_by_their_15_character_core_and_must_look_like_ids() -> None:
    """A 15-character id matches the 18-character one; a malformed id is refused."""
    assert run("Id = '001000000000002'") == ["2"]
    assert run("Id > '001000000000002AAA'") == ["3", "4"]
    assert error_code("SELECT Id FROM Thing WHERE Id = 'nope'") == "INVALID_QUERY_FILTER_OPERATOR"


def test_unknown_fields_are_invalid_field() -> None:
    """A field the object lacks, selected, filtered or ordered, is INVALID_FIELD."""
    assert error_code("SELECT Nope FROM Thing") == "INVALID_FIELD"
    assert error_code("SELECT Id FROM Thing WHERE Nope = 1") == "INVALID_FIELD"
    assert error_code("SELECT Id FROM Thing ORDER BY Nope") == "INVALID_FIELD"


@pytest.mark.parametrize(
    "soql",
    ["SELECT FROM Thing", "SELECT Id Thing", "SELECT Id FROM Thing WHERE",
     "SELECT Id FROM Thing LIMIT x", "SELECT Id FROM Thing WHERE Name = 'a' junk",
     "SELECT Id, id FROM Thing", "SELECT Id FROM Thing WHERE (Name = 'a'",
     "SELECT Id FROM Thing WHERE Name ~ 'a'"],
)  # fmt: skip
def test_syntax_errors_are_malformed_query(soql: str) -> None:
    """Broken syntax is MALFORMED_QUERY, never a crash."""
    assert error_code(soql) == "MALFORMED_QUERY"


def test_order_by_several_keys_with_null_placement() -> None:
    """Keys sort in turn; nulls first ascending and last descending unless NULLS says otherwise."""
    assert run("", order="Active DESC, Amount") == ["4", "1", "3", "2"]
    assert run("", order="Amount DESC") == ["2", "1", "4", "3"]
    assert run("", order="Amount ASC NULLS LAST") == ["4", "1", "2", "3"]
    assert run("", order="Stamp, Id DESC") == ["3", "4", "1", "2"]
    assert run("", order="Name") == ["3", "4", "1", "2"]


def test_limit_and_offset_slice_after_sorting() -> None:
    """LIMIT and OFFSET apply to the sorted result."""
    plan = compile_query(parse("SELECT Id FROM Thing ORDER BY Amount DESC LIMIT 2 OFFSET 1"), resolve)
    assert [r["Id"][14] for r in plan.run(ROWS)] == ["1", "4"]


def test_compiled_fields_use_the_canonical_spelling() -> None:
    """Selected names resolve to the object's own spelling."""
    plan = compile_query(parse("SELECT id, NAME, steps__C FROM Thing"), resolve)
    assert plan.fields == ("Id", "Name", "Steps__c")
