"""`plan show`, `plan list`, `task done` and `task reopen` against a store filled by real sandbox cycles.

Each test runs the real connector and the plan provider against a sandbox CRM on fake time, then drives the
CLI with CliRunner on the same SQLite store; the CLI's clock (``sync_daemon.cli.now_utc``) is set to the
sandbox's fake time so that "today" is the cycle's day.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest
from click.testing import CliRunner

from sync_daemon import cli
from sync_daemon.config.plan_loader import PlanSet, known_account_fields, load_plans
from sync_daemon.domain.values import normalize
from sync_daemon.engine import CycleOptions, PushSetup, run_cycle
from sync_daemon.plan_provider import PlanProvider
from sync_daemon.push import PushOptions
from sync_daemon.resources import shipped
from tests.conformance.drivers import Driver, start_driver

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from sync_daemon.store import Store

NOTE = "confirmed by [ops] on the phone"


@pytest.fixture(params=["salesforce", "hubspot"])
def driver(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[Driver]:
    d = start_driver(request.param, accounts=60, contacts=60)
    monkeypatch.setattr(cli, "now_utc", d.time.now)
    yield d
    d.server.stop()


@pytest.fixture
def plans(driver: Driver) -> PlanSet:
    return load_plans(shipped("config/plans"), known_account_fields(driver.mapping))


def cycle(driver: Driver, store: Store, plans: PlanSet) -> None:
    now = driver.time.now()
    provider = PlanProvider(plans, driver.mapping, store, crm=driver.crm, today=now.date(), now=now)
    connector = driver.connector()
    try:
        result = run_cycle(
            connector, store, options=CycleOptions(overlap=timedelta(minutes=5)), clock=driver.time.now,
            push_setup=PushSetup(driver.mapping, [provider], PushOptions(force=True)),
        )  # fmt: skip
    finally:
        connector.close()
    assert result.ok, result.error


def invoke(driver: Driver, tmp_path: Path, *args: str, crm: str | None = "") -> tuple[int, str, str]:
    """Run the CLI on the test's store; returns exit code, stdout and everything printed."""
    env = {
        "SYNC_CRM": driver.crm if crm == "" else crm,
        "SYNC_DATABASE_URL": f"sqlite:///{tmp_path / 'state.db'}",
        "SYNC_SECRETS_DIR": str(tmp_path / "no-secrets"),
        "SYNC_LOG_FORMAT": "json",
    }
    result = CliRunner().invoke(cli.main, list(args), env=env, catch_exceptions=False)
    return result.exit_code, result.stdout, result.output


def smb_account(store: Store, crm: str, *, without_step: str | None = None) -> tuple[str, str]:
    """An SMB account with a plan whose CRM has not ticked ``without_step`` (if given), and its steps."""
    for row in store.iter_records("accounts", crm):
        plan = store.plans_for(crm, [row["id"]]).get(row["id"])
        steps = str(row["fields"].get("onboarding_steps") or "")
        if (
            plan is not None
            and plan.template_id == "smb"
            and (without_step is None or without_step not in steps.split(";"))
        ):
            return row["id"], steps
    pytest.fail(f"the seed has no SMB account without {without_step}")


def progress(driver: Driver, account: str) -> Any:
    return normalize(driver.value("accounts", account, "onboarding_progress"), "number")


def smb_tasks(plans: PlanSet) -> list[str]:
    return [t.id for phase in plans.templates["smb"].phases for t in phase.tasks]


def test_show_lists_every_task_and_a_ticked_steps_evidence(driver: Driver, store: Store, plans: PlanSet,
                                                           tmp_path: Path) -> None:  # fmt: skip
    """`plan show` lists every task with its status and the critical path, and explains a step ticked in the CRM."""
    cycle(driver, store, plans)
    account, steps = smb_account(store, driver.crm, without_step="kickoff")
    driver.time.advance(86_400)
    ticked = ";".join([s for s in steps.split(";") if s] + ["kickoff"])
    sobject = "Account" if driver.crm == "salesforce" else "companies"
    driver.app.update(sobject, account, **{driver.mapping.accounts.pull["onboarding_steps"]: ticked})
    cycle(driver, store, plans)

    code, out, _ = invoke(driver, tmp_path, "plan", "show", account)
    assert code == 0, out
    lines = out.splitlines()
    for task_id in smb_tasks(plans):
        assert sum(f" {task_id} · " in line for line in lines) == 1, task_id
    welcome = next(line for line in lines if " welcome_call · " in line)
    assert "✓" in welcome
    assert f"done {driver.time.now().date().isoformat()}" in welcome
    evidence = lines[lines.index(welcome) + 1]
    assert "evidence: ticked in the CRM (step kickoff)" in evidence
    assert "contains 'kickoff' ✓" in evidence
    assert "◆ critical" in out
    assert "SMB low-touch" in out
    assert "health" in out
    assert "projected go-live" in out


def test_show_as_json_matches_the_evaluation(driver: Driver, store: Store, plans: PlanSet, tmp_path: Path) -> None:
    """`plan show --output json` parses and carries every task, its status, the critical path and evidence."""
    cycle(driver, store, plans)
    listed = store.list_plans(driver.crm, limit=1)[0]
    code, out, _ = invoke(driver, tmp_path, "plan", "show", listed.account_id, "--output", "json")
    assert code == 0, out
    data = json.loads(out)
    tasks = [t for phase in data["phases"] for t in phase["tasks"]]
    template = plans.templates[listed.template_id]
    assert [t["id"] for t in tasks] == [t.id for phase in template.phases for t in phase.tasks]
    assert {t["status"] for t in tasks} <= {"done", "open", "overdue"}
    assert [t["id"] for t in tasks if t["critical"]] == data["critical_path"]
    assert data["critical_path"]
    assert data["progress"] == listed.progress
    assert data["health"] == listed.health
    assert data["slip_days"] == listed.slip_days
    done = [t for t in tasks if t["status"] == "done"]
    assert done
    assert all(t["evidence"]["source"] in {"crm_step", "crm_field", "condition"} for t in done)
    assert all(t["evidence"]["explain"] for t in done)


def test_list_filters_by_health(driver: Driver, store: Store, plans: PlanSet, tmp_path: Path) -> None:
    """`plan list --health` shows only plans of that health, the largest slip first; the table names accounts."""
    cycle(driver, store, plans)
    for health in ("on_track", "at_risk", "off_track"):
        code, out, _ = invoke(driver, tmp_path, "plan", "list", "--health", health, "--limit", "500", "--output",
                              "json")  # fmt: skip
        assert code == 0, out
        rows = json.loads(out)
        assert len(rows) == len(store.list_plans(driver.crm, health, limit=500))
        assert all(r["health"] == health for r in rows)
        assert [r["slip_days"] for r in rows] == sorted((r["slip_days"] for r in rows), reverse=True)
    code, out, _ = invoke(driver, tmp_path, "plan", "list", "--health", "at_risk")
    assert code == 0, out
    at_risk = store.list_plans(driver.crm, "at_risk")
    assert at_risk, "the seed has at-risk plans"
    assert all(p.account_id in out for p in at_risk)
    assert "off_track" not in out
    name = store.get_record("accounts", driver.crm, at_risk[0].account_id)["fields"]["name"]  # type: ignore[index]
    assert name in out


def test_task_done_by_hand_then_reopen(driver: Driver, store: Store, plans: PlanSet, tmp_path: Path) -> None:
    """`task done --at --note` shows as done by hand with the note and raises the pushed progress; reopen reverts."""
    cycle(driver, store, plans)
    account, _ = smb_account(store, driver.crm)
    before = progress(driver, account)
    at = (driver.time.now().date() - timedelta(days=3)).isoformat()

    code, _, printed = invoke(driver, tmp_path, "task", "done", account, "provision_workspace", "--at", at,
                              "--note", NOTE)  # fmt: skip
    assert code == 0, printed
    assert f"done on {at} by hand" in printed
    assert "next cycle" in printed
    code, out, _ = invoke(driver, tmp_path, "plan", "show", account)
    assert code == 0, out
    lines = out.splitlines()
    task_line = next(line for line in lines if " provision_workspace · " in line)
    assert "✓" in task_line
    assert f"done {at}" in task_line
    assert f"evidence: by hand — note: {NOTE}" in lines[lines.index(task_line) + 1]

    driver.time.advance(3600)
    cycle(driver, store, plans)
    raised = progress(driver, account)
    assert raised > before

    code, _, printed = invoke(driver, tmp_path, "task", "reopen", account, "provision_workspace")
    assert code == 0, printed
    assert f"provision_workspace (Provision the workspace) done on {at} (by hand) →" in printed
    code, out, _ = invoke(driver, tmp_path, "plan", "show", account, "--output", "json")
    task = next(t for p in json.loads(out)["phases"] for t in p["tasks"] if t["id"] == "provision_workspace")
    assert task["status"] in {"open", "overdue"}
    assert task["evidence"]["reopened_at"].startswith(driver.time.now().date().isoformat())
    driver.time.advance(3600)
    cycle(driver, store, plans)
    assert progress(driver, account) == before


def test_reopening_an_open_task_changes_nothing(driver: Driver, store: Store, plans: PlanSet, tmp_path: Path) -> None:
    """`task reopen` of a task that is not done says so and leaves the store as it was."""
    cycle(driver, store, plans)
    account, _ = smb_account(store, driver.crm)
    code, _, printed = invoke(driver, tmp_path, "task", "reopen", account, "provision_workspace")
    assert code == 0, printed
    assert "nothing changed" in printed
    assert "provision_workspace" not in store.completions_for(driver.crm, [account])[account]


BAD_INPUT = [
    (("task", "done", "{account}", "provision_workspce"), "did you mean 'provision_workspace'?"),
    (("task", "reopen", "{account}", "welcome_cal"), "did you mean 'welcome_call'?"),
    (("task", "done", "{account}", "welcome_call", "--at", "2030-01-01"), "is in the future"),
    (("plan", "show", "no-such-account"), "'no-such-account' is not in the store"),
    (("task", "done", "no-such-account", "welcome_call"), "'no-such-account' is not in the store"),
]


def test_bad_input_exits_2_with_a_hint(driver: Driver, store: Store, plans: PlanSet, tmp_path: Path) -> None:
    """A typo in a task id gets the closest id, a future date or unknown account is refused: exit 2, no change."""
    cycle(driver, store, plans)
    account, _ = smb_account(store, driver.crm)
    before = store.completions_for(driver.crm, [account])
    for args, message in BAD_INPUT:
        code, _, printed = invoke(driver, tmp_path, *(a.format(account=account) for a in args))
        assert code == 2, printed
        assert message in printed, printed
    assert store.completions_for(driver.crm, [account]) == before


def test_an_account_without_a_plan_exits_2(driver: Driver, store: Store, plans: PlanSet, tmp_path: Path) -> None:
    """An account whose CRM record has no start or close date has no plan: `plan show` and `task done` exit 2."""
    account = min(driver.in_scope_ids("accounts"))
    pull = driver.mapping.accounts.pull
    empty = None if driver.crm == "salesforce" else ""
    sobject = "Account" if driver.crm == "salesforce" else "companies"
    driver.app.update(sobject, account, **{pull["onboarding_start"]: empty, pull["close_date"]: empty})
    cycle(driver, store, plans)
    assert store.get_record("accounts", driver.crm, account) is not None
    for args in (("plan", "show", account), ("task", "done", account, "welcome_call")):
        code, _, printed = invoke(driver, tmp_path, *args)
        assert code == 2, printed
        assert f"account {account!r} has no onboarding plan yet" in printed
        assert "onboarding_start or close_date" in printed


def test_the_commands_need_sync_crm(driver: Driver, store: Store, tmp_path: Path) -> None:
    """Without SYNC_CRM the plan commands exit 2 naming it (and need no CRM credentials)."""
    code, _, printed = invoke(driver, tmp_path, "plan", "list", crm=None)
    assert code == 2
    assert "SYNC_CRM" in printed
