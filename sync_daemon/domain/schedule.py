"""The two schedules of a plan, on day ordinals: the planned baseline and the projection from today.

Both are forward passes over the tasks in dependency order. The **baseline** starts every task when all its
dependencies' planned dues are reached (the plan start for tasks without dependencies) and ends it ``duration``
later; a task's ``due`` is a deadline from the plan start that can only pull its planned due earlier, never before
the task's own start. The **projection** keeps done tasks at their completion date and schedules every open task
from today, after its dependencies' projected finishes.

A template is compiled once (:class:`CompiledPlan`): dependency indices, parsed durations and a topological order,
so evaluating 100,000 accounts never re-parses a duration or re-sorts a graph. The baseline depends only on the
start date, so it is cached per start date.
"""

from __future__ import annotations

import functools
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sync_daemon.domain.calendar import Span, WorkCalendar, parse_duration

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sync_daemon.config.plan_models import PlanTemplate, Task


class TemplateGraphError(ValueError):
    """The template's dependencies are not a graph the scheduler can run (the loader should have refused it)."""


@dataclass(frozen=True, slots=True)
class Node:
    """One task, compiled: its template position, phase, dependency indices and parsed durations."""

    index: int
    task: Task
    phase_id: str
    phase_name: str
    deps: tuple[int, ...]
    span: Span
    deadline: Span | None


class CompiledPlan:
    """A template ready to schedule against one calendar: nodes in template order plus a topological order."""

    def __init__(self, template: PlanTemplate, calendar: WorkCalendar) -> None:
        self.template = template
        self.calendar = calendar
        self.nodes: tuple[Node, ...] = _compile_nodes(template)
        self.ids: tuple[str, ...] = tuple(node.task.id for node in self.nodes)
        self.order: tuple[int, ...] = _topological_order(self.nodes)
        self.total_weight = sum(node.task.weight for node in self.nodes)
        self.baseline = functools.lru_cache(maxsize=2048)(self._baseline)

    def _baseline(self, start: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """Planned (starts, dues) per task index for a plan starting on day ``start``."""
        add = self.calendar.add_ordinal
        starts = [0] * len(self.nodes)
        dues = [0] * len(self.nodes)
        for i in self.order:
            node = self.nodes[i]
            begin = max((dues[d] for d in node.deps), default=start)
            due = add(begin, node.span)
            if node.deadline is not None:
                due = max(begin, min(due, add(start, node.deadline)))
            starts[i], dues[i] = begin, due
        return tuple(starts), tuple(dues)

    def projection(self, today: int, done: Sequence[int | None]) -> tuple[list[int | None], list[int]]:
        """Projected (starts, finishes) per task index; a done task has no projected start."""
        add = self.calendar.add_ordinal
        starts: list[int | None] = [None] * len(self.nodes)
        finishes = [0] * len(self.nodes)
        for i in self.order:
            completed = done[i]
            if completed is not None:
                finishes[i] = completed
                continue
            node = self.nodes[i]
            begin = max(today, max((finishes[d] for d in node.deps), default=today))
            starts[i], finishes[i] = begin, add(begin, node.span)
        return starts, finishes

    def critical_path(self, starts: Sequence[int | None], finishes: Sequence[int]) -> tuple[int, ...]:
        """The zero-slack chain of the projection, in order, ending at the task that sets the go-live.

        Walking back from the go-live, an open task's driver is the dependency whose finish is its projected start
        (none when today set the start); a done task's driver is its latest-finishing dependency that finished no
        later than it did (the history that led to it). Ties go to template order.
        """
        go_live = max(finishes)
        current = next(i for i in range(len(self.nodes)) if finishes[i] == go_live)
        path = [current]
        while (driver := self._driver(current, starts, finishes)) is not None:
            path.append(driver)
            current = driver
        return tuple(reversed(path))

    def _driver(self, i: int, starts: Sequence[int | None], finishes: Sequence[int]) -> int | None:
        deps = sorted(self.nodes[i].deps)
        begin = starts[i]
        if begin is not None:
            return next((d for d in deps if finishes[d] == begin), None)
        eligible = [d for d in deps if finishes[d] <= finishes[i]]
        if not eligible:
            return None
        latest = max(finishes[d] for d in eligible)
        return next(d for d in eligible if finishes[d] == latest)


def _compile_nodes(template: PlanTemplate) -> tuple[Node, ...]:
    tasks = [(phase, task) for phase in template.phases for task in phase.tasks]
    index = {task.id: i for i, (_, task) in enumerate(tasks)}
    if len(index) != len(tasks):
        dupes = sorted(tid for tid, n in Counter(t.id for _, t in tasks).items() if n > 1)
        raise TemplateGraphError(f"template {template.id!r}: duplicate task ids {dupes}")
    nodes = []
    for i, (phase, task) in enumerate(tasks):
        unknown = [d for d in task.depends_on if d not in index]
        if unknown:
            raise TemplateGraphError(f"template {template.id!r}: task {task.id!r} depends on unknown {unknown}")
        deps = tuple(dict.fromkeys(index[d] for d in task.depends_on))
        deadline = parse_duration(task.due) if task.due is not None else None
        nodes.append(Node(i, task, phase.id, phase.name, deps, parse_duration(task.duration), deadline))
    return tuple(nodes)


def _topological_order(nodes: Sequence[Node]) -> tuple[int, ...]:
    """Kahn's algorithm, preferring template order among ready tasks (stable, deterministic)."""
    remaining = [len(node.deps) for node in nodes]
    dependents: list[list[int]] = [[] for _ in nodes]
    for node in nodes:
        for d in node.deps:
            dependents[d].append(node.index)
    ready = [i for i, count in enumerate(remaining) if count == 0]
    order: list[int] = []
    while ready:
        ready.sort(reverse=True)
        i = ready.pop()
        order.append(i)
        for j in dependents[i]:
            remaining[j] -= 1
            if remaining[j] == 0:
                ready.append(j)
    if len(order) != len(nodes):
        stuck = [nodes[i].task.id for i, count in enumerate(remaining) if count]
        raise TemplateGraphError(f"dependency cycle among tasks {stuck}")
    return tuple(order)
