"""Plan templates built in code for the evaluation tests (never from the shipped files)."""

from __future__ import annotations

from datetime import date

from sync_daemon.config.plan_models import HealthThresholds, Phase, PlanTemplate, Side, Task
from sync_daemon.domain.calendar import WorkCalendar
from sync_daemon.domain.plans import PlanEvaluation, evaluate_plan

DEFAULT_THRESHOLDS = HealthThresholds(at_risk_slip_days=7, off_track_slip_days=21)
PLAIN = WorkCalendar({5, 6})  # Saturday and Sunday off, no holidays


def task(
    task_id: str,
    duration: str,
    *deps: str,
    side: Side = "vendor",
    due: str | None = None,
    weight: float = 1.0,
    title: str | None = None,
) -> Task:
    """A customer-facing task owned by the onboarding manager, titled after its id unless told."""
    return Task(
        id=task_id,
        title=title or task_id.replace("_", " ").capitalize(),
        side=side,
        kind="customer_facing",
        owner="onboarding_manager",
        duration=duration,
        due=due,
        depends_on=list(deps),
        weight=weight,
    )


def phase(phase_id: str, *tasks: Task, name: str | None = None) -> Phase:
    """A phase named after its id unless told."""
    return Phase(id=phase_id, name=name or phase_id.capitalize(), tasks=list(tasks))


def template(*phases: Phase, target_days: int = 30, name: str = "Test plan") -> PlanTemplate:
    """A revision-1 template."""
    return PlanTemplate(version=1, id="test", name=name, revision=1, target_days=target_days, phases=list(phases))


def evaluate(
    plan: PlanTemplate,
    start: date,
    done: dict[str, date],
    today: date,
    *,
    calendar: WorkCalendar = PLAIN,
    thresholds: HealthThresholds = DEFAULT_THRESHOLDS,
) -> PlanEvaluation:
    """Evaluate with the plain calendar and the default thresholds unless told."""
    return evaluate_plan(plan, start, done, calendar=calendar, thresholds=thresholds, today=today)


def d(text: str) -> date:
    """An ISO date, short to read in the golden figures."""
    return date.fromisoformat(text)
