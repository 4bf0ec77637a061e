"""From a plan's evaluation to the daemon-owned account fields the CRM shows (pure).

The CSM reads these in the account they already open, so values are written for people: the health as its label
("At Risk"), the phase by name, "Complete" once every task is done, progress to one decimal (the CRM rounds to its
field's scale anyway, and a value finer than the field's would be rewritten every cycle). Only fields the mapping
declares as pushed are produced.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Collection, Mapping

    from sync_daemon.config.plan_models import PlansConfig
    from sync_daemon.domain.plans import PlanEvaluation

HEALTH_LABELS = {"on_track": "On Track", "at_risk": "At Risk", "off_track": "Off Track"}
COMPLETE = "Complete"


def plan_values(ev: PlanEvaluation) -> dict[str, object]:
    """Every plan field by canonical push name."""
    return {
        "onboarding_plan": ev.template_name,
        "onboarding_progress": round(ev.progress, 1),
        "onboarding_phase": ev.current_phase_name or COMPLETE,
        "overdue_tasks": ev.overdue_count,
        "next_task": ev.next_task_title,
        "next_task_due": ev.next_task_due,
        "projected_go_live": ev.projected_go_live,
        "slip_days": ev.slip_days,
        "health": HEALTH_LABELS[ev.health],
        "waiting_on_customer": ev.waiting_on_customer,
        "plan_summary": ev.summary,
    }


def declared(values: Mapping[str, object], push_fields: Collection[str]) -> dict[str, object]:
    """Only the values whose field the mapping declares as the daemon's own."""
    return {name: value for name, value in values.items() if name in push_fields}


def _as_date(value: object) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str) and value.strip():
        text = value.strip()
        if text.isdigit():  # HubSpot sends dates as epoch milliseconds too
            return datetime.fromtimestamp(int(text) / 1000, tz=UTC).date()
        try:
            return date.fromisoformat(text[:10])
        except ValueError:
            return None
    return None


def plan_start(fields: Mapping[str, object], config: PlansConfig) -> date | None:
    """When the account's plan starts: the start field, else the fallback (e.g. the close date), else no plan."""
    start = _as_date(fields.get(config.start_field))
    if start is None and config.fallback_start_field is not None:
        start = _as_date(fields.get(config.fallback_start_field))
    return start
