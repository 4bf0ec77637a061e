"""The HubSpot sandbox's search semantics and value rules, without HTTP."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sync_daemon.sandbox import hubspot_data as hd
from sync_daemon.sandbox.hubspot_search import SearchError, SearchIndex, parse_search

KNOWN = hd.default_properties()["companies"]
MOMENT = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def _obj(oid: int, **props: str | None) -> hd.HubObject:
    return hd.HubObject(oid, {"hs_object_id": str(oid), **props}, MOMENT, MOMENT, oid)


OBJECTS = [
    _obj(1, name="Acme Inc", numberofemployees="9", onboarding_steps="kickoff;sso_configured"),
    _obj(2, name="Globex GmbH", numberofemployees="10", closedate="2026-01-05T00:00:00.000Z"),
    _obj(3, name="Initech", numberofemployees="100", onboarding_steps="kickoff"),
    _obj(4, name=None, csm_email="ana.1@vendor.example"),
]


def _ids(body: dict[str, Any], hidden_after: int | None = None) -> tuple[int, list[int]]:
    total, page = SearchIndex(KNOWN).run(OBJECTS, 1, parse_search(body, KNOWN), hidden_after)
    return total, [o.id for o in page]


def _one(prop: str, op: str, value: Any = None, **extra: Any) -> dict[str, Any]:
    return {"filterGroups": [{"filters": [{"propertyName": prop, "operator": op, "value": value, **extra}]}]}


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (_one("numberofemployees", "GT", "9"), [2, 3]),  # numbers compare as numbers, not text
        (_one("numberofemployees", "BETWEEN", "9", highValue="10"), [1, 2]),
        (_one("name", "EQ", "acme inc"), [1]),  # text compares case-insensitively
        (_one("name", "NEQ", "Acme Inc"), [2, 3, 4]),  # unset values are "not equal"
        (_one("onboarding_steps", "EQ", "sso_configured"), [1]),  # one option of a multi-select
        (_one("onboarding_steps", "NOT_IN", values=["kickoff"]), [2, 4]),
        (_one("name", "HAS_PROPERTY"), [1, 2, 3]),
        (_one("name", "NOT_HAS_PROPERTY"), [4]),
        (_one("name", "CONTAINS_TOKEN", "glob*"), [2]),
        (_one("csm_email", "CONTAINS_TOKEN", "*@vendor.example"), [4]),
        (_one("closedate", "GTE", str(1767571200000)), [2]),  # datetimes as epoch ms
        (_one("closedate", "LT", "2026-01-06"), [2]),  # or ISO dates
        (_one("hs_object_id", "GT", "2"), [3, 4]),
    ],
)
def test_operators(body: dict[str, Any], expected: list[int]) -> None:
    """Each operator matches HubSpot's typed semantics."""
    assert _ids(body)[1] == expected


def test_groups_or_and_filters_and() -> None:
    """Filters within a group AND; groups OR."""
    body = {"filterGroups": [
        {"filters": [{"propertyName": "numberofemployees", "operator": "GTE", "value": "10"},
                     {"propertyName": "onboarding_steps", "operator": "EQ", "value": "kickoff"}]},
        {"filters": [{"propertyName": "hs_object_id", "operator": "EQ", "value": "4"}]},
    ]}  # fmt: skip
    assert _ids(body) == (2, [3, 4])


def test_sort_descending_pages_by_offset() -> None:
    """One sort orders the results; ``after`` is an offset into them."""
    body = {"sorts": [{"propertyName": "numberofemployees", "direction": "DESCENDING"}], "limit": 2}
    assert _ids(body) == (4, [4, 3])  # unset sorts last ascending, so first descending
    assert _ids({**body, "after": "2"}) == (4, [2, 1])


def test_recent_writes_are_hidden_by_lag() -> None:
    """Objects written after the lag horizon are not yet searchable, nor counted."""
    assert _ids({}, hidden_after=2) == (2, [1, 2])


@pytest.mark.parametrize(
    "body",
    [
        {"limit": 201},
        {"after": "10000"},
        _one("no_such_property", "EQ", "x"),
        _one("name", "LIKE", "x"),
        _one("name", "EQ"),
        {"sorts": ["name", "numberofemployees"]},
        {"filterGroups": [{"filters": []}] * 6},
    ],
)
def test_invalid_requests_are_rejected(body: dict[str, Any]) -> None:
    """Bodies HubSpot answers with 400 raise ``SearchError``."""
    with pytest.raises(SearchError):
        parse_search(body, KNOWN)


@settings(max_examples=60, deadline=None)
@given(
    ids=st.lists(st.integers(1, 500), min_size=1, max_size=60, unique=True),
    bound=st.integers(0, 500),
    op=st.sampled_from(["GT", "GTE", "LT", "LTE", "EQ"]),
    descending=st.booleans(),
)
def test_id_bounds_by_bisection_match_a_plain_scan(ids: list[int], bound: int, op: str, descending: bool) -> None:
    """The bisection fast path for ``hs_object_id`` bounds finds exactly what a scan finds."""
    objects = [_obj(i) for i in sorted(ids)]
    body = {**_one("hs_object_id", op, str(bound)), "limit": 200}
    body["sorts"] = [{"propertyName": "hs_object_id", "direction": "DESCENDING" if descending else "ASCENDING"}]
    total, page = SearchIndex(KNOWN).run(objects, 0, parse_search(body, KNOWN), None)
    compare = {
        "GT": bound.__lt__,
        "GTE": bound.__le__,
        "LT": bound.__gt__,
        "LTE": bound.__ge__,
        "EQ": bound.__eq__,
    }
    expected = sorted((i for i in ids if compare[op](i)), reverse=descending)
    assert (total, [o.id for o in page]) == (len(expected), expected)


@pytest.mark.parametrize(
    ("name", "value", "stored"),
    [
        ("numberofemployees", 12.0, "12"),
        ("contract_value", "1234.5", "1234.5"),
        ("integration_connected", True, "true"),
        ("onboarding_start_date", "2026-01-05", "2026-01-05"),
        ("onboarding_start_date", 1767571200000, "2026-01-05"),
        ("last_login_at", "2026-01-05T09:00:00Z", "2026-01-05T09:00:00.000Z"),
        ("onboarding_steps", "kickoff;first_value", "kickoff;first_value"),
        ("name", "", None),
    ],
)
def test_values_are_stored_as_hubspot_strings(name: str, value: Any, stored: str | None) -> None:
    """Written values are normalised to the strings HubSpot answers."""
    assert KNOWN[name].coerce(value) == stored


@pytest.mark.parametrize(
    ("name", "value", "code"),
    [
        ("numberofemployees", "many", "INVALID_FLOAT"),
        ("integration_connected", "yes", "INVALID_BOOLEAN"),
        ("onboarding_start_date", "2026-01-05T09:00:00Z", "INVALID_DATE"),
        ("plan_tier", "Gold", "INVALID_OPTION"),
        ("hs_lastmodifieddate", "2026-01-05", "READ_ONLY_VALUE"),
    ],
)
def test_invalid_values_are_rejected_with_hubspot_codes(name: str, value: Any, code: str) -> None:
    """Invalid values raise with HubSpot's validation error code and the property name."""
    with pytest.raises(hd.PropertyValueError) as err:
        KNOWN[name].coerce(value)
    assert (err.value.detail["error"], err.value.detail["name"]) == (code, name)
