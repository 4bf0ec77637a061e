"""The handoff policy file: the shipped one loads cleanly, a broken one reports every mistake with a fix."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import jsonschema
import pytest

from sync_daemon.config.errors import ConfigError
from sync_daemon.config.handoff_loader import (
    HANDOFF_SCHEMA_FILE,
    handoff_json_schema,
    handoff_schema_text,
    load_handoff,
    plan_ids,
    validate_handoff,
)
from sync_daemon.config.loader import load_mapping
from sync_daemon.config.plan_loader import known_account_fields, load_plans
from sync_daemon.config.yaml_positions import read_yaml
from tests.unit.handoff.builders import KNOWN, ROOT

if TYPE_CHECKING:
    from pathlib import Path

CONFIG = ROOT / "config"
SHIPPED = CONFIG / "handoff.yaml"
MAPPINGS = [ROOT / "mappings" / "salesforce.yaml", ROOT / "mappings" / "hubspot.yaml"]
BROKEN = "tests/fixtures/handoff/broken.yaml"


@pytest.mark.parametrize("mapping_path", MAPPINGS, ids=lambda p: p.stem)
def test_shipped_policy_is_clean_against_each_mapping_and_the_shipped_plans(mapping_path: Path) -> None:
    """config/handoff.yaml has no problem for either CRM, with its task ids checked against the templates."""
    mapping = load_mapping(mapping_path)
    plan_set = load_plans(CONFIG / "plans", known_account_fields(mapping))
    assert validate_handoff(SHIPPED, mapping, plan_set) == []


def test_shipped_policy_has_the_four_default_statuses_and_gates() -> None:
    """The defaults: four ordered statuses, the last two adopted, a 90-day window from close_date."""
    policy = load_handoff(SHIPPED, KNOWN)
    assert policy.adoption.names() == ("inactive", "implementing", "partial_utilization", "full_utilization")
    assert policy.adoption.adopted == ["partial_utilization", "full_utilization"]
    rules = policy.handoff
    assert (rules.window_days, rules.window_from, rules.override_field) == (90, "close_date", "handoff_override")
    assert rules.gates.adoption is not None
    assert rules.gates.adoption.at_least == "partial_utilization"
    assert rules.gates.csm is not None
    assert rules.gates.csm.fields == ["csm_name", "csm_email"]
    assert (policy.version, policy.revision) == (1, 1)


def test_plan_ids_are_the_union_of_every_template() -> None:
    """plan_ids gathers task and phase ids across all templates, so one gate can serve every segment."""
    plan_set = load_plans(CONFIG / "plans", KNOWN | {"onboarding_start", "contract_value", "employees", "tier",
                                                     "onboarding_steps", "integration_connected"})  # fmt: skip
    tasks, phases = plan_ids(plan_set)
    assert {"first_value", "go_live", "welcome_call"} <= tasks
    assert {"rollout", "adopt", "welcome"} <= phases


def test_every_mistake_of_the_broken_fixture_is_reported_with_its_place(monkeypatch: pytest.MonkeyPatch) -> None:
    """The broken policy yields all its mistakes at once, each with line, column and a suggestion."""
    monkeypatch.chdir(ROOT)
    mapping = load_mapping(ROOT / "mappings" / "salesforce.yaml")
    plan_set = load_plans(CONFIG / "plans", known_account_fields(mapping))
    f = BROKEN
    assert [p.render() for p in validate_handoff(ROOT / f, mapping, plan_set)] == [
        (
            f"{ROOT / f}:7:13: the first status 'inactive' takes no condition; "
            "remove when: the lowest status is where every account is until a higher one holds"
        ),
        f"{ROOT / f}:9:21: unknown field 'active_user' in adoption.statuses[1].when; did you mean 'active_users'?",
        f"{ROOT / f}:10:13: duplicate status id 'implementing'; first defined at line 8, column 13",
        (
            f"{ROOT / f}:12:7: status 'full_utilization' needs a condition (when); "
            "add when: a condition on usage KPIs, e.g. {field: active_users, op: gte, value: 5}"
        ),
        (
            f"{ROOT / f}:13:13: unknown adoption status 'full_utilisation' in adoption.adopted; "
            "did you mean 'full_utilization'?"
        ),
        f"{ROOT / f}:15:3: unknown key 'window_day' in handoff; did you mean 'window_days'?",
        (
            f"{ROOT / f}:16:16: handoff.window_from 'close_dat' is not a field the mapping pulls; "
            "did you mean 'close_date'?"
        ),
        f"{ROOT / f}:19:15: unknown task 'go_liv' in handoff.gates.plan.tasks; did you mean 'go_live'?",
        f"{ROOT / f}:20:16: unknown phase 'rolout' in handoff.gates.plan.phases; did you mean 'rollout'?",
        (
            f"{ROOT / f}:22:17: unknown adoption status 'full_utilizaton' in handoff.gates.adoption; "
            "did you mean 'full_utilization'?"
        ),
        f"{ROOT / f}:25:15: op 'gte' needs a value",
        f"{ROOT / f}:25:37: unknown key 'valu' in handoff.gates.kpis[0].when; did you mean 'value'?",
        f"{ROOT / f}:26:15: duplicate KPI threshold id 'revenue'; first defined at line 24, column 15",
        f"{ROOT / f}:29:16: unknown field 'csm_nme' in handoff.gates.csm.fields; did you mean 'csm_name'?",
    ]


def test_without_plan_ids_the_plan_gate_is_not_checked() -> None:
    """Loading without the plan templates skips the task/phase id check but keeps every other one."""
    with pytest.raises(ConfigError) as caught:
        load_handoff(ROOT / BROKEN, KNOWN)
    messages = [p.message for p in caught.value.problems]
    assert not any("unknown task" in m or "unknown phase" in m for m in messages)
    assert len(messages) == 12


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "handoff.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _problems(tmp_path: Path, old: str, new: str) -> list[str]:
    text = SHIPPED.read_text(encoding="utf-8")
    assert old in text
    try:
        load_handoff(_write(tmp_path, text.replace(old, new)), KNOWN)
    except ConfigError as exc:
        return [f"{p.line}: {p.message}" + (f"; {p.hint}" if p.hint else "") for p in exc.problems]
    return []


def test_adopted_statuses_must_be_the_highest_ones(tmp_path: Path) -> None:
    """Listing implementing and full (but not partial) as adopted is refused: above adopted is adopted."""
    found = _problems(tmp_path, "adopted: [partial_utilization, full_utilization]", "adopted: [partial_utilization]")
    assert found == [
        (
            "29: full_utilization ranks above an adopted status; "
            "list every status from the lowest adopted one up: partial_utilization, full_utilization"
        )
    ]


def test_an_empty_plan_gate_is_refused(tmp_path: Path) -> None:
    """A plan gate that names no task and no phase would never pass: say so."""
    assert _problems(tmp_path, "tasks: [first_value]", "tasks: []") == [
        (
            "39: the plan gate names no task and no phase; "
            "list task ids (tasks: [go_live]) or phase ids (phases: [rollout]), or remove the plan gate"
        )
    ]


def test_a_revision_is_required(tmp_path: Path) -> None:
    """The policy revision is the admin's counter: leaving it out is reported at the top level."""
    found = _problems(tmp_path, "revision: 1 ", "")
    assert len(found) == 1
    assert "missing key 'revision' at the top level" in found[0]


def test_the_shipped_schema_is_generated_and_accepts_the_shipped_file() -> None:
    """config/handoff.schema.json equals the generated schema, the YAML names it, and it validates the file."""
    assert (CONFIG / HANDOFF_SCHEMA_FILE).read_text(encoding="utf-8") == handoff_schema_text()
    first_line = SHIPPED.read_text(encoding="utf-8").splitlines()[0]
    assert first_line == f"# yaml-language-server: $schema=./{HANDOFF_SCHEMA_FILE}"
    jsonschema.validate(read_yaml(SHIPPED).data, handoff_json_schema())
    assert json.loads(handoff_schema_text())["title"] == "Handoff policy"
