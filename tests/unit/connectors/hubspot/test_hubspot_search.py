"""Search request building, keyset paging and resume tokens of the HubSpot connector (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from connectors.hubspot.search import (
    Cursor,
    check_scope,
    epoch_ms,
    has_more,
    last_id,
    modified_property,
    parse_resume,
    properties_to_read,
    scope_filter,
    search_request,
)
from sync_daemon.config.models import ScopeClause


@pytest.mark.parametrize(
    ("op", "value", "expected"),
    [
        ("eq", "customer", {"operator": "EQ", "value": "customer"}),
        ("ne", 3, {"operator": "NEQ", "value": "3"}),
        ("in", ["a", "b"], {"operator": "IN", "values": ["a", "b"]}),
        ("not_in", ["x"], {"operator": "NOT_IN", "values": ["x"]}),
        ("gt", 10, {"operator": "GT", "value": "10"}),
        ("gte", 1.5, {"operator": "GTE", "value": "1.5"}),
        ("lt", True, {"operator": "LT", "value": "true"}),
        ("lte", False, {"operator": "LTE", "value": "false"}),
        ("is_set", None, {"operator": "HAS_PROPERTY"}),
        ("is_not_set", None, {"operator": "NOT_HAS_PROPERTY"}),
    ],
)
def test_scope_clause_becomes_filter(op: str, value: object, expected: dict[str, object]) -> None:
    """Every scope operator maps onto HubSpot's filter operator, with values as strings."""
    clause = ScopeClause.model_validate({"field": "lifecyclestage", "op": op, "value": value})
    assert scope_filter(clause) == {"propertyName": "lifecyclestage", **expected}


def test_in_with_a_single_value_still_sends_a_list() -> None:
    """An ``in`` clause written with one scalar is sent as a one-element ``values`` list."""
    clause = ScopeClause(field="region", op="in", value="EU")
    assert scope_filter(clause)["values"] == ["EU"]


def test_search_request_ands_scope_since_and_keyset_in_one_group() -> None:
    """One filterGroup holds the scope, ``GTE since`` in epoch ms and ``hs_object_id GT last``."""
    since = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    body = search_request(
        [ScopeClause(field="lifecyclestage", op="eq", value="customer")],
        modified="hs_lastmodifieddate",
        since=since,
        after_id=4200,
        properties=["name", "hs_object_id"],
    )
    assert body["filterGroups"] == [
        {
            "filters": [
                {"propertyName": "lifecyclestage", "operator": "EQ", "value": "customer"},
                {
                    "propertyName": "hs_lastmodifieddate",
                    "operator": "GTE",
                    "value": "1714564800000",
                },
                {"propertyName": "hs_object_id", "operator": "GT", "value": "4200"},
            ]
        }
    ]
    assert body["sorts"] == [{"propertyName": "hs_object_id", "direction": "ASCENDING"}]
    assert body["limit"] == 200
    assert "after" not in body


def test_first_full_pull_has_no_filters() -> None:
    """Without scope, since or keyset the request searches everything (no empty filter group)."""
    body = search_request([], modified="lastmodifieddate", since=None, after_id=None, properties=[])
    assert body["filterGroups"] == []


def test_epoch_ms_treats_naive_as_utc_and_converts_zones() -> None:
    """Epoch milliseconds are the same instant whatever the datetime's zone."""
    aware = datetime(2024, 1, 1, 1, 0, tzinfo=timezone(timedelta(hours=1)))
    assert epoch_ms(aware) == epoch_ms(datetime(2024, 1, 1, 0, 0)) == "1704067200000"  # noqa: DTZ001


def test_properties_include_the_connectors_own_fields_once() -> None:
    """Mapped fields come first, then id, last-modified and merged ids, without duplicates."""
    props = properties_to_read(["name", "hs_object_id", "name"], "hs_lastmodifieddate")
    assert props == ["name", "hs_object_id", "hs_lastmodifieddate", "hs_merged_object_ids"]


def test_modified_property_differs_for_contacts() -> None:
    """Companies use ``hs_lastmodifieddate``, contacts ``lastmodifieddate``."""
    assert modified_property("companies") == "hs_lastmodifieddate"
    assert modified_property("contacts") == "lastmodifieddate"


def test_last_id_is_the_numeric_maximum_ignoring_garbage() -> None:
    """The keyset is the largest numeric id (10 > 9), skipping ids that are not numbers."""
    assert last_id([{"id": "9"}, {"id": "10"}, {"id": None}, {"id": "x"}]) == 10
    assert last_id([{"no": "id"}]) is None


@pytest.mark.parametrize(
    ("data", "count", "expected"),
    [
        ({"paging": {"next": {"after": "200"}}}, 200, True),
        ({}, 200, True),  # a full page without paging asks once more
        ({}, 150, False),
        ({"paging": {"next": {"after": "200"}}}, 0, False),
    ],
)
def test_has_more(data: dict[str, object], count: int, expected: bool) -> None:
    """Another page follows a full page or a named next page, never an empty one."""
    assert has_more(data, count, 200) is expected


def test_resume_tokens_round_trip() -> None:
    """Tokens name the phase and position and parse back to the same cursor."""
    assert parse_resume(None) == Cursor("search")
    assert parse_resume("search:") == Cursor("search")
    assert parse_resume(Cursor("search", "42").token()) == Cursor("search", "42")
    assert parse_resume("search:42").after_id == 42
    assert parse_resume("archived:") == Cursor("archived")
    assert parse_resume("archived:MTAw") == Cursor("archived", "MTAw")


@pytest.mark.parametrize("token", ["", "search", "search:abc", "deleted:1", "1234"])
def test_bad_resume_tokens_are_refused(token: str) -> None:
    """A token from another connector or a typo is refused rather than restarting silently."""
    with pytest.raises(ValueError, match="resume token"):
        parse_resume(token)


def test_scope_with_too_many_clauses_is_refused() -> None:
    """HubSpot allows 10 filters per group; two are the connector's own, so 9 scope clauses fail."""
    clauses = [ScopeClause(field=f"f{i}", op="is_set") for i in range(9)]
    with pytest.raises(ValueError, match="allows 8"):
        check_scope(clauses, "companies")
    check_scope(clauses[:8], "companies")
