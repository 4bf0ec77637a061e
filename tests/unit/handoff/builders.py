"""Builders for handoff tests: the shipped policy, a small plan, accounts at chosen usage levels."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sync_daemon.config.handoff_loader import load_handoff
from sync_daemon.config.handoff_models import HandoffPolicy
from sync_daemon.config.plan_models import HealthThresholds, PlanTemplate
from sync_daemon.domain.adoption import AdoptionResult, adoption_status
from sync_daemon.domain.calendar import WorkCalendar
from sync_daemon.domain.handoff import HandoffDecision, decide
from sync_daemon.domain.plans import PlanEvaluation, evaluate_plan

ROOT = Path(__file__).resolve().parents[3]
SALE = date(2026, 1, 5)  # a Monday

KNOWN = frozenset(
    {"close_date", "csm_name", "csm_email", "handoff_override", "active_users", "licensed_seats", "mrr",
     "daily_active_pct", "integration_connected"}
)  # fmt: skip


def shipped_policy() -> HandoffPolicy:
    """The policy in config/handoff.yaml (inactive < implementing < partial < full; mrr >= 2000; first_value)."""
    return load_handoff(ROOT / "config" / "handoff.yaml", KNOWN)


def policy_with(**handoff: Any) -> HandoffPolicy:
    """The shipped policy with some ``handoff`` settings replaced (a new revision)."""
    base = shipped_policy()
    data = base.model_dump(by_alias=True, exclude_none=True)
    data["handoff"].update(handoff)
    data["revision"] = base.revision + 1
    return HandoffPolicy.model_validate(data)


TEMPLATE = PlanTemplate.model_validate(
    {
        "version": 1, "id": "smb", "name": "SMB", "revision": 1, "target_days": 30,
        "phases": [
            {"id": "setup", "name": "Setup", "tasks": [
                {"id": "kickoff", "title": "Kickoff", "side": "vendor", "kind": "customer_facing",
                 "owner": "onboarding_manager", "duration": "2bd"},
            ]},
            {"id": "adopt", "name": "Adopt", "tasks": [
                {"id": "first_value", "title": "First value", "side": "customer", "kind": "customer_facing",
                 "owner": "customer_admin", "duration": "1w", "depends_on": ["kickoff"]},
            ]},
        ],
    }
)  # fmt: skip


def plan(today: date, *, done: dict[str, date] | None = None) -> PlanEvaluation:
    """The small plan started at the sale, with ``done`` tasks, as of ``today``."""
    return evaluate_plan(
        TEMPLATE, SALE, done or {}, calendar=WorkCalendar(), thresholds=HealthThresholds(), today=today
    )


def all_done(today: date) -> PlanEvaluation:
    """The small plan with every task done in its first weeks."""
    return plan(today, done={"kickoff": SALE + timedelta(days=2), "first_value": SALE + timedelta(days=20)})


INACTIVE: dict[str, object] = {"active_users": 0, "daily_active_pct": 0, "integration_connected": False}
IMPLEMENTING: dict[str, object] = {"active_users": 2, "daily_active_pct": 10, "integration_connected": False}
PARTIAL: dict[str, object] = {"active_users": 6, "daily_active_pct": 40, "integration_connected": False}
FULL: dict[str, object] = {"active_users": 40, "daily_active_pct": 82, "integration_connected": True}


def account(usage: dict[str, object], **extra: object) -> dict[str, object]:
    """An account sold on SALE with a CSM, 2,400 MRR and the given usage; ``extra`` overrides fields."""
    fields: dict[str, object] = {"close_date": SALE.isoformat(), "csm_name": "Jane Doe", "mrr": 2400, **usage}
    fields.update(extra)
    return fields


def day(n: int) -> date:
    """The date ``n`` days after the sale."""
    return SALE + timedelta(days=n)


def decide_on(
    policy: HandoffPolicy,
    fields: dict[str, object],
    today: date,
    *,
    plan_eval: PlanEvaluation | None = None,
    handed_off_on: date | None = None,
) -> HandoffDecision:
    """Evaluate adoption, then decide, as the cycle will."""
    adoption: AdoptionResult = adoption_status(policy, fields)
    return decide(policy, fields=fields, plan=plan_eval, adoption=adoption, handed_off_on=handed_off_on, today=today)
