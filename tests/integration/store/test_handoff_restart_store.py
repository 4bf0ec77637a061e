"""The note's text on the handoff, the at-risk restart, and contacts by account, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

from alembic import command
from sqlalchemy import inspect

from sync_daemon.store import CursorState
from sync_daemon.store.handoffs import DecisionRow
from sync_daemon.store.migrate import alembic_config, head_revision
from sync_daemon.store.plans import EvaluationRow, NewPlan
from tests.integration.store.store_builders import rec

if TYPE_CHECKING:
    from sync_daemon.store import Store

CRM = "hubspot"
NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
D1, D2, D3 = date(2026, 3, 2), date(2026, 3, 3), date(2026, 3, 4)
SALE = date(2025, 12, 1)
RESTART = date(2026, 3, 10)
NOTE = "Handoff to Customer Success: Acme\n\nYour CSM\n- Jane Doe\n"


def decision(account_id: str, outcome: str = "ready", *, cycle: int = 1, revision: int = 1) -> DecisionRow:
    reason = "day 91 of a 90-day window without adoption" if outcome == "at_risk" else None
    return DecisionRow(account_id, cycle, outcome, revision, None, f"evidence of {outcome}", f"{outcome} · day 91/90",
                       reason)  # fmt: skip


def hand_off(store: Store, account_id: str, *, cycle: int = 1, note_text: str | None = NOTE) -> bool:
    key = f"handoff-note:{CRM}:{account_id}:{cycle}"
    with store.transaction() as conn:
        return store.record_handoff(conn, CRM, account_id, cycle, handed_off_on=D2, note_key=key, now=NOW,
                                    note_text=note_text)  # fmt: skip


def at_risk_plan(store: Store, account_id: str = "a1") -> None:
    """An account on the smb plan since the sale, evaluated, with its cycle 1 decided at risk."""
    store.start_plans(CRM, [NewPlan(account_id, "smb", 1, SALE)], NOW)
    store.save_evaluations(
        CRM, [EvaluationRow(account_id, 40.0, "at_risk", 12, D3, "kickoff", D1, "setup", finished=False)]
    )
    store.save_decisions(CRM, [decision(account_id, "at_risk")], NOW)


def retention(account_id: str = "a1", start: date = RESTART) -> NewPlan:
    return NewPlan(account_id, "retention", 3, start)


# --- the note's text ------------------------------------------------------------------------------------------


def test_the_handoff_keeps_the_note_text_as_sent(store: Store) -> None:
    """``record_handoff(note_text=...)`` stores the text and ``handoffs_for`` returns it with the handoff."""
    store.save_decisions(CRM, [decision("a1"), decision("a2")], NOW)
    assert hand_off(store, "a1") is True
    assert hand_off(store, "a2", note_text=None) is True
    found = store.handoffs_for(CRM, ["a1", "a2"])
    assert (found["a1"].outcome, found["a1"].handed_off_on, found["a1"].note_text) == ("handed_off", D2, NOTE)
    assert found["a2"].note_text is None
    assert found["a1"].restarted_on is None


def test_a_later_decision_keeps_the_note_text_and_the_handoff(store: Store) -> None:
    """Saving a new decision after the handoff refreshes the evidence, never the note text or handed_off."""
    store.save_decisions(CRM, [decision("a1")], NOW)
    hand_off(store, "a1")
    store.save_decisions(CRM, [decision("a1", "onboarding", revision=2)], NOW + timedelta(days=1))
    row = store.handoffs_for(CRM, ["a1"])["a1"]
    assert (row.outcome, row.note_text, row.handed_off_on) == ("handed_off", NOTE, D2)
    assert (row.policy_revision, row.evidence) == (2, "evidence of onboarding")


def test_a_second_handoff_does_not_replace_the_note_text(store: Store) -> None:
    """The once-only guard covers the text too: a second call changes nothing."""
    store.save_decisions(CRM, [decision("a1")], NOW)
    hand_off(store, "a1")
    assert hand_off(store, "a1", note_text="another text\n") is False
    assert store.handoffs_for(CRM, ["a1"])["a1"].note_text == NOTE


# --- the at-risk restart --------------------------------------------------------------------------------------


def test_an_at_risk_cycle_restarts_into_a_new_cycle_of_the_retention_plan(store: Store) -> None:
    """The restart marks cycle 1 restarted and moves the plan to cycle 2 with the new template, start, no evaluation."""
    at_risk_plan(store)
    store.mark_done(CRM, "a1", "kickoff", at=D1, now=NOW)
    later = NOW + timedelta(days=8)
    assert store.restart(CRM, retention(), cycle=1, now=later) is True
    plan = store.plans_for(CRM, ["a1"])["a1"]
    assert (plan.cycle, plan.template_id, plan.template_revision, plan.start_date) == (2, "retention", 3, RESTART)
    assert (plan.status, plan.started_at) == ("active", later)
    assert (plan.progress, plan.health, plan.slip_days, plan.projected_go_live) == (None, None, None, None)
    assert (plan.next_task, plan.next_task_due, plan.current_phase, plan.evaluated_at) == (None, None, None, None)
    assert store.completions_for(CRM, ["a1"]).get("a1", {}) == {}
    (cycle_1,) = store.handoff_history(CRM, "a1")
    assert (cycle_1.cycle, cycle_1.outcome, cycle_1.restarted_on) == (1, "at_risk", RESTART)
    assert store.handoffs_for(CRM, ["a1"]) == {}  # cycle 2 has no decision yet


def test_only_an_at_risk_cycle_can_be_restarted(store: Store) -> None:
    """An onboarding (or handed-off) cycle is not restarted: False, and neither the plan nor the row changes."""
    store.start_plans(CRM, [NewPlan("a1", "smb", 1, SALE), NewPlan("a2", "smb", 1, SALE)], NOW)
    store.save_decisions(CRM, [decision("a1", "onboarding"), decision("a2")], NOW)
    hand_off(store, "a2")
    before = store.plans_for(CRM, ["a1", "a2"])
    assert store.restart(CRM, retention("a1"), cycle=1, now=NOW) is False
    assert store.restart(CRM, retention("a2"), cycle=1, now=NOW) is False
    assert store.plans_for(CRM, ["a1", "a2"]) == before
    rows = store.handoffs_for(CRM, ["a1", "a2"])
    assert (rows["a1"].outcome, rows["a1"].restarted_on) == ("onboarding", None)
    assert (rows["a2"].outcome, rows["a2"].restarted_on) == ("handed_off", None)


def test_a_second_restart_of_the_same_cycle_changes_nothing(store: Store) -> None:
    """Restarting cycle 1 again (a retry, another replica) returns False; the plan stays on cycle 2, not 3."""
    at_risk_plan(store)
    assert store.restart(CRM, retention(), cycle=1, now=NOW) is True
    assert store.restart(CRM, retention(start=RESTART + timedelta(days=5)), cycle=1, now=NOW) is False
    plan = store.plans_for(CRM, ["a1"])["a1"]
    assert (plan.cycle, plan.start_date) == (2, RESTART)
    assert [row.restarted_on for row in store.handoff_history(CRM, "a1")] == [RESTART]


def test_a_restart_of_a_cycle_the_plan_is_not_on_is_rolled_back(store: Store) -> None:
    """When the plan is on another cycle (or there is none) the restarted mark is rolled back with the rest."""
    at_risk_plan(store)
    store.restart(CRM, retention(), cycle=1, now=NOW)
    store.save_decisions(CRM, [decision("a1", "at_risk", cycle=3)], NOW)  # a cycle the plan never reached
    assert store.restart(CRM, retention(), cycle=3, now=NOW) is False
    assert {row.cycle: row.restarted_on for row in store.handoff_history(CRM, "a1")} == {1: RESTART, 3: None}
    assert store.plans_for(CRM, ["a1"])["a1"].cycle == 2
    store.save_decisions(CRM, [decision("b1", "at_risk")], NOW)  # at risk without any plan
    assert store.restart(CRM, retention("b1"), cycle=1, now=NOW) is False
    assert store.handoffs_for(CRM, ["b1"])["b1"].restarted_on is None
    assert store.plans_for(CRM, ["b1"]) == {}


def test_history_lists_every_cycle_oldest_first_and_reads_follow_the_new_cycle(store: Store) -> None:
    """After a restart, history has cycle 1 then 2; the current read returns cycle 2 once it is decided."""
    at_risk_plan(store)
    store.restart(CRM, retention(), cycle=1, now=NOW)
    store.save_decisions(CRM, [decision("a1", "onboarding", cycle=2, revision=2)], NOW)
    current = store.handoffs_for(CRM, ["a1"])["a1"]
    assert (current.cycle, current.outcome, current.restarted_on) == (2, "onboarding", None)
    history = store.handoff_history(CRM, "a1")
    assert [(row.cycle, row.outcome, row.restarted_on) for row in history] == [
        (1, "at_risk", RESTART),
        (2, "onboarding", None),
    ]
    assert [row.account_id for row in store.list_handoffs(CRM)] == ["a1"]
    assert store.list_handoffs(CRM)[0].cycle == 2
    assert store.handoff_history(CRM, "nobody") == []


# --- contacts by account --------------------------------------------------------------------------------------


def test_contacts_of_returns_live_contacts_by_account_in_id_order(store: Store) -> None:
    """Each account's live contacts by id, with their persona; deleted ones and accounts without any left out."""
    contacts = [
        rec("c3", account_id="a1", first_name="Cy"),
        rec("c1", account_id="a1", first_name="Al"),
        rec("c2", account_id="a1", deleted=True),
        rec("c4", account_id="a2", first_name="Di"),
        rec("c5", account_id="a3", deleted=True),
        rec("c6", account_id="a9", first_name="Other account"),
    ]
    store.apply_page(CRM, "contacts", contacts, {"c1": "champion", "c3": None}, CursorState())
    store.apply_page("salesforce", "contacts", [rec("c7", account_id="a1")], None, CursorState())
    store.apply_page(CRM, "accounts", [rec("a1"), rec("a2"), rec("a3"), rec("a4")], None, CursorState())
    found = store.contacts_of(CRM, ["a1", "a2", "a3", "a4", "a1"])
    assert set(found) == {"a1", "a2"}
    assert [c["id"] for c in found["a1"]] == ["c1", "c3"]
    assert [c["id"] for c in found["a2"]] == ["c4"]
    first = found["a1"][0]
    assert (first["persona"], first["fields"], first["account_id"]) == ("champion", {"first_name": "Al"}, "a1")
    assert found["a1"][1]["persona"] is None
    assert store.contacts_of(CRM, []) == {}


# --- migration 0005 -------------------------------------------------------------------------------------------


def test_0005_downgrades_to_0004_dropping_only_note_text_and_restarted_on(store: Store) -> None:
    """Down to 0004 drops the two columns and keeps the handoff rows; up again restores the columns, empty."""
    store.save_decisions(CRM, [decision("a1")], NOW)
    hand_off(store, "a1")
    columns_before = {c["name"] for c in inspect(store.engine).get_columns("handoffs")}
    with store.engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0004")
    assert store.schema_version() == "0004"
    columns_down = {c["name"] for c in inspect(store.engine).get_columns("handoffs")}
    assert columns_before - columns_down == {"note_text", "restarted_on"}
    assert "adoption_reached" in set(inspect(store.engine).get_table_names())
    store.migrate()
    assert store.schema_version() == head_revision() == "0007"
    assert {c["name"] for c in inspect(store.engine).get_columns("handoffs")} == columns_before
    row = store.handoffs_for(CRM, ["a1"])["a1"]
    assert (row.outcome, row.handed_off_on, row.note_key) == ("handed_off", D2, f"handoff-note:{CRM}:a1:1")
    assert (row.note_text, row.restarted_on) == (None, None)
