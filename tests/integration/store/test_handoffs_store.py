"""Handoff state in the store, on SQLite and PostgreSQL: adoption dates, decisions, the once-only handoff."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

import pytest
from alembic import command
from sqlalchemy import inspect, update

from sync_daemon.domain.handoff import HandoffDecision
from sync_daemon.store.handoffs import DecisionRow
from sync_daemon.store.migrate import alembic_config, head_revision
from sync_daemon.store.models import PLANS
from sync_daemon.store.plans import NewPlan

if TYPE_CHECKING:
    from sync_daemon.store import Store

CRM = "hubspot"
NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
D1, D2, D3 = date(2026, 3, 2), date(2026, 3, 3), date(2026, 3, 4)


class BoomError(RuntimeError):
    """Raised inside a transaction to make it roll back."""


def decision(account_id: str, outcome: str = "ready", *, cycle: int = 1, revision: int = 1) -> DecisionRow:
    reason = "window passed without adoption" if outcome == "at_risk" else None
    return DecisionRow(account_id, cycle, outcome, revision, None, f"csm: ✓ {outcome}", f"{outcome} · day 40/90",
                       reason)  # fmt: skip


def hand_off(store: Store, account_id: str, *, key: str = "note:a1:1", on: date = D2, cycle: int = 1) -> bool:
    with store.transaction() as conn:
        store.enqueue(conn, key=key, crm=CRM, kind="handoff_note", payload={"account": account_id}, priority=5, now=NOW)
        return store.record_handoff(conn, CRM, account_id, cycle, handed_off_on=on, note_key=key, now=NOW)


def hand_off_then_fail(store: Store) -> None:
    with store.transaction() as conn:
        store.save_decisions(CRM, [decision("a1", revision=7)], NOW, conn=conn)
        store.enqueue(conn, key="note:a1:1", crm=CRM, kind="handoff_note", payload={}, priority=5, now=NOW)
        assert store.record_handoff(conn, CRM, "a1", 1, handed_off_on=D2, note_key="note:a1:1", now=NOW)
        raise BoomError


def test_0004_downgrades_to_0003_dropping_only_the_handoff_tables_and_upgrades_again(store: Store) -> None:
    """Down to 0003 drops adoption_reached and handoffs and keeps plans; up again restores them empty."""
    store.start_plans(CRM, [NewPlan("a1", "smb", 1, D1)], NOW)
    store.save_decisions(CRM, [decision("a1")], NOW)
    with store.engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0003")
    tables = set(inspect(store.engine).get_table_names())
    assert not {"adoption_reached", "handoffs"} & tables
    assert "plans" in tables
    store.migrate()
    assert store.schema_version() == head_revision() == "0007"
    assert store.handoffs_for(CRM, ["a1"]) == {}
    assert set(store.plans_for(CRM, ["a1"])) == {"a1"}


def test_first_reached_dates_never_move(store: Store) -> None:
    """A status keeps the date it was first recorded with; only statuses not on record are inserted."""
    assert store.record_adoption(CRM, [("a1", "inactive", D1), ("a1", "implementing", D1)], NOW) == 2
    assert store.record_adoption(CRM, [("a1", "implementing", D3), ("a1", "partial_utilization", D3)], NOW) == 1
    assert store.record_adoption(CRM, [("a2", "inactive", D3), ("a2", "inactive", D2)], NOW) == 1
    found = store.adoption_reached_for(CRM, ["a1", "a2", "missing"])
    assert found == {
        "a1": {"inactive": D1, "implementing": D1, "partial_utilization": D3},
        "a2": {"inactive": D2},
    }
    assert store.adoption_reached_for("salesforce", ["a1"]) == {}


def test_decisions_are_upserted_per_account_and_cycle(store: Store) -> None:
    """Saving again replaces the outcome, evidence and revision; the decision time follows the latest save."""
    assert store.save_decisions(CRM, [decision("a1", "onboarding"), decision("a2", "at_risk")], NOW) == 2
    later = NOW + timedelta(days=1)
    assert store.save_decisions(CRM, [decision("a1", "ready", revision=2)], later) == 1
    found = store.handoffs_for(CRM, ["a1", "a2", "missing"])
    assert set(found) == {"a1", "a2"}
    a1 = found["a1"]
    assert (a1.outcome, a1.policy_revision, a1.evidence, a1.decided_at) == ("ready", 2, "csm: ✓ ready", later)
    assert (a1.cycle, a1.handed_off_on, a1.note_key, a1.at_risk_reason) == (1, None, None, None)
    assert found["a2"].at_risk_reason == "window passed without adoption"


def test_decision_row_of_a_domain_decision_keeps_the_evidence_and_the_at_risk_reason() -> None:
    """``DecisionRow.of`` stores the full evidence text and the reason only for at-risk outcomes."""
    made = HandoffDecision("at_risk", (), "hold", None, 91, "not adopted", "At risk · day 91/90", 3)
    row = DecisionRow.of("a1", 2, made)
    assert (row.cycle, row.outcome, row.override, row.policy_revision) == (2, "at_risk", "hold", 3)
    assert (row.evidence, row.at_risk_reason) == (made.evidence(), "not adopted")
    assert DecisionRow.of("a1", 1, HandoffDecision("ready", (), None, None, 5, "ok", "Ready", 1)).at_risk_reason is None


def test_the_handoff_happens_once_per_account_and_cycle(store: Store) -> None:
    """A second ``record_handoff`` for the same cycle returns False and changes nothing."""
    store.save_decisions(CRM, [decision("a1")], NOW)
    assert hand_off(store, "a1") is True
    first = store.handoffs_for(CRM, ["a1"])["a1"]
    assert (first.outcome, first.handed_off_on, first.note_key) == ("handed_off", D2, "note:a1:1")
    assert hand_off(store, "a1", key="note:a1:other", on=D3) is False
    assert store.handoffs_for(CRM, ["a1"])["a1"] == first
    assert store.intent("note:a1:1") is not None


def test_a_handoff_without_a_saved_decision_is_refused(store: Store) -> None:
    """``record_handoff`` for a cycle with no decision raises LookupError naming the account."""
    with pytest.raises(LookupError, match="'ghost'"), store.transaction() as conn:
        store.record_handoff(conn, CRM, "ghost", 1, handed_off_on=D2, note_key="k", now=NOW)


def test_handoff_and_note_intent_roll_back_together(store: Store) -> None:
    """When the transaction fails after both writes, neither the handoff nor the note intent is kept."""
    store.save_decisions(CRM, [decision("a1")], NOW)
    with pytest.raises(BoomError):
        hand_off_then_fail(store)
    row = store.handoffs_for(CRM, ["a1"])["a1"]
    assert (row.outcome, row.handed_off_on, row.policy_revision) == ("ready", None, 1)
    assert store.intent("note:a1:1") is None
    assert hand_off(store, "a1") is True


def test_a_re_evaluation_never_undoes_a_handoff(store: Store) -> None:
    """After the handoff, a new decision refreshes the evidence but keeps the outcome, date and note key."""
    store.save_decisions(CRM, [decision("a1")], NOW)
    hand_off(store, "a1")
    store.save_decisions(CRM, [decision("a1", "onboarding", revision=2)], NOW + timedelta(days=3))
    row = store.handoffs_for(CRM, ["a1"])["a1"]
    assert (row.outcome, row.handed_off_on, row.note_key) == ("handed_off", D2, "note:a1:1")
    assert (row.policy_revision, row.evidence) == (2, "csm: ✓ onboarding")


def test_a_new_onboarding_cycle_can_be_handed_off_again(store: Store) -> None:
    """Reads follow the plan's current cycle, and each cycle is handed off once."""
    store.start_plans(CRM, [NewPlan("a1", "smb", 1, D1)], NOW)
    store.save_decisions(CRM, [decision("a1")], NOW)
    assert hand_off(store, "a1") is True
    with store.engine.begin() as conn:
        conn.execute(update(PLANS).where(PLANS.c.account_id == "a1").values(cycle=2))
    assert store.handoffs_for(CRM, ["a1"]) == {}
    store.save_decisions(CRM, [decision("a1", cycle=2)], NOW)
    assert hand_off(store, "a1", key="note:a1:2", cycle=2) is True
    assert store.handoffs_for(CRM, ["a1"])["a1"].note_key == "note:a1:2"


def test_list_handoffs_filters_by_outcome_in_account_order(store: Store) -> None:
    """Listing shows current-cycle decisions by account id, optionally of one outcome, up to the limit."""
    store.save_decisions(CRM, [decision("b", "ready"), decision("a", "at_risk"), decision("c", "ready")], NOW)
    store.save_decisions("salesforce", [decision("d", "ready")], NOW)
    assert [row.account_id for row in store.list_handoffs(CRM)] == ["a", "b", "c"]
    assert [row.account_id for row in store.list_handoffs(CRM, outcome="ready")] == ["b", "c"]
    assert [row.account_id for row in store.list_handoffs(CRM, outcome="ready", limit=1)] == ["b"]
    assert store.list_handoffs(CRM, outcome="handed_off") == []
