"""The plan-folder loader: every problem of every file at once, each at its line, with a fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from sync_daemon.config.errors import ConfigError
from sync_daemon.config.loader import load_mapping
from sync_daemon.config.plan_loader import known_account_fields, load_plans, validate_plans
from tests.unit.plans.builders import BIG, KNOWN, PLANS, SMALL, edit, problems_in, write_folder

ROOT = Path(__file__).resolve().parents[3]
BROKEN = Path("tests/fixtures/plans/broken")


def test_a_valid_folder_loads_with_templates_by_id(tmp_path: Path) -> None:
    """A clean folder gives the plans config and every template keyed by its id."""
    plan_set = load_plans(write_folder(tmp_path), KNOWN)
    assert sorted(plan_set.templates) == ["big", "small"]
    assert plan_set.config.default == "small"
    assert plan_set.templates["small"].phases[0].tasks[2].depends_on == ["kickoff", "billing"]


def test_every_mistake_of_the_broken_fixture_is_reported_with_its_place(monkeypatch: pytest.MonkeyPatch) -> None:
    """The broken folder yields all its mistakes at once: lines, columns and suggestions."""
    monkeypatch.chdir(ROOT)
    mapping = load_mapping(ROOT / "mappings" / "salesforce.yaml")
    t, p = f"{BROKEN}/basic.yaml", f"{BROKEN}/plans.yaml"
    assert [problem.render() for problem in validate_plans(BROKEN, mapping)] == [
        (
            f"{t}:16:19: duration of task 'kickoff': '5 days' is not a duration; write a number and a unit, "
            "like 5bd (business days), 3d (calendar days) or 2w (weeks); did you mean '5d'?"
        ),
        f"{t}:17:22: dependency cycle: kickoff -> setup -> configure -> kickoff; remove one of these dependencies",
        f"{t}:24:33: task 'setup' depends on unknown task 'kickof'; did you mean 'kickoff'?",
        f"{t}:25:9: missing key 'title' in phases[0].tasks[2]",
        f"{t}:26:9: unknown key 'titel' in phases[0].tasks[2]; did you mean 'title'?",
        f"{t}:33:25: unknown field 'active_user' in phases[0].tasks[2].done_when.when; did you mean 'active_users'?",
        (
            f"{t}:40:15: internal task 'billing' needs a category; add category: one of billing, provisioning, "
            "licensing, legal, documents, security, procurement, other"
        ),
        f"{t}:43:22: task 'billing' depends on itself; remove it from depends_on",
        (
            f"{t}:44:9: done_when of task 'billing' has step and field: use exactly one; "
            "combine several conditions with any: [...] in when"
        ),
        f"{t}:45:13: duplicate task id 'setup'; first defined at line 18, column 13",
        f"{p}:4:15: unknown template 'enterprise' in segments[0].template; templates in this folder: basic",
        f"{p}:5:19: unknown field 'contract_valeu' in segments[0].when; did you mean 'contract_value'?",
        f"{p}:6:15: unknown template 'mid_markt' in segments[1].template; templates in this folder: basic",
        f"{p}:7:40: op 'in' needs a list of values; e.g. value: [A, B]",
        f"{p}:10:38: holiday 2026-12-25 is listed twice; first listed at line 10, column 14",
        (
            f"{p}:12:22: health.at_risk_slip_days (30) must be below health.off_track_slip_days (21); "
            "a plan turns at risk before it turns off track"
        ),
    ]


def test_load_plans_raises_one_error_with_every_problem() -> None:
    """load_plans raises a single ConfigError whose text lists every problem, one per line."""
    with pytest.raises(ConfigError) as caught:
        load_plans(ROOT / BROKEN, known_account_fields(load_mapping(ROOT / "mappings" / "hubspot.yaml")))
    assert len(caught.value.problems) == 16
    assert len(caught.value.render().splitlines()) == 16


def test_a_syntax_error_in_one_file_does_not_hide_the_others(tmp_path: Path) -> None:
    """A template that is not YAML is reported, and the other files are still checked."""
    bad_plans = edit(PLANS, "default: small", "default: smal")
    assert problems_in(tmp_path, plans=bad_plans, big="version: [1\n") == [
        (
            "big.yaml:2:1: YAML syntax error: expected ',' or ']', but got '<stream end>'; "
            "while parsing a flow sequence started at line 1, column 10"
        ),
        "plans.yaml:5:10: unknown template 'smal' in default; did you mean 'small'?",
    ]


def test_an_unreadable_template_still_counts_by_its_file_name(tmp_path: Path) -> None:
    """Segment rules naming a template whose file cannot be parsed are not also reported as unknown."""
    problems = problems_in(tmp_path, big="id: [\n")
    assert len(problems) == 1
    assert problems[0].startswith("big.yaml:")


def test_missing_folder_plans_file_and_empty_files_are_problems(tmp_path: Path) -> None:
    """A folder that does not exist, a missing plans.yaml or an empty template each say so."""
    with pytest.raises(ConfigError, match="the plans folder does not exist"):
        load_plans(tmp_path / "nope", KNOWN)
    folder = write_folder(tmp_path)
    (folder / "plans.yaml").unlink()
    with pytest.raises(ConfigError, match=r"plans\.yaml: the file is missing"):
        load_plans(folder, KNOWN)
    assert problems_in(tmp_path, big="# nothing\n") == [
        "big.yaml: the file is empty; see the shipped files in config/plans/"
    ]


def test_two_templates_with_one_id_are_refused(tmp_path: Path) -> None:
    """Template ids are unique across the folder, since segment rules name templates by id."""
    assert problems_in(tmp_path, big=SMALL) == [
        "plans.yaml:3:15: unknown template 'big' in segments[0].template; templates in this folder: small",
        "small.yaml:2:5: duplicate template id 'small'; big.yaml:2 already uses it; give each template its own id",
    ]


def test_yml_files_are_templates_too(tmp_path: Path) -> None:
    """A template may be named .yml as well as .yaml."""
    folder = write_folder(tmp_path, big=None)
    (folder / "big.yml").write_text(BIG, encoding="utf-8")
    assert sorted(load_plans(folder, KNOWN).templates) == ["big", "small"]


def test_choose_takes_the_first_matching_rule_else_the_default(tmp_path: Path) -> None:
    """The first segment rule that holds picks the template, with its explanation; else the default."""
    plan_set = load_plans(write_folder(tmp_path), KNOWN)
    template, verdict = plan_set.choose({"contract_value": "250"})
    assert template.id == "big"
    assert verdict is not None
    assert verdict.holds
    assert plan_set.choose({"contract_value": 99}) == (plan_set.templates["small"], None)


def test_known_account_fields_are_pull_kpis_and_push_names() -> None:
    """Conditions may name pulled canonical fields, KPI names and daemon-owned fields of the mapping."""
    fields = known_account_fields(load_mapping(ROOT / "mappings" / "salesforce.yaml"))
    assert {"contract_value", "onboarding_steps", "active_users", "integration_connected", "health"} <= fields
    assert "email" not in fields  # a contact field
