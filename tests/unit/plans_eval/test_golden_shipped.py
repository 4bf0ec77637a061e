"""Golden figures for the three SHIPPED templates (config/plans/*.yaml), every date computed by hand.

Every plan starts on Monday 2026-05-18, one week before Memorial Day. The calendar is the one in plans.yaml:
Saturday and Sunday off, plus these holidays in the window: Mon 05-25 (Memorial Day), Fri 06-19 (Juneteenth),
Fri 07-03 (Independence Day observed), Mon 09-07 (Labor Day). Health: at_risk from a slip of 7 days, off_track
from 21.

Every task of the shipped templates is in business days (``Nbd``), so every planned and projected date lands on
a working day, and "N working days after working day k" is simply working day k + N. Working day 0 is the start;
``WD`` below is the table written out by hand (wd 4 = Fri 05-22, then Sat 23, Sun 24 and Memorial Day Mon 25
are skipped, so wd 5 = Tue 05-26):

    wd  0 Mon 05-18 |  1 Tue 05-19 |  2 Wed 05-20 |  3 Thu 05-21 |  4 Fri 05-22 |   (Mon 05-25 Memorial Day)
    wd  5 Tue 05-26 |  6 Wed 05-27 |  7 Thu 05-28 |  8 Fri 05-29
    wd  9 Mon 06-01 | 10 Tue 06-02 | 11 Wed 06-03 | 12 Thu 06-04 | 13 Fri 06-05
    wd 14 Mon 06-08 | 15 Tue 06-09 | 16 Wed 06-10 | 17 Thu 06-11 | 18 Fri 06-12
    wd 19 Mon 06-15 | 20 Tue 06-16 | 21 Wed 06-17 | 22 Thu 06-18 |   (Fri 06-19 Juneteenth)
    wd 23 Mon 06-22 | 24 Tue 06-23 | 25 Wed 06-24 | 26 Thu 06-25 | 27 Fri 06-26
    wd 28 Mon 06-29 | 29 Tue 06-30 | 30 Wed 07-01 | 31 Thu 07-02 |   (Fri 07-03 Independence Day observed)
    wd 32 Mon 07-06 | 33 Tue 07-07 | 34 Wed 07-08 | 35 Thu 07-09 | 36 Fri 07-10
    wd 37 Mon 07-13 | 38 Tue 07-14 | 39 Wed 07-15 | 40 Thu 07-16 | 41 Fri 07-17
    wd 42 Mon 07-20 | 43 Tue 07-21 | 44 Wed 07-22 | 45 Thu 07-23 | 46 Fri 07-24
    wd 47 Mon 07-27 | 48 Tue 07-28 | 49 Wed 07-29 | 50 Thu 07-30 | 51 Fri 07-31
    wd 52 Mon 08-03 | 53 Tue 08-04 | 54 Wed 08-05 | 55 Thu 08-06 | 56 Fri 08-07
    wd 57 Mon 08-10 | 58 Tue 08-11 | 59 Wed 08-12 | 60 Thu 08-13 | 61 Fri 08-14
    wd 62 Mon 08-17 | 63 Tue 08-18 | 64 Wed 08-19 | 65 Thu 08-20 | 66 Fri 08-21
    wd 67 Mon 08-24 | 68 Tue 08-25 | 69 Wed 08-26 | 70 Thu 08-27 | 71 Fri 08-28
    wd 72 Mon 08-31 | 73 Tue 09-01 | 74 Wed 09-02 | 75 Thu 09-03 | 76 Fri 09-04 |   (Mon 09-07 Labor Day)
    wd 77 Tue 09-08 | 78 Wed 09-09 | 79 Thu 09-10 | 80 Fri 09-11

Targets (calendar days from the start; May has 31 days, June 30, July 31): SMB 30 -> 05-18 + 13 = 05-31,
+ 17 = Wed 06-17. Mid-market 60 -> 05-31 (+13), 06-30 (+43), + 17 = Fri 07-17. Enterprise 90 -> 07-31 (+74),
+ 16 = Sun 08-16.

A fresh plan (nothing done, today = start) projects exactly its baseline: no task of the shipped templates has a
``due`` deadline that binds (each is later than the task's own duration), so projected finish = planned due.
"""

from __future__ import annotations

from datetime import date

import pytest

from sync_daemon.config.loader import load_mapping
from sync_daemon.config.plan_loader import PlanSet, known_account_fields, load_plans
from sync_daemon.domain.calendar import WorkCalendar
from sync_daemon.domain.plans import PlanEvaluation, PlanEvaluator
from sync_daemon.resources import shipped

START = date(2026, 5, 18)
_WD_TEXT = """
    05-18 05-19 05-20 05-21 05-22
    05-26 05-27 05-28 05-29
    06-01 06-02 06-03 06-04 06-05
    06-08 06-09 06-10 06-11 06-12
    06-15 06-16 06-17 06-18
    06-22 06-23 06-24 06-25 06-26
    06-29 06-30 07-01 07-02
    07-06 07-07 07-08 07-09 07-10
    07-13 07-14 07-15 07-16 07-17
    07-20 07-21 07-22 07-23 07-24
    07-27 07-28 07-29 07-30 07-31
    08-03 08-04 08-05 08-06 08-07
    08-10 08-11 08-12 08-13 08-14
    08-17 08-18 08-19 08-20 08-21
    08-24 08-25 08-26 08-27 08-28
    08-31 09-01 09-02 09-03 09-04
    09-08 09-09 09-10 09-11
"""
WD: tuple[date, ...] = tuple(date.fromisoformat(f"2026-{md}") for md in _WD_TEXT.split())


def d(month_day: str) -> date:
    """A 2026 date written ``MM-DD``, short to read in the golden figures."""
    return date.fromisoformat(f"2026-{month_day}")


@pytest.fixture(scope="module")
def plan_set() -> PlanSet:
    return load_plans(shipped("config/plans"), known_account_fields(load_mapping(shipped("mappings/salesforce.yaml"))))


def evaluator(plan_set: PlanSet, template_id: str) -> PlanEvaluator:
    """An evaluator of a shipped template with the shipped calendar and thresholds."""
    config = plan_set.config
    return PlanEvaluator(plan_set.templates[template_id], WorkCalendar.from_config(config.calendar), config.health)


def dues(ev: PlanEvaluation) -> dict[str, date]:
    return {t.id: t.planned_due for t in ev.tasks}


def finishes(ev: PlanEvaluation) -> dict[str, date]:
    return {t.id: t.projected_finish for t in ev.tasks}


def pushed(ev: PlanEvaluation, task_ids: list[str]) -> dict[str, tuple[date, date, int]]:
    """(planned due, projected finish, working days pushed) per task, the push counted on the hand table."""
    tasks = [ev.task(tid) for tid in task_ids]
    return {
        t.id: (t.planned_due, t.projected_finish, WD.index(t.projected_finish) - WD.index(t.planned_due)) for t in tasks
    }


def headline(ev: PlanEvaluation) -> tuple[date, date, int, str]:
    return ev.target_date, ev.projected_go_live, ev.slip_days, ev.health


def test_hand_table_is_the_shipped_working_calendar(plan_set: PlanSet) -> None:
    """The hand-written table lists exactly the weekdays from the start to 09-11 that plans.yaml does not close."""
    holidays = set(plan_set.config.calendar.holidays)
    assert {d("05-25"), d("06-19"), d("07-03"), d("09-07")} <= holidays
    assert plan_set.config.calendar.weekend == ["sat", "sun"]
    days = [date.fromordinal(o) for o in range(START.toordinal(), d("09-11").toordinal() + 1)]
    assert [day for day in days if day.weekday() < 5 and day not in holidays] == list(WD)
    assert (WD[4], WD[5], WD[22], WD[23], WD[31], WD[32], WD[76], WD[77]) == (
        d("05-22"), d("05-26"), d("06-18"), d("06-22"), d("07-02"), d("07-06"), d("09-04"), d("09-08"),
    )  # fmt: skip


# --------------------------------------------------------------------------------------------------- SMB (30 days)

SMB_DUES = {
    # welcome_call: no dependency, starts Mon 05-18 (wd 0); 2bd: Tue 19 (1), Wed 20 (2) -> Wed 05-20.
    #   Its deadline due 3bd = Thu 05-21 is later, so it does not pull the due earlier.
    "welcome_call": d("05-20"),
    # provision_workspace: starts Mon 05-18; 1bd: Tue 19 (1) -> Tue 05-19.
    "provision_workspace": d("05-19"),
    # billing_setup: starts Mon 05-18; 3bd: Tue 19 (1), Wed 20 (2), Thu 21 (3) -> Thu 05-21.
    "billing_setup": d("05-21"),
    # invite_team: after provision_workspace Tue 05-19 (wd 1); 5bd: Wed 20 (1), Thu 21 (2), Fri 22 (3),
    #   [Sat 23, Sun 24, Mon 25 Memorial Day], Tue 26 (4), Wed 27 (5) -> Wed 05-27 (wd 6).
    "invite_team": d("05-27"),
    # import_data: after max(welcome_call Wed 05-20, provision_workspace Tue 05-19) = Wed 05-20 (wd 2); 5bd:
    #   Thu 21 (1), Fri 22 (2), [Sat, Sun, Mon 25 Memorial Day], Tue 26 (3), Wed 27 (4), Thu 28 (5) -> Thu 05-28 (wd 7).
    "import_data": d("05-28"),
    # connect_integration: after import_data Thu 05-28 (wd 7); 5bd: Fri 29 (1), Mon 06-01 (2), Tue 02 (3),
    #   Wed 03 (4), Thu 04 (5) -> Thu 06-04 (wd 12).
    "connect_integration": d("06-04"),
    # admin_training: after invite_team Wed 05-27 (wd 6); 3bd: Thu 28 (1), Fri 29 (2), Mon 06-01 (3)
    #   -> Mon 06-01 (wd 9).
    "admin_training": d("06-01"),
    # first_value: after max(connect_integration Thu 06-04 wd 12, admin_training Mon 06-01 wd 9) = Thu 06-04;
    #   5bd: Fri 05 (1), Mon 08 (2), Tue 09 (3), Wed 10 (4), Thu 11 (5) -> Thu 06-11 (wd 17).
    "first_value": d("06-11"),
}


def test_smb_planned_due_of_every_task(plan_set: PlanSet) -> None:
    """Every SMB planned due skips the weekends and Memorial Day exactly as computed by hand."""
    ev = evaluator(plan_set, "smb").evaluate(START, {}, today=START)
    assert dues(ev) == SMB_DUES


def test_smb_fresh_plan_critical_path_go_live_and_slip(plan_set: PlanSet) -> None:
    """A fresh SMB plan projects its baseline, goes live Thu 06-11 and is 6 days ahead of its 30-day target."""
    ev = evaluator(plan_set, "smb").evaluate(START, {}, today=START)
    assert finishes(ev) == SMB_DUES
    # first_value (wd 17) is the only latest finish. It starts at connect_integration's finish (wd 12), which
    # starts at import_data's (wd 7), which starts at welcome_call's (wd 2; provision_workspace ends wd 1);
    # welcome_call starts on the start day itself.
    assert ev.critical_path == ("welcome_call", "import_data", "connect_integration", "first_value")
    # Target Wed 06-17; go-live Thu 06-11 -> 06-11 - 06-17 = -6 days: on track.
    assert headline(ev) == (d("06-17"), d("06-11"), -6, "on_track")


def test_smb_late_customer_import_pushes_its_dependents_and_go_live(plan_set: PlanSet) -> None:
    """The customer's data import, still open on 06-08, pushes the integration and first value by 12 days."""
    done = {  # every task outside the import chain done on its planned due
        "welcome_call": d("05-20"),
        "provision_workspace": d("05-19"),
        "billing_setup": d("05-21"),
        "invite_team": d("05-27"),
        "admin_training": d("06-01"),
    }
    today = d("06-08")  # Mon, wd 14: import_data (customer, critical, due Thu 05-28 = wd 7) is 7 working days late.
    ev = evaluator(plan_set, "smb").evaluate(START, done, today=today)
    # import_data: starts max(today wd 14, welcome wd 2, provision wd 1) = wd 14; 5bd: Tue 09 (1), Wed 10 (2),
    #   Thu 11 (3), Fri 12 (4), Mon 15 (5) -> Mon 06-15 (wd 19), planned wd 7: pushed 12.
    # connect_integration: starts wd 19; 5bd: Tue 16 (1), Wed 17 (2), Thu 18 (3), [Fri 06-19 Juneteenth, Sat, Sun],
    #   Mon 22 (4), Tue 23 (5) -> Tue 06-23 (wd 24), planned wd 12: pushed 12.
    # first_value: starts max(connect wd 24, admin_training done 06-01 = wd 9) = wd 24; 5bd: Wed 24 (1), Thu 25 (2),
    #   Fri 26 (3), Mon 29 (4), Tue 30 (5) -> Tue 06-30 (wd 29), planned wd 17: pushed 12.
    assert pushed(ev, ["import_data", "connect_integration", "first_value"]) == {
        "import_data": (d("05-28"), d("06-15"), 12),
        "connect_integration": (d("06-04"), d("06-23"), 12),
        "first_value": (d("06-11"), d("06-30"), 12),
    }
    assert ev.task("import_data").status == "overdue"
    assert ev.critical_path == ("import_data", "connect_integration", "first_value")
    # Go-live Tue 06-30; target Wed 06-17 -> slip 13 days: at_risk (7 <= 13 < 21).
    assert headline(ev) == (d("06-17"), d("06-30"), 13, "at_risk")
    # Overdue: import (due 05-28) and connect (due 06-04); first_value is due 06-11, after today. The only ready
    # task is import_data, on the customer. Progress: done weight 1+1+0.5+1+1 = 4.5 of 8.5 = 52.94 -> 52.9 %.
    assert (ev.overdue_count, ev.waiting_on_customer, ev.waiting_on_vendor, ev.progress) == (2, 1, 0, 52.9)


# ---------------------------------------------------------------------------------------------- mid-market (60 days)

MID_DUES = {
    # Critical path, day by day:
    # kickoff_call: starts Mon 05-18; 3bd: Tue 19 (1), Wed 20 (2), Thu 21 (3) -> Thu 05-21 (wd 3).
    #   Its deadline due 5bd = Tue 05-26 (wd 5) is later: no pull.
    "kickoff_call": d("05-21"),
    # success_plan: after kickoff_call Thu 05-21; 5bd: Fri 22 (1), [Sat, Sun, Mon 25 Memorial Day], Tue 26 (2),
    #   Wed 27 (3), Thu 28 (4), Fri 29 (5) -> Fri 05-29 (wd 8).
    "success_plan": d("05-29"),
    # configure_workspace: after max(success_plan Fri 05-29 wd 8, provision_tenant Wed 05-20 wd 2) = Fri 05-29;
    #   5bd: Mon 06-01 (1), Tue 02 (2), Wed 03 (3), Thu 04 (4), Fri 05 (5) -> Fri 06-05 (wd 13).
    "configure_workspace": d("06-05"),
    # import_data: after configure_workspace Fri 06-05; 10bd: Mon 08 (1), Tue 09 (2), Wed 10 (3), Thu 11 (4),
    #   Fri 12 (5), Mon 15 (6), Tue 16 (7), Wed 17 (8), Thu 18 (9), [Fri 06-19 Juneteenth, Sat, Sun], Mon 22 (10)
    #   -> Mon 06-22 (wd 23).
    "import_data": d("06-22"),
    # roll_out: after max(admin_training Fri 06-12 wd 18, import_data Mon 06-22 wd 23, assign_licenses Tue 05-26
    #   wd 5) = Mon 06-22; 10bd: Tue 23 (1), Wed 24 (2), Thu 25 (3), Fri 26 (4), Mon 29 (5), Tue 30 (6),
    #   Wed 07-01 (7), Thu 02 (8), [Fri 07-03 Independence Day observed, Sat, Sun], Mon 06 (9), Tue 07 (10)
    #   -> Tue 07-07 (wd 33).
    "roll_out": d("07-07"),
    # first_value: after max(roll_out Tue 07-07 wd 33, verify_integration Wed 06-24 wd 25) = Tue 07-07; 5bd:
    #   Wed 08 (1), Thu 09 (2), Fri 10 (3), Mon 13 (4), Tue 14 (5) -> Tue 07-14 (wd 38).
    "first_value": d("07-14"),
    # Off the critical path, on the working-day table (start wd + duration = due wd):
    "billing_setup": d("05-26"),  # no dependency: wd 0 + 5 = wd 5
    "provision_tenant": d("05-20"),  # no dependency: wd 0 + 2 = wd 2
    "assign_licenses": d("05-26"),  # after provision_tenant wd 2: + 3 = wd 5
    "tax_documents": d("06-09"),  # after billing_setup wd 5: + 10 = wd 15
    "configure_sso": d("06-04"),  # after provision_tenant wd 2: + 10 = wd 12
    "connect_integration": d("06-18"),  # after configure_sso wd 12: + 10 = wd 22
    "verify_integration": d("06-24"),  # after connect_integration wd 22: + 3 = wd 25
    "admin_training": d("06-12"),  # after configure_workspace wd 13: + 5 = wd 18
}


def test_mid_market_planned_dues(plan_set: PlanSet) -> None:
    """Every mid-market planned due skips weekends, Memorial Day, Juneteenth and July 3rd as computed by hand."""
    ev = evaluator(plan_set, "mid_market").evaluate(START, {}, today=START)
    assert dues(ev) == MID_DUES


def test_mid_market_fresh_plan_critical_path_go_live_and_slip(plan_set: PlanSet) -> None:
    """A fresh mid-market plan goes live Tue 07-14 through the workspace and data import, 3 days ahead."""
    ev = evaluator(plan_set, "mid_market").evaluate(START, {}, today=START)
    assert finishes(ev) == MID_DUES
    # first_value (wd 38) <- roll_out (wd 33; import_data wd 23 beats admin_training wd 18 and assign_licenses
    # wd 5) <- import_data <- configure_workspace (wd 13) <- success_plan (wd 8, beats provision_tenant wd 2)
    # <- kickoff_call (wd 3) <- the start.
    assert ev.critical_path == (
        "kickoff_call", "success_plan", "configure_workspace", "import_data", "roll_out", "first_value",
    )  # fmt: skip
    # Target Fri 07-17; go-live Tue 07-14 -> -3 days: on track.
    assert headline(ev) == (d("07-17"), d("07-14"), -3, "on_track")


def test_mid_market_late_customer_success_plan_pushes_every_dependent(plan_set: PlanSet) -> None:
    """The sponsor's success plan, open on 06-08, pushes its five dependents by 11 working days; verify is not."""
    done = {  # kickoff on time; every task that does not depend on success_plan done on or before its planned due
        "kickoff_call": d("05-21"),
        "billing_setup": d("05-26"),
        "provision_tenant": d("05-20"),
        "assign_licenses": d("05-26"),
        "tax_documents": d("06-05"),  # wd 13, early (due wd 15)
        "configure_sso": d("06-04"),
        "connect_integration": d("06-05"),  # wd 13, early (due wd 22)
    }
    today = d("06-08")  # Mon, wd 14: success_plan (customer, critical, due Fri 05-29 = wd 8) is 6 working days late.
    ev = evaluator(plan_set, "mid_market").evaluate(START, done, today=today)
    # success_plan: starts max(today wd 14, kickoff wd 3) = wd 14; 5bd: Tue 09 (1), Wed 10 (2), Thu 11 (3),
    #   Fri 12 (4), Mon 15 (5) -> Mon 06-15 (wd 19), planned wd 8: pushed 11.
    # configure_workspace: starts max(success_plan wd 19, provision done wd 2) = wd 19; 5bd: Tue 16 (1), Wed 17 (2),
    #   Thu 18 (3), [Fri 06-19 Juneteenth, Sat, Sun], Mon 22 (4), Tue 23 (5) -> Tue 06-23 (wd 24), planned wd 13: +11.
    # import_data: starts wd 24; 10bd -> wd 34 = Wed 07-08 (Fri 07-03 skipped on the way), planned wd 23: +11.
    # admin_training: starts wd 24; 5bd -> wd 29 = Tue 06-30, planned wd 18: +11.
    # roll_out: starts max(admin wd 29, import wd 34, assign_licenses done wd 5) = wd 34; 10bd -> wd 44 = Wed 07-22,
    #   planned wd 33: +11.
    # first_value: starts max(roll_out wd 44, verify_integration wd 17 below) = wd 44; 5bd: Thu 23 (1), Fri 24 (2),
    #   Mon 27 (3), Tue 28 (4), Wed 29 (5) -> Wed 07-29 (wd 49), planned wd 38: +11.
    assert pushed(
        ev, ["success_plan", "configure_workspace", "import_data", "admin_training", "roll_out", "first_value"]
    ) == {
        "success_plan": (d("05-29"), d("06-15"), 11),
        "configure_workspace": (d("06-05"), d("06-23"), 11),
        "import_data": (d("06-22"), d("07-08"), 11),
        "admin_training": (d("06-12"), d("06-30"), 11),
        "roll_out": (d("07-07"), d("07-22"), 11),
        "first_value": (d("07-14"), d("07-29"), 11),
    }
    # verify_integration does not depend on success_plan: starts max(today wd 14, connect done wd 13) = wd 14;
    # 3bd -> wd 17 = Thu 06-11, 8 working days before its planned Wed 06-24 (wd 25): not pushed.
    assert pushed(ev, ["verify_integration"]) == {"verify_integration": (d("06-24"), d("06-11"), -8)}
    assert ev.task("success_plan").status == "overdue"
    assert ev.critical_path == ("success_plan", "configure_workspace", "import_data", "roll_out", "first_value")
    # Go-live Wed 07-29; target Fri 07-17 -> slip 12 days: at_risk.
    assert headline(ev) == (d("07-17"), d("07-29"), 12, "at_risk")
    # Overdue: success_plan (wd 8) and configure_workspace (wd 13) are due before today (wd 14). Ready: success_plan
    # (customer) and verify_integration (vendor). Progress: done weight 1+1+1+1+0.5+1+1 = 6.5 of 16.5 -> 39.4 %.
    assert (ev.overdue_count, ev.waiting_on_customer, ev.waiting_on_vendor, ev.progress) == (2, 1, 1, 39.4)


# ---------------------------------------------------------------------------------------------- enterprise (90 days)

ENT_DUES = {
    # Critical path, day by day:
    # sales_handover: starts Mon 05-18; 2bd: Tue 19 (1), Wed 20 (2) -> Wed 05-20 (wd 2).
    "sales_handover": d("05-20"),
    # kickoff_meeting: after sales_handover Wed 05-20; 5bd: Thu 21 (1), Fri 22 (2), [Sat, Sun, Mon 25 Memorial
    #   Day], Tue 26 (3), Wed 27 (4), Thu 28 (5) -> Thu 05-28 (wd 7). Deadline due 10bd = Tue 06-02 (wd 10): no pull.
    "kickoff_meeting": d("05-28"),
    # security_questionnaire: after kickoff Thu 05-28; 5bd: Fri 29 (1), Mon 06-01 (2), Tue 02 (3), Wed 03 (4),
    #   Thu 04 (5) -> Thu 06-04 (wd 12).
    "security_questionnaire": d("06-04"),
    # security_approval: after the questionnaire Thu 06-04; 5bd: Fri 05 (1), Mon 08 (2), Tue 09 (3), Wed 10 (4),
    #   Thu 11 (5) -> Thu 06-11 (wd 17).
    "security_approval": d("06-11"),
    # dpa_signed: after security_approval Thu 06-11; 10bd: Fri 12 (1), Mon 15 (2), Tue 16 (3), Wed 17 (4),
    #   Thu 18 (5), [Fri 06-19 Juneteenth, Sat, Sun], Mon 22 (6), Tue 23 (7), Wed 24 (8), Thu 25 (9), Fri 26 (10)
    #   -> Fri 06-26 (wd 27).
    "dpa_signed": d("06-26"),
    # data_migration: after max(solution_design Thu 06-18 wd 22, provision_environments Mon 06-15 wd 19,
    #   dpa_signed Fri 06-26 wd 27) = Fri 06-26; 15bd: Mon 29 (1), Tue 30 (2), Wed 07-01 (3), Thu 02 (4),
    #   [Fri 07-03 Independence Day observed, Sat, Sun], Mon 06 (5), Tue 07 (6), Wed 08 (7), Thu 09 (8), Fri 10 (9),
    #   Mon 13 (10), Tue 14 (11), Wed 15 (12), Thu 16 (13), Fri 17 (14), Mon 20 (15) -> Mon 07-20 (wd 42).
    "data_migration": d("07-20"),
    # user_acceptance: after max(data_migration Mon 07-20 wd 42, integration_live Mon 07-13 wd 37) = Mon 07-20;
    #   5bd: Tue 21 (1), Wed 22 (2), Thu 23 (3), Fri 24 (4), Mon 27 (5) -> Mon 07-27 (wd 47).
    "user_acceptance": d("07-27"),
    # go_live: after max(user_acceptance Mon 07-27 wd 47, admin_training Fri 06-26 wd 27, license_allocation
    #   Thu 06-18 wd 22) = Mon 07-27; 3bd: Tue 28 (1), Wed 29 (2), Thu 30 (3) -> Thu 07-30 (wd 50).
    "go_live": d("07-30"),
    # first_value: after go_live Thu 07-30; 10bd: Fri 31 (1), Mon 08-03 (2), Tue 04 (3), Wed 05 (4), Thu 06 (5),
    #   Fri 07 (6), Mon 10 (7), Tue 11 (8), Wed 12 (9), Thu 13 (10) -> Thu 08-13 (wd 60).
    "first_value": d("08-13"),
    # Off the critical path, on the working-day table (start wd + duration = due wd):
    "project_team": d("06-04"),  # after kickoff wd 7: + 5 = wd 12
    "success_plan": d("06-04"),  # after kickoff wd 7: + 5 = wd 12
    "msa_signed": d("06-09"),  # no dependency: wd 0 + 15 = wd 15 (deadline 20bd = wd 20 does not pull)
    "vendor_registration": d("06-02"),  # no dependency: wd 0 + 10 = wd 10
    "purchase_order": d("06-16"),  # after max(vendor_registration wd 10, msa wd 15) = wd 15: + 5 = wd 20
    "tax_documents": d("06-16"),  # after vendor_registration wd 10: + 10 = wd 20
    "billing_account": d("06-22"),  # after purchase_order wd 20: + 3 = wd 23
    "provision_environments": d("06-15"),  # after security_approval wd 17: + 2 = wd 19
    "configure_sso": d("06-23"),  # after provision_environments wd 19: + 5 = wd 24
    "solution_design": d("06-18"),  # after max(success_plan, project_team) wd 12: + 10 = wd 22
    "integration_build": d("07-08"),  # after max(solution_design wd 22, configure_sso wd 24) = wd 24: + 10 = wd 34
    "integration_live": d("07-13"),  # after integration_build wd 34: + 3 = wd 37
    "license_allocation": d("06-18"),  # after max(provision wd 19, purchase_order wd 20) = wd 20: + 2 = wd 22
    "admin_training": d("06-26"),  # after solution_design wd 22: + 5 = wd 27
}


def test_enterprise_planned_dues(plan_set: PlanSet) -> None:
    """Every enterprise planned due skips weekends, Memorial Day, Juneteenth and July 3rd as computed by hand."""
    ev = evaluator(plan_set, "enterprise").evaluate(START, {}, today=START)
    assert dues(ev) == ENT_DUES


def test_enterprise_fresh_plan_critical_path_go_live_and_slip(plan_set: PlanSet) -> None:
    """A fresh enterprise plan goes live Thu 08-13 through security review, DPA and migration, 3 days ahead."""
    ev = evaluator(plan_set, "enterprise").evaluate(START, {}, today=START)
    assert finishes(ev) == ENT_DUES
    # first_value (wd 60) <- go_live (wd 50) <- user_acceptance (wd 47; beats license wd 22, admin wd 27)
    # <- data_migration (wd 42; beats integration_live wd 37) <- dpa_signed (wd 27; beats provision wd 19 and
    # solution_design wd 22) <- security_approval (wd 17) <- security_questionnaire (wd 12) <- kickoff_meeting
    # (wd 7) <- sales_handover (wd 2) <- the start.
    assert ev.critical_path == (
        "sales_handover", "kickoff_meeting", "security_questionnaire", "security_approval", "dpa_signed",
        "data_migration", "user_acceptance", "go_live", "first_value",
    )  # fmt: skip
    # Target Sun 08-16; go-live Thu 08-13 -> -3 days: on track.
    assert headline(ev) == (d("08-16"), d("08-13"), -3, "on_track")


ENT_ON_TIME = {  # every task that does not depend on security_approval, done on its planned due
    task_id: ENT_DUES[task_id]
    for task_id in [
        "sales_handover", "kickoff_meeting", "project_team", "success_plan", "msa_signed", "vendor_registration",
        "purchase_order", "tax_documents", "billing_account", "security_questionnaire", "solution_design",
        "admin_training",
    ]
}  # fmt: skip


def test_enterprise_late_security_approval_pushes_every_dependent(plan_set: PlanSet) -> None:
    """The customer's security approval, open on 07-06, pushes all ten dependents and the go-live past Labor Day."""
    today = d("07-06")  # Mon, wd 32: security_approval (customer, due Thu 06-11 = wd 17) is 15 working days late.
    ev = evaluator(plan_set, "enterprise").evaluate(START, ENT_ON_TIME, today=today)
    # security_approval: starts max(today wd 32, questionnaire wd 12) = wd 32; 5bd: Tue 07 (1), Wed 08 (2),
    #   Thu 09 (3), Fri 10 (4), Mon 13 (5) -> Mon 07-13 (wd 37), planned wd 17: +20.
    # provision_environments: wd 37 + 2 = wd 39 Wed 07-15 (planned wd 19: +20).
    # dpa_signed: wd 37 + 10 = wd 47 Mon 07-27 (planned wd 27: +20).
    # configure_sso: after provision wd 39 + 5 = wd 44 Wed 07-22 (planned wd 24: +20).
    # data_migration: after max(solution_design done wd 22, provision wd 39, dpa wd 47) = wd 47; + 15 = wd 62
    #   Mon 08-17 (planned wd 42: +20).
    # integration_build: after max(solution_design done wd 22, sso wd 44) = wd 44; + 10 = wd 54 Wed 08-05 (wd 34: +20).
    # integration_live: wd 54 + 3 = wd 57 Mon 08-10 (planned wd 37: +20).
    # user_acceptance: after max(migration wd 62, integration_live wd 57) = wd 62; + 5 = wd 67 Mon 08-24 (wd 47: +20).
    # license_allocation: after max(provision wd 39, purchase_order done wd 20) = wd 39; + 2 = wd 41 Fri 07-17.
    #   Planned wd 22, when it waited on the purchase order (wd 20), not on provisioning (wd 19): pushed 19, not 20.
    # go_live: after max(UAT wd 67, admin_training done wd 27, license wd 41) = wd 67; + 3 = wd 70 Thu 08-27 (+20).
    # first_value: wd 70 + 10: Fri 08-28 (1), Mon 31 (2), Tue 09-01 (3), Wed 02 (4), Thu 03 (5), Fri 04 (6),
    #   [Sat, Sun, Mon 09-07 Labor Day], Tue 08 (7), Wed 09 (8), Thu 10 (9), Fri 11 (10) -> Fri 09-11 (wd 80), +20.
    assert pushed(ev, [t.id for t in ev.tasks if t.id not in ENT_ON_TIME]) == {
        "security_approval": (d("06-11"), d("07-13"), 20),
        "dpa_signed": (d("06-26"), d("07-27"), 20),
        "provision_environments": (d("06-15"), d("07-15"), 20),
        "configure_sso": (d("06-23"), d("07-22"), 20),
        "data_migration": (d("07-20"), d("08-17"), 20),
        "integration_build": (d("07-08"), d("08-05"), 20),
        "integration_live": (d("07-13"), d("08-10"), 20),
        "user_acceptance": (d("07-27"), d("08-24"), 20),
        "license_allocation": (d("06-18"), d("07-17"), 19),
        "go_live": (d("07-30"), d("08-27"), 20),
        "first_value": (d("08-13"), d("09-11"), 20),
    }
    assert ev.task("security_approval").status == "overdue"
    assert ev.critical_path == (
        "security_approval", "dpa_signed", "data_migration", "user_acceptance", "go_live", "first_value",
    )  # fmt: skip
    # Go-live Fri 09-11; target Sun 08-16 -> 15 days to 08-31, + 11 = 26 days: off_track (>= 21).
    assert headline(ev) == (d("08-16"), d("09-11"), 26, "off_track")
    # Overdue (planned due before wd 32): security_approval wd 17, provision wd 19, license wd 22, sso wd 24, dpa
    # wd 27. Only security_approval is ready, and it is the customer's. Progress: 11 of 25 weight units done
    # (ten 1s, tax and billing 0.5 each) -> 44.0 %.
    assert (ev.overdue_count, ev.waiting_on_customer, ev.waiting_on_vendor, ev.progress) == (5, 1, 0, 44.0)
