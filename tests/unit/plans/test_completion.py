"""Completion detection: which tasks of the shipped templates the CRM fields show done, and by which source."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from sync_daemon.config.loader import load_mapping
from sync_daemon.config.plan_loader import PlanSet, known_account_fields, load_plans
from sync_daemon.config.plan_models import Completion
from sync_daemon.domain.calendar import WorkCalendar
from sync_daemon.domain.completion import CompletionRules, seen_rows, source_of, task_ids, tasks_seen_done
from sync_daemon.domain.plans import evaluate_plan
from sync_daemon.store.plans import EvaluationRow

if TYPE_CHECKING:
    from sync_daemon.config.plan_models import PlanTemplate

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def plan_set() -> PlanSet:
    return load_plans(ROOT / "config" / "plans", known_account_fields(load_mapping(ROOT / "mappings" / "hubspot.yaml")))


@pytest.fixture(scope="module")
def smb(plan_set: PlanSet) -> PlanTemplate:
    return plan_set.templates["smb"]


SMB_DONE = {
    "welcome_call": "crm_step",
    "import_data": "crm_step",
    "invite_team": "condition",
    "connect_integration": "crm_field",
}


def test_hubspot_strings_mark_steps_fields_and_conditions(smb: PlanTemplate) -> None:
    """HubSpot text values ('a;b' steps, '3', 'true') mark the SMB tasks with their sources."""
    fields = {"onboarding_steps": "kickoff;data_imported", "active_users": "3", "integration_connected": "true"}
    assert tasks_seen_done(smb, fields) == SMB_DONE


@pytest.mark.parametrize("steps", ["kickoff;data_imported", ["kickoff", "data_imported"]])
def test_salesforce_typed_values_mark_the_same_tasks(smb: PlanTemplate, steps: object) -> None:
    """Salesforce's typed values (int, bool, a 'a;b' multi-select picklist or a list) give the same answer."""
    fields = {"onboarding_steps": steps, "active_users": 3, "integration_connected": True}
    assert tasks_seen_done(smb, fields) == SMB_DONE


@pytest.mark.parametrize(
    "fields",
    [
        {"onboarding_steps": "", "active_users": "2", "integration_connected": "false"},
        {"onboarding_steps": None, "active_users": 2, "integration_connected": False},
        {"onboarding_steps": "kickoff_prep;data_imported_partial", "active_users": "n/a"},
        {},
    ],
    ids=["hubspot", "salesforce", "near_misses", "empty"],
)
def test_unticked_boxes_low_counts_and_near_miss_steps_mark_nothing(
    smb: PlanTemplate, fields: dict[str, object]
) -> None:
    """An unticked checkbox, too few users, a step that only starts like one, or no fields: nothing is done."""
    assert tasks_seen_done(smb, fields) == {}


def test_tasks_without_done_when_are_never_seen_done(smb: PlanTemplate) -> None:
    """Hand-only tasks (provisioning, billing) stay out even when fields named like them are set."""
    fields = {"onboarding_steps": "provision_workspace;billing_setup", "provision_workspace": True}
    assert tasks_seen_done(smb, fields) == {}


@pytest.mark.parametrize(("users", "connected", "done"), [("50", "true", True), ("49", "true", False),
                                                          (50, False, False), (120, True, True)])  # fmt: skip
def test_enterprise_go_live_needs_users_and_the_integration(
    plan_set: PlanSet, users: object, connected: object, done: bool
) -> None:
    """Enterprise go-live is done when 50+ users are active and the integration is connected, in both forms."""
    seen = tasks_seen_done(
        plan_set.templates["enterprise"], {"active_users": users, "integration_connected": connected}
    )
    assert ("go_live" in seen) is done
    assert seen.get("go_live", "condition") == "condition"


@pytest.mark.parametrize(("seats", "done"), [("0", False), (0, False), ("5", True), (5, True)])
def test_mid_market_licensing_is_done_once_seats_are_licensed(plan_set: PlanSet, seats: object, done: bool) -> None:
    """The licensing condition (licensed_seats > 0) reads HubSpot text and Salesforce numbers alike."""
    template = plan_set.templates["mid_market"]
    licensing = [t.id for p in template.phases for t in p.tasks if t.done_when and t.done_when.when]
    seen = tasks_seen_done(template, {"licensed_seats": seats})
    assert any(task in seen for task in licensing) is done


@pytest.mark.parametrize("template_id", ["smb", "mid_market", "enterprise"])
@pytest.mark.parametrize("crm", ["hubspot", "salesforce"])
def test_everything_ticked_marks_every_task_that_has_evidence(plan_set: PlanSet, template_id: str, crm: str) -> None:
    """With every step ticked and every KPI high, exactly the tasks with a done_when are seen done."""
    template = plan_set.templates[template_id]
    with_rule = [t for p in template.phases for t in p.tasks if t.done_when is not None]
    steps = [t.done_when.step for t in with_rule if t.done_when and t.done_when.step]
    typed: dict[str, object] = {"onboarding_steps": steps, "active_users": 1000, "licensed_seats": 1000,
                                "integration_connected": True}  # fmt: skip
    text = {"onboarding_steps": ";".join(steps), "active_users": "1000", "licensed_seats": "1000",
            "integration_connected": "true"}  # fmt: skip
    seen = tasks_seen_done(template, text if crm == "hubspot" else typed)
    assert seen == {t.id: source_of(t.done_when) for t in with_rule if t.done_when}


def test_evidence_explains_each_rule_with_the_values_seen(smb: PlanTemplate) -> None:
    """The verdict behind a task names the field and the value that decided it, done or not."""
    evidence = CompletionRules(smb).evidence({"active_users": "2", "onboarding_steps": "kickoff"})
    assert evidence["welcome_call"].holds
    invite = evidence["invite_team"]
    assert not invite.holds
    assert [(c.field, c.actual) for c in invite.clauses] == [("active_users", 2)]
    assert "provision_workspace" not in evidence


def test_source_of_each_completion_form() -> None:
    """A step is crm_step, a field crm_field, a condition condition."""
    assert source_of(Completion(step="kickoff")) == "crm_step"
    assert source_of(Completion(field="integration_connected")) == "crm_field"
    assert source_of(Completion.model_validate({"when": {"field": "mrr", "op": "gt", "value": 0}})) == "condition"


def test_seen_rows_are_what_the_store_takes(smb: PlanTemplate) -> None:
    """The detected tasks become (account, cycle, task, source) tuples for record_completions."""
    rows = list(seen_rows("001A", 2, {"welcome_call": "crm_step", "invite_team": "condition"}))
    assert rows == [("001A", 2, "welcome_call", "crm_step"), ("001A", 2, "invite_team", "condition")]
    assert list(task_ids(smb))[:3] == ["welcome_call", "provision_workspace", "billing_setup"]


def test_an_evaluation_becomes_the_stored_row(plan_set: PlanSet, smb: PlanTemplate) -> None:
    """EvaluationRow.of copies what plan list shows and is finished only when every task is done."""
    calendar = WorkCalendar.from_config(plan_set.config.calendar)
    start, today = date(2026, 3, 2), date(2026, 3, 20)
    open_eval = evaluate_plan(smb, start, {}, calendar=calendar, thresholds=plan_set.config.health, today=today)
    row = EvaluationRow.of("001A", open_eval)
    assert (row.progress, row.health, row.slip_days, row.finished) == (0, open_eval.health, open_eval.slip_days, False)
    assert (row.next_task, row.next_task_due, row.current_phase) == (
        open_eval.next_task,
        open_eval.next_task_due,
        open_eval.current_phase,
    )
    done = dict.fromkeys(task_ids(smb), date(2026, 3, 10))
    all_done = evaluate_plan(smb, start, done, calendar=calendar, thresholds=plan_set.config.health, today=today)
    assert EvaluationRow.of("001A", all_done).finished
