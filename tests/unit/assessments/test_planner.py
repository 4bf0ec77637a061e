"""The pure assessment planner (domain.assessments): cadence, persona, once, respect, gap, window and caps."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest
from dateutil.relativedelta import relativedelta
from hypothesis import given
from hypothesis import strategies as st

from sync_daemon.config.assessment_models import AssessmentPolicy, Cadence, SendWindow
from sync_daemon.domain.assessments import (
    AssessmentContact,
    SentBefore,
    assessment_contact,
    coverage_gaps,
    current_cycle,
    local_day,
    next_due,
    plan_sends,
)

HANDOFF = date(2026, 1, 31)  # a month end: six months on is July 31, twelve is January 31
ONBOARDING = Cadence(at="handoff", valid_days=30)
SIX_MONTHS = Cadence(every_months=6)


def policy(**throttle: object) -> AssessmentPolicy:
    """Two kinds, every persona, crm_fields; throttles as given."""
    data = {
        "version": 1,
        "revision": 1,
        "kinds": {
            "onboarding": {
                "cadence": {"at": "handoff", "valid_days": 30},
                "questions": [{"id": "prepared", "text": "How well?", "scale": [0, 10]}],
                "personas": ["decision_maker", "champion", "end_user", "unknown"],
                "channel": {"type": "crm_fields"},
            },
            "relationship": {
                "cadence": {"every_months": 6},
                "questions": [{"id": "recommend", "text": "How likely?", "scale": [0, 10]}],
                "personas": ["decision_maker", "champion", "end_user", "unknown"],
                "channel": {"type": "crm_fields"},
            },
        },
        "unknown_persona": {"choices": {"decision_maker": "I decide.", "champion": "I promote."}},
        "throttle": {"min_gap_days": 30, "per_account_per_day": 10, "per_day": 100, **throttle},
    }
    return AssessmentPolicy.model_validate(data)


def person(cid: str, account: str = "a1", persona: str | None = "champion", *, email: str | None = "x@y.example",
           opted_out: bool = False) -> AssessmentContact:  # fmt: skip
    return AssessmentContact(cid, account, persona, email, opted_out)


def at(day: date, hour: int = 12) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=UTC)


# -- cadence --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (date(2026, 1, 30), None),  # before the handoff
        (HANDOFF, (0, HANDOFF)),
        (date(2026, 3, 1), (0, HANDOFF)),  # day 29 of 30
        (date(2026, 3, 2), None),  # day 30: no longer valid
    ],
)
def test_the_handoff_kind_is_cycle_0_valid_for_its_days(today: date, expected: tuple[int, date] | None) -> None:
    """Due on the handoff day, still due for valid_days, then never again."""
    assert current_cycle(ONBOARDING, HANDOFF, today) == expected


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (date(2026, 7, 30), None),
        (date(2026, 7, 31), (1, date(2026, 7, 31))),
        (date(2027, 1, 30), (1, date(2026, 7, 31))),  # valid until the next cycle
        (date(2027, 1, 31), (2, date(2027, 1, 31))),
        (date(2028, 7, 31), (5, date(2028, 7, 31))),
        (date(2029, 1, 31), (6, date(2029, 1, 31))),
    ],
)
def test_a_recurring_kind_falls_due_at_handoff_plus_n_periods(today: date, expected: tuple[int, date] | None) -> None:
    """Cycle n at handoff + 6n months, month ends clamped, each due until the next falls due."""
    assert current_cycle(SIX_MONTHS, HANDOFF, today) == expected


def test_a_month_end_handoff_clamps_to_shorter_months() -> None:
    """Handed off on August 31: the six-month cycle falls on the last day of February."""
    assert current_cycle(SIX_MONTHS, date(2026, 8, 31), date(2027, 2, 28)) == (1, date(2027, 2, 28))


def test_valid_days_end_a_recurring_cycle_early() -> None:
    """With valid_days 14 a relationship cycle missed for two weeks is not sent late."""
    cadence = Cadence(every_months=6, valid_days=14)
    assert current_cycle(cadence, HANDOFF, date(2026, 8, 13)) == (1, date(2026, 7, 31))
    assert current_cycle(cadence, HANDOFF, date(2026, 8, 14)) is None


def test_next_due_is_the_next_date_any_kind_falls_due() -> None:
    """After the handoff the next date is the next six-month mark."""
    assert next_due(policy(), HANDOFF, date(2026, 2, 10)) == date(2026, 7, 31)
    assert next_due(policy(), HANDOFF, date(2026, 7, 31)) == date(2027, 1, 31)


@given(st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31)), st.integers(min_value=0, max_value=3000))
def test_a_recurring_cycle_is_never_due_before_its_date(handoff: date, days: int) -> None:
    """Whatever the day, the cycle found is due on or before it and the next one is not yet due."""
    today = date.fromordinal(handoff.toordinal() + days)
    found = current_cycle(SIX_MONTHS, handoff, today)
    if found is None:
        assert handoff + relativedelta(months=6) > today  # before the first six-month mark
        return
    cycle, due = found
    assert due <= today
    assert current_cycle(SIX_MONTHS, handoff, due) == (cycle, due)


# -- who and whether ------------------------------------------------------------------------------------


def test_every_reason_to_leave_a_contact_out_is_given() -> None:
    """Opted out, no email, persona not asked: skipped with the reason; the rest are sent."""
    pol = policy()
    contacts = [
        person("ok"),
        person("out", opted_out=True),
        person("mail", email="  "),
        person("infl", persona="business_influencer"),
        person("who", persona=None),
    ]
    plan = plan_sends(pol, contacts, {"a1": HANDOFF}, SentBefore(), at(HANDOFF))
    assert [(d.contact_id, d.kind, d.cycle, d.persona, d.ask_persona) for d in plan.sends] == [
        ("ok", "onboarding", 0, "champion", False),
        ("who", "onboarding", 0, "unknown", True),
    ]
    assert {(x.contact_id, x.status, x.reason) for x in plan.left} == {
        ("out", "skipped", "opted out of email"),
        ("mail", "skipped", "no email address"),
        ("infl", "skipped", "persona business_influencer does not receive onboarding"),
    }


def test_an_account_not_handed_off_is_not_asked() -> None:
    """No handoff, no assessment, and nothing to explain either."""
    plan = plan_sends(policy(), [person("c1", "a2")], {"a1": HANDOFF}, SentBefore(), at(HANDOFF))
    assert (plan.sends, plan.left) == ([], [])


def test_a_send_already_made_is_never_due_again() -> None:
    """The (contact, kind, cycle) on record is left out silently, whatever the day in its validity."""
    sent = SentBefore(keys={("c1", "onboarding", 0)}, last_sent={"c1": HANDOFF})
    plan = plan_sends(policy(), [person("c1")], {"a1": HANDOFF}, sent, at(date(2026, 2, 20)))
    assert (plan.sends, plan.left) == ([], [])


def test_the_minimum_gap_holds_across_kinds() -> None:
    """A contact asked 20 days before a relationship cycle waits until day 30; others go."""
    sent = SentBefore(last_sent={"c1": date(2026, 7, 11)})
    plan = plan_sends(policy(), [person("c1"), person("c2")], {"a1": HANDOFF}, sent, at(date(2026, 7, 31)))
    assert [d.contact_id for d in plan.sends] == ["c2"]
    (waiting,) = plan.left
    assert (waiting.status, waiting.reason) == (
        "waiting",
        "minimum gap: last assessment on 2026-07-11, next from 2026-08-10",
    )
    later = plan_sends(policy(), [person("c1")], {"a1": HANDOFF}, sent, at(date(2026, 8, 10)))
    assert [(d.contact_id, d.cycle) for d in later.sends] == [("c1", 1)]


# -- window and caps ------------------------------------------------------------------------------------


def test_outside_the_window_everything_waits() -> None:
    """Saturday, or a weekday before 9:00 New York time: nothing is sent, each due contact says why."""
    window = SendWindow(start=time(9), end=time(17), timezone="America/New_York")
    pol = policy(window=window.model_dump())
    saturday = datetime(2026, 2, 7, 15, 0, tzinfo=UTC)
    plan = plan_sends(pol, [person("c1")], {"a1": HANDOFF}, SentBefore(), saturday)
    assert plan.sends == []
    assert plan.left[0].reason.startswith("outside the send window: mon, tue, wed, thu, fri 09:00-17:00")
    early = datetime(2026, 2, 3, 13, 30, tzinfo=UTC)  # 08:30 in New York
    assert plan_sends(pol, [person("c1")], {"a1": HANDOFF}, SentBefore(), early).sends == []
    inside = datetime(2026, 2, 3, 14, 30, tzinfo=UTC)  # 09:30
    assert [d.contact_id for d in plan_sends(pol, [person("c1")], {"a1": HANDOFF}, SentBefore(), inside).sends] == [
        "c1"
    ]


def test_the_caps_take_the_due_in_order_and_the_rest_waits() -> None:
    """Per account 2 and 3 in all, counting today's earlier sends: the first in order go, the others wait."""
    pol = policy(per_account_per_day=2, per_day=3)
    contacts = [person(f"a{i}", "acc_a") for i in range(4)] + [person(f"b{i}", "acc_b") for i in range(2)]
    handoffs = {"acc_a": HANDOFF, "acc_b": HANDOFF}
    sent = SentBefore(today_by_account={"acc_b": 1}, today_total=1)
    plan = plan_sends(pol, contacts, handoffs, sent, at(HANDOFF))
    assert [d.contact_id for d in plan.sends] == ["a0", "a1"]  # then the global cap of 3 is reached
    reasons = {x.contact_id: x.reason for x in plan.left}
    assert reasons["a2"].startswith("daily cap: 3 a day in all")
    assert set(reasons) == {"a2", "a3", "b0", "b1"}
    roomy = policy(per_account_per_day=2, per_day=50)
    plan = plan_sends(roomy, contacts, handoffs, sent, at(HANDOFF))
    assert [d.contact_id for d in plan.sends] == ["a0", "a1", "b0"]
    assert {x.contact_id: x.reason for x in plan.left}["b1"].startswith("account cap: 2 a day per account")


def test_caps_count_on_the_window_s_calendar_day() -> None:
    """At 02:00 UTC it is still yesterday in New York: the day the caps count is New York's."""
    window = SendWindow(start=time(0), end=time(23, 59), timezone="America/New_York", days=["mon", "tue", "wed",
                        "thu", "fri", "sat", "sun"])  # fmt: skip
    assert local_day(datetime(2026, 2, 4, 2, 0, tzinfo=UTC), window) == date(2026, 2, 3)
    assert local_day(datetime(2026, 2, 4, 2, 0, tzinfo=UTC), None) == date(2026, 2, 4)


def test_one_contact_gets_one_assessment_a_run() -> None:
    """Two kinds due the same day (a one-month cadence with no gap): one goes, the other waits."""
    data = policy(min_gap_days=0).model_dump(by_alias=True, exclude_none=True)
    data["kinds"]["relationship"]["cadence"] = {"every_months": 1}
    data["kinds"]["onboarding"]["cadence"]["valid_days"] = 60
    pol = AssessmentPolicy.model_validate(data)
    plan = plan_sends(pol, [person("c1")], {"a1": date(2026, 1, 2)}, SentBefore(), at(date(2026, 2, 2)))
    assert [(d.kind, d.cycle) for d in plan.sends] == [("onboarding", 0)]
    assert plan.left[0].reason == "minimum gap: another assessment goes to this contact today"


# -- contacts and coverage ----------------------------------------------------------------------------


def test_a_stored_contact_reads_opt_out_from_either_crm() -> None:
    """Salesforce sends a boolean, HubSpot the text 'true'; both opt the contact out."""
    sf = assessment_contact({"id": "c1", "account_id": "a1", "persona": "champion",
                             "fields": {"email": "a@b.example", "email_opt_out": True}})  # fmt: skip
    hs = assessment_contact({"id": "c2", "account_id": "a1", "persona": None, "fields": {"email_opt_out": "true"}})
    assert (sf.opted_out, sf.persona, sf.email) == (True, "champion", "a@b.example")
    assert (hs.opted_out, hs.persona, hs.email) == (True, None, None)


def test_coverage_gaps_count_only_contacts_who_can_be_asked() -> None:
    """A champion who opted out and an end user without email leave those personas uncovered."""
    contacts = [
        person("c1", persona="decision_maker"),
        person("c2", persona="champion", opted_out=True),
        person("c3", persona="end_user", email=None),
    ]
    assert coverage_gaps(["decision_maker", "champion", "end_user"], contacts) == ["champion", "end_user"]
