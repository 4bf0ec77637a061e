"""Plan state in the store, on SQLite and PostgreSQL: plans, first-seen completions, manual done and reopen."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

import pytest
from alembic import command
from sqlalchemy import event, inspect

from sync_daemon.store.migrate import alembic_config, head_revision
from sync_daemon.store.plan_tasks import done_dates
from sync_daemon.store.plans import EvaluationRow, NewPlan, StartedPlans

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from sync_daemon.store import Store

CRM = "hubspot"
NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
D1, D2, D3, D4 = date(2026, 3, 2), date(2026, 3, 3), date(2026, 3, 4), date(2026, 3, 5)


def plan(account_id: str, template: str = "smb", revision: int = 1, start: date = D1) -> NewPlan:
    return NewPlan(account_id, template, revision, start)


def evaluation(account_id: str, slip: int, health: str = "on_track", *, finished: bool = False) -> EvaluationRow:
    return EvaluationRow(account_id, 100.0 if finished else 40.0, health, slip, D4 + timedelta(days=slip),
                         None if finished else "import_data", None if finished else D3, "setup", finished)  # fmt: skip


def done(store: Store, account_id: str) -> dict[str, date]:
    return done_dates(store.completions_for(CRM, [account_id])[account_id])


def test_start_plans_inserts_once_and_reads_back(store: Store) -> None:
    """A new plan starts at cycle 1, active, unevaluated; starting it again as it is writes nothing."""
    assert store.start_plans(CRM, [plan("a1"), plan("a2", "enterprise")], NOW) == StartedPlans(2, 0)
    assert store.start_plans(CRM, [plan("a1"), plan("a2", "enterprise")], NOW + timedelta(days=1)) == (0, 0)
    found = store.plans_for(CRM, ["a1", "a2", "missing"])
    assert set(found) == {"a1", "a2"}
    a1 = found["a1"]
    assert (a1.template_id, a1.template_revision, a1.start_date, a1.status, a1.cycle) == ("smb", 1, D1, "active", 1)
    assert a1.started_at == NOW
    assert (a1.progress, a1.health, a1.evaluated_at) == (None, None, None)
    assert store.plans_for("salesforce", ["a1"]) == {}


def test_0003_downgrades_to_0002_dropping_only_the_plan_tables_and_upgrades_again(store: Store) -> None:
    """Down to 0002 drops plans and plan_tasks and keeps the push side; up again restores them empty."""
    store.start_plans(CRM, [plan("a1")], NOW)
    store.record_written(CRM, "accounts", [("a1", "health", "on_track")], None)
    with store.engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0002")
    tables = set(inspect(store.engine).get_table_names())
    assert not {"plans", "plan_tasks"} & tables
    assert "pushed_values" in tables
    assert store.has_pushed(CRM)
    store.migrate()
    assert store.schema_version() == head_revision()
    assert store.plans_for(CRM, ["a1"]) == {}


def test_first_seen_dates_never_move(store: Store) -> None:
    """A completion keeps its first day and source when seen again, by another source, or not at all."""
    store.start_plans(CRM, [plan("a1")], NOW)
    first = store.record_completions(CRM, [("a1", 1, "welcome_call", "crm_step")], D1, NOW, accounts=["a1"])
    assert first.marked == 1
    again = [("a1", 1, "welcome_call", "condition"), ("a1", 1, "import_data", "crm_step")]
    assert store.record_completions(CRM, again, D2, NOW + timedelta(days=1), accounts=["a1"]).marked == 1
    store.record_completions(CRM, [], D3, NOW + timedelta(days=2), accounts=["a1"])
    completions = store.completions_for(CRM, ["a1"])["a1"]
    welcome = completions["welcome_call"]
    assert (welcome.done_on, welcome.source, welcome.first_seen_at, welcome.done) == (D1, "crm_step", NOW, True)
    assert done(store, "a1") == {"welcome_call": D1, "import_data": D2}


def test_manual_done_with_a_date_and_note_replaces_the_inferred_one(store: Store) -> None:
    """Marking a task done by hand records the given date, source manual and the note, over any CRM completion."""
    store.start_plans(CRM, [plan("a1")], NOW)
    store.record_completions(CRM, [("a1", 1, "welcome_call", "crm_step")], D3, NOW)
    marked = store.mark_done(CRM, "a1", "welcome_call", at=D1, note="call held before the CRM tick", now=NOW)
    store.mark_done(CRM, "a1", "billing_setup", at=D2, now=NOW)
    completions = store.completions_for(CRM, ["a1"])["a1"]
    assert completions["welcome_call"] == marked
    assert (marked.done_on, marked.source, marked.note) == (D1, "manual", "call held before the CRM tick")
    assert (completions["billing_setup"].done_on, completions["billing_setup"].note) == (D2, None)


def test_by_hand_on_an_account_without_a_plan_is_a_lookup_error(store: Store) -> None:
    """Marking done or reopening by hand names the account when it has no plan, and writes nothing."""
    with pytest.raises(LookupError, match="'a9' has no onboarding plan"):
        store.mark_done(CRM, "a9", "welcome_call", at=D1)
    with pytest.raises(LookupError, match="'a9' has no onboarding plan"):
        store.reopen(CRM, "a9", "welcome_call")
    assert store.completions_for(CRM, ["a9"]) == {}


def test_reopened_task_waits_for_its_evidence_to_go_and_come_back(store: Store) -> None:
    """A reopen holds while the tick persists; after the tick is seen absent, ticking again marks it done anew."""
    store.start_plans(CRM, [plan("a1")], NOW)
    tick = [("a1", 1, "welcome_call", "crm_step")]
    store.record_completions(CRM, tick, D1, NOW, accounts=["a1"])
    assert store.reopen(CRM, "a1", "welcome_call", now=NOW + timedelta(hours=1)) is True
    assert store.reopen(CRM, "a1", "welcome_call") is False
    assert store.record_completions(CRM, tick, D2, NOW, accounts=["a1"]).marked == 0
    assert done(store, "a1") == {}
    assert store.record_completions(CRM, [], D3, NOW, accounts=["a1"]).rearmed == 1
    held = store.completions_for(CRM, ["a1"])["a1"]["welcome_call"]
    assert (held.done, held.done_on, held.reopened_at, held.evidence_gone_at) == (
        False,
        D1,
        NOW + timedelta(hours=1),
        NOW,
    )
    later = NOW + timedelta(days=2)
    assert (
        store.record_completions(CRM, [("a1", 1, "welcome_call", "condition")], D4, later, accounts=["a1"]).marked == 1
    )
    again = store.completions_for(CRM, ["a1"])["a1"]["welcome_call"]
    assert (again.done, again.done_on, again.source, again.first_seen_at) == (True, D4, "condition", later)


def test_absence_is_judged_only_for_the_accounts_reported(store: Store) -> None:
    """Evidence missing from a call does not re-arm a reopen unless the call reports that account in full."""
    store.start_plans(CRM, [plan("a1"), plan("a2")], NOW)
    store.mark_done(CRM, "a1", "welcome_call", at=D1, now=NOW)
    store.reopen(CRM, "a1", "welcome_call", now=NOW)
    assert store.record_completions(CRM, [("a2", 1, "welcome_call", "crm_step")], D2, NOW).rearmed == 0
    assert store.record_completions(CRM, [("a1", 1, "welcome_call", "crm_step")], D2, NOW).marked == 0
    assert done(store, "a1") == {}


def test_reopening_an_open_task_changes_nothing(store: Store) -> None:
    """Reopening answers False for a task never done, and the next evidence marks it done as usual."""
    store.start_plans(CRM, [plan("a1")], NOW)
    assert store.reopen(CRM, "a1", "import_data") is False
    store.record_completions(CRM, [("a1", 1, "import_data", "crm_step")], D2, NOW, accounts=["a1"])
    assert done(store, "a1") == {"import_data": D2}


def test_evidence_for_another_cycle_or_no_plan_is_ignored(store: Store) -> None:
    """Evidence is recorded only against the plan's running cycle; the rest is counted as ignored."""
    store.start_plans(CRM, [plan("a1")], NOW)
    seen = [("a1", 2, "welcome_call", "crm_step"), ("zz", 1, "welcome_call", "crm_step")]
    assert store.record_completions(CRM, seen, D1, NOW).ignored == 2
    assert store.completions_for(CRM, ["a1", "zz"]) == {"a1": {}}


def test_an_unknown_source_is_refused(store: Store) -> None:
    """CRM evidence must name crm_step, crm_field or condition ('manual' is task done's alone)."""
    store.start_plans(CRM, [plan("a1")], NOW)
    with pytest.raises(ValueError, match="unknown completion source 'manual'"):
        store.record_completions(CRM, [("a1", 1, "welcome_call", "manual")], D1, NOW)


def test_a_template_change_keeps_history_and_a_new_revision_adds_open_tasks(store: Store) -> None:
    """Switching template or revision keeps the cycle and completions; added tasks simply have none."""
    store.start_plans(CRM, [plan("a1"), plan("a2")], NOW)
    store.record_completions(CRM, [("a1", 1, "welcome_call", "crm_step"), ("a2", 1, "welcome_call", "crm_step")], D1,
                             NOW)  # fmt: skip
    changed = store.start_plans(CRM, [plan("a1", "mid_market"), plan("a2", revision=2)], NOW + timedelta(days=3))
    assert changed == StartedPlans(0, 2)
    a1, a2 = (store.plans_for(CRM, ["a1", "a2"])[key] for key in ("a1", "a2"))
    assert (a1.template_id, a1.template_revision, a1.cycle, a1.started_at) == ("mid_market", 1, 1, NOW)
    assert (a2.template_id, a2.template_revision, a2.cycle) == ("smb", 2, 1)
    assert done(store, "a1") == done(store, "a2") == {"welcome_call": D1}
    assert "sso_setup" not in done(store, "a1")
    assert store.start_plans(CRM, [plan("a2", revision=2, start=D2)], NOW).changed == 1
    assert store.plans_for(CRM, ["a2"])["a2"].start_date == D2


def test_evaluations_are_listed_worst_first_and_finish_plans(store: Store) -> None:
    """save_evaluations keeps the last evaluation; list_plans sorts by slip, filters by health, limits."""
    store.start_plans(CRM, [plan(f"a{n}") for n in range(5)], NOW)
    later = NOW + timedelta(hours=2)
    rows = [evaluation("a0", 3), evaluation("a1", 12, "at_risk"), evaluation("a2", 30, "off_track"),
            evaluation("a3", 8, "at_risk", finished=True)]  # fmt: skip
    assert store.save_evaluations(CRM, rows, now=later) == 4
    assert [p.account_id for p in store.list_plans(CRM)] == ["a2", "a1", "a3", "a0", "a4"]
    assert [p.account_id for p in store.list_plans(CRM, health="at_risk", limit=1)] == ["a1"]
    a3 = store.plans_for(CRM, ["a3"])["a3"]
    assert (a3.status, a3.progress, a3.slip_days, a3.evaluated_at, a3.next_task) == ("finished", 100.0, 8, later, None)
    a1 = store.plans_for(CRM, ["a1"])["a1"]
    assert (a1.health, a1.projected_go_live, a1.next_task, a1.next_task_due, a1.current_phase) == (
        "at_risk", D4 + timedelta(days=12), "import_data", D3, "setup")  # fmt: skip
    store.save_evaluations(CRM, [evaluation("a3", 9, "at_risk")], now=later)
    assert store.plans_for(CRM, ["a3"])["a3"].status == "active"


@pytest.fixture
def statements(store: Store) -> Iterator[Callable[[], int]]:
    """Count the SQL statements the store sends from now on (reset on each read)."""
    counter = [0]

    def count(*_: object) -> None:
        counter[0] += 1

    def read() -> int:
        value, counter[0] = counter[0], 0
        return value

    event.listen(store.engine, "before_cursor_execute", count)
    try:
        yield read
    finally:
        event.remove(store.engine, "before_cursor_execute", count)


CHUNK = 1_000
TASKS = ("welcome_call", "import_data", "invite_team")
# BEGIN, 2 chunked SELECTs (500 ids each), then a few executemany statements (PostgreSQL pages inserts by 1,000).
MAX_STATEMENTS = 8


def test_a_chunk_of_a_thousand_accounts_costs_a_bounded_number_of_statements(
    store: Store, statements: Callable[[], int]
) -> None:
    """Every bulk call on 1,000 accounts (3,000 completions) sends a few statements, not one per account."""
    ids = [f"acc{n:05d}" for n in range(CHUNK)]
    costs: dict[str, int] = {}
    store.start_plans(CRM, [plan(i) for i in ids], NOW)
    costs["start"] = statements()
    store.start_plans(CRM, [plan(i, revision=2) for i in ids], NOW)
    costs["revise"] = statements()
    seen = [(i, 1, task, "crm_step") for i in ids for task in TASKS]
    assert store.record_completions(CRM, seen, D1, NOW, accounts=ids).marked == len(seen)
    costs["record"] = statements()
    for i in ids[:300]:
        store.reopen(CRM, i, "welcome_call", now=NOW)
    statements()
    assert store.record_completions(CRM, seen, D2, NOW, accounts=ids).rearmed == 0
    costs["held"] = statements()
    assert store.record_completions(CRM, [], D3, NOW, accounts=ids).rearmed == 300
    costs["rearm"] = statements()
    assert store.record_completions(CRM, seen, D4, NOW, accounts=ids).marked == 300
    costs["redo"] = statements()
    assert sum(len(c) for c in store.completions_for(CRM, ids).values()) == len(seen)
    costs["read"] = statements()
    store.save_evaluations(CRM, [evaluation(i, n % 40) for n, i in enumerate(ids)], now=NOW)
    costs["evaluate"] = statements()
    assert len(store.plans_for(CRM, ids)) == CHUNK
    costs["plans"] = statements()
    assert max(costs.values()) <= MAX_STATEMENTS, costs
