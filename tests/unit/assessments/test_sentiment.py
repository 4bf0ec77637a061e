"""Sentiment rollups by persona: hand-computed figures, one voice per contact, the alert, shares, properties."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sync_daemon.domain.sentiment import (
    CHANGES,
    ONBOARDING,
    RELATIONSHIP,
    TEXT_LIMIT,
    AccountSentiment,
    PersonaSentiment,
    Response,
    category,
    rollup,
)

PERSONAS = ("decision_maker", "champion", "end_user", "business_influencer")
ACCOUNT = "001A"
EST = timezone(timedelta(hours=-5))


def at(year: int, month: int, day: int, hour: int = 12, tz: timezone = UTC) -> datetime:
    return datetime(year, month, day, hour, tzinfo=tz)


def answer(  # noqa: PLR0917 - positional, so the fixture reads as a table
    contact: str,
    persona: str,
    cycle: int,
    score: int | None,
    change: str | None,
    when: datetime,
    account: str = ACCOUNT,
) -> Response:
    """An answer; cycle 0 is the onboarding assessment, 1, 2, ... the relationship one."""
    kind = ONBOARDING if cycle == 0 else RELATIONSHIP
    return Response(contact, account, persona, cycle, kind, score, change, when)


ONBOARDING_ANSWERS = [
    answer("dm1", "decision_maker", 0, 9, None, at(2026, 1, 20)),
    answer("ch1", "champion", 0, 8, None, at(2026, 1, 21)),
    answer("eu1", "end_user", 0, 5, None, at(2026, 1, 22)),
    answer("eu2", "end_user", 0, 10, None, at(2026, 1, 23)),
]
CYCLE_1 = [
    answer("dm1", "decision_maker", 1, 10, "better", at(2026, 7, 20)),
    answer("dm2", "decision_maker", 1, 8, "same", at(2026, 7, 20)),
    answer("dm3", "decision_maker", 1, 6, "worse", at(2026, 7, 21)),
    answer("dm4", "decision_maker", 1, 9, "better", at(2026, 7, 22)),
    answer("ch1", "champion", 1, 9, "same", at(2026, 7, 20)),
    answer("ch2", "champion", 1, 3, "worse", at(2026, 7, 23)),
    answer("eu1", "end_user", 1, 7, "better", at(2026, 7, 21)),
    answer("eu2", "end_user", 1, 9, "better", at(2026, 7, 24)),
    answer("eu3", "end_user", 1, 10, None, at(2026, 7, 25)),
    answer("bi1", "business_influencer", 1, 4, "worse", at(2026, 7, 22)),
]
CYCLE_2 = [
    answer("dm1", "decision_maker", 2, 10, "better", at(2027, 3, 1, 9)),
    answer("dm2", "decision_maker", 2, 9, "better", at(2027, 1, 25)),
    answer("dm3", "decision_maker", 2, 8, "same", at(2027, 1, 26)),
    answer("dm4", "decision_maker", 2, 2, "worse", at(2027, 1, 20)),  # superseded by dm4's answer below
    answer("dm4", "decision_maker", 2, 9, None, at(2027, 2, 10)),
    answer("ch1", "champion", 2, 7, "better", at(2027, 1, 21)),
    answer("ch2", "champion", 2, None, "worse", at(2027, 2, 3, 23, tz=EST)),  # 2027-02-04 04:00 UTC
    answer("ch3", "champion", 2, 9, "same", at(2027, 1, 22)),
    answer("eu1", "end_user", 2, 0, "worse", at(2027, 1, 24)),
    answer("eu2", "end_user", 2, 8, "same", at(2027, 1, 25)),
    answer("un1", "unknown", 2, 6, "worse", at(2027, 2, 14)),
]
EVERYTHING = ONBOARDING_ANSWERS + CYCLE_1 + CYCLE_2


def test_cycle_1_figures_by_persona() -> None:
    """With answers up to cycle 1, every persona's cycle-1 figures match the hand-computed ones; no change yet."""
    result = rollup(ONBOARDING_ANSWERS + CYCLE_1, PERSONAS)
    assert result.cycle == 1
    assert result.personas == (
        # dm: 10 P, 8 Pa, 6 D, 9 P -> 2 P, 1 Pa, 1 D; NPS 100*(2-1)/4 = 25. Changes: 2 better, 1 same, 1 worse of 4.
        PersonaSentiment("decision_maker", 4, 2, 1, 1, 25, None, 50, 25, 25, date(2026, 7, 22)),
        # champion: 9 P, 3 D -> NPS 100*(1-1)/2 = 0. Changes: same, worse -> 0/50/50.
        PersonaSentiment("champion", 2, 1, 0, 1, 0, None, 0, 50, 50, date(2026, 7, 23)),
        # end user: 7 Pa, 9 P, 10 P -> NPS 100*2/3 = 66.67 -> 67. Changes: better, better (eu3 gave none).
        PersonaSentiment("end_user", 3, 2, 1, 0, 67, None, 100, 0, 0, date(2026, 7, 25)),
        # business influencer: 4 D -> NPS -100. Change: worse.
        PersonaSentiment("business_influencer", 1, 0, 0, 1, -100, None, 0, 0, 100, date(2026, 7, 22)),
    )  # no unknown row: nobody tagged unknown answered yet
    assert result.detractor_alert  # dm3, a decision maker, scored 6 in cycle 1


def test_cycle_2_figures_and_change_since_cycle_1() -> None:
    """The current cycle is 2: figures, change versus cycle 1, shares and last dates match the hand-computed ones."""
    result = rollup(EVERYTHING, PERSONAS)
    assert result.cycle == 2
    assert result.personas == (
        # dm: 10, 9, 8, and dm4's latest 9 (its 2 is superseded) -> 3 P, 1 Pa; NPS 100*3/4 = 75; 75 - 25 = +50.
        # Changes: better, better, same (dm4's latest has none): 66.67 / 33.33 / 0 -> floors 66/33/0, the spare
        # point to the largest remainder (better) -> 67/33/0. Last: dm1 on 2027-03-01.
        PersonaSentiment("decision_maker", 4, 3, 1, 0, 75, 50, 67, 33, 0, date(2027, 3, 1)),
        # champion: 7 Pa, 9 P (ch2 gave no score) -> NPS 100*1/2 = 50; 50 - 0 = +50. Changes: better, worse, same
        # -> 33.33 each -> 33/33/33 + 1 to better (ties go better, same, worse) = 34/33/33. ch2 answered at
        # 23:00 EST on 2027-02-03, which is 2027-02-04 in UTC.
        PersonaSentiment("champion", 3, 1, 1, 0, 50, 50, 34, 33, 33, date(2027, 2, 4)),
        # end user: 0 D, 8 Pa -> NPS 100*(0-1)/2 = -50; -50 - 67 = -117. Changes: worse, same -> 0/50/50.
        PersonaSentiment("end_user", 2, 0, 1, 1, -50, -117, 0, 50, 50, date(2027, 1, 25)),
        # business influencer: nobody in cycle 2; last answered in cycle 1.
        PersonaSentiment("business_influencer", 0, 0, 0, 0, None, None, None, None, None, date(2026, 7, 22)),
        # unknown, listed last: 6 D -> NPS -100; no unknown answer in cycle 1, so no change. Change: worse.
        PersonaSentiment("unknown", 1, 0, 0, 1, -100, None, 0, 0, 100, date(2027, 2, 14)),
    )
    # dm4's 2 is superseded, champions scored 7 and 9, and the 0 and 6 came from an end user and an unknown.
    assert not result.detractor_alert


def test_onboarding_rolled_up_separately() -> None:
    """The onboarding assessment (cycle 0) has its own per-persona figures, untouched by the relationship cycles."""
    onboarding = rollup(EVERYTHING, PERSONAS).onboarding
    assert onboarding == (
        PersonaSentiment("decision_maker", 1, 1, 0, 0, 100, last_response=date(2026, 1, 20)),  # 9 P
        PersonaSentiment("champion", 1, 0, 1, 0, 0, last_response=date(2026, 1, 21)),  # 8 Pa -> 0
        PersonaSentiment("end_user", 2, 1, 0, 1, 0, last_response=date(2026, 1, 23)),  # 5 D, 10 P -> 0
        PersonaSentiment("business_influencer"),
        PersonaSentiment("unknown"),
    )
    assert rollup(ONBOARDING_ANSWERS, PERSONAS).onboarding == onboarding[:4]


def test_the_crm_text_lists_every_persona() -> None:
    """The sentiment_by_persona text has a heading, one line per persona, then the onboarding assessment."""
    assert rollup(EVERYTHING, PERSONAS).text() == (
        "Cycle 2\n"
        "decision_maker: NPS +75 (3 promoters, 1 passive, 0 detractors; +50 vs cycle 1)"
        " · better 67% / same 33% / worse 0% · last 2027-03-01\n"
        "champion: NPS +50 (1 promoter, 1 passive, 0 detractors; +50 vs cycle 1)"
        " · better 34% / same 33% / worse 33% · last 2027-02-04\n"
        "end_user: NPS -50 (0 promoters, 1 passive, 1 detractor; -117 vs cycle 1)"
        " · better 0% / same 50% / worse 50% · last 2027-01-25\n"
        "business_influencer: no responses in cycle 2 · last 2026-07-22\n"
        "unknown: NPS -100 (0 promoters, 0 passives, 1 detractor)"
        " · better 0% / same 0% / worse 100% · last 2027-02-14\n"
        "Onboarding assessment\n"
        "decision_maker: NPS +100 (1 promoter, 0 passives, 0 detractors) · last 2026-01-20\n"
        "champion: NPS 0 (0 promoters, 1 passive, 0 detractors) · last 2026-01-21\n"
        "end_user: NPS 0 (1 promoter, 0 passives, 1 detractor) · last 2026-01-23\n"
        "business_influencer: no responses\n"
        "unknown: no responses"
    )


def test_an_account_with_no_responses() -> None:
    """No answers: no cycle, no alert, every persona with no responses, and the text says so."""
    result = rollup([], PERSONAS)
    assert result == AccountSentiment(
        cycle=None,
        personas=tuple(PersonaSentiment(p) for p in PERSONAS),
        onboarding=tuple(PersonaSentiment(p) for p in PERSONAS),
        detractor_alert=False,
    )
    assert result.text() == (
        "No assessment responses yet\n"
        "decision_maker: no responses\n"
        "champion: no responses\n"
        "end_user: no responses\n"
        "business_influencer: no responses"
    )


def test_only_onboarding_answered() -> None:
    """Before the first relationship cycle, the text says so and still shows the onboarding figures."""
    result = rollup(ONBOARDING_ANSWERS, PERSONAS)
    assert result.cycle is None
    assert not result.detractor_alert
    assert result.text().splitlines()[0] == "No relationship assessment responses yet"
    assert "end_user: NPS 0 (1 promoter, 0 passives, 1 detractor) · last 2026-01-23" in result.text()


def test_a_contact_answering_twice_counts_once() -> None:
    """A contact's second answer in a cycle replaces the first, whatever order they arrive in."""
    first = answer("c1", "champion", 1, 3, "worse", at(2026, 7, 1))
    second = answer("c1", "champion", 1, 10, "better", at(2026, 7, 9))
    other = answer("c2", "champion", 1, 8, "same", at(2026, 7, 2))
    for answers in ([first, second, other], [second, other, first]):
        row = rollup(answers, PERSONAS).persona("champion")
        # c1 counts as 10 (P) and better; c2 as 8 (Pa) and same -> NPS 100*1/2 = 50, shares 50/50/0.
        assert row == PersonaSentiment("champion", 2, 1, 1, 0, 50, None, 50, 50, 0, date(2026, 7, 9))


def test_the_same_contact_in_two_cycles_counts_in_each() -> None:
    """One answer per cycle is one voice in each cycle, and the change compares the two."""
    result = rollup(
        [answer("c1", "end_user", 1, 2, None, at(2026, 7, 1)), answer("c1", "end_user", 2, 9, None, at(2027, 1, 9))],
        PERSONAS,
    )
    assert result.persona("end_user") == PersonaSentiment(
        "end_user", 1, 1, 0, 0, 100, 200, None, None, None, date(2027, 1, 9)
    )


@pytest.mark.parametrize(
    ("persona", "score", "alert"),
    [
        ("decision_maker", 6, True),
        ("decision_maker", 0, True),
        ("decision_maker", 7, False),
        ("champion", 6, True),
        ("champion", 7, False),
        ("end_user", 0, False),
        ("business_influencer", 0, False),
        ("unknown", 0, False),
    ],
)
def test_detractor_alert(persona: str, score: int, alert: bool) -> None:
    """Only a decision maker or champion scoring 0 to 6 raises the alert."""
    result = rollup([answer("c1", persona, 1, score, None, at(2026, 7, 1))], PERSONAS)
    assert result.detractor_alert is alert


def test_the_alert_looks_at_the_current_cycle_only() -> None:
    """A decision maker's 6 in cycle 1 no longer alerts once cycle 2 has answers, and onboarding never alerts."""
    answers = [
        answer("c1", "decision_maker", 0, 2, None, at(2026, 1, 1)),
        answer("c1", "decision_maker", 1, 6, None, at(2026, 7, 1)),
        answer("c2", "end_user", 2, 9, None, at(2027, 1, 1)),
    ]
    assert rollup(answers[:2], PERSONAS).detractor_alert
    assert not rollup(answers, PERSONAS).detractor_alert
    assert not rollup(answers[:1], PERSONAS).detractor_alert


def test_a_change_without_a_score_counts_in_the_shares_only() -> None:
    """An answer with only a change counts as a response and in the shares, not in NPS or its categories."""
    answers = [
        answer("c1", "champion", 1, None, "better", at(2026, 7, 1)),
        answer("c2", "champion", 1, 9, None, at(2026, 7, 2)),
    ]
    # Scored: 9 -> 1 P of 1 -> NPS 100. Changes: 1 better of 1.
    row = rollup(answers, PERSONAS).persona("champion")
    assert row == PersonaSentiment("champion", 2, 1, 0, 0, 100, None, 100, 0, 0, date(2026, 7, 2))


def test_nobody_scored_means_no_nps() -> None:
    """Answers without a score leave NPS and its change at None, and the text says n/a."""
    answers = [
        answer("c1", "end_user", 1, 10, None, at(2026, 7, 1)),
        answer("c1", "end_user", 2, None, None, at(2027, 1, 1)),
    ]
    result = rollup(answers, PERSONAS)
    assert result.persona("end_user") == PersonaSentiment("end_user", 1, last_response=date(2027, 1, 1))
    assert "end_user: NPS n/a (0 promoters, 0 passives, 0 detractors) · no change answers · last 2027-01-01" in (
        result.text()
    )


@pytest.mark.parametrize(
    ("scores", "nps"),
    [
        ([9, 7, 7, 7, 7, 7, 7, 7], 13),  # 100 * 1/8 = 12.5 -> 13 (half away from zero, not to even)
        ([6, 7, 7, 7, 7, 7, 7, 7], -13),  # -12.5 -> -13
        ([9, 9, 9, 9, 9, 9, 9, 6], 75),  # 100 * 6/8
        ([10, 8, 8], 33),  # 33.33
        ([10, 10, 8], 67),  # 66.67
    ],
)
def test_nps_rounding(scores: list[int], nps: int) -> None:
    """NPS rounds to the nearest whole number, halves away from zero."""
    answers = [answer(f"c{i}", "end_user", 1, s, None, at(2026, 7, 1)) for i, s in enumerate(scores)]
    assert rollup(answers, PERSONAS).persona("end_user").nps == nps


@pytest.mark.parametrize(
    ("changes", "shares"),
    [
        (["better", "same", "worse"], (34, 33, 33)),  # 33.33 each: the spare point goes to better
        (["same", "worse", "same", "worse", "better", "better"], (34, 33, 33)),
        (["worse", "worse", "same"], (0, 33, 67)),  # 66.67 gets the spare point
        (["better"] * 5 + ["same"] + ["worse"], (72, 14, 14)),  # 71.43 / 14.29 / 14.29: better's .43 is the largest
        (["better"] * 6 + ["same"] + ["worse"], (75, 13, 12)),  # 75 / 12.5 / 12.5: the tie goes to same before worse
        (["better"] + ["same"] * 3 + ["worse"] * 3, (14, 43, 43)),  # 14.29 / 42.86 / 42.86: two spare points
        (["same"] * 2 + ["worse"] * 5, (0, 29, 71)),  # 28.57 / 71.43: floors 28 + 71, the larger remainder is same's
    ],
)
def test_shares_sum_to_100(changes: list[str], shares: tuple[int, int, int]) -> None:
    """Shares are whole percents by largest remainder and always sum to 100."""
    answers = [answer(f"c{i}", "end_user", 1, None, c, at(2026, 7, 1)) for i, c in enumerate(changes)]
    row = rollup(answers, PERSONAS).persona("end_user")
    assert (row.better, row.same, row.worse) == shares


def test_personas_beyond_the_mapping_are_listed_not_pooled() -> None:
    """A persona the mapping does not name gets its own row, sorted, before unknown; duplicates are listed once."""
    answers = [
        answer("c1", "unknown", 1, 9, None, at(2026, 7, 1)),
        answer("c2", "vendor_manager", 1, 3, None, at(2026, 7, 1)),
        answer("c3", "analyst", 1, 8, None, at(2026, 7, 1)),
    ]
    result = rollup(answers, ["champion", "decision_maker", "champion"])
    assert [p.persona for p in result.personas] == [
        "champion",
        "decision_maker",
        "analyst",
        "vendor_manager",
        "unknown",
    ]
    assert [p.nps for p in result.personas] == [None, None, 0, -100, 100]


def test_responses_of_two_accounts_are_refused() -> None:
    """A rollup never pools accounts: answers of two accounts raise ValueError naming both."""
    answers = [
        answer("c1", "champion", 1, 9, None, at(2026, 7, 1)),
        answer("c2", "champion", 1, 9, None, at(2026, 7, 1), "002B"),
    ]
    with pytest.raises(ValueError, match="001A, 002B"):
        rollup(answers, PERSONAS)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"score": 11}, "score 11 is outside 0-10"),
        ({"score": -1}, "score -1 is outside 0-10"),
        ({"change": "meh"}, "change 'meh' is not one of better, same, worse"),
        ({"kind": "pulse"}, "kind 'pulse' is not one of onboarding, relationship"),
        ({"kind": ONBOARDING}, "cycle 1 does not fit kind 'onboarding'"),
        ({"cycle": 0}, "cycle 0 does not fit kind 'relationship'"),
        ({"answered_at": datetime(2026, 7, 1, 12)}, "answered_at has no time zone"),  # noqa: DTZ001 - the point
    ],
)
def test_malformed_answers_are_refused(fields: dict[str, object], message: str) -> None:
    """A Response refuses a score, change, kind, cycle or timestamp it cannot roll up, saying which."""
    base: dict[str, object] = {
        "contact_id": "c1", "account_id": ACCOUNT, "persona": "champion", "cycle": 1, "kind": RELATIONSHIP,
        "score": 9, "change": "same", "answered_at": at(2026, 7, 1),
    }  # fmt: skip
    with pytest.raises(ValueError, match=message):
        Response(**(base | fields))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("score", "expected"),
    [(0, "detractor"), (6, "detractor"), (7, "passive"), (8, "passive"), (9, "promoter"), (10, "promoter")],
)
def test_category(score: int, expected: str) -> None:
    """Promoters score 9-10, passives 7-8, detractors 0-6."""
    assert category(score) == expected


def test_the_text_is_cut_at_the_field_limit() -> None:
    """However many personas answered, the text fits the field, ending in an ellipsis when cut."""
    answers = [answer(f"c{i}", f"persona_{i:03d}", 1, i % 11, "same", at(2026, 7, 1)) for i in range(200)]
    text = rollup(answers, PERSONAS).text()
    assert len(text) == TEXT_LIMIT
    assert text.endswith("…")
    assert text.startswith("Cycle 1\ndecision_maker: no responses\n")


# Properties -----------------------------------------------------------------------------------------------------

START = datetime(2026, 1, 1, tzinfo=UTC)
ALL_PERSONAS = (*PERSONAS, "unknown")


def _answers(minutes: st.SearchStrategy[int]) -> st.SearchStrategy[Response]:
    return st.builds(
        lambda contact, persona, cycle, score, change, minute: answer(
            contact, persona, cycle, score, change, START + timedelta(minutes=minute)
        ),
        st.sampled_from([f"c{i}" for i in range(6)]),
        st.sampled_from(ALL_PERSONAS),
        st.integers(0, 3),
        st.none() | st.integers(0, 10),
        st.none() | st.sampled_from(CHANGES),
        minutes,
    )


DISTINCT_TIMES = st.lists(_answers(st.integers(0, 10**6)), max_size=40, unique_by=lambda r: r.answered_at)
CLASHING_TIMES = st.lists(_answers(st.integers(0, 3)), max_size=40)


def _latest(answers: list[Response], cycle: int) -> list[Response]:
    """The reference: each contact's latest relationship answer in ``cycle`` (timestamps are distinct)."""
    mine = [r for r in answers if r.kind == RELATIONSHIP and r.cycle == cycle]
    return [
        max((r for r in mine if r.contact_id == c), key=lambda r: r.answered_at) for c in {r.contact_id for r in mine}
    ]


@given(answers=DISTINCT_TIMES)
def test_categories_count_each_scored_contact_once(answers: list[Response]) -> None:
    """Per persona, promoters + passives + detractors is the number of distinct contacts whose latest answer scored."""
    result = rollup(answers, PERSONAS)
    latest = _latest(answers, result.cycle) if result.cycle is not None else []
    for row in result.personas:
        scored = [r for r in latest if r.persona == row.persona and r.score is not None]
        assert row.promoters + row.passives + row.detractors == len(scored)
        assert row.responses == sum(1 for r in latest if r.persona == row.persona)


@given(answers=CLASHING_TIMES)
def test_nps_and_shares_stay_in_range(answers: list[Response]) -> None:
    """NPS is within -100..100 (None exactly when nobody scored); shares sum to 100 or are all None."""
    result = rollup(answers, PERSONAS)
    for row in result.personas + result.onboarding:
        scored = row.promoters + row.passives + row.detractors
        assert (row.nps is None) == (scored == 0)
        assert row.nps is None or -100 <= row.nps <= 100
        assert row.nps_change is None or -200 <= row.nps_change <= 200
        shares = (row.better, row.same, row.worse)
        assert shares == (None, None, None) or (sum(s for s in shares if s is not None) == 100 and None not in shares)


@given(data=st.data(), answers=CLASHING_TIMES)
def test_the_order_of_answers_does_not_matter(data: st.DataObject, answers: list[Response]) -> None:
    """Shuffled answers, even with equal timestamps, give the same rollup and the same text."""
    shuffled = data.draw(st.permutations(answers))
    assert rollup(shuffled, PERSONAS) == rollup(answers, PERSONAS)
    assert rollup(shuffled, PERSONAS).text() == rollup(answers, PERSONAS).text()
