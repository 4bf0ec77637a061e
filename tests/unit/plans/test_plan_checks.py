"""The plan files' cross-field rules, each reported at the node it is about, with the likely fix."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from sync_daemon.config.plan_graph import find_cycles
from tests.unit.plans.builders import KNOWN, PLANS, SMALL, edit, problems_in

if TYPE_CHECKING:
    from pathlib import Path

KICKOFF_DEPS = "        done_when: {step: kickoff}\n"
DURATION_HELP = "write a number and a unit, like 5bd (business days), 3d (calendar days) or 2w (weeks)"


def small_with(old: str, new: str) -> dict[str, str]:
    return {"small": edit(SMALL, old, new)}


def plans_with(old: str, new: str) -> dict[str, str]:
    return {"plans": edit(PLANS, old, new)}


@pytest.mark.parametrize(
    ("written", "hint"),
    [
        ("5 days", "did you mean '5d'?"),
        ("10 business days", "did you mean '10bd'?"),
        ("2 Weeks", "did you mean '2w'?"),
        ("3 working days", "did you mean '3bd'?"),
        ("5", "did you mean '5d' or '5bd'?"),
        ("soon", None),
    ],
)
def test_a_bad_duration_says_how_to_write_one(tmp_path: Path, written: str, hint: str | None) -> None:
    """A duration that is not like 5bd, 3d or 2w is reported once, in words, with the likely fix."""
    (line,) = problems_in(tmp_path, **small_with("duration: 2bd", f"duration: {written}"))
    expected = f"small.yaml:15:19: duration of task 'kickoff': '{written}' is not a duration; {DURATION_HELP}"
    assert line == (f"{expected}; {hint}" if hint else expected)


def test_a_bad_due_offset_is_reported_like_a_duration(tmp_path: Path) -> None:
    """The optional due offset follows the same rule as the duration."""
    (line,) = problems_in(tmp_path, **small_with("duration: 2bd\n", "duration: 2bd\n        due: 1 month\n"))
    assert line.startswith("small.yaml:16:14: due of task 'kickoff': '1 month' is not a duration;")


@pytest.mark.parametrize(
    ("clause", "message"),
    [
        ("{field: tier, op: in, value: Enterprise}", "4:40: op 'in' needs a list of values; e.g. value: [A, B]"),
        ("{field: tier, op: not_in, value: []}", "4:44: op 'not_in' has an empty list, which matches nothing"),
        ("{field: tier, op: is_set, value: x}", "4:44: op 'is_set' takes no value; remove value"),
        ("{field: tier, op: eq}", "4:11: op 'eq' needs a value"),
        ("{field: tier, op: ne, value: [a, b]}", "4:40: op 'ne' takes one value, not a list; use op: in for a list"),
        ("{field: tier, op: gt, value: big}", "4:40: op 'gt' compares numbers or dates (YYYY-MM-DD); found 'big'"),
        ("{field: tier, op: lte, value: true}", "4:41: op 'lte' compares numbers or dates (YYYY-MM-DD); found true"),
    ],
)
def test_op_and_value_must_agree(tmp_path: Path, clause: str, message: str) -> None:
    """Op in needs a list, is_set no value, eq one value, orderings a number or a date."""
    text = plans_with("{field: contract_value, op: gte, value: 100}", clause)
    assert problems_in(tmp_path, **text) == [f"plans.yaml:{message}"]


@pytest.mark.parametrize(
    "clause",
    [
        "{field: onboarding_start, op: gte, value: 2026-01-01}",
        "{field: onboarding_steps, op: contains, value: [kickoff, sso_configured]}",
        "{field: employees, op: lt, value: 99.5}",
        "{field: tier, op: is_not_set}",
    ],
)
def test_well_formed_clauses_pass(tmp_path: Path, clause: str) -> None:
    """Dates order, contains takes one option or several, is_not_set takes nothing."""
    assert problems_in(tmp_path, **plans_with("{field: contract_value, op: gte, value: 100}", clause)) == []


def test_unknown_fields_are_found_deep_in_conditions(tmp_path: Path) -> None:
    """Every clause of nested all/any/not is checked, with the closest known field or a general hint."""
    when = (
        "\n      all:\n        - {field: tier, op: eq, value: A}\n"
        "        - not: {any: [{field: employes, op: gt, value: 1}, {field: zzz, op: is_set}]}"
    )
    assert problems_in(tmp_path, **plans_with(" {field: contract_value, op: gte, value: 100}", when)) == [
        "plans.yaml:7:31: unknown field 'employes' in segments[0].when.all[1].not.any[0]; did you mean 'employees'?",
        (
            "plans.yaml:7:68: unknown field 'zzz' in segments[0].when.all[1].not.any[1]; "
            "use a canonical account field or a KPI name of the mapping"
        ),
    ]


def test_a_misspelt_combinator_is_named_and_its_clauses_still_checked(tmp_path: Path) -> None:
    """'al' suggests 'all', and the clauses under it are checked as if it were spelt right."""
    text = plans_with("{field: contract_value, op: gte, value: 100}", "{al: [{field: tire, op: eq, value: A}]}")
    assert problems_in(tmp_path, **text) == [
        "plans.yaml:4:5: missing key 'all' in segments[0].when",
        "plans.yaml:4:12: unknown key 'al' in segments[0].when; did you mean 'all'?",
        "plans.yaml:4:25: unknown field 'tire' in segments[0].when.al[0]; did you mean 'tier'?",
    ]


def test_a_misspelt_clause_key_suggests_the_right_one(tmp_path: Path) -> None:
    """A clause with 'vaule' names 'value' (and the op then misses its value)."""
    text = plans_with("value: 100}", "vaule: 100}")
    assert problems_in(tmp_path, **text) == [
        "plans.yaml:4:11: op 'gte' needs a value",
        "plans.yaml:4:44: unknown key 'vaule' in segments[0].when; did you mean 'value'?",
    ]


@pytest.mark.parametrize(
    ("done_when", "message"),
    [
        ("{stpe: kickoff}", "16:21: unknown key 'stpe' in phases[0].tasks[0].done_when; did you mean 'step'?"),
        (
            "{}",
            (
                "16:9: done_when of task 'kickoff' needs one of step, field or when; "
                "omit done_when for a task done by hand only"
            ),
        ),
        (
            "{step: kickoff, when: {field: mrr, op: gt, value: 1}}",
            (
                "16:9: done_when of task 'kickoff' has step and when: use exactly one; "
                "combine several conditions with any: [...] in when"
            ),
        ),
        (
            "{field: intgration_connected}",
            (
                "16:28: unknown field 'intgration_connected' in phases[0].tasks[0].done_when; "
                "use a canonical account field or a KPI name of the mapping"
            ),
        ),
        ("{field: mrrr}", "16:28: unknown field 'mrrr' in phases[0].tasks[0].done_when; did you mean 'mrr'?"),
    ],
)
def test_completion_names_exactly_one_known_source(tmp_path: Path, done_when: str, message: str) -> None:
    """done_when takes one of step, field or when, with known field names and spelt keys."""
    text = small_with("done_when: {step: kickoff}", f"done_when: {done_when}")
    assert problems_in(tmp_path, **text) == [f"small.yaml:{message}"]


def test_steps_need_the_mapping_to_pull_the_steps_field(tmp_path: Path) -> None:
    """A step can only be ticked when the mapping pulls onboarding_steps."""
    from sync_daemon.config.errors import ConfigError  # noqa: PLC0415
    from sync_daemon.config.plan_loader import load_plans  # noqa: PLC0415
    from tests.unit.plans.builders import write_folder  # noqa: PLC0415

    with pytest.raises(ConfigError) as caught:
        load_plans(write_folder(tmp_path), KNOWN - {"onboarding_steps"})
    problem = caught.value.problems[-1]
    assert len(caught.value.problems) == 2  # big.yaml has the same step
    assert (problem.file.rsplit("/", 1)[-1], problem.line, problem.column) == ("small.yaml", 16, 27)
    assert problem.message == "the mapping does not pull onboarding_steps, so a step is never ticked"


def test_internal_tasks_need_a_category_and_only_they_have_one(tmp_path: Path) -> None:
    """An internal task without category, and a customer-facing one with a category, are refused."""
    text = edit(SMALL, "        category: billing\n", "")
    text = edit(
        text,
        "kind: customer_facing\n        owner: csm",
        "kind: customer_facing\n        category: legal\n        owner: csm",
    )
    assert problems_in(tmp_path, small=text) == [
        (
            "small.yaml:14:19: category is for internal tasks; 'kickoff' is customer_facing; "
            "remove category, or set kind: internal"
        ),
        (
            "small.yaml:21:15: internal task 'billing' needs a category; add category: one of billing, provisioning, "
            "licensing, legal, documents, security, procurement, other"
        ),
    ]


def test_dependencies_unknown_self_and_duplicates(tmp_path: Path) -> None:
    """Unknown ids get the closest one, a task cannot wait on itself, ids are unique per template."""
    text = edit(SMALL, "depends_on: [kickoff, billing]", "depends_on: [kickof, adopt, nothing_like_it]")
    text = edit(text, "  - id: start\n    name: Start", "  - id: start\n    name: Start")
    text += (
        "  - id: start\n    name: Again\n    tasks:\n"
        "      - {id: billing, title: B, side: vendor, kind: internal, category: billing, owner: b, duration: 1d}\n"
    )
    assert problems_in(tmp_path, small=text) == [
        "small.yaml:30:22: task 'adopt' depends on unknown task 'kickof'; did you mean 'kickoff'?",
        "small.yaml:30:30: task 'adopt' depends on itself; remove it from depends_on",
        "small.yaml:30:37: task 'adopt' depends on unknown task 'nothing_like_it'; name a task id of this template",
        "small.yaml:33:9: duplicate phase id 'start'; first defined at line 7, column 9",
        "small.yaml:36:14: duplicate task id 'billing'; first defined at line 17, column 13",
    ]


def test_a_dependency_on_a_later_phase_is_allowed(tmp_path: Path) -> None:
    """Phases group the work; a task may wait on a task of a later phase."""
    text = edit(SMALL, "        duration: 3d\n", "        duration: 3d\n        depends_on: [later]\n")
    text += (
        "  - id: later_phase\n    name: Later\n    tasks:\n"
        "      - {id: later, title: L, side: vendor, kind: customer_facing, owner: b, duration: 1d}\n"
    )
    assert problems_in(tmp_path, small=text) == []


def test_every_cycle_is_named_at_its_first_task(tmp_path: Path) -> None:
    """Each distinct cycle is reported once, from its task first in the file, at that depends_on."""
    text = edit(SMALL, KICKOFF_DEPS, KICKOFF_DEPS + "        depends_on: [adopt]\n")
    text = edit(text, "        duration: 3d\n", "        duration: 3d\n        depends_on: [adopt]\n")
    assert problems_in(tmp_path, small=text) == [
        "small.yaml:17:22: dependency cycle: kickoff -> adopt -> kickoff; remove one of these dependencies",
        "small.yaml:25:22: dependency cycle: billing -> adopt -> billing; remove one of these dependencies",
    ]


def test_find_cycles_walks_every_component_once() -> None:
    """Cycles are found in every component, rotated to start at their first task, each once."""
    edges = {"a": ["b"], "b": ["c"], "c": ["a", "d"], "d": [], "e": ["f"], "f": ["e"], "g": ["g"]}
    assert find_cycles(["a", "b", "c", "d", "e", "f", "g"], edges) == [["a", "b", "c"], ["e", "f"], ["g"]]
    assert find_cycles(["c", "b", "a"], {"a": ["b"], "b": ["c"], "c": ["a"]}) == [["c", "a", "b"]]
    assert find_cycles(["a", "b"], {"a": ["b"], "b": []}) == []


def test_unknown_templates_in_rules_and_default_suggest_the_closest(tmp_path: Path) -> None:
    """Segment rules and the default must name a template of the folder."""
    text = edit(edit(PLANS, "template: big", "template: bigg"), "default: small", "default: tiny")
    assert problems_in(tmp_path, plans=text) == [
        "plans.yaml:3:15: unknown template 'bigg' in segments[0].template; did you mean 'big'?",
        "plans.yaml:5:10: unknown template 'tiny' in default; templates in this folder: big, small",
    ]


def test_start_fields_must_be_pulled(tmp_path: Path) -> None:
    """The plan start field (explicit or the default fallback) must be a field the mapping pulls."""
    text = edit(PLANS, "version: 1\n", "version: 1\nstart_field: onboarding_strat\n")
    assert problems_in(tmp_path, plans=text) == [
        (
            "plans.yaml:2:14: start_field 'onboarding_strat' is not a field the mapping pulls; "
            "did you mean 'onboarding_start'?"
        )
    ]
    from sync_daemon.config.errors import ConfigError  # noqa: PLC0415
    from sync_daemon.config.plan_loader import load_plans  # noqa: PLC0415
    from tests.unit.plans.builders import write_folder  # noqa: PLC0415

    (tmp_path / "x").mkdir()
    with pytest.raises(ConfigError, match="fallback_start_field 'close_date' \\(the default\\) is not a field"):
        load_plans(write_folder(tmp_path / "x"), KNOWN - {"close_date"})


def test_calendar_rules(tmp_path: Path) -> None:
    """Holidays are real dates listed once; the weekend cannot cover the whole week."""
    text = edit(
        PLANS,
        "  holidays: [2026-12-25]",
        "  weekend: [mon, tue, wed, thu, fri, sat, sun]\n  holidays: [2026-12-25, 2026-02-30, 2026-12-25, 20261225]",
    )
    assert problems_in(tmp_path, plans=text) == [
        (
            "plans.yaml:7:12: calendar.weekend covers every day of the week: no business day would ever come; "
            "list only the days off, e.g. [sat, sun]"
        ),
        "plans.yaml:8:26: holiday '2026-02-30' is not a date; write it as YYYY-MM-DD, e.g. 2026-12-25",
        "plans.yaml:8:38: holiday 2026-12-25 is listed twice; first listed at line 8, column 14",
        "plans.yaml:8:50: holiday '20261225' is not a date; write it as YYYY-MM-DD, e.g. 2026-12-25",
    ]


@pytest.mark.parametrize(
    ("health", "message"),
    [
        ("{off_track_slip_days: 5}", "6:31: health.at_risk_slip_days (7) must be below health.off_track_slip_days (5)"),
        (
            "{at_risk_slip_days: 9, off_track_slip_days: 9}",
            "6:29: health.at_risk_slip_days (9) must be below health.off_track_slip_days (9)",
        ),
    ],
)
def test_health_turns_at_risk_before_off_track(tmp_path: Path, health: str, message: str) -> None:
    """at_risk_slip_days must be below off_track_slip_days, defaults included."""
    text = edit(PLANS, "calendar:", f"health: {health}\ncalendar:")
    assert problems_in(tmp_path, plans=text) == [
        f"plans.yaml:{message}; a plan turns at risk before it turns off track"
    ]
