"""Properties of the handoff decision over generated accounts, plans, overrides and days."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from sync_daemon.domain.adoption import adoption_status
from sync_daemon.domain.handoff import SHORT_MAX
from tests.unit.handoff.builders import SALE, TEMPLATE, account, decide_on, plan, shipped_policy

POLICY = shipped_policy()
OVERRIDES = st.sampled_from([None, "", "hold", "HOLD", " Hold ", "forse", "later"])
USAGE = st.fixed_dictionaries(
    {
        "active_users": st.one_of(st.none(), st.integers(0, 50), st.integers(0, 50).map(str)),
        "daily_active_pct": st.one_of(st.none(), st.floats(0, 100, allow_nan=False), st.just("n/a")),
        "integration_connected": st.one_of(st.none(), st.booleans(), st.sampled_from(["true", "false"])),
        "mrr": st.one_of(st.none(), st.integers(0, 5000), st.integers(0, 5000).map(str)),
        "csm_name": st.one_of(st.none(), st.just(""), st.just("Jane Doe")),
    }
)
TASK_IDS = [t.id for phase in TEMPLATE.phases for t in phase.tasks]


@given(
    usage=USAGE,
    override=OVERRIDES,
    days=st.integers(0, 200),
    done=st.sets(st.sampled_from(TASK_IDS)),
    with_plan=st.booleans(),
)
def test_never_ready_while_a_gate_fails_unless_forced(
    usage: dict[str, object], override: str | None, days: int, done: set[str], with_plan: bool
) -> None:
    """Without force, a decision is ready only when every gate passed; ready never comes with a failing gate."""
    today = SALE + timedelta(days=days)
    plan_eval = plan(today, done=dict.fromkeys(done, SALE)) if with_plan else None
    decision = decide_on(POLICY, account(usage, handoff_override=override), today, plan_eval=plan_eval)
    if decision.outcome == "ready":
        assert all(g.passed for g in decision.gates)
        assert decision.override is None
    assert len(decision.short) <= SHORT_MAX


@given(usage=USAGE, override=st.one_of(OVERRIDES, st.just("force")), days=st.integers(0, 400))
def test_a_handed_off_account_is_always_handed_off(usage: dict[str, object], override: str | None, days: int) -> None:
    """Whatever the usage, override or day, an account handed off stays handed off."""
    today = SALE + timedelta(days=days)
    decision = decide_on(POLICY, account(usage, handoff_override=override), today, handed_off_on=date(2026, 1, 6))
    assert decision.outcome == "handed_off"


@given(usage=USAGE, days=st.integers(0, 400))
def test_at_risk_exactly_when_past_the_window_and_not_adopted(usage: dict[str, object], days: int) -> None:
    """Without an override, at_risk holds exactly for accounts past day 90 whose status is not adopted."""
    today = SALE + timedelta(days=days)
    fields = account(usage)
    decision = decide_on(POLICY, fields, today)
    adopted = adoption_status(POLICY, fields).adopted
    assert (decision.outcome == "at_risk") == (days > POLICY.handoff.window_days and not adopted)
