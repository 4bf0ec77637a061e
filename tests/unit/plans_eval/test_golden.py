"""Hand-computed plans: due dates, overdue, projection, slip, critical path, progress, summary.

Calendar for every case: Saturday and Sunday off; case 1 adds Easter Monday 2026-04-06 as a holiday.
Weekdays used below: 2026-03-02 Mon, 03-06 Fri, 03-09 Mon, 03-16 Mon, 03-20 Fri, 03-23 Mon, 03-25 Wed,
2026-04-02 Thu, 04-06 Mon (holiday), 04-11 Sat, 04-18 Sat.
"""

from __future__ import annotations

import pytest

from sync_daemon.config.plan_models import HealthThresholds, Task
from sync_daemon.domain.calendar import WorkCalendar
from sync_daemon.domain.plans import PlanEvaluator, TemplateGraphError
from tests.unit.plans_eval.builders import PLAIN, d, evaluate, phase, task, template

EASTER = WorkCalendar({5, 6}, frozenset({d("2026-04-06")}))

SMALL = template(
    phase("setup", task("kickoff", "1bd"), task("install", "2bd", "kickoff")),
    phase("launch", task("train", "3d", "install"), task("go_live", "1w", "train")),
    target_days=14,
)


def test_business_days_across_a_weekend_and_a_holiday() -> None:
    """Planned dues skip the weekend and Easter Monday; calendar-day tasks do not; go-live slips 2 days."""
    ev = evaluate(SMALL, d("2026-04-02"), {}, today=d("2026-04-02"), calendar=EASTER)
    # kickoff: starts Thu 04-02, 1bd -> Fri 04-03.
    # install: starts at kickoff's due Fri 04-03; 2bd: Sat, Sun, Mon 04-06 (holiday) skipped -> Tue 04-07 (1),
    #          Wed 04-08 (2).
    # train:   starts Wed 04-08, 3d -> Sat 04-11 (calendar days).
    # go_live: starts Sat 04-11, 1w = 7d -> Sat 04-18.
    dues = {t.id: t.planned_due for t in ev.tasks}
    assert dues == {
        "kickoff": d("2026-04-03"),
        "install": d("2026-04-08"),
        "train": d("2026-04-11"),
        "go_live": d("2026-04-18"),
    }
    assert ev.task("install").planned_start == d("2026-04-03")
    # Nothing done and today = start: the projection is the baseline.
    assert [t.projected_finish for t in ev.tasks] == list(dues.values())
    # Target 04-02 + 14 = 04-16; go-live 04-18 -> slip +2 (below at_risk 7: on track).
    assert (ev.target_date, ev.projected_go_live, ev.slip_days, ev.health) == (
        d("2026-04-16"),
        d("2026-04-18"),
        2,
        "on_track",
    )
    assert ev.critical_path == ("kickoff", "install", "train", "go_live")
    assert (ev.progress, ev.current_phase, ev.next_task, ev.next_task_due) == (0.0, "setup", "kickoff", d("2026-04-03"))


DIAMOND = template(
    phase(
        "only",
        task("a", "2bd"),
        task("b", "5bd", "a"),
        task("c", "3bd", "a"),
        task("d", "1bd", "b", "c"),
    ),
    target_days=14,
)


def test_diamond_critical_path_follows_the_longer_branch() -> None:
    """A -> {B (5bd), C (3bd)} -> D: the critical path is A, B, D and go-live is D's finish."""
    ev = evaluate(DIAMOND, d("2026-03-02"), {}, today=d("2026-03-02"))
    # a: Mon 03-02 + 2bd = Wed 03-04.
    # b: starts 03-04, 5bd = Thu 05, Fri 06, Mon 09, Tue 10, Wed 11 -> 03-11.
    # c: starts 03-04, 3bd = Thu 05, Fri 06, Mon 09 -> 03-09 (2 business days of slack).
    # d: starts max(03-11, 03-09) = 03-11, 1bd -> Thu 03-12 = go-live.
    assert [t.planned_due for t in ev.tasks] == [d("2026-03-04"), d("2026-03-11"), d("2026-03-09"), d("2026-03-12")]
    assert ev.critical_path == ("a", "b", "d")
    assert [t.critical for t in ev.tasks] == [True, True, False, True]
    assert ev.projected_go_live == d("2026-03-12")
    # Target 03-02 + 14 = 03-16: four days ahead.
    assert ev.slip_days == -4


def test_diamond_late_branch_takes_over_the_critical_path_from_today() -> None:
    """When C is still open on 03-12 the path becomes C, D, started by today rather than by a dependency."""
    ev = evaluate(DIAMOND, d("2026-03-02"), {"a": d("2026-03-04"), "b": d("2026-03-11")}, today=d("2026-03-12"))
    # c: open, planned due 03-09 < today 03-12 -> overdue; projected start max(today 03-12, a 03-04) = Thu 03-12,
    #    3bd = Fri 13, Mon 16, Tue 17 -> 03-17.
    # d: starts max(b 03-11, c 03-17) = 03-17, 1bd -> Wed 03-18 = go-live; target 03-16 -> slip +2.
    assert ev.task("c").status == "overdue"
    assert ev.task("c").projected_finish == d("2026-03-17")
    assert ev.projected_go_live == d("2026-03-18")
    assert ev.slip_days == 2
    # c's start was set by today (no dependency finished on 03-12), so the chain starts at c.
    assert ev.critical_path == ("c", "d")
    assert ev.progress == 50.0


MID_MARKET = template(
    phase(
        "setup",
        task("kickoff", "1bd"),
        task("provide_data", "3bd", "kickoff", side="customer", title="Provide data"),
        name="Setup",
    ),
    phase(
        "integration",
        task("import_data", "2bd", "provide_data"),
        task("connect_sso", "2bd", "kickoff", side="customer", title="Connect SSO"),
        name="Integration",
    ),
    phase("launch", task("train", "1bd", "import_data", "connect_sso"), task("go_live", "1bd", "train")),
    target_days=14,
    name="Mid-market plan",
)
MID_DONE = {"kickoff": d("2026-03-03"), "connect_sso": d("2026-03-05")}


def test_late_customer_task_pushes_every_dependent_and_the_go_live() -> None:
    """Customer data still missing on 03-16 pushes import, training and go-live 9 days past the target."""
    ev = evaluate(MID_MARKET, d("2026-03-02"), MID_DONE, today=d("2026-03-16"))
    # Baseline from Mon 03-02: kickoff -> Tue 03-03; provide_data 03-03 + 3bd -> Fri 03-06;
    # import_data 03-06 + 2bd -> Tue 03-10; connect_sso 03-03 + 2bd -> Thu 03-05;
    # train max(03-10, 03-05) + 1bd -> Wed 03-11; go_live -> Thu 03-12 (inside the 14-day target 03-16).
    planned = {t.id: t.planned_due for t in ev.tasks}
    assert planned == {
        "kickoff": d("2026-03-03"),
        "provide_data": d("2026-03-06"),
        "import_data": d("2026-03-10"),
        "connect_sso": d("2026-03-05"),
        "train": d("2026-03-11"),
        "go_live": d("2026-03-12"),
    }
    # Projection from today Mon 03-16: provide_data 03-16 + 3bd -> Thu 03-19; import_data 03-19 + 2bd -> Fri 20,
    # Mon 23 -> 03-23; train 03-23 + 1bd -> Tue 03-24; go_live -> Wed 03-25.
    projected = {t.id: t.projected_finish for t in ev.tasks}
    assert projected == {
        "kickoff": d("2026-03-03"),
        "provide_data": d("2026-03-19"),
        "import_data": d("2026-03-23"),
        "connect_sso": d("2026-03-05"),
        "train": d("2026-03-24"),
        "go_live": d("2026-03-25"),
    }
    # Every dependent of provide_data finishes later than planned.
    assert all(projected[t] > planned[t] for t in ("provide_data", "import_data", "train", "go_live"))
    # Slip: 03-25 - target 03-16 = +9 >= at_risk 7, < off_track 21.
    assert (ev.projected_go_live, ev.slip_days, ev.health) == (d("2026-03-25"), 9, "at_risk")
    # Each open task's planned due (03-06, 03-10, 03-11, 03-12) is before 03-16: 4 overdue.
    assert ev.overdue_count == 4
    assert ev.critical_path == ("provide_data", "import_data", "train", "go_live")
    # 2 of 6 equal weights done: 33.3%. Only provide_data is ready (kickoff done): it waits on the customer.
    assert (ev.progress, ev.current_phase, ev.current_phase_name) == (33.3, "setup", "Setup")
    assert (ev.next_task, ev.next_task_due) == ("provide_data", d("2026-03-06"))
    assert (ev.waiting_on_customer, ev.waiting_on_vendor) == (1, 0)
    assert ev.summary == (
        "Mid-market plan: 33% · phase Setup · next: Provide data (due 2026-03-06) · go-live 2026-03-25 (+9 d)"
        " · overdue 4 · waiting on customer 1"
    )


def test_the_same_plan_with_the_customer_on_time_slips_less() -> None:
    """Had the data arrived on its due date 03-06, import would start today and go-live would be 03-20 (+4)."""
    done = {**MID_DONE, "provide_data": d("2026-03-06")}
    ev = evaluate(MID_MARKET, d("2026-03-02"), done, today=d("2026-03-16"))
    # import_data: max(today 03-16, 03-06) + 2bd -> Wed 03-18; train -> Thu 03-19; go_live -> Fri 03-20.
    assert ev.projected_go_live == d("2026-03-20")
    assert (ev.slip_days, ev.health) == (4, "on_track")
    assert (ev.next_task, ev.waiting_on_customer, ev.waiting_on_vendor) == ("import_data", 0, 1)
    assert (ev.current_phase, ev.progress) == ("integration", 50.0)


def test_deadlines_pull_planned_dues_earlier_but_never_before_the_start() -> None:
    """A due offset caps the planned due, is ignored when the duration is shorter, and never precedes the start."""
    plan = template(
        phase(
            "legal",
            task("contract", "10bd", due="5bd"),
            task("review", "5bd", "contract", due="3d"),
            task("billing", "2bd", due="2w"),
        )
    )
    ev = evaluate(plan, d("2026-03-02"), {}, today=d("2026-03-02"))
    # contract: 03-02 + 10bd = Mon 03-16; deadline 03-02 + 5bd = Mon 03-09 -> 03-09.
    # review: starts 03-09; 03-09 + 5bd = 03-16; deadline 03-02 + 3d = 03-05 < start -> the start, 03-09.
    # billing: 03-02 + 2bd = Wed 03-04; deadline 03-02 + 14d = 03-16 -> 03-04.
    assert [t.planned_due for t in ev.tasks] == [d("2026-03-09"), d("2026-03-09"), d("2026-03-04")]
    # The projection is reality, not the deadline: contract 03-16, review 03-16 + 5bd = Mon 03-23.
    assert [t.projected_finish for t in ev.tasks] == [d("2026-03-16"), d("2026-03-23"), d("2026-03-04")]
    # On 03-10 the contract is overdue against its deadline even though its 10bd are not over.
    assert evaluate(plan, d("2026-03-02"), {}, today=d("2026-03-10")).task("contract").status == "overdue"


def test_every_task_done_goes_live_on_the_last_completion() -> None:
    """All done: progress 100, no phase or next task, go-live the latest completion, slip from that real date."""
    done = {"a": d("2026-03-03"), "b": d("2026-03-20"), "c": d("2026-03-06"), "d": d("2026-03-18")}
    ev = evaluate(DIAMOND, d("2026-03-02"), done, today=d("2026-03-25"))
    # d was ticked on 03-18, before b (03-20): still done. Go-live = max = 03-20; target 03-16 -> slip +4.
    assert ev.task("d").status == "done"
    assert (ev.progress, ev.projected_go_live, ev.slip_days, ev.health) == (100.0, d("2026-03-20"), 4, "on_track")
    assert (ev.current_phase, ev.next_task, ev.next_task_due, ev.overdue_count) == (None, None, None, 0)
    # b set the go-live; its latest dependency finished before it was a (03-03).
    assert ev.critical_path == ("a", "b")
    assert ev.summary == "Test plan: 100% · all tasks done · go-live 2026-03-20 (+4 d)"


def test_a_task_done_before_its_dependency_stays_done_and_its_dependents_wait() -> None:
    """D ticked while C is open: D counts as done, C is the next task, the go-live waits for C."""
    done = {"a": d("2026-03-04"), "b": d("2026-03-11"), "d": d("2026-03-12")}
    ev = evaluate(DIAMOND, d("2026-03-02"), done, today=d("2026-03-13"))
    # c: max(today Fri 03-13, a 03-04) + 3bd = Mon 16, Tue 17, Wed 18 -> 03-18 = go-live (d stays at 03-12).
    assert ev.task("d").status == "done"
    assert (ev.next_task, ev.progress, ev.projected_go_live) == ("c", 75.0, d("2026-03-18"))
    assert ev.critical_path == ("c",)


def test_progress_is_weighted_and_rounds_halves_up() -> None:
    """Weights 1 and 15 with the light task done: 1/16 = 6.25% shows as 6.3."""
    plan = template(phase("p", task("light", "1bd", weight=1), task("heavy", "1bd", weight=15)))
    ev = evaluate(plan, d("2026-03-02"), {"light": d("2026-03-03")}, today=d("2026-03-03"))
    assert ev.progress == 6.3


def test_health_thresholds_are_inclusive() -> None:
    """Slip equal to a threshold reaches it: +9 with at_risk 2 / off_track 9 is off track."""
    ev = evaluate(
        MID_MARKET,
        d("2026-03-02"),
        MID_DONE,
        today=d("2026-03-16"),
        thresholds=HealthThresholds(at_risk_slip_days=2, off_track_slip_days=9),
    )
    assert ev.health == "off_track"


def test_next_task_ties_go_to_template_order() -> None:
    """Two ready tasks due the same day: the first in the template is next."""
    plan = template(phase("p", task("second", "2bd", side="customer"), task("first", "2bd")))
    ev = evaluate(plan, d("2026-03-02"), {}, today=d("2026-03-02"))
    assert ev.next_task == "second"
    assert (ev.waiting_on_customer, ev.waiting_on_vendor) == (1, 1)


def test_template_order_need_not_follow_dependencies() -> None:
    """A task listed before its dependency is still scheduled after it."""
    plan = template(phase("p", task("later", "1bd", "earlier"), task("earlier", "1bd")))
    ev = evaluate(plan, d("2026-03-06"), {}, today=d("2026-03-06"))
    # earlier: Fri 03-06 + 1bd -> Mon 03-09; later: 03-09 + 1bd -> Tue 03-10.
    assert [t.planned_due for t in ev.tasks] == [d("2026-03-10"), d("2026-03-09")]
    assert ev.critical_path == ("earlier", "later")


def test_unknown_tasks_in_done_are_ignored() -> None:
    """A completion recorded for a task the template no longer has changes nothing."""
    base = evaluate(DIAMOND, d("2026-03-02"), {}, today=d("2026-03-02"))
    assert evaluate(DIAMOND, d("2026-03-02"), {"removed": d("2026-03-02")}, today=d("2026-03-02")) == base


def test_one_evaluator_serves_many_start_dates() -> None:
    """The per-start baseline cache gives each start its own planned dates."""
    evaluator = PlanEvaluator(DIAMOND, PLAIN, HealthThresholds())
    first = evaluator.evaluate(d("2026-03-02"), {}, d("2026-03-02"))
    second = evaluator.evaluate(d("2026-03-09"), {}, d("2026-03-09"))
    assert first.task("d").planned_due == d("2026-03-12")
    assert second.task("d").planned_due == d("2026-03-19")


def test_summary_is_clipped_to_255_characters() -> None:
    """A long plan name and task title still fit the CRM's 255-character field."""
    plan = template(phase("p", task("t", "1bd", title="x" * 120)), name="N" * 200)
    summary = evaluate(plan, d("2026-03-02"), {}, today=d("2026-03-02")).summary
    assert len(summary) == 255
    assert summary.endswith("…")


@pytest.mark.parametrize(
    ("tasks", "message"),
    [
        ((task("a", "1bd", "b"), task("b", "1bd", "a")), "cycle"),
        ((task("a", "1bd", "ghost"),), "unknown"),
        ((task("a", "1bd"), task("a", "2bd")), "duplicate"),
    ],
)
def test_broken_graphs_are_refused(tasks: tuple[Task, ...], message: str) -> None:
    """Cycles, unknown dependencies and duplicate ids raise TemplateGraphError naming the problem."""
    plan = template(phase("p", *tasks))
    with pytest.raises(TemplateGraphError, match=message):
        PlanEvaluator(plan, PLAIN, HealthThresholds())


def test_critical_path_never_runs_backwards_in_time() -> None:
    """X ticked (03-10) before its dependency Y (03-13): the path to G stops at X instead of going back to Y."""
    plan = template(phase("p", task("y", "1bd"), task("x", "1bd", "y"), task("g", "1bd", "x")))
    done = {"y": d("2026-03-13"), "x": d("2026-03-10"), "g": d("2026-03-20")}
    ev = evaluate(plan, d("2026-03-02"), done, today=d("2026-03-20"))
    # g sets the go-live (03-20); its dependency x finished 03-10 <= 03-20; x's dependency y finished after x.
    assert ev.critical_path == ("x", "g")
