"""The handoff note's context gathered from one account: CSM, tasks, risks, committee, timing, adoption, KPIs."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone
from typing import TYPE_CHECKING

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sync_daemon.config.handoff_models import HandoffPolicy
from sync_daemon.config.note_template import load_note_template
from sync_daemon.config.plan_models import HealthThresholds, PlanTemplate
from sync_daemon.domain import handoff_note as hn
from sync_daemon.domain.adoption import adoption_status
from sync_daemon.domain.calendar import WorkCalendar
from sync_daemon.domain.handoff_context import AccountFacts, _kpi_value, build_context, words
from sync_daemon.domain.plans import PlanEvaluation, evaluate_plan
from sync_daemon.resources import shipped
from tests.unit.handoff.builders import FULL, IMPLEMENTING, SALE, shipped_policy

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

POLICY = shipped_policy()
PERSONAS = ("decision_maker", "champion", "end_user", "business_influencer")  # the shipped mappings' order
KPIS = ("active_users", "mrr", "daily_active_pct", "integration_connected", "last_login_at")
DUE_LAST = date(2026, 2, 2)  # the planned due day of first_value, the last open task


def _task(tid: str, title: str, side: str, owner: str, duration: str) -> dict[str, object]:
    return {"id": tid, "title": title, "side": side, "kind": "customer_facing", "owner": owner, "duration": duration}


FOUR = PlanTemplate.model_validate(
    {
        "version": 1, "id": "four", "name": "Four", "revision": 1, "target_days": 30,
        "phases": [
            {"id": "setup", "name": "Setup", "tasks": [
                _task("kickoff", "Kickoff call", "vendor", "onboarding_manager", "2bd"),
                _task("sso", "Connect SSO", "customer", "it_admin", "1w"),
            ]},
            {"id": "adopt", "name": "Adopt", "tasks": [
                _task("training", "Train the admins", "vendor", "trainer", "3bd"),
                _task("first_value", "First value", "customer", "customer_admin", "4w"),
            ]},
        ],
    }
)  # fmt: skip


def four_plan(today: date = DUE_LAST) -> PlanEvaluation:
    """FOUR started at the sale: training done before kickoff (reverse plan order), sso and first_value open."""
    done = {"training": date(2026, 1, 8), "kickoff": date(2026, 1, 12)}
    return evaluate_plan(FOUR, SALE, done, calendar=WorkCalendar(), thresholds=HealthThresholds(), today=today)


PLAN = four_plan()


def facts(
    fields: Mapping[str, object],
    *,
    plan: PlanEvaluation | None = None,
    reached: Mapping[str, date] | None = None,
    contacts: Sequence[Mapping[str, object]] = (),
) -> AccountFacts:
    return AccountFacts("001ACME", fields, plan, adoption_status(POLICY, fields), reached or {}, contacts)


def context(
    account: AccountFacts,
    *,
    on: date = DUE_LAST,
    policy: HandoffPolicy = POLICY,
    kpis: Sequence[str] = KPIS,
    personas: Sequence[str] = PERSONAS,
) -> hn.HandoffContext:
    return build_context(policy, account, kpis=kpis, personas=personas, handoff_date=on)


def contact(cid: str, persona: str | None, **fields: object) -> dict[str, object]:
    """A stored contact; it has an email unless the test says otherwise (only those can be asked)."""
    return {"id": cid, "persona": persona, "fields": {"email": f"{cid}@customer.example", **fields}}


def with_expected(*personas: str) -> HandoffPolicy:
    """The shipped policy whose note expects ``personas`` in the committee."""
    data = POLICY.model_dump(by_alias=True, exclude_none=True)
    data["note"] = {"expected_personas": list(personas)}
    return HandoffPolicy.model_validate(data)


# --- the CSM, the account and the goals -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        (
            {"csm_name": "Jane Doe", "csm_email": "jane@vendor.example", "csm_phone": "+1 555 0100"},
            hn.Csm("Jane Doe", "jane@vendor.example", "+1 555 0100"),
        ),
        ({"csm_name": " Jane Doe "}, hn.Csm("Jane Doe", None, None)),
        ({"csm_email": "jane@vendor.example"}, hn.Csm("jane@vendor.example", "jane@vendor.example", None)),
        ({"csm_name": "  ", "csm_email": "jane@vendor.example", "csm_phone": ""}, hn.Csm("jane@vendor.example",
                                                                                          "jane@vendor.example")),
        ({"csm_phone": "+1 555 0100"}, None),
        ({"csm_name": None, "csm_email": "  "}, None),
        ({}, None),
    ],
    ids=["all", "name-only", "email-only", "blank-name", "phone-only", "blank", "none"],
)  # fmt: skip
def test_the_csm_comes_from_name_email_and_phone(fields: dict[str, object], expected: hn.Csm | None) -> None:
    """The CSM needs a name or an email (the email stands in for a missing name); a phone alone is no CSM."""
    assert context(facts(fields)).csm == expected


def test_the_account_name_and_goals_are_trimmed_text() -> None:
    """Name and goals are the pulled text, trimmed; a missing name falls back to the id, missing goals to ''."""
    named = context(facts({"name": " Acme Rockets ", "goals": "  Two teams live.\nHalve reply time.\n"}))
    assert named.account == hn.Account("001ACME", "Acme Rockets")
    assert named.goals == "Two teams live.\nHalve reply time."
    bare = context(facts({"name": None}))
    assert (bare.account.name, bare.goals) == ("001ACME", "")


# --- what was done, what is still open, and the risks ---------------------------------------------------------


def test_done_tasks_are_listed_oldest_first_with_the_owner_role_in_words() -> None:
    """Done tasks come by their day, not plan order, each with its side and the owner role as a reader says it."""
    assert context(facts({}, plan=four_plan())).done == (
        hn.DoneTask("Train the admins", "vendor", "Trainer", date(2026, 1, 8)),
        hn.DoneTask("Kickoff call", "vendor", "Onboarding manager", date(2026, 1, 12)),
    )


def test_open_tasks_keep_plan_order_and_are_overdue_only_when_due_before_the_handoff_day() -> None:
    """A task due on the handoff day is not overdue; the day after, it is, and it becomes a risk as well."""
    plan = four_plan()
    on_due = context(facts({}, plan=plan), on=DUE_LAST)
    assert on_due.open == (
        hn.OpenTask("Connect SSO", "customer", "It admin", date(2026, 1, 12), overdue=True),
        hn.OpenTask("First value", "customer", "Customer admin", DUE_LAST, overdue=False),
    )
    assert on_due.risks.overdue == on_due.open[:1]
    later = context(facts({}, plan=plan), on=date(2026, 2, 3))
    assert [t.title for t in later.open] == ["Connect SSO", "First value"]
    assert [t.overdue for t in later.open] == [True, True]
    assert later.risks.overdue == later.open


def test_without_a_plan_nothing_is_done_or_open_and_there_is_no_slip() -> None:
    """An account without a plan has empty task lists and zero slip."""
    made = context(facts({}))
    assert (made.done, made.open, made.risks.overdue, made.risks.slip_days) == ((), (), (), 0)


@pytest.mark.parametrize(("slip", "shown"), [(26, 26), (0, 0), (-4, 0)])
def test_slip_is_a_risk_only_when_late(slip: int, shown: int) -> None:
    """The plan's slip is carried over; a plan ahead of its target (negative slip) counts as no slip."""
    plan = replace(four_plan(), slip_days=slip)
    assert context(facts({}, plan=plan)).risks.slip_days == shown


def test_the_shipped_plan_slip_is_carried_into_the_risks() -> None:
    """The evaluated plan's own slip (not a made-up one) is the one the note shows."""
    plan = four_plan()
    assert plan.slip_days > 0
    assert context(facts({}, plan=plan)).risks.slip_days == plan.slip_days


# --- the buying committee --------------------------------------------------------------------------------------


def test_committee_puts_expected_personas_first_then_mapping_ones_then_others_then_unknown() -> None:
    """Expected personas lead (even empty), then mapping personas with contacts, others sorted, unknown last."""
    contacts = [
        contact("c1", "unknown", first_name="Kim", last_name="Poe"),
        contact("c2", "procurement", first_name="Pat", last_name="Ng"),
        contact("c3", "business_influencer", first_name="Lou", last_name="Reed"),
        contact("c4", "champion", first_name="Ann", last_name="Lee", title="Head of Ops"),
        contact("c5", "analyst", first_name="Al", last_name="Bo"),
        contact("c6", None, first_name="Nia", last_name="Ode"),
    ]
    made = context(facts({}, contacts=contacts))
    assert [g.persona for g in made.committee] == [
        "decision_maker", "champion", "end_user", "business_influencer", "analyst", "procurement", "unknown",
    ]  # fmt: skip
    groups = {g.persona: g.members for g in made.committee}
    assert groups["decision_maker"] == groups["end_user"] == ()
    assert groups["champion"] == (hn.Member("Ann Lee", "Head of Ops"),)
    assert groups["unknown"] == (hn.Member("Kim Poe"), hn.Member("Nia Ode"))  # no persona counts as unknown
    assert made.risks.missing_personas == ("decision_maker", "end_user")


def test_mapping_personas_and_unknown_without_contacts_are_left_out() -> None:
    """Only expected personas appear when empty; a mapping persona or unknown with nobody in it does not."""
    made = context(facts({}, contacts=[contact("c1", "champion", first_name="Ann")]))
    assert [g.persona for g in made.committee] == ["decision_maker", "champion", "end_user"]


def test_the_policy_decides_which_personas_are_expected() -> None:
    """With one expected persona, only it is listed when nobody is in it, and only it is a missing-persona risk."""
    made = context(facts({}), policy=with_expected("business_influencer"))
    assert made.committee == (hn.PersonaGroup("business_influencer"),)
    assert made.risks.missing_personas == ("business_influencer",)
    covered = context(facts({}, contacts=[contact("c1", "business_influencer")]), policy=with_expected(
        "business_influencer"))  # fmt: skip
    assert covered.risks.missing_personas == ()


def test_members_are_sorted_by_name_and_named_by_name_then_email_then_id() -> None:
    """Members sort by name ignoring case; without a name the email shows, without either the contact id."""
    contacts: list[Mapping[str, object]] = [
        contact("c9", "champion", email="zed@customer.example", title="  "),
        contact("c2", "champion", first_name="bea", last_name=" Lu ", title="CTO"),
        contact("c7", "champion", email=None),
        contact("c3", "champion", last_name="Abe", email="abe@customer.example"),
        {"id": "c8", "persona": "champion", "fields": None},
    ]
    made = context(facts({}, contacts=contacts))
    (champions,) = [g.members for g in made.committee if g.persona == "champion"]
    assert champions == (
        hn.Member("Abe"),
        hn.Member("bea Lu", "CTO"),
        hn.Member("c7"),
        hn.Member("c8"),
        hn.Member("zed@customer.example"),
    )


# --- timing and adoption ---------------------------------------------------------------------------------------


def test_timing_counts_days_from_the_sale_against_the_window() -> None:
    """Days from close_date to the handoff day; over_target is the days past the policy's window."""
    early = context(facts({"close_date": "2026-01-05"}), on=date(2026, 3, 6)).timing
    assert (early.sale_date, early.days, early.target_days, early.over_target) == (SALE, 60, 90, -30)
    late = context(facts({"close_date": "2026-01-05"}), on=date(2026, 4, 14)).timing
    assert (late.days, late.over_target) == (99, 9)


def test_timing_falls_back_to_the_plan_start_then_to_no_sale_date() -> None:
    """Without a readable close_date the plan's start is the sale; without a plan too, days are unknown."""
    from_plan = context(facts({"close_date": "soon"}, plan=four_plan()), on=date(2026, 2, 4)).timing
    assert (from_plan.sale_date, from_plan.days) == (SALE, 30)
    unknown = context(facts({}), on=date(2026, 2, 4)).timing
    assert (unknown.sale_date, unknown.days, unknown.over_target) == (None, None, None)


def test_adoption_shows_the_status_since_it_was_first_reached_with_the_kpis_in_mapping_order() -> None:
    """The status and its first-reached day (not a lower status's), adopted or not, and each KPI by name."""
    reached = {"inactive": date(2026, 1, 5), "implementing": date(2026, 1, 9), "full_utilization": date(2026, 2, 1)}
    adopted = context(facts({**FULL, "mrr": 2400.0}, reached=reached)).adoption
    assert (adopted.status, adopted.since, adopted.adopted) == ("full_utilization", date(2026, 2, 1), True)
    assert adopted.kpis == (
        hn.Kpi("active_users", 40),
        hn.Kpi("mrr", 2400),
        hn.Kpi("daily_active_pct", 82),
        hn.Kpi("integration_connected", "yes"),
        hn.Kpi("last_login_at", None),
    )
    implementing = context(facts(IMPLEMENTING, reached=reached), kpis=["mrr"]).adoption
    assert (implementing.status, implementing.since, implementing.adopted) == ("implementing", date(2026, 1, 9), False)
    assert implementing.kpis == (hn.Kpi("mrr", None),)
    never = context(facts(FULL)).adoption
    assert never.since is None


# --- KPI values as a reader wants them -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        (1327.0, 1327),
        (1327, 1327),
        (48.7, 48.7),
        (True, "yes"),
        (False, "no"),
        ("true", "yes"),
        ("false", "no"),
        (" FALSE ", "no"),
        ("48.7", 48.7),
        ("1327", 1327),
        ("1327.00", 1327),
        ("2026-03-01T10:15:30Z", "2026-03-01 10:15 UTC"),
        ("2026-03-01T10:15:30.250+02:00", "2026-03-01 08:15 UTC"),
        (datetime(2026, 3, 1, 10, 15, 30, tzinfo=UTC), "2026-03-01 10:15 UTC"),
        (datetime(2026, 3, 1, 10, 15, tzinfo=timezone(timedelta(hours=2))), "2026-03-01 08:15 UTC"),
        (datetime(2026, 3, 1, 10, 15), "2026-03-01 10:15 UTC"),  # noqa: DTZ001 - a naive value is read as UTC
        ("2026-03-01", date(2026, 3, 1)),
        ("2026-13-01", "2026-13-01"),
        (date(2026, 3, 1), date(2026, 3, 1)),
        (None, None),
        ("", None),
        ("   ", None),
        ("n/a", "n/a"),
        (" Gold tier ", "Gold tier"),
        ("yes", "yes"),
    ],
)
def test_kpi_values_are_shown_as_a_reader_expects(raw: object, shown: object) -> None:
    """Whole numbers lose their .0, booleans read yes/no, number text is a number, timestamps read in UTC."""
    value = _kpi_value(raw)
    assert value == shown
    assert type(value) is type(shown)


def test_words_says_an_identifier_as_a_reader_would() -> None:
    """Underscores become spaces and the first letter is capitalised."""
    assert words("onboarding_specialist") == "Onboarding specialist"
    assert words("trainer") == "Trainer"
    assert words("_it_admin_") == "It admin"


# --- never raises, and the shipped template renders whatever the CRM sent --------------------------------------

TEMPLATE = load_note_template(shipped("config/handoff_note.txt.j2"))
KPI_VALUES = st.one_of(
    st.none(),
    st.text(max_size=40),
    st.integers(min_value=-(10**18), max_value=10**18),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.sampled_from(["2026-03-01T10:15:30Z", "2026-03-01T10:15:30", "2026-03-01", "1e400", "NaN", "-0", "TRUE"]),
)
TEXT = st.one_of(st.none(), st.text(max_size=30))


@given(
    kpis=st.fixed_dictionaries(dict.fromkeys(KPIS, KPI_VALUES)),
    other=st.fixed_dictionaries(dict.fromkeys(("name", "goals", "csm_name", "csm_email", "close_date"), TEXT)),
    with_plan=st.booleans(),
    persona=st.one_of(st.none(), st.sampled_from([*PERSONAS, "unknown", "other"])),
)
def test_any_kpi_values_build_a_context_that_the_shipped_template_renders(
    kpis: dict[str, object], other: dict[str, object], with_plan: bool, persona: str | None
) -> None:
    """Whatever text, number or nothing the CRM sends, the context builds and the note renders, KPIs included."""
    fields = {**other, **kpis}
    account = AccountFacts(
        "001ACME",
        fields,
        PLAN if with_plan else None,
        adoption_status(POLICY, fields),
        {},
        [contact("c1", persona, first_name=other["name"])],
    )
    made = context(account)
    assert [k.name for k in made.adoption.kpis] == list(KPIS)
    text = hn.render(TEMPLATE, made)
    assert "Adoption\n" in text
    assert all(f"- {name}: " in text for name in KPIS)
