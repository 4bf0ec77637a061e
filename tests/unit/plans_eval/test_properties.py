"""Invariants of plan evaluation over random dependency graphs, start dates, completions and todays."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING

from hypothesis import given, settings
from hypothesis import strategies as st

from sync_daemon.domain.calendar import WorkCalendar
from tests.unit.plans_eval.builders import evaluate, phase, task, template

if TYPE_CHECKING:
    from sync_daemon.config.plan_models import PlanTemplate
    from sync_daemon.domain.plans import PlanEvaluation

DURATIONS = ["0bd", "1bd", "2bd", "5bd", "10bd", "1d", "3d", "1w", "2w"]
CALENDAR = WorkCalendar({5, 6}, frozenset({date(2026, 1, 1), date(2026, 4, 6), date(2026, 12, 25)}))


@dataclass(frozen=True)
class Case:
    """A random plan: template, start, today and the completions seen by today."""

    plan: PlanTemplate
    start: date
    today: date
    done: dict[str, date]


@st.composite
def templates(draw: st.DrawFn) -> PlanTemplate:
    """A random DAG (each task depends only on lower-numbered ones), listed in a shuffled order across phases."""
    n = draw(st.integers(1, 12))
    tasks = []
    for i in range(n):
        deps = draw(st.sets(st.integers(0, i - 1), max_size=3)) if i else set()
        tasks.append(
            task(
                f"t{i}",
                draw(st.sampled_from(DURATIONS)),
                *(f"t{j}" for j in sorted(deps)),
                side=draw(st.sampled_from(["vendor", "customer"])),
                due=draw(st.none() | st.sampled_from(DURATIONS)),
                weight=draw(st.sampled_from([0.5, 1.0, 2.0, 3.0])),
            )
        )
    order = draw(st.permutations(tasks))
    cuts = sorted(draw(st.sets(st.integers(1, n - 1), max_size=2))) if n > 1 else []
    bounds = [0, *cuts, n]
    phases = [phase(f"p{k}", *order[lo:hi]) for k, (lo, hi) in enumerate(itertools.pairwise(bounds))]
    return template(*phases, target_days=draw(st.integers(1, 120)))


@st.composite
def cases(draw: st.DrawFn, *, all_done: bool = False) -> Case:
    """A plan with a random subset of tasks done on dates between a few days before the start and today."""
    plan = draw(templates())
    start = draw(st.dates(min_value=date(2025, 1, 1), max_value=date(2027, 12, 31)))
    today = start + timedelta(days=draw(st.integers(0, 150)))
    ids = [t.id for p in plan.phases for t in p.tasks]
    chosen = ids if all_done else draw(st.lists(st.sampled_from(ids), unique=True))
    when = st.dates(min_value=start - timedelta(days=5), max_value=today)
    return Case(plan, start, today, {tid: draw(when) for tid in chosen})


def run(case: Case, done: dict[str, date] | None = None) -> PlanEvaluation:
    return evaluate(case.plan, case.start, case.done if done is None else done, case.today, calendar=CALENDAR)


@settings(max_examples=150, deadline=None)
@given(case=cases(), data=st.data())
def test_completing_a_task_never_lowers_progress(case: Case, data: st.DataObject) -> None:
    """Adding any open task to the done set, on or before today, keeps or raises progress."""
    before = run(case)
    open_ids = [t.id for t in before.tasks if t.status != "done"]
    if not open_ids:
        assert before.progress == 100.0
        return
    tid = data.draw(st.sampled_from(open_ids))
    when = data.draw(st.dates(min_value=case.start - timedelta(days=5), max_value=case.today))
    after = run(case, {**case.done, tid: when})
    assert after.progress >= before.progress


@settings(max_examples=150, deadline=None)
@given(case=cases())
def test_unfinished_plans_never_go_live_before_today(case: Case) -> None:
    """With any task open, the projected go-live (and every open task's finish) is today or later."""
    ev = run(case)
    open_tasks = [t for t in ev.tasks if t.status != "done"]
    if open_tasks:
        assert ev.projected_go_live >= case.today
        assert all(t.projected_finish >= case.today for t in open_tasks)
        assert ev.current_phase is not None
        assert ev.next_task is not None


@settings(max_examples=100, deadline=None)
@given(case=cases(all_done=True))
def test_all_done_plans_are_complete_and_slip_from_the_real_completion(case: Case) -> None:
    """Every task done: progress 100, go-live the last completion, slip against the target from that date."""
    ev = run(case)
    last = max(case.done.values())
    assert ev.progress == 100.0
    assert ev.projected_go_live == last
    assert ev.slip_days == (last - (case.start + timedelta(days=case.plan.target_days))).days
    assert (ev.current_phase, ev.next_task, ev.overdue_count, ev.waiting_on_customer) == (None, None, 0, 0)


@settings(max_examples=150, deadline=None)
@given(case=cases())
def test_critical_path_is_a_dependency_chain_ending_at_the_go_live(case: Case) -> None:
    """Each task on the path depends on the one before it and finishes no earlier; the last sets the go-live."""
    ev = run(case)
    deps = {t.id: set(t.depends_on) for p in case.plan.phases for t in p.tasks}
    path = ev.critical_path
    assert path
    assert all(prev in deps[nxt] for prev, nxt in itertools.pairwise(path))
    finishes = [ev.task(tid).projected_finish for tid in path]
    assert finishes == sorted(finishes)
    assert ev.task(path[-1]).projected_finish == ev.projected_go_live
    assert {t.id for t in ev.tasks if t.critical} == set(path)


@settings(max_examples=150, deadline=None)
@given(case=cases())
def test_schedules_respect_dependencies_and_deadlines(case: Case) -> None:
    """Starts follow dependencies, planned dues sit within [start, start + duration], summaries fit 255 chars."""
    ev = run(case)
    by_id = {t.id: t for t in ev.tasks}
    for spec in (t for p in case.plan.phases for t in p.tasks):
        got = by_id[spec.id]
        assert got.planned_start == max((by_id[d].planned_due for d in spec.depends_on), default=case.start)
        assert got.planned_start <= got.planned_due <= CALENDAR.add(got.planned_start, spec.duration)
        if got.projected_start is not None:
            assert all(got.projected_start >= by_id[d].projected_finish for d in spec.depends_on)
            assert got.projected_finish == CALENDAR.add(got.projected_start, spec.duration)
    assert len(ev.summary) <= 255
