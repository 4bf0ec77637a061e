"""Handoff decisions as scenarios with an injected today: ready, at risk, overrides, handed off."""

from __future__ import annotations

from datetime import UTC, datetime

from sync_daemon.domain.handoff import SHORT_MAX, read_override
from tests.unit.handoff.builders import (
    FULL,
    IMPLEMENTING,
    PARTIAL,
    SALE,
    account,
    all_done,
    day,
    decide_on,
    plan,
    policy_with,
    shipped_policy,
)

POLICY = shipped_policy()


def gates_of(decision: object) -> dict[str, bool]:
    return {g.name: g.passed for g in decision.gates}  # type: ignore[attr-defined]


def test_an_account_that_adopts_within_the_window_is_ready_with_every_gate_shown() -> None:
    """Adopted at day 40 with its plan done, 2,400 MRR and a CSM: ready, each gate with its values."""
    decision = decide_on(POLICY, account(FULL), day(40), plan_eval=all_done(day(40)))
    assert decision.outcome == "ready"
    assert gates_of(decision) == {"plan": True, "adoption": True, "revenue": True, "csm": True}
    assert decision.short == (
        "ready · day 40/90: plan ✓ (first_value done) · adoption ✓ (full_utilization ≥ partial_utilization) · "
        "mrr 2400 >= 2000 ✓ · CSM ✓ Jane Doe"
    )
    assert (decision.days_since_sale, decision.window_ends, decision.override) == (40, day(90), None)
    assert "first_value done 2026-01-25" in decision.evidence()


def test_the_same_account_before_adopting_is_onboarding_and_says_what_it_waits_on() -> None:
    """Implementing at day 30: onboarding, waiting on adoption, with the values that fell short."""
    decision = decide_on(POLICY, account(IMPLEMENTING), day(30), plan_eval=all_done(day(30)))
    assert decision.outcome == "onboarding"
    assert decision.reason == "waiting on adoption"
    adoption = next(g for g in decision.gates if g.name == "adoption")
    assert adoption.evidence == (
        "implementing < partial_utilization "
        "(partial_utilization ✗ (active_users 2 >= 3 ✗; daily_active_pct 10 >= 30 ✗))"
    )


def test_an_account_that_never_adopts_is_at_risk_at_day_91_not_day_90() -> None:
    """Day 90 is the window's last day (onboarding); day 91 without adoption is at risk, with the reason."""
    on_90 = decide_on(POLICY, account(IMPLEMENTING), day(90), plan_eval=plan(day(90)))
    on_91 = decide_on(POLICY, account(IMPLEMENTING), day(91), plan_eval=plan(day(91)))
    assert (on_90.outcome, on_91.outcome) == ("onboarding", "at_risk")
    assert on_91.reason == (
        "day 91 of a 90-day window without adoption: status implementing, adopted is partial_utilization, "
        "full_utilization (the window ended 2026-04-05)"
    )
    assert on_91.short.startswith("at_risk · day 91/90: ")


def test_an_adopted_account_past_the_window_is_not_at_risk() -> None:
    """Adoption, not the calendar, ends onboarding: adopted at day 120 with every gate passing is ready."""
    assert decide_on(POLICY, account(PARTIAL), day(120), plan_eval=all_done(day(120))).outcome == "ready"


def test_hold_stops_a_ready_account_and_says_so() -> None:
    """A person's hold (any case) keeps a ready account in onboarding; the evidence records it."""
    decision = decide_on(POLICY, account(FULL, handoff_override="HOLD"), day(40), plan_eval=all_done(day(40)))
    assert (decision.outcome, decision.override, decision.gates_pass) == ("onboarding", "hold", True)
    assert decision.reason == "on hold by the CRM override (handoff_override = hold); every gate passes"
    assert decision.short.startswith("onboarding (hold) · day 40/90: plan ✓")
    assert "handoff_override = hold" in decision.evidence()


def test_force_hands_off_an_unready_account_and_records_the_failing_gates() -> None:
    """A person's force makes an implementing account with an open plan ready; the failures stay recorded."""
    fields = account(IMPLEMENTING, handoff_override=" Force ", csm_name=None)
    decision = decide_on(POLICY, fields, day(30), plan_eval=plan(day(30)))
    assert (decision.outcome, decision.override) == ("ready", "force")
    assert decision.reason == "forced by the CRM override (handoff_override = force); failing: plan, adoption, csm"
    assert "csm: ✗ csm_name, csm_email not set" in decision.evidence()
    assert decision.short.startswith("ready (forced) · day 30/90: plan ✗ (first_value overdue)")


def test_force_wins_over_the_window() -> None:
    """A forced account past the window without adoption is ready, not at risk: the person decided."""
    fields = account(IMPLEMENTING, handoff_override="force")
    assert decide_on(POLICY, fields, day(100), plan_eval=plan(day(100))).outcome == "ready"


def test_an_unknown_override_is_ignored_and_said() -> None:
    """A value that is neither force nor hold changes nothing, and the reason says it was ignored."""
    decision = decide_on(POLICY, account(FULL, handoff_override="forse"), day(40), plan_eval=all_done(day(40)))
    assert (decision.outcome, decision.override) == ("ready", None)
    assert decision.reason.endswith("override 'forse' ignored: it must be force or hold")
    assert read_override("") == (None, None)


def test_a_handed_off_account_stays_handed_off_when_a_new_policy_would_fail_it() -> None:
    """After the handoff, a stricter policy fails the revenue gate, yet the outcome stays handed_off."""
    stricter = policy_with(gates={**POLICY.handoff.gates.model_dump(), "kpis": [
        {"name": "revenue", "when": {"field": "mrr", "op": "gte", "value": 5000}}
    ]})  # fmt: skip
    decision = decide_on(stricter, account(FULL), day(60), plan_eval=all_done(day(60)), handed_off_on=day(40))
    assert decision.outcome == "handed_off"
    assert gates_of(decision)["revenue"] is False
    assert (decision.revision, decision.reason) == (2, "handed off on 2026-02-14; failing: revenue now")


def test_a_handed_off_account_is_never_at_risk() -> None:
    """Handed off at day 50, then usage drops: at day 120 it is still handed off, not at risk."""
    decision = decide_on(POLICY, account(IMPLEMENTING), day(120), plan_eval=plan(day(120)), handed_off_on=day(50))
    assert decision.outcome == "handed_off"


def test_without_a_plan_the_plan_gate_fails_and_names_why() -> None:
    """An account with no evaluated plan cannot pass the plan gate."""
    decision = decide_on(POLICY, account(FULL), day(40))
    plan_gate = decision.gates[0]
    assert (plan_gate.name, plan_gate.passed, plan_gate.evidence) == (
        "plan",
        False,
        "no onboarding plan for this account",
    )


def test_a_task_the_plan_lacks_is_skipped_but_one_required_id_must_be_present() -> None:
    """go_live is not in this plan (shown, skipped); a gate of only absent ids fails."""
    both = policy_with(gates={**POLICY.handoff.gates.model_dump(), "plan": {"tasks": ["first_value", "go_live"]}})
    absent = policy_with(gates={**POLICY.handoff.gates.model_dump(), "plan": {"tasks": ["go_live"]}})
    ok = decide_on(both, account(FULL), day(40), plan_eval=all_done(day(40))).gates[0]
    bad = decide_on(absent, account(FULL), day(40), plan_eval=all_done(day(40))).gates[0]
    assert (ok.passed, ok.evidence) == (True, "first_value done 2026-01-25; go_live not in plan 'smb'")
    assert (bad.passed, bad.evidence) == (
        False, "go_live not in plan 'smb'; plan 'smb' has none of the required tasks or phases"
    )  # fmt: skip


def test_a_phase_gate_counts_the_phase_tasks() -> None:
    """A phase passes when every task in it is done; otherwise it says how many are done and which are open."""
    phased = policy_with(gates={**POLICY.handoff.gates.model_dump(), "plan": {"phases": ["setup", "adopt"]}})
    half = plan(day(40), done={"kickoff": day(2)})
    gate = decide_on(phased, account(FULL), day(40), plan_eval=half).gates[0]
    assert (gate.passed, gate.evidence) == (
        False,
        "phase setup done (1 tasks); phase adopt: 0/1 tasks done, open: first_value",
    )


def test_the_time_box_waives_the_plan_gate_from_its_day() -> None:
    """With a 60-day time box, an open plan holds the account back on day 59 but not on day 60."""
    boxed = policy_with(time_box_days=60)
    before = decide_on(boxed, account(FULL), day(59), plan_eval=plan(day(59)))
    after = decide_on(boxed, account(FULL), day(60), plan_eval=plan(day(60)))
    assert (before.outcome, after.outcome) == ("onboarding", "ready")
    assert after.gates[0].evidence.startswith("waived: the 60-day time box is over (day 60); first_value overdue")


def test_the_sale_date_falls_back_to_the_plan_start_and_reads_crm_forms() -> None:
    """No close date: the plan's start dates the window; HubSpot's epoch milliseconds read as a date."""
    no_date = decide_on(POLICY, account(FULL, close_date=None), day(40), plan_eval=all_done(day(40)))
    epoch_ms = str(int(datetime(2026, 1, 5, tzinfo=UTC).timestamp() * 1000))
    hubspot = decide_on(POLICY, account(FULL, close_date=epoch_ms), day(40))
    assert no_date.days_since_sale == hubspot.days_since_sale == 40
    unknown = decide_on(POLICY, account(IMPLEMENTING, close_date=None), day(400))
    assert (unknown.outcome, unknown.days_since_sale, unknown.window_ends) == ("onboarding", None, None)
    assert day(0) == SALE


def test_the_short_form_fits_a_crm_text_field() -> None:
    """Many long-named thresholds are clipped to 255 characters with an ellipsis."""
    many = [{"name": f"threshold_{i}", "when": {"field": "mrr", "op": "gte", "value": 1000 + i}} for i in range(20)]
    crowded = policy_with(gates={**POLICY.handoff.gates.model_dump(), "kpis": many})
    decision = decide_on(crowded, account(FULL), day(40), plan_eval=all_done(day(40)))
    assert len(decision.short) == SHORT_MAX
    assert decision.short.endswith("…")
