"""Onboarding plans end to end against both sandbox CRMs (issue 4): the real connectors, store and push path.

Accounts across the segments get the right template and its fields; ticking a step in the CRM moves progress
on the next cycle; a cycle with nothing new writes nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest

from sync_daemon.config.plan_loader import PlanSet, known_account_fields, load_plans
from sync_daemon.domain.values import normalize
from sync_daemon.engine import CycleOptions, CycleResult, PushSetup, run_cycle
from sync_daemon.plan_provider import PlanProvider
from sync_daemon.push import PushOptions
from sync_daemon.resources import shipped
from tests.conformance.drivers import Driver, start_driver

if TYPE_CHECKING:
    from collections.abc import Iterator

    from sync_daemon.store import Store

CRMS = ["salesforce", "hubspot"]


@pytest.fixture(params=CRMS)
def driver(request: pytest.FixtureRequest) -> Iterator[Driver]:
    d = start_driver(request.param, accounts=240, contacts=240)
    yield d
    d.server.stop()


def plan_set(driver: Driver) -> PlanSet:
    return load_plans(shipped("config/plans"), known_account_fields(driver.mapping))


def cycle(driver: Driver, store: Store, plans: PlanSet) -> CycleResult:
    now = driver.time.now()
    provider = PlanProvider(plans, driver.mapping, store, crm=driver.crm, today=now.date(), now=now)
    setup = PushSetup(driver.mapping, [provider], PushOptions(force=True))
    connector = driver.connector()
    try:
        return run_cycle(
            connector, store, options=CycleOptions(overlap=timedelta(minutes=5)), clock=driver.time.now,
            push_setup=setup,
        )  # fmt: skip
    finally:
        connector.close()


def expected_template(fields: dict[str, object]) -> str:
    """The shipped segment rules, restated: enterprise from 150k or 2,000 employees, mid-market from 25k."""
    value = float(str(fields.get("contract_value") or 0))
    employees = float(str(fields.get("employees") or 0))
    if value >= 150_000 or employees >= 2_000:
        return "enterprise"
    return "mid_market" if value >= 25_000 else "smb"


def test_accounts_get_their_segment_template_and_fields(driver: Driver, store: Store) -> None:
    """Every customer account gets the template of its segment, its plan fields land, and all segments occur."""
    plans = plan_set(driver)
    result = cycle(driver, store, plans)
    assert result.ok, result.error
    seen: set[str] = set()
    for row in store.iter_records("accounts", driver.crm):
        template = plans.templates[expected_template(row["fields"])]
        seen.add(template.id)
        assert driver.value("accounts", row["id"], "onboarding_plan") == template.name
        assert driver.value("accounts", row["id"], "health") in {"On Track", "At Risk", "Off Track"}
        summary = driver.value("accounts", row["id"], "plan_summary")
        assert isinstance(summary, str)
        assert summary.startswith(template.name)
    assert seen == {"smb", "mid_market", "enterprise"}


def _untouched_step_account(driver: Driver, store: Store, plans: PlanSet) -> tuple[str, str]:
    """An SMB account (plan started) whose CRM has not ticked ``kickoff`` yet."""
    for row in store.iter_records("accounts", driver.crm):
        steps = str(row["fields"].get("onboarding_steps") or "")
        if expected_template(row["fields"]) == "smb" and "kickoff" not in steps.split(";"):
            return row["id"], steps
    pytest.fail("the seed has no SMB account without kickoff")


def test_ticking_a_step_moves_progress_and_a_quiet_cycle_writes_nothing(driver: Driver, store: Store) -> None:
    """Ticking a step in the CRM raises the account's progress next cycle; then a cycle writes nothing."""
    plans = plan_set(driver)
    assert cycle(driver, store, plans).ok
    account, steps = _untouched_step_account(driver, store, plans)
    before = normalize(driver.value("accounts", account, "onboarding_progress"), "number")
    driver.time.advance(3600)
    ticked = ";".join([s for s in steps.split(";") if s] + ["kickoff"])
    steps_field = driver.mapping.accounts.pull["onboarding_steps"]
    sobject = "Account" if driver.crm == "salesforce" else "companies"
    driver.app.update(sobject, account, **{steps_field: ticked})

    second = cycle(driver, store, plans)
    assert second.ok, second.error
    after = normalize(driver.value("accounts", account, "onboarding_progress"), "number")
    assert after > before  # type: ignore[operator]
    task_id = next(
        t.id
        for phase in plans.templates["smb"].phases
        for t in phase.tasks
        if t.done_when and t.done_when.step == "kickoff"
    )
    completion = store.completions_for(driver.crm, [account])[account][task_id]
    assert completion.source == "crm_step"
    assert completion.done_on == driver.time.now().date()

    driver.time.advance(60)
    third = cycle(driver, store, plans)
    assert third.ok
    assert third.push is not None
    assert third.push.write_calls == 0
    assert sum(third.push.planned.values()) == 0


def test_plan_state_is_kept_for_listing(driver: Driver, store: Store) -> None:
    """After a cycle the store lists plans with their last evaluation (for `plan list`)."""
    plans = plan_set(driver)
    cycle(driver, store, plans)
    listed = store.list_plans(driver.crm, limit=1000)
    assert len(listed) == store.count("accounts", driver.crm)
    assert all(p.health in {"on_track", "at_risk", "off_track"} for p in listed)
    assert datetime.now(UTC) > listed[0].started_at


def test_a_running_plan_keeps_its_template_when_the_segment_changes(driver: Driver, store: Store) -> None:
    """A contract that grows mid-onboarding does not switch the running plan's template."""
    plans = plan_set(driver)
    assert cycle(driver, store, plans).ok
    account = next(
        r["id"] for r in store.iter_records("accounts", driver.crm) if expected_template(r["fields"]) == "smb"
    )
    field = driver.mapping.accounts.pull["contract_value"]
    sobject = "Account" if driver.crm == "salesforce" else "companies"
    driver.time.advance(3600)
    driver.app.update(sobject, account, **{field: 900_000})
    assert cycle(driver, store, plans).ok
    assert store.plans_for(driver.crm, [account])[account].template_id == "smb"
    assert driver.value("accounts", account, "onboarding_plan") == plans.templates["smb"].name
