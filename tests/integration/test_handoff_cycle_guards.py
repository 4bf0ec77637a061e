"""What keeps a handoff from happening when it must not: a dry run, the safety valve, a note that cannot render.

Against both sandbox CRMs with the real cycle. A dry run shows the fields a handoff would write and stores and
sends nothing of it; a cycle the safety valve stops hands nobody off (the next, forced, cycle does, once); a
note that fails to render at run time leaves the account ``ready`` with the error logged, and it is handed off
on the first cycle after the cause is fixed.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import pytest
import structlog

from sync_daemon.domain.handoff_note import NoteTemplate
from sync_daemon.domain.safety import SafetyPolicy
from sync_daemon.engine import CycleOptions, CycleResult, PushSetup, run_cycle
from sync_daemon.handoff_provider import HandoffProvider, HandoffSetup, note_key
from sync_daemon.plan_provider import PlanProvider
from sync_daemon.push import PushOptions
from tests.conformance.drivers import Driver, start_driver
from tests.integration.outbox_support.census import notes_by_account, notes_with_key
from tests.integration.test_handoff_scenarios import ADOPTED, accounts, day, fresh_account, plan_set, shipped_setup

if TYPE_CHECKING:
    from collections.abc import Iterator

    from sync_daemon.config.plan_loader import PlanSet
    from sync_daemon.store import Store

DAY_S = timedelta(days=1).total_seconds()


@pytest.fixture(params=["salesforce", "hubspot"])
def driver(request: pytest.FixtureRequest) -> Iterator[Driver]:
    d = start_driver(request.param, accounts=30, contacts=60)
    yield d
    d.server.stop()


def run(driver: Driver, store: Store, setup: HandoffSetup, plans: PlanSet, *, dry_run: bool = False,
        force: bool = True) -> CycleResult:  # fmt: skip
    now = driver.time.now()
    planner = PlanProvider(plans, driver.mapping, store, crm=driver.crm, today=now.date(), now=now)
    provider = HandoffProvider(setup, planner, driver.mapping, store, crm=driver.crm, today=now.date(), now=now,
                               dry_run=dry_run)  # fmt: skip
    push = PushSetup(driver.mapping, [provider], PushOptions(force=force, safety=SafetyPolicy(min_records=1)))
    connector = driver.connector()
    try:
        return run_cycle(connector, store, options=CycleOptions(overlap=timedelta(minutes=5), dry_run=dry_run),
                         clock=driver.time.now, push_setup=push)  # fmt: skip
    finally:
        connector.close()


def ready_account(driver: Driver) -> str:
    (aid,) = accounts(driver, 1)
    fresh_account(driver, aid, day(driver), onboarding_steps="first_value", **ADOPTED)
    driver.time.advance(5 * DAY_S)
    return aid


def test_a_dry_run_shows_the_handoff_and_stores_and_sends_nothing(driver: Driver, store: Store) -> None:
    """The plan lists 'Handed off' and the note's text for the ready account; no decision, date, intent or note."""
    plans = plan_set(driver)
    setup = shipped_setup(driver, plans)
    aid = ready_account(driver)
    notes_before = sum(sum(c.values()) for c in notes_by_account(driver).values())
    result = run(driver, store, setup, plans, dry_run=True)
    assert result.ok, result.error
    assert result.push is not None
    planned = {(c.record_id, c.field): c.desired for c in result.push.changes}
    assert planned[(aid, "handoff_status")] == "Handed off"
    assert str(planned[(aid, "handoff_note_text")]).startswith("Handoff to Customer Success:")
    assert store.handoffs_for(driver.crm, [aid]) == {}
    assert store.adoption_reached_for(driver.crm, [aid]) == {}
    assert sum(store.backlog(driver.crm).values()) == 0
    assert store.intent(note_key(driver.crm, aid, 1)) is None
    assert sum(sum(c.values()) for c in notes_by_account(driver).values()) == notes_before
    assert driver.value("accounts", aid, "handoff_status") in (None, "")


def test_a_cycle_stopped_by_the_safety_valve_hands_nobody_off(driver: Driver, store: Store) -> None:
    """The first backfill stops at the valve: no handoff, no intent; the forced cycle hands off, one note."""
    plans = plan_set(driver)
    setup = shipped_setup(driver, plans)
    aid = ready_account(driver)
    stopped = run(driver, store, setup, plans, force=False)
    assert stopped.status == "stopped"
    row = store.handoffs_for(driver.crm, [aid]).get(aid)
    assert row is None or row.handed_off_on is None
    assert store.intent(note_key(driver.crm, aid, 1)) is None
    forced = run(driver, store, setup, plans)
    assert forced.ok, forced.error
    assert store.handoffs_for(driver.crm, [aid])[aid].outcome == "handed_off"
    assert notes_with_key(driver, aid, note_key(driver.crm, aid, 1)) == 1


BROKEN_FOR_BOOM = """Handoff: {{ account.name }}
{% if "BOOM" in account.name %}{{ account.owner.name }}{% endif %}
"""


def test_a_note_that_cannot_render_leaves_the_account_ready_until_fixed(driver: Driver, store: Store) -> None:
    """A run-time template error: outcome ready, error logged with the line, no note; fixed, handed off once."""
    plans = plan_set(driver)
    setup = shipped_setup(driver, plans)
    broken = HandoffSetup(setup.policy, NoteTemplate.compile(BROKEN_FOR_BOOM, "note.j2"), setup.restart_template)
    aid = ready_account(driver)
    driver.edit("accounts", aid, "name", "BOOM Industries")
    with structlog.testing.capture_logs() as logs:
        result = run(driver, store, broken, plans)
    assert result.ok, result.error
    assert store.handoffs_for(driver.crm, [aid])[aid].outcome == "ready"
    failures = [e for e in logs if e["event"] == "handoff.note_failed"]
    assert [f["account_id"] for f in failures] == [aid]
    assert "note.j2:2" in failures[0]["error"]
    assert notes_with_key(driver, aid, note_key(driver.crm, aid, 1)) == 0
    driver.edit("accounts", aid, "name", "Fixed Industries")
    driver.time.advance(DAY_S)
    assert run(driver, store, broken, plans).ok
    assert store.handoffs_for(driver.crm, [aid])[aid].outcome == "handed_off"
    assert notes_with_key(driver, aid, note_key(driver.crm, aid, 1)) == 1


def test_accounts_sold_before_sold_from_are_left_alone(driver: Driver, store: Store) -> None:
    """A first deploy sets sold_from: a ready account sold before it gets no decision and no note; one after does."""
    plans = plan_set(driver)
    setup = shipped_setup(driver, plans)
    old, new = accounts(driver, 2)
    today = day(driver)
    fresh_account(driver, old, today - timedelta(days=10), onboarding_steps="first_value", **ADOPTED)
    fresh_account(driver, new, today, onboarding_steps="first_value", **ADOPTED)
    data = setup.policy.model_dump(by_alias=True, exclude_none=True)
    data["handoff"]["sold_from"] = today.isoformat()
    policy = type(setup.policy).model_validate(data)
    driver.time.advance(DAY_S)
    assert run(driver, store, HandoffSetup(policy, setup.template, setup.restart_template), plans).ok
    rows = store.handoffs_for(driver.crm, [old, new])
    assert set(rows) == {new}
    assert rows[new].outcome == "handed_off"
    assert notes_with_key(driver, old, note_key(driver.crm, old, 1)) == 0
    assert driver.value("accounts", old, "handoff_status") in (None, "")
