"""Conditions on account fields: every operator, CRM value forms, unset values, and the explanation."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sync_daemon.config.plan_models import AllOf, AnyOf, Clause, Completion, Condition, NotOf
from sync_daemon.domain.conditions import ClauseResult, Verdict, completion_condition, evaluate, explain


def cond(data: Any) -> Condition:
    """A condition from its YAML form, validated the way the loader does."""
    return Completion.model_validate({"when": data}).when  # type: ignore[return-value]


def holds(data: Any, **fields: object) -> bool:
    return evaluate(cond(data), fields).holds


@pytest.mark.parametrize(
    ("op", "value", "actual", "expected"),
    [
        ("eq", "Enterprise", "Enterprise", True),
        ("eq", "Enterprise", "enterprise", False),
        ("ne", "Enterprise", "SMB", True),
        ("ne", "Enterprise", "Enterprise", False),
        ("gt", 150000, 150001, True),
        ("gt", 150000, 150000, False),
        ("gte", 150000, 150000, True),
        ("gte", 150000, 149999.99, False),
        ("lt", 10, 9, True),
        ("lt", 10, 10, False),
        ("lte", 10, 10, True),
        ("lte", 10, 11, False),
        ("in", ["NA", "EMEA"], "EMEA", True),
        ("in", ["NA", "EMEA"], "APAC", False),
        ("not_in", ["NA", "EMEA"], "APAC", True),
        ("not_in", ["NA", "EMEA"], "NA", False),
        ("contains", "kickoff", ["kickoff", "sso_configured"], True),
        ("contains", "first_value", ["kickoff"], False),
        ("is_set", None, "x", True),
        ("is_not_set", None, "x", False),
    ],
)
def test_every_operator_on_typed_values(op: str, value: object, actual: object, expected: bool) -> None:
    """Each operator gives the textbook answer on values of the expected type."""
    assert holds({"field": "f", "op": op, "value": value}, f=actual) is expected


@pytest.mark.parametrize(
    ("op", "value", "actual", "expected"),
    [
        ("gte", 150000, "180000", True),
        ("gte", 150000, "149999.5", False),
        ("eq", 25000, "25000.00", True),
        ("eq", True, "true", True),
        ("eq", True, "false", False),
        ("ne", False, "true", True),
        ("gte", "2026-03-01", "2026-03-01", True),
        ("lt", "2026-03-01", "2026-02-28T23:00:00Z", True),
        ("gt", dt.date(2026, 3, 1), "2026-03-02", True),
        ("lt", "2026-03-01", dt.datetime(2026, 2, 1, 12, tzinfo=dt.UTC), True),
        ("contains", "sso_configured", "kickoff;sso_configured", True),
        ("contains", "sso", "kickoff;sso_configured", False),
        ("contains", ["kickoff", "first_value"], "first_value; kickoff", True),
        ("in", [100, 200], "200", True),
        ("eq", "12", 12, True),
    ],
)
def test_crm_string_forms_are_read_as_the_expected_kind(op: str, value: object, actual: object, expected: bool) -> None:
    """HubSpot's strings compare as numbers, booleans, dates and multi-selects, as the admin's value says."""
    assert holds({"field": "f", "op": op, "value": value}, f=actual) is expected


@pytest.mark.parametrize("missing", [None, "", "  ", [], "absent"])
@pytest.mark.parametrize(
    ("op", "value", "expected"),
    [
        ("eq", "x", False),
        ("gt", 1, False),
        ("gte", 1, False),
        ("lt", 1, False),
        ("lte", 1, False),
        ("in", ["x"], False),
        ("contains", "x", False),
        ("is_set", None, False),
        ("ne", "x", True),
        ("not_in", ["x"], True),
        ("is_not_set", None, True),
    ],
)
def test_unset_values_fail_all_but_ne_not_in_and_is_not_set(
    missing: object, op: str, value: object, expected: bool
) -> None:
    """Missing, None, blank and empty values are not set: only ne, not_in and is_not_set hold."""
    fields = {} if missing == "absent" else {"f": missing}
    verdict = evaluate(cond({"field": "f", "op": op, "value": value}), fields)
    assert verdict.holds is expected
    assert verdict.clauses[0].actual is None


@pytest.mark.parametrize(
    ("op", "expected"), [("eq", False), ("ne", True), ("gt", False), ("lt", False), ("in", False), ("not_in", True)]
)
def test_unreadable_values_never_equal_nor_order(op: str, expected: bool) -> None:
    """A CRM value that is not a number is unequal to a number and neither above nor below it."""
    value: object = [5] if op in ("in", "not_in") else 5
    assert holds({"field": "f", "op": op, "value": value}, f="n/a") is expected


def test_booleans_are_not_numbers_and_do_not_order() -> None:
    """A checkbox true is not the number 1, and booleans have no order."""
    assert not holds({"field": "f", "op": "eq", "value": 1}, f=True)
    assert not holds({"field": "f", "op": "gt", "value": False}, f=True)


def test_in_is_case_sensitive() -> None:
    """Picklist values match exactly, as the CRM stores them."""
    assert not holds({"field": "tier", "op": "in", "value": ["Enterprise"]}, tier="ENTERPRISE")


def test_explain_shows_the_values_seen() -> None:
    """The explanation lists each deciding clause with the actual value and a tick or cross."""
    condition = cond(
        {
            "all": [
                {"field": "contract_value", "op": "gte", "value": 150000},
                {"field": "tier", "op": "eq", "value": "SMB"},
            ]
        }
    )
    verdict = evaluate(condition, {"contract_value": "180000", "tier": "SMB"})
    assert verdict.holds
    assert explain(verdict) == "contract_value 180000 >= 150000 ✓; tier 'SMB' = 'SMB' ✓"


def test_failed_all_is_explained_by_its_failing_clauses_only() -> None:
    """When all fails, the clauses that held did not decide it and are left out."""
    condition = cond(
        {
            "all": [
                {"field": "contract_value", "op": "gte", "value": 150000},
                {"field": "tier", "op": "eq", "value": "Enterprise"},
            ]
        }
    )
    verdict = evaluate(condition, {"contract_value": 180000, "tier": "SMB"})
    assert not verdict.holds
    assert explain(verdict) == "tier 'SMB' = 'Enterprise' ✗"
    assert verdict.clauses == (ClauseResult("tier", "eq", "Enterprise", "SMB", holds=False),)


def test_any_is_explained_by_what_held_or_by_everything_when_nothing_did() -> None:
    """A holding any names its holding clauses; a failing any names all of them."""
    condition = cond(
        {
            "any": [
                {"field": "contract_value", "op": "gte", "value": 150000},
                {"field": "employees", "op": "gte", "value": 2000},
            ]
        }
    )
    held = evaluate(condition, {"contract_value": 10, "employees": "5000"})
    assert explain(held) == "employees 5000 >= 2000 ✓"
    failed = evaluate(condition, {"contract_value": 10})
    assert explain(failed) == "contract_value 10 >= 150000 ✗; employees (not set) >= 2000 ✗"


def test_nested_not_marks_its_clauses_negated() -> None:
    """A clause under not is shown inside not (...), with its own truth, and the verdict flips."""
    condition = cond(
        {
            "all": [
                {"field": "tier", "op": "eq", "value": "Enterprise"},
                {"not": {"field": "region", "op": "in", "value": ["NA", "EMEA"]}},
            ]
        }
    )
    verdict = evaluate(condition, {"tier": "Enterprise", "region": "APAC"})
    assert verdict.holds
    assert explain(verdict) == "tier 'Enterprise' = 'Enterprise' ✓; not (region 'APAC' in ['NA', 'EMEA'] ✗)"
    assert verdict.clauses[1].negated
    double = evaluate(cond({"not": {"not": {"field": "tier", "op": "is_set"}}}), {"tier": "x"})
    assert double.holds
    assert not double.clauses[0].negated


def test_explain_renders_dates_booleans_sets_and_multi_selects() -> None:
    """Each kind of value is shown the way people read it."""
    fields = {"start": "2026-03-02", "live": "true", "steps": "kickoff;data_imported"}
    rendered = [
        explain(evaluate(cond({"field": "start", "op": "lt", "value": "2026-04-01"}), fields)),
        explain(evaluate(cond({"field": "live", "op": "eq", "value": True}), fields)),
        explain(evaluate(cond({"field": "steps", "op": "contains", "value": "kickoff"}), fields)),
        explain(evaluate(cond({"field": "live", "op": "is_not_set"}), fields)),
        explain(evaluate(cond({"field": "mrr", "op": "ne", "value": 2000.5}), fields)),
    ]
    assert rendered == [
        "start 2026-03-02 < 2026-04-01 ✓",
        "live true = true ✓",
        "steps ['data_imported', 'kickoff'] contains 'kickoff' ✓",
        "live 'true' is not set ✗",
        "mrr (not set) ≠ 2000.5 ✓",
    ]


def test_completion_by_step_field_or_condition() -> None:
    """A step is ticked when the steps field contains it; a field when it is set and not false."""
    step = completion_condition(Completion(step="kickoff"))
    assert evaluate(step, {"onboarding_steps": "kickoff;sso_configured"}).holds
    assert not evaluate(step, {"onboarding_steps": "sso_configured"}).holds
    field = completion_condition(Completion(field="integration_connected"))
    assert evaluate(field, {"integration_connected": True}).holds
    assert evaluate(field, {"integration_connected": "2026-03-01"}).holds
    assert not evaluate(field, {"integration_connected": "false"}).holds
    assert not evaluate(field, {}).holds
    when = Clause(field="active_users", op="gte", value=3)
    assert completion_condition(Completion(when=when)) is when


def test_completion_without_a_source_is_refused() -> None:
    """A done_when naming nothing is a programming error once the loader let it through."""
    with pytest.raises(ValueError, match="one of step, field or when"):
        completion_condition(Completion())


def test_actual_values_are_reported_as_read() -> None:
    """The verdict keeps the value as compared: a number from text, or the raw value when unreadable."""
    (number,) = evaluate(cond({"field": "f", "op": "gt", "value": 1}), {"f": "2.50"}).clauses
    assert number.actual == Decimal("2.5")
    (raw,) = evaluate(cond({"field": "f", "op": "gt", "value": 1}), {"f": "lots"}).clauses
    assert raw.actual == "lots"
    naive = evaluate(cond({"field": "f", "op": "lt", "value": "2026-01-01"}), {"f": dt.datetime(2025, 1, 1)})  # noqa: DTZ001
    assert not naive.holds


_FIELDS = st.dictionaries(
    st.sampled_from(["a", "b", "c"]),
    st.one_of(
        st.none(), st.integers(-5, 5), st.sampled_from(["", "1", "x", "true", "2026-01-01", "x;y"]), st.booleans()
    ),
)
_CLAUSES = st.builds(
    Clause,
    field=st.sampled_from(["a", "b", "c"]),
    op=st.sampled_from(["eq", "ne", "gt", "gte", "lt", "lte", "contains", "is_set", "is_not_set"]),
    value=st.one_of(st.integers(-5, 5), st.sampled_from(["x", "1", "2026-01-01"]), st.booleans()),
) | st.builds(
    Clause, field=st.just("a"), op=st.sampled_from(["in", "not_in"]), value=st.lists(st.integers(-2, 2), max_size=3)
)
_CONDITIONS: st.SearchStrategy[Condition] = st.recursive(
    _CLAUSES,
    lambda inner: st.one_of(
        st.builds(AllOf, all=st.lists(inner, min_size=1, max_size=3)),
        st.builds(AnyOf, any=st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda c: NotOf(not_=c), inner),
    ),
    max_leaves=6,
)


@given(_CONDITIONS, _FIELDS)
def test_not_is_the_negation(condition: Condition, fields: dict[str, object]) -> None:
    """not(x) holds exactly when x does not, whatever the fields, and names the same clauses."""
    inner = evaluate(condition, fields)
    negated = evaluate(NotOf(not_=condition), fields)
    assert negated.holds is not inner.holds
    assert [c.field for c in negated.clauses] == [c.field for c in inner.clauses]


@given(_CONDITIONS, _FIELDS)
def test_the_deciding_clauses_agree_with_the_verdict(condition: Condition, fields: dict[str, object]) -> None:
    """A verdict always names at least one clause, and explaining it never fails."""
    verdict = evaluate(condition, fields)
    assert isinstance(verdict, Verdict)
    assert verdict.clauses
    assert explain(verdict).count("; ") == len(verdict.clauses) - 1
