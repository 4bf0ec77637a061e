"""A plan's evaluation becomes the CRM fields CSMs read; the plan starts from the mapped start or close date."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from sync_daemon.config.plan_models import HealthThresholds, Phase, PlansConfig, PlanTemplate, Task
from sync_daemon.domain.calendar import WorkCalendar
from sync_daemon.domain.plan_fields import COMPLETE, declared, plan_start, plan_values
from sync_daemon.domain.plans import PlanEvaluator

CONFIG = PlansConfig(version=1, default="smb")


def template() -> PlanTemplate:
    def task(tid: str, deps: list[str], side: str = "vendor") -> Task:
        return Task(id=tid, title=tid.title(), side=side, kind="customer_facing", owner="om", duration="2bd",
                    depends_on=deps)  # type: ignore[arg-type]  # fmt: skip

    return PlanTemplate(
        version=1, id="t", name="Test plan", revision=1, target_days=10,
        phases=[Phase(id="p1", name="Setup", tasks=[task("a", []), task("b", ["a"], "customer")])],
    )  # fmt: skip


def evaluate(done: dict[str, date], today: date):  # noqa: ANN201
    evaluator = PlanEvaluator(template(), WorkCalendar(), HealthThresholds())
    return evaluator.evaluate(date(2026, 3, 2), done, today)


def test_open_plan_fields_read_for_people() -> None:
    """Health as its label, the phase by name, the next task by title; progress to one decimal."""
    values = plan_values(evaluate({"a": date(2026, 3, 3)}, date(2026, 3, 4)))
    assert values["onboarding_plan"] == "Test plan"
    assert values["onboarding_progress"] == 50.0
    assert values["onboarding_phase"] == "Setup"
    assert values["next_task"] == "B"
    assert values["health"] in {"On Track", "At Risk", "Off Track"}
    assert isinstance(values["next_task_due"], date)


def test_finished_plan_reads_complete() -> None:
    """With every task done the phase reads Complete and nothing is next."""
    values = plan_values(evaluate({"a": date(2026, 3, 3), "b": date(2026, 3, 5)}, date(2026, 3, 9)))
    assert values["onboarding_phase"] == COMPLETE
    assert values["onboarding_progress"] == 100.0
    assert values["next_task"] is None


def test_only_declared_fields_are_produced() -> None:
    """Fields the mapping does not declare as pushed are dropped."""
    values = plan_values(evaluate({}, date(2026, 3, 4)))
    assert set(declared(values, {"health", "slip_days", "unrelated"})) == {"health", "slip_days"}


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"onboarding_start": "2026-03-02"}, date(2026, 3, 2)),
        ({"onboarding_start": None, "close_date": "2026-02-27"}, date(2026, 2, 27)),
        ({"onboarding_start": "", "close_date": date(2026, 2, 27)}, date(2026, 2, 27)),
        ({"onboarding_start": datetime(2026, 3, 2, 15, tzinfo=UTC)}, date(2026, 3, 2)),
        ({"onboarding_start": "1772409600000"}, date(2026, 3, 2)),  # HubSpot epoch milliseconds
        ({"onboarding_start": "not a date", "close_date": None}, None),
        ({}, None),
    ],
)
def test_plan_start(fields: dict[str, object], expected: date | None) -> None:
    """The start field wins, the close date stands in, and no date means no plan yet."""
    assert plan_start(fields, CONFIG) == expected
