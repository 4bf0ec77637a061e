"""Evaluate an onboarding plan: where it stands, what comes next, when it will go live and how far it slipped.

Pure: a function of the template, the plan's start date, the dates tasks were first seen done, the working
calendar, the health thresholds and ``today`` (passed in; no clock reads). The CRM shows the result as the
daemon-owned plan fields and a one-line summary; ``plan show`` shows the per-task detail.

The rules, in the words an onboarding lead would use:

- **Planned due** (the baseline): a task starts when its dependencies are due (the plan start when it has none)
  and is due ``duration`` later; a ``due`` deadline from the plan start can pull that earlier, never before the
  task starts. **Overdue**: open with a planned due before today.
- **Projected finish**: done tasks finished when first seen done; open tasks start today at the earliest, after
  their dependencies' projected finishes, and take their duration. A late customer task therefore pushes every
  task that depends on it, and the **projected go-live** (the latest projected finish).
- **Slip**: projected go-live minus the target (plan start + the template's ``target_days``), in calendar days;
  negative is ahead. **Health** turns ``at_risk`` then ``off_track`` at the configured slips.
- A task ticked done before its dependencies is still done: people tick things in any order.

Build one :class:`PlanEvaluator` per template and calendar per cycle; it compiles the template once and caches
baselines per start date. :func:`evaluate_plan` is the one-off form.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Literal, NamedTuple

from sync_daemon.domain.schedule import CompiledPlan, Node, TemplateGraphError

if TYPE_CHECKING:
    from collections.abc import Mapping

    from sync_daemon.config.plan_models import HealthThresholds, PlanTemplate, Side, TaskKind
    from sync_daemon.domain.calendar import WorkCalendar

__all__ = [
    "Health",
    "PlanEvaluation",
    "PlanEvaluator",
    "TaskDays",
    "TaskEvaluation",
    "TaskStatus",
    "TemplateGraphError",
    "evaluate_plan",
]

TaskStatus = Literal["done", "open", "overdue"]
Health = Literal["on_track", "at_risk", "off_track"]
SUMMARY_MAX = 255


@dataclass(frozen=True, slots=True)
class TaskEvaluation:
    """One task of an evaluated plan. ``projected_start`` is None for done tasks."""

    id: str
    title: str
    phase: str
    side: Side
    kind: TaskKind
    owner: str
    weight: float
    status: TaskStatus
    done_on: date | None
    planned_start: date
    planned_due: date
    projected_start: date | None
    projected_finish: date
    ready: bool  # open, and every dependency is done: someone can act on it now
    critical: bool


@dataclass(frozen=True, slots=True)
class TaskDays:
    """The per-task day ordinals behind an evaluation; :class:`TaskEvaluation` objects are built from them on demand.

    Why lazy: the cycle only needs the plan-level fields of 100,000 plans; ``plan show`` needs one plan's tasks.
    """

    nodes: tuple[Node, ...]
    done: tuple[int | None, ...]
    planned_starts: tuple[int, ...]
    planned_dues: tuple[int, ...]
    projected_starts: tuple[int | None, ...]
    finishes: tuple[int, ...]
    today: int
    critical: frozenset[int]


@dataclass(frozen=True, slots=True)
class PlanEvaluation:
    """Everything the CRM shows about one plan; :attr:`tasks` gives the per-task detail behind it."""

    template_id: str
    template_name: str
    revision: int
    start: date
    today: date
    critical_path: tuple[str, ...]
    projected_go_live: date
    target_date: date
    slip_days: int
    progress: float
    current_phase: str | None
    current_phase_name: str | None
    next_task: str | None
    next_task_title: str | None
    next_task_due: date | None
    waiting_on_customer: int
    waiting_on_vendor: int
    overdue_count: int
    health: Health
    summary: str
    days: TaskDays = field(repr=False)

    @property
    def tasks(self) -> tuple[TaskEvaluation, ...]:
        """Every task in template order, with its status, planned and projected dates."""
        return tuple(_task_evaluation(self.days, i) for i in range(len(self.days.nodes)))

    def task(self, task_id: str) -> TaskEvaluation:
        """The evaluation of one task by id (KeyError if the template has no such task)."""
        for i, node in enumerate(self.days.nodes):
            if node.task.id == task_id:
                return _task_evaluation(self.days, i)
        raise KeyError(task_id)


class PlanEvaluator:
    """Evaluates plans of one template against one calendar and set of health thresholds.

    Raises:
        TemplateGraphError: duplicate task ids, an unknown dependency or a dependency cycle.
    """

    def __init__(self, template: PlanTemplate, calendar: WorkCalendar, thresholds: HealthThresholds) -> None:
        self._plan = CompiledPlan(template, calendar)
        self._thresholds = thresholds

    def evaluate(self, start: date, done: Mapping[str, date], today: date) -> PlanEvaluation:
        """The plan started on ``start``, with ``done`` (task id -> date first seen done), as of ``today``.

        Ids in ``done`` that the template does not know (a task removed from the template) are ignored.
        """
        plan = self._plan
        done_ord = tuple(None if (day := done.get(tid)) is None else day.toordinal() for tid in plan.ids)
        planned_starts, planned_dues = plan.baseline(start.toordinal())
        proj_starts, finishes = plan.projection(today.toordinal(), done_ord)
        critical = plan.critical_path(proj_starts, finishes)
        days = TaskDays(
            plan.nodes,
            done_ord,
            planned_starts,
            planned_dues,
            tuple(proj_starts),
            tuple(finishes),
            today.toordinal(),
            frozenset(critical),
        )
        return self._summarise(start, today, days, tuple(plan.ids[i] for i in critical))

    def _summarise(self, start: date, today: date, days: TaskDays, critical: tuple[str, ...]) -> PlanEvaluation:
        plan, template = self._plan, self._plan.template
        open_ = [i for i, done_on in enumerate(days.done) if done_on is None]
        ready = [i for i in open_ if all(days.done[d] is not None for d in plan.nodes[i].deps)]
        nxt = min(ready, key=lambda i: (days.planned_dues[i], i), default=None)
        first_open = plan.nodes[open_[0]] if open_ else None
        go_live = date.fromordinal(max(days.finishes))
        target = date.fromordinal(start.toordinal() + template.target_days)
        slip = (go_live - target).days
        done_weight = plan.total_weight - sum(plan.nodes[i].task.weight for i in open_)
        customer = sum(1 for i in ready if plan.nodes[i].task.side == "customer")
        headline = _Headline(
            progress=_round_half_up(done_weight / plan.total_weight * 100),
            phase_name=first_open.phase_name if first_open else None,
            next_title=plan.nodes[nxt].task.title if nxt is not None else None,
            next_due=date.fromordinal(days.planned_dues[nxt]) if nxt is not None else None,
            go_live=go_live,
            slip=slip,
            overdue=sum(1 for i in open_ if days.planned_dues[i] < days.today),
            waiting_on_customer=customer,
        )
        return PlanEvaluation(
            template_id=template.id,
            template_name=template.name,
            revision=template.revision,
            start=start,
            today=today,
            critical_path=critical,
            projected_go_live=go_live,
            target_date=target,
            slip_days=slip,
            progress=headline.progress,
            current_phase=first_open.phase_id if first_open else None,
            current_phase_name=headline.phase_name,
            next_task=plan.ids[nxt] if nxt is not None else None,
            next_task_title=headline.next_title,
            next_task_due=headline.next_due,
            waiting_on_customer=customer,
            waiting_on_vendor=len(ready) - customer,
            overdue_count=headline.overdue,
            health=self._health(slip),
            summary=summary_line(template.name, headline),
            days=days,
        )

    def _health(self, slip: int) -> Health:
        if slip >= self._thresholds.off_track_slip_days:
            return "off_track"
        if slip >= self._thresholds.at_risk_slip_days:
            return "at_risk"
        return "on_track"


def evaluate_plan(
    template: PlanTemplate,
    start: date,
    done: Mapping[str, date],
    *,
    calendar: WorkCalendar,
    thresholds: HealthThresholds,
    today: date,
) -> PlanEvaluation:
    """One-off evaluation; prefer a :class:`PlanEvaluator` per template when evaluating many accounts."""
    return PlanEvaluator(template, calendar, thresholds).evaluate(start, done, today)


def _task_evaluation(days: TaskDays, i: int) -> TaskEvaluation:
    node, task = days.nodes[i], days.nodes[i].task
    done_on, planned_due, projected_start = days.done[i], days.planned_dues[i], days.projected_starts[i]
    status: TaskStatus = "done" if done_on is not None else "overdue" if planned_due < days.today else "open"
    return TaskEvaluation(
        id=task.id,
        title=task.title,
        phase=node.phase_id,
        side=task.side,
        kind=task.kind,
        owner=task.owner,
        weight=task.weight,
        status=status,
        done_on=None if done_on is None else date.fromordinal(done_on),
        planned_start=date.fromordinal(days.planned_starts[i]),
        planned_due=date.fromordinal(planned_due),
        projected_start=None if projected_start is None else date.fromordinal(projected_start),
        projected_finish=date.fromordinal(days.finishes[i]),
        ready=done_on is None and all(days.done[d] is not None for d in node.deps),
        critical=i in days.critical,
    )


def _round_half_up(value: float) -> float:
    """One decimal, halves up (``round`` would send 12.25 to 12.2 and make the CRM disagree with people)."""
    return math.floor(value * 10 + 0.5) / 10


class _Headline(NamedTuple):
    """The figures the summary line shows."""

    progress: float
    phase_name: str | None
    next_title: str | None
    next_due: date | None
    go_live: date
    slip: int
    overdue: int
    waiting_on_customer: int


def summary_line(name: str, h: _Headline) -> str:
    """The one-line plan summary for the CRM, at most 255 characters.

    E.g. ``Mid-market plan: 43% · phase Integration · next: Connect SSO (due 2026-03-04) · go-live 2026-04-20
    (+6 d) · waiting on customer 2``.
    """
    parts = [f"{name}: {math.floor(h.progress + 0.5)}%"]
    parts.append("all tasks done" if h.phase_name is None else f"phase {h.phase_name}")
    if h.next_title is not None and h.next_due is not None:
        parts.append(f"next: {h.next_title} (due {h.next_due.isoformat()})")
    parts.append(f"go-live {h.go_live.isoformat()} ({h.slip:+d} d)")
    if h.overdue:
        parts.append(f"overdue {h.overdue}")
    if h.waiting_on_customer:
        parts.append(f"waiting on customer {h.waiting_on_customer}")
    return _clip(" · ".join(parts))


def _clip(text: str) -> str:
    return text if len(text) <= SUMMARY_MAX else text[: SUMMARY_MAX - 1] + "…"
