"""Handoff scenarios on an injected clock, end to end against both sandbox CRMs (issue 5's first acceptance points).

Each scenario stages its own accounts in the sandbox (sale date, steps ticked, usage KPIs, CSM, override), then
runs real cycles (real connector, store, push and outbox drain) day by day on fake time:

- an account that adopts within the window is handed off once: one note with its key, the handoff fields set,
  and no second note on later cycles;
- an account that never adopts is onboarding on day 90 and ``at_risk`` on day 91, with its reason in the CRM;
- ``hold`` stops a ready handoff and ``force`` hands off an unready account, both recorded in the evidence;
- a new policy revision re-evaluates readiness (an account becomes ready under it) without a second note for the
  accounts already handed off;
- a restart from the retention template starts the plan's next cycle with a window from the restart day.

Notes are counted in the sandbox's own state, never through the connector.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

import pytest

from sync_daemon.config.handoff_loader import load_handoff, plan_ids
from sync_daemon.config.note_template import load_note_template
from sync_daemon.config.plan_loader import PlanSet, known_account_fields, load_plans
from sync_daemon.domain.values import normalize
from sync_daemon.engine import CycleOptions, CycleResult, PushSetup, run_cycle
from sync_daemon.handoff_provider import HandoffProvider, HandoffSetup, note_key
from sync_daemon.plan_provider import PlanProvider
from sync_daemon.push import PushOptions
from sync_daemon.resources import shipped
from sync_daemon.sandbox.hubspot_data import format_datetime
from sync_daemon.store.plans import NewPlan
from tests.conformance.drivers import Driver, start_driver
from tests.integration.outbox_support.census import notes_with_key

if TYPE_CHECKING:
    from collections.abc import Iterator

    from sync_daemon.config.handoff_models import HandoffPolicy
    from sync_daemon.store import Store

CRMS = ["salesforce", "hubspot"]
DAY = timedelta(days=1)


@pytest.fixture(params=CRMS)
def driver(request: pytest.FixtureRequest) -> Iterator[Driver]:
    d = start_driver(request.param, accounts=40, contacts=80)
    yield d
    d.server.stop()


def plan_set(driver: Driver) -> PlanSet:
    return load_plans(shipped("config/plans"), known_account_fields(driver.mapping))


def shipped_setup(driver: Driver, plans: PlanSet, policy: HandoffPolicy | None = None) -> HandoffSetup:
    tasks, phases = plan_ids(plans)
    loaded = policy or load_handoff(
        shipped("config/handoff.yaml"), known_account_fields(driver.mapping), task_ids=tasks, phase_ids=phases,
        template_ids=frozenset(plans.templates),
    )  # fmt: skip
    note = load_note_template(shipped("config/handoff_note.txt.j2"))
    return HandoffSetup(loaded, note, plans.templates[loaded.at_risk.restart_template or "retention"])


def cycle(driver: Driver, store: Store, setup: HandoffSetup, plans: PlanSet) -> CycleResult:
    """One real cycle as of the fake clock's day."""
    now = driver.time.now()
    planner = PlanProvider(plans, driver.mapping, store, crm=driver.crm, today=now.date(), now=now)
    provider = HandoffProvider(setup, planner, driver.mapping, store, crm=driver.crm, today=now.date(), now=now)
    push = PushSetup(driver.mapping, [provider], PushOptions(force=True))
    connector = driver.connector()
    try:
        result = run_cycle(connector, store, options=CycleOptions(overlap=timedelta(minutes=5)),
                           clock=driver.time.now, push_setup=push)  # fmt: skip
    finally:
        connector.close()
    assert result.ok, result.error
    return result


def crm_value(driver: Driver, name: str, value: object) -> object:
    """A canonical value as the sandbox stores it (Salesforce: Python types; HubSpot: strings)."""
    if driver.crm == "salesforce" or value is None:
        return value
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, date):
        midnight = datetime(value.year, value.month, value.day, tzinfo=UTC)
        return format_datetime(midnight) if name == "close_date" else value.isoformat()
    return str(value)


def stage(driver: Driver, account_id: str, **values: object) -> None:
    """Set canonical account fields in the sandbox, as a person or another tool would."""
    for name, value in values.items():
        driver.edit("accounts", account_id, name, crm_value(driver, name, value))


NOT_ADOPTED = {"active_users": 0, "daily_active_pct": 0, "integration_connected": False}
ADOPTED = {"active_users": 6, "daily_active_pct": 45, "integration_connected": True}


def fresh_account(driver: Driver, account_id: str, sale: date, **extra: object) -> None:
    """An account sold on ``sale``: plan from that day, nothing done, not adopted, a CSM and enough revenue."""
    values: dict[str, object] = {
        "close_date": sale, "onboarding_start": sale, "onboarding_steps": None, "handoff_override": None,
        "csm_name": "Casey Morgan", "csm_email": "casey@vendor.example", "mrr": 5000, **NOT_ADOPTED,
    }  # fmt: skip
    values.update(extra)
    stage(driver, account_id, **values)


def accounts(driver: Driver, n: int) -> list[str]:
    return sorted(driver.in_scope_ids("accounts"))[:n]


def notes(driver: Driver, store: Store, account_id: str) -> int:
    """Notes in the CRM carrying the key of the account's current handoff (the sandbox's own state)."""
    row = store.handoffs_for(driver.crm, [account_id]).get(account_id)
    cycle_no = row.cycle if row is not None else 1
    return notes_with_key(driver, account_id, note_key(driver.crm, account_id, cycle_no))


def day(driver: Driver) -> date:
    return driver.time.now().date()


def outcome(store: Store, crm: str, account_id: str) -> str:
    return store.handoffs_for(crm, [account_id])[account_id].outcome


def test_an_account_that_adopts_within_the_window_is_handed_off_once(driver: Driver, store: Store) -> None:
    """Day 0 onboarding; day 30 adopted with first value: one note, handoff fields set; later cycles add none."""
    plans = plan_set(driver)
    setup = shipped_setup(driver, plans)
    (aid,) = accounts(driver, 1)
    sale = day(driver)
    fresh_account(driver, aid, sale)
    cycle(driver, store, setup, plans)
    assert outcome(store, driver.crm, aid) == "onboarding"
    assert driver.value("accounts", aid, "handoff_status") == "Not ready"
    driver.time.advance(30 * DAY.total_seconds())
    stage(driver, aid, onboarding_steps="first_value", **ADOPTED)
    cycle(driver, store, setup, plans)
    row = store.handoffs_for(driver.crm, [aid])[aid]
    assert (row.outcome, row.handed_off_on) == ("handed_off", sale + 30 * DAY)
    assert row.note_key == note_key(driver.crm, aid, 1)
    assert notes(driver, store, aid) == 1
    assert driver.value("accounts", aid, "handoff_status") == "Handed off"
    assert normalize(driver.value("accounts", aid, "handoff_date"), "date") == sale + 30 * DAY
    assert float(str(driver.value("accounts", aid, "days_to_onboard"))) == 30
    assert driver.value("accounts", aid, "adoption_status") == "Partial utilization"
    text = str(driver.value("accounts", aid, "handoff_note_text"))
    assert text == row.note_text
    assert "Casey Morgan" in text
    for _ in range(3):
        driver.time.advance(DAY.total_seconds())
        cycle(driver, store, setup, plans)
    assert notes(driver, store, aid) == 1
    assert store.handoffs_for(driver.crm, [aid])[aid].handed_off_on == sale + 30 * DAY


def test_an_account_that_never_adopts_is_at_risk_on_day_91_with_its_reason(driver: Driver, store: Store) -> None:
    """Day 90 is the window's last day (onboarding); day 91 without adoption is at risk, reason in the CRM."""
    plans = plan_set(driver)
    setup = shipped_setup(driver, plans)
    (aid,) = accounts(driver, 1)
    sale = day(driver)
    fresh_account(driver, aid, sale, onboarding_steps="first_value", active_users=1)  # implementing only
    cycle(driver, store, setup, plans)
    driver.time.advance(90 * DAY.total_seconds())
    cycle(driver, store, setup, plans)
    assert outcome(store, driver.crm, aid) == "onboarding"
    driver.time.advance(DAY.total_seconds())
    cycle(driver, store, setup, plans)
    row = store.handoffs_for(driver.crm, [aid])[aid]
    assert row.outcome == "at_risk"
    assert row.at_risk_reason is not None
    assert "day 91 of a 90-day window without adoption: status implementing" in row.at_risk_reason
    assert f"the window ended {(sale + 90 * DAY).isoformat()}" in row.at_risk_reason
    assert driver.value("accounts", aid, "handoff_status") == "At risk"
    assert str(driver.value("accounts", aid, "at_risk_reason")).startswith("day 91 of a 90-day window")
    assert notes(driver, store, aid) == 0


def test_hold_stops_a_ready_handoff_and_force_hands_off_an_unready_one(driver: Driver, store: Store) -> None:
    """hold: every gate passes but no handoff, 'On hold'; force: gates failing, handed off; both in the evidence."""
    plans = plan_set(driver)
    setup = shipped_setup(driver, plans)
    held, forced = accounts(driver, 2)
    sale = day(driver)
    fresh_account(driver, held, sale, onboarding_steps="first_value", handoff_override="hold", **ADOPTED)
    fresh_account(driver, forced, sale, handoff_override="force", mrr=100)
    driver.time.advance(10 * DAY.total_seconds())
    cycle(driver, store, setup, plans)
    hold_row = store.handoffs_for(driver.crm, [held])[held]
    assert (hold_row.outcome, hold_row.override, hold_row.handed_off_on) == ("onboarding", "hold", None)
    assert "on hold by the CRM override (handoff_override = hold); every gate passes" in hold_row.evidence
    assert driver.value("accounts", held, "handoff_status") == "On hold"
    assert notes(driver, store, held) == 0
    force_row = store.handoffs_for(driver.crm, [forced])[forced]
    assert (force_row.outcome, force_row.override) == ("handed_off", "force")
    assert "forced by the CRM override (handoff_override = force); failing: plan, adoption, revenue" in (
        force_row.evidence
    )
    assert "revenue: ✗ mrr 100 >= 2000 ✗" in force_row.evidence
    assert notes(driver, store, forced) == 1
    assert driver.value("accounts", forced, "handoff_status") == "Handed off"
    stage(driver, held, handoff_override=None)  # the person lifts the hold
    driver.time.advance(DAY.total_seconds())
    cycle(driver, store, setup, plans)
    assert outcome(store, driver.crm, held) == "handed_off"
    assert notes(driver, store, held) == 1
    assert notes(driver, store, forced) == 1


def test_a_policy_change_re_evaluates_without_re_sending_notes(driver: Driver, store: Store) -> None:
    """Revision 2 lowers the revenue gate: a waiting account becomes ready; the handed-off one keeps its one note."""
    plans = plan_set(driver)
    setup = shipped_setup(driver, plans)
    done, waiting = accounts(driver, 2)
    sale = day(driver)
    fresh_account(driver, done, sale, onboarding_steps="first_value", **ADOPTED)
    fresh_account(driver, waiting, sale, onboarding_steps="first_value", mrr=800, **ADOPTED)
    driver.time.advance(20 * DAY.total_seconds())
    cycle(driver, store, setup, plans)
    assert outcome(store, driver.crm, done) == "handed_off"
    assert outcome(store, driver.crm, waiting) == "onboarding"
    data = setup.policy.model_dump(by_alias=True, exclude_none=True)
    data["revision"] = 2
    data["handoff"]["gates"]["kpis"][0]["when"]["value"] = 500
    revised = replace(setup, policy=type(setup.policy).model_validate(data))
    driver.time.advance(DAY.total_seconds())
    cycle(driver, store, revised, plans)
    rows = store.handoffs_for(driver.crm, [done, waiting])
    assert (rows[waiting].outcome, rows[waiting].policy_revision) == ("handed_off", 2)
    assert (rows[done].outcome, rows[done].policy_revision) == ("handed_off", 2)
    assert rows[done].handed_off_on == sale + 20 * DAY  # the first handoff stands
    assert notes(driver, store, done) == 1
    assert notes(driver, store, waiting) == 1
    driver.time.advance(DAY.total_seconds())
    cycle(driver, store, setup, plans)  # and back to revision 1: still one note each
    assert (notes(driver, store, done), notes(driver, store, waiting)) == (1, 1)


def test_a_restart_starts_the_retention_plan_with_a_window_from_the_restart(driver: Driver, store: Store) -> None:
    """An at-risk account restarted from the retention template is onboarding again, in cycle 2, not at risk."""
    plans = plan_set(driver)
    setup = shipped_setup(driver, plans)
    (aid,) = accounts(driver, 1)
    fresh_account(driver, aid, day(driver) - 120 * DAY)
    cycle(driver, store, setup, plans)
    assert outcome(store, driver.crm, aid) == "at_risk"
    retention = plans.templates["retention"]
    assert store.restart(driver.crm, NewPlan(aid, "retention", retention.revision, day(driver)), cycle=1,
                         now=driver.time.now())  # fmt: skip
    restart_day = day(driver)
    driver.time.advance(DAY.total_seconds())
    cycle(driver, store, setup, plans)
    plan = store.plans_for(driver.crm, [aid])[aid]
    assert (plan.cycle, plan.template_id, plan.start_date) == (2, "retention", restart_day)
    current = store.handoffs_for(driver.crm, [aid])[aid]
    assert (current.cycle, current.outcome) == (2, "onboarding")
    history = store.handoff_history(driver.crm, aid)
    assert [(h.cycle, h.outcome, h.restarted_on) for h in history] == [
        (1, "at_risk", restart_day),
        (2, "onboarding", None),
    ]
    assert driver.value("accounts", aid, "onboarding_plan") == retention.name
    assert driver.value("accounts", aid, "handoff_status") == "Not ready"
    assert driver.value("accounts", aid, "at_risk_reason") in (None, "")
