"""The shipped plan folder: loads cleanly against both mappings, realistic templates, exact schemas."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jsonschema
import pytest

from sync_daemon.config.loader import load_mapping
from sync_daemon.config.plan_loader import PlanSet, known_account_fields, load_plans, validate_plans
from sync_daemon.config.plan_schema import (
    PLANS_SCHEMA_FILE,
    TEMPLATE_SCHEMA_FILE,
    plan_schema_texts,
    plan_template_json_schema,
    plans_config_json_schema,
    write_plan_schemas,
)
from sync_daemon.config.yaml_positions import read_yaml
from sync_daemon.domain.conditions import explain
from sync_daemon.sandbox import seed

if TYPE_CHECKING:
    from sync_daemon.config.plan_models import PlanTemplate, Task

ROOT = Path(__file__).resolve().parents[3]
PLANS = ROOT / "config" / "plans"
MAPPINGS = [ROOT / "mappings" / "salesforce.yaml", ROOT / "mappings" / "hubspot.yaml"]
TEMPLATES = ["smb.yaml", "mid_market.yaml", "enterprise.yaml"]


@pytest.fixture(scope="module")
def plan_set() -> PlanSet:
    return load_plans(PLANS, known_account_fields(load_mapping(MAPPINGS[0])))


def tasks(template: PlanTemplate) -> list[Task]:
    return [task for phase in template.phases for task in phase.tasks]


@pytest.mark.parametrize("mapping", MAPPINGS, ids=lambda p: p.stem)
def test_shipped_plans_load_cleanly_against_each_shipped_mapping(mapping: Path) -> None:
    """The shipped folder has no problem for either CRM's mapping."""
    assert validate_plans(PLANS, load_mapping(mapping)) == []


@pytest.mark.parametrize(
    ("template_id", "task_count", "phase_count", "target_days"),
    [("smb", 8, 3, 30), ("mid_market", 14, 4, 60), ("enterprise", 23, 5, 90)],
)
def test_three_templates_of_growing_weight(
    plan_set: PlanSet, template_id: str, task_count: int, phase_count: int, target_days: int
) -> None:
    """Low-touch SMB, mid-market and enterprise plans differ in size, phases and time-to-value target."""
    template = plan_set.templates[template_id]
    assert (len(tasks(template)), len(template.phases), template.target_days) == (task_count, phase_count, target_days)


@pytest.mark.parametrize("template_id", ["smb", "mid_market", "enterprise"])
def test_every_template_is_two_sided_with_internal_work(plan_set: PlanSet, template_id: str) -> None:
    """Each plan has tasks for both sides, and customer-facing as well as internal tasks."""
    found = tasks(plan_set.templates[template_id])
    assert {t.side for t in found} == {"vendor", "customer"}
    assert {t.kind for t in found} == {"customer_facing", "internal"}


def test_enterprise_runs_security_legal_and_procurement_internally(plan_set: PlanSet) -> None:
    """The enterprise plan carries security review, MSA/DPA and procurement as internal tasks."""
    internal = {t.id: t.category for t in tasks(plan_set.templates["enterprise"]) if t.kind == "internal"}
    assert {"security", "legal", "procurement", "billing", "provisioning", "licensing", "documents"} <= set(
        internal.values()
    )
    assert internal["msa_signed"] == internal["dpa_signed"] == "legal"


def test_steps_are_the_values_the_sandboxes_seed(plan_set: PlanSet) -> None:
    """Every step a template waits for is an onboarding-steps value the sandbox CRMs know."""
    steps = {t.done_when.step for tpl in plan_set.templates.values() for t in tasks(tpl) if t.done_when}
    assert steps - {None} <= set(seed.STEPS)
    assert set(seed.STEPS) <= steps


@pytest.mark.parametrize(
    ("fields", "template_id", "why"),
    [
        ({"contract_value": 180000, "employees": 50}, "enterprise", "contract_value 180000 >= 150000 ✓"),
        ({"contract_value": "30000", "employees": "2500"}, "enterprise", "employees 2500 >= 2000 ✓"),
        ({"contract_value": "25000.00", "employees": "300"}, "mid_market", "contract_value 25000 >= 25000 ✓"),
        ({"contract_value": "24999", "employees": None}, "smb", None),
        ({}, "smb", None),
    ],
)
def test_segment_rules(plan_set: PlanSet, fields: dict[str, object], template_id: str, why: str | None) -> None:
    """Enterprise from 150k or 2,000 employees, mid-market from 25k, SMB otherwise, typed or as text."""
    template, verdict = plan_set.choose(fields)
    assert template.id == template_id
    assert (explain(verdict) if verdict else None) == why


def test_seeded_accounts_get_their_segment_template(plan_set: PlanSet) -> None:
    """The sandboxes' accounts land on the template of their segment (mid-market at 2,000 staff is enterprise)."""
    expected = {"SMB": "smb", "Mid-Market": "mid_market", "Enterprise": "enterprise"}
    for account in seed.accounts(300):
        fields: dict[str, Any] = {k: str(v) for k, v in dataclasses.asdict(account).items()}  # HubSpot sends text
        template, _ = plan_set.choose(fields)
        wanted = "enterprise" if account.employees >= 2000 else expected[account.segment]
        assert template.id == wanted, account


def test_holidays_are_observed_weekdays_in_order(plan_set: PlanSet) -> None:
    """The US federal holiday calendar lists observed dates: weekdays, sorted, each once, for 2026 and 2027."""
    holidays = plan_set.config.calendar.holidays
    assert holidays == sorted(set(holidays))
    assert all(day.weekday() < 5 for day in holidays)
    assert {d.year for d in holidays} == {2026, 2027}
    assert dt.date(2026, 7, 3) in holidays  # July 4th 2026 is a Saturday
    assert plan_set.config.health.at_risk_slip_days < plan_set.config.health.off_track_slip_days


def test_shipped_schemas_are_the_generated_ones() -> None:
    """config/plans/*.schema.json equal what the models generate (see write_plan_schemas)."""
    for name, text in plan_schema_texts().items():
        assert (PLANS / name).read_text(encoding="utf-8") == text


def test_write_plan_schemas_writes_both_files(tmp_path: Path) -> None:
    """write_plan_schemas writes the template schema and the plans schema."""
    write_plan_schemas(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([TEMPLATE_SCHEMA_FILE, PLANS_SCHEMA_FILE])


def test_every_plan_file_names_its_schema_on_the_first_line() -> None:
    """Each shipped file points the YAML language server at the right schema."""
    for name in ["plans.yaml", *TEMPLATES]:
        schema = PLANS_SCHEMA_FILE if name == "plans.yaml" else TEMPLATE_SCHEMA_FILE
        first = (PLANS / name).read_text(encoding="utf-8").splitlines()[0]
        assert first == f"# yaml-language-server: $schema=./{schema}"


def schema_errors(schema: dict[str, Any], data: object) -> list[str]:
    jsonschema.Draft202012Validator.check_schema(schema)
    return sorted(e.json_path for e in jsonschema.Draft202012Validator(schema).iter_errors(data))


def test_shipped_files_satisfy_their_schemas() -> None:
    """Editors show no squiggle on the shipped files."""
    assert schema_errors(plans_config_json_schema(), read_yaml(PLANS / "plans.yaml").data) == []
    for name in TEMPLATES:
        assert schema_errors(plan_template_json_schema(), read_yaml(PLANS / name).data) == [], name


def test_template_schema_flags_what_editors_can_see() -> None:
    """A misspelt key, a done_when with two sources and an internal task without category are flagged."""
    data: Any = read_yaml(PLANS / "smb.yaml").data
    first = data["phases"][0]["tasks"]
    first[0]["titel"] = "x"
    first[0]["done_when"] = {"step": "kickoff", "field": "mrr"}
    del first[1]["category"]
    assert schema_errors(plan_template_json_schema(), data) == [
        "$.phases[0].tasks[0]",
        "$.phases[0].tasks[0].done_when",
        "$.phases[0].tasks[1]",
    ]
