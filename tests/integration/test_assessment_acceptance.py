"""Persona-tagged assessments end to end against both sandbox CRMs (issue 6's first acceptance bullet).

Whole daemon cycles (plans, handoff, assessments, personas, push, outbox drain) with the real connectors, on the
sandboxes' fake clock; accounts are handed off by a person setting the CRM override to ``force``, contacts are
added, opted out and back in by editing the CRM. Every send is counted in the sandbox's own request handling
(:class:`~tests.integration.assessment_support.RequestLog`), cross-checked with the store's send rows and the
outbox. Proven here:

- over three simulated years, each eligible contact gets the onboarding assessment once at its account's handoff
  and exactly one relationship assessment per six-month cycle, on its due date; nothing to a contact without an
  email, to an account not handed off, or to a contact while opted out; after opting back in the contact gets the
  cycle still valid then (sent that day) and the next ones, never a cycle that lapsed while opted out; an unknown
  persona is asked, tagged ``unknown`` with the question that asks who they are;
- the per-account and global daily caps send at most so many a day and the rest the next days, in order; the
  minimum gap holds a due assessment back until 30 days after the last one;
- a lost reply (crm_fields and audience channels), a SIGKILL before or after the CRM acted, and three replicas
  running full cycles on one PostgreSQL store never make a second send of a (contact, kind, cycle).
"""

from __future__ import annotations

import functools
import itertools
import multiprocessing
import signal
import subprocess
import sys
from collections import Counter, defaultdict
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from dateutil.relativedelta import relativedelta

from sync_daemon import engine
from sync_daemon.assessment_provider import send_plan
from sync_daemon.config.assessment_loader import load_assessments
from sync_daemon.domain.values import normalize
from sync_daemon.outbox import backoff
from sync_daemon.resources import shipped
from sync_daemon.store import Store
from tests.conformance.drivers import start_driver
from tests.integration.assessment_support import (
    DroppedReplies,
    FieldRequest,
    Key,
    Person,
    RequestLog,
    add_person,
    assessment_intents,
    cycle,
    daemon_env,
    init_replica,
    intent_send,
    policy_copy,
    replica_cycle,
    send_rows,
    set_opt_out,
)
from tests.integration.handoff_support import customers
from tests.integration.outbox_support.census import memberships
from tests.integration.outbox_support.dying import KilledCycle
from tests.integration.outbox_support.sandboxes import AUDIENCE_ADD, CRMS, HUBSPOT_LIST, SandboxAddress
from tests.integration.store import conftest as store_fixtures
from tests.integration.test_handoff_scenarios import fresh_account, stage

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator
    from multiprocessing.pool import Pool

    from sync_daemon.config.assessment_models import AssessmentPolicy
    from sync_daemon.engine import CycleResult
    from tests.conformance.drivers import Driver

# The store suite's fixtures: the same tests on SQLite and on a throwaway PostgreSQL database.
postgres_database = store_fixtures.postgres_database
store_url = store_fixtures.store_url

ROOT = Path(__file__).resolve().parents[2]
ACCOUNTS = 16
DAY = timedelta(days=1)
LEASE = timedelta(minutes=5)  # the drain's default lease, which a cycle's drain holds
ONBOARDING, RELATIONSHIP = "onboarding", "relationship"
MIN_GAP = 30
SQLITE_ONLY = pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
BOTH_STORES = pytest.mark.parametrize(
    "store_url",
    [pytest.param("sqlite", id="sqlite"),
     pytest.param("postgresql", id="postgresql", marks=[pytest.mark.postgres])],
    indirect=True,
)  # fmt: skip


@pytest.fixture(params=CRMS)
def sandbox(request: pytest.FixtureRequest) -> Iterator[Driver]:
    """A fresh sandbox of each CRM on fake time, without contacts (a test adds those it needs)."""
    driver = start_driver(request.param, ACCOUNTS, 0)
    yield driver
    driver.server.stop()


@pytest.fixture
def store(store_url: str, sandbox: Driver) -> Iterator[Store]:
    """A migrated store on each backend, on the sandbox's clock."""
    opened = Store.open(store_url, clock=sandbox.time.now)
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def log(sandbox: Driver) -> RequestLog:
    """The sandbox's record of every assessment request it committed to a contact."""
    return RequestLog(sandbox)


def ran(result: CycleResult) -> CycleResult:
    assert result.ok, f"{result.status}: {result.error}"
    return result


def today(driver: Driver) -> date:
    return driver.time.now().date()


def travel_to(driver: Driver, day: date) -> None:
    """Move the fake clock forward to ``day`` at the same time of day (15:00 UTC)."""
    assert day >= today(driver), f"time only moves forward: {day} is before {today(driver)}"
    driver.time.advance((day - today(driver)).days * DAY.total_seconds())


def relationship_due(handoff: date, n: int, every_months: int = 6) -> date:
    """Cycle n of the relationship assessment: handoff + n·6 months (the month's last day when it is shorter)."""
    return handoff + relativedelta(months=n * every_months)


def force_handoff(driver: Driver, account_id: str) -> None:
    """A person hands the account off now with the CRM override."""
    stage(driver, account_id, handoff_override="force")


def shipped_policy(driver: Driver) -> AssessmentPolicy:
    return load_assessments(shipped("config/assessments.yaml"), driver.mapping)


def assert_respectful(requests: Iterable[FieldRequest], account_of: dict[str, str], policy: AssessmentPolicy) -> None:
    """Caps per account and per day, and the minimum gap between two sends to one contact, as the CRM saw them."""
    throttle = policy.throttle
    per_day: Counter[date] = Counter()
    per_account: Counter[tuple[date, str]] = Counter()
    days: dict[str, list[date]] = defaultdict(list)
    for r in {r.key: r for r in requests}.values():  # a repeated write of one send is one send
        per_day[r.day] += 1
        per_account[r.day, account_of[r.contact_id]] += 1
        days[r.contact_id].append(r.day)
    assert max(per_day.values(), default=0) <= throttle.per_day, per_day
    assert max(per_account.values(), default=0) <= throttle.per_account_per_day, per_account
    for contact, sent in days.items():
        ordered = sorted(sent)
        gaps = [(b - a).days for a, b in itertools.pairwise(ordered)]
        assert all(g >= throttle.min_gap_days for g in gaps), f"{contact}: sends on {ordered}"


# -- three years of cycles -------------------------------------------------------------------------------

YEARS = 3
# name: (account letter, the person). Titles alone place the personas (no buying role is set).
ROSTER: dict[str, tuple[str, Person]] = {
    "a_decider": ("A", Person("Grace", "Hopper", "CEO")),
    "a_champion": ("A", Person("Ada", "Byron", "Head of Operations")),
    "a_unknown": ("A", Person("Zoe", "Obrien", "Ninja")),  # no rule matches: persona unknown
    "a_no_email": ("A", Person("Alan", "Turing", "Support Specialist", email=False)),
    "a_opted_out": ("A", Person("Edsger", "Dijkstra", "Solutions Architect", opted_out=True)),
    "b_user": ("B", Person("Barbara", "Liskov", "Support Engineer")),
    "b_lapsing": ("B", Person("Donald", "Knuth", "Procurement Analyst")),
    "c_decider": ("C", Person("Frances", "Allen", "VP Sales")),
    "d_user": ("D", Person("John", "Backus", "Account Coordinator")),  # its account is never handed off
}
PERSONAS = {
    "a_decider": "decision_maker",
    "a_champion": "champion",
    "a_unknown": "unknown",
    "a_no_email": "end_user",
    "a_opted_out": "business_influencer",
    "b_user": "end_user",
    "b_lapsing": "business_influencer",
    "c_decider": "decision_maker",
    "d_user": "end_user",
}


class Timeline:
    """Three years from the first day: who is handed off when, who opts out and back in, and what is due."""

    def __init__(self, start: date) -> None:
        self.start = start
        self.end = start + relativedelta(years=YEARS)
        a, b = start, start + relativedelta(day=1, months=1)  # 2026-02-02 and 2026-03-01
        c = start + relativedelta(months=6, day=31)  # 2026-08-31: its cycles fall on short months' last days
        self.handoffs = {"A": a, "B": b, "C": c}
        self.opted_in = relationship_due(a, 1) + timedelta(days=20)  # a_opted_out: during relationship cycle 1
        self.lapse_out = relationship_due(b, 2) - timedelta(days=3)  # b_lapsing: out before cycle 2 falls due
        self.lapse_in = relationship_due(b, 3) + timedelta(days=5)  # and back in after cycle 3 fell due

    def dues(self, account: str) -> dict[int, date]:
        """The relationship cycles of an account that fall due within the three years."""
        handoff = self.handoffs[account]
        out = {}
        for n in range(1, 2 * YEARS + 2):
            if (due := relationship_due(handoff, n)) <= self.end:
                out[n] = due
        return out

    def expected(self, name: str) -> dict[tuple[str, int], date]:
        """Each send the contact must get, with the day it is sent (see the module docstring for the rules)."""
        account = ROSTER[name][0]
        if name in {"a_no_email", "d_user"}:
            return {}
        dues = {(RELATIONSHIP, n): due for n, due in self.dues(account).items()}
        onboarding = {(ONBOARDING, 0): self.handoffs[account]}
        if name == "a_opted_out":  # opted out through onboarding; back in while relationship cycle 1 is valid
            return dues | {(RELATIONSHIP, 1): self.opted_in}
        if name == "b_lapsing":  # opted out over cycle 2 (lapsed); back in after cycle 3 fell due
            del dues[RELATIONSHIP, 2]
            return onboarding | dues | {(RELATIONSHIP, 3): self.lapse_in}
        return onboarding | dues

    def cycle_days(self) -> list[date]:
        """Every handoff, opt change and due date and the day after each, and every 45th day between."""
        days = {self.start, self.end, self.opted_in, self.lapse_out, self.lapse_in}
        for account in self.handoffs:
            days |= {self.handoffs[account], *self.dues(account).values()}
        days |= {d + DAY for d in days if d < self.end}
        days |= {self.start + timedelta(days=n) for n in range(0, (self.end - self.start).days, 45)}
        return sorted(days)


def stage_roster(driver: Driver) -> tuple[dict[str, str], dict[str, str]]:
    """Four customer accounts sold today and not adopted; the roster's contacts on them. Ids by name and letter."""
    letters = dict(zip("ABCD", customers(driver, 4), strict=True))
    for account in letters.values():
        fresh_account(driver, account, today(driver))
    contacts = {name: add_person(driver, letters[letter], person) for name, (letter, person) in ROSTER.items()}
    return contacts, letters


Reasons = dict[tuple[str, str, int], set[tuple[str, str]]]  # (name, kind, cycle): every (status, reason) seen


def run_timeline(
    driver: Driver, store: Store, line: Timeline, contacts: dict[str, str], letters: dict[str, str]
) -> Reasons:
    """Run a cycle on every day of the timeline, applying the people's edits of that day first.

    Answers every reason a contact's due assessment was left out, as each cycle's look recorded it.
    """
    events: dict[date, list[Callable[[], None]]] = defaultdict(list)
    for letter, day in line.handoffs.items():
        events[day].append(functools.partial(force_handoff, driver, letters[letter]))
    events[line.opted_in].append(lambda: set_opt_out(driver, contacts["a_opted_out"], opted_out=False))
    events[line.lapse_out].append(lambda: set_opt_out(driver, contacts["b_lapsing"], opted_out=True))
    events[line.lapse_in].append(lambda: set_opt_out(driver, contacts["b_lapsing"], opted_out=False))
    seen: Reasons = defaultdict(set)
    for day in line.cycle_days():
        travel_to(driver, day)
        for edit in events.pop(day, []):
            edit()
        ran(cycle(driver, store))
        for name, contact in contacts.items():
            for x in store.left_of(driver.crm, contact):
                seen[name, x.kind, x.cycle].add((x.status, x.reason))
    assert not events, f"edits never applied: {events}"
    return seen


@SQLITE_ONLY
def test_three_years_of_cycles_send_each_assessment_once_on_its_day(
    sandbox: Driver, store: Store, log: RequestLog
) -> None:
    """Onboarding once at handoff, one relationship send per six-month cycle on its due day, nothing else, ever."""
    line = Timeline(today(sandbox))
    contacts, letters = stage_roster(sandbox)
    reasons = run_timeline(sandbox, store, line, contacts, letters)
    name_of = {cid: name for name, cid in contacts.items()}
    expected = {(contacts[name], kind, n): day for name in ROSTER for (kind, n), day in line.expected(name).items()}

    assert log.census() == Counter(dict.fromkeys(expected, 1))  # each send written once, and nothing else
    first = log.first()
    assert {key: r.day for key, r in first.items()} == expected
    assert {key: r.persona for key, r in first.items()} == {k: PERSONAS[name_of[k[0]]] for k in expected}
    assert len(line.dues("A")) == 6
    assert list(line.dues("C").values()) == [date(2027, 2, 28), date(2027, 8, 31), date(2028, 2, 29), date(2028, 8, 31)]

    rows = send_rows(store, sandbox.crm, list(contacts.values()))
    assert {key: row.sent_on for key, row in rows.items()} == expected
    for (contact, kind, n), row in rows.items():
        handoff = line.handoffs[ROSTER[name_of[contact]][0]]
        assert row.due_on == (handoff if kind == ONBOARDING else relationship_due(handoff, n))
        assert (row.persona, row.channel) == (PERSONAS[name_of[contact]], "crm_fields")
    intents = assessment_intents(store, sandbox.crm)
    assert {intent_send(i) for i in intents.values()} == set(expected)
    assert {i.status for i in intents.values()} == {"done"}
    assert {row.intent_key for row in rows.values()} == set(intents)
    account_of = {contacts[name]: letters[letter] for name, (letter, _) in ROSTER.items()}
    assert_respectful(log.requests, account_of, shipped_policy(sandbox))
    assert_last_request_held(sandbox, contacts, line)
    assert_reasons_recorded(reasons, line)


def assert_last_request_held(driver: Driver, contacts: dict[str, str], line: Timeline) -> None:
    """Each contact's request fields hold its latest send (none for the contacts never sent anything)."""
    for name, contact in contacts.items():
        sent = sorted(line.expected(name).items(), key=lambda item: item[1])
        kind, n = sent[-1][0] if sent else (None, None)
        assert driver.value("contacts", contact, "assessment_kind") in ({kind} if kind else {None, ""}), name
        assert normalize(driver.value("contacts", contact, "assessment_cycle"), "number") == n, name


def assert_reasons_recorded(reasons: Reasons, line: Timeline) -> None:
    """Why each due assessment was left out while it was due: no email, opted out; nobody else was held back."""
    no_email, opted_out = {("skipped", "no email address")}, {("skipped", "opted out of email")}
    every = [(ONBOARDING, 0), *((RELATIONSHIP, n) for n in line.dues("A"))]
    assert {(kind, n): reasons[name, kind, n] for name, kind, n in reasons if name == "a_no_email"} == dict.fromkeys(
        every, no_email
    )
    assert {key: why for key, why in reasons.items() if key[0] != "a_no_email"} == {
        ("a_opted_out", ONBOARDING, 0): opted_out,
        ("a_opted_out", RELATIONSHIP, 1): opted_out,  # from its due day until the day it opted back in
        ("b_lapsing", RELATIONSHIP, 2): opted_out,
        ("b_lapsing", RELATIONSHIP, 3): opted_out,
    }


@SQLITE_ONLY
def test_an_unknown_persona_is_asked_and_asked_who_they_are(sandbox: Driver, store: Store, log: RequestLog) -> None:
    """A title no rule matches: sent, tagged unknown in the CRM's request fields, its send asks for its persona."""
    (account,) = customers(sandbox, 1)
    fresh_account(sandbox, account, today(sandbox), handoff_override="force")
    unknown = add_person(sandbox, account, Person("Zoe", "Obrien", "Ninja"))
    known = add_person(sandbox, account, Person("Grace", "Hopper", "CEO"))
    ran(cycle(sandbox, store))

    assert {(r.contact_id, r.persona) for r in log.requests} == {(unknown, "unknown"), (known, "decision_maker")}
    assert sandbox.value("contacts", unknown, "assessment_persona") == "unknown"
    assert sandbox.value("contacts", unknown, "persona") == "unknown"
    policy = shipped_policy(sandbox)
    by_contact = {intent_send(i)[0]: i for i in assessment_intents(store, sandbox.crm).values()}
    ask = by_contact[unknown].payload["ask_persona"]
    assert ask == {"text": policy.unknown_persona.text, "choices": dict(policy.unknown_persona.choices)}
    assert set(ask["choices"]) == {"decision_maker", "champion", "end_user", "business_influencer"}
    assert "ask_persona" not in by_contact[known].payload
    assert by_contact[unknown].payload["persona"] == "unknown"


# -- caps and the minimum gap ------------------------------------------------------------------------------


def capped_days(queue: list[tuple[str, str]], per_account: int, per_day: int) -> tuple[dict[str, int], dict[str, str]]:
    """The day (0, 1, ...) each (account, contact) of ``queue`` is sent under the caps, taken in queue order.

    Also which cap holds back each contact left waiting on the first day (the daily cap is looked at first).
    """
    days: dict[str, int] = {}
    first_day: dict[str, str] = {}
    day, waiting = 0, list(queue)
    while waiting:
        taken: Counter[str] = Counter()
        rest = []
        for account, contact in waiting:
            if sum(taken.values()) < per_day and taken[account] < per_account:
                taken[account] += 1
                days[contact] = day
                continue
            rest.append((account, contact))
            if day == 0:
                first_day[contact] = "daily cap" if sum(taken.values()) >= per_day else "account cap"
        day, waiting = day + 1, rest
    return days, first_day


def waits(store: Store, crm: str, contact: str) -> tuple[str, str]:
    """Why the contact's onboarding is not sent yet (the reason's head), at the latest look."""
    (left,) = store.left_of(crm, contact)
    return left.status, left.reason.split(":")[0]


def capped_policy(data: dict[str, Any]) -> None:
    data["throttle"].update(per_account_per_day=2, per_day=3)


TEAM = ["CEO", "Head of Sales", "Support Engineer", "Sales Associate", "Security Analyst"]


@SQLITE_ONLY
def test_caps_send_at_most_so_many_a_day_and_the_rest_the_next_days_in_order(
    sandbox: Driver, store: Store, log: RequestLog, tmp_path: Path
) -> None:
    """2 a day per account, 3 a day in all: onboarding goes out over three days in (account, contact) order."""
    env = daemon_env(sandbox.crm, policy_copy(tmp_path, capped_policy))
    sizes = {0: 5, 1: 2, 2: 1}
    accounts = customers(sandbox, len(sizes))
    queue: list[tuple[str, str]] = []
    for index, account in enumerate(accounts):
        fresh_account(sandbox, account, today(sandbox), handoff_override="force")
        for n, title in enumerate(TEAM[: sizes[index]]):
            queue.append((account, add_person(sandbox, account, Person(f"P{index}", f"N{n}", title))))
    start = today(sandbox)
    expected, held_by = capped_days(sorted(queue), per_account=2, per_day=3)
    assert sorted(Counter(expected.values()).values()) == [2, 3, 3]  # the caps bind on every day but the last
    assert set(held_by.values()) == {"daily cap", "account cap"}

    ran(cycle(sandbox, store, env))
    assert len(log.requests) == 3
    assert {c: waits(store, sandbox.crm, c) for c in held_by} == {c: ("waiting", cap) for c, cap in held_by.items()}
    sandbox.time.advance(3_600)  # a second cycle the same day adds nothing: today's sends count
    ran(cycle(sandbox, store, env))
    assert len(log.requests) == 3
    assert {waits(store, sandbox.crm, c) for c in held_by} == {("waiting", "daily cap")}
    for day in range(1, 4):
        travel_to(sandbox, start + timedelta(days=day))
        ran(cycle(sandbox, store, env))

    assert log.census() == Counter({(c, ONBOARDING, 0): 1 for _, c in queue})
    assert {r.contact_id: (r.day - start).days for r in log.requests} == expected
    rows = send_rows(store, sandbox.crm, [c for _, c in queue])
    assert {c: (row.sent_on - start).days for (c, _, _), row in rows.items()} == expected
    assert {row.due_on for row in rows.values()} == {start}
    account_of = {c: a for a, c in queue}
    capped = load_assessments(Path(env["SYNC_CONFIG_DIR"]) / "assessments.yaml", sandbox.mapping)
    assert_respectful(log.requests, account_of, capped)


def monthly_policy(data: dict[str, Any]) -> None:
    data["kinds"][RELATIONSHIP]["cadence"] = {"every_months": 1}


@SQLITE_ONLY
def test_the_minimum_gap_holds_a_due_assessment_until_30_days_after_the_last(
    sandbox: Driver, store: Store, log: RequestLog, tmp_path: Path
) -> None:
    """Monthly relationship cycles: each falls due 28 to 31 days after the last send and waits for the 30-day gap."""
    env = daemon_env(sandbox.crm, policy_copy(tmp_path, monthly_policy))
    (account,) = customers(sandbox, 1)
    handoff = today(sandbox)  # 2026-02-02: cycle 1 falls due 28 days later, on 2026-03-02
    fresh_account(sandbox, account, handoff, handoff_override="force")
    contact = add_person(sandbox, account, Person("Grace", "Hopper", "CEO"))
    gap = timedelta(days=MIN_GAP)
    expected = {(ONBOARDING, 0): handoff}
    for n in (1, 2, 3):
        due = relationship_due(handoff, n, every_months=1)
        expected[RELATIONSHIP, n] = max(due, max(expected.values()) + gap)
    assert [d - handoff for d in expected.values()] == [timedelta(days=d) for d in (0, 30, 60, 90)]
    around = {d + k * DAY for d in expected.values() for k in (-2, -1, 0, 1)}  # the due days lie in there
    held: list[str] = []
    for day in sorted(d for d in around if d >= handoff):
        travel_to(sandbox, day)
        ran(cycle(sandbox, store, env))
        held += [x.reason for x in store.left_of(sandbox.crm, contact) if x.reason.startswith("minimum gap")]

    assert log.census() == Counter({(contact, kind, n): 1 for kind, n in expected})
    assert {(r.kind, r.cycle): r.day for r in log.requests} == expected
    rows = send_rows(store, sandbox.crm, [contact])
    assert {(k, n): row.due_on for (_, k, n), row in rows.items()} == {
        (ONBOARDING, 0): handoff,
        **{(RELATIONSHIP, n): relationship_due(handoff, n, every_months=1) for n in (1, 2, 3)},
    }
    assert f"minimum gap: last assessment on {handoff}, next from {handoff + gap}" in held


# -- exactly once: a lost reply ----------------------------------------------------------------------------


def hand_off_two(driver: Driver) -> list[str]:
    """An account handed off today by the override, with a decision maker and a champion: their ids."""
    (account,) = customers(driver, 1)
    fresh_account(driver, account, today(driver), handoff_override="force")
    people = [Person("Grace", "Hopper", "CEO"), Person("Ada", "Byron", "Head of Operations")]
    return [add_person(driver, account, p) for p in people]


def assert_one_send_each(store: Store, crm: str, contacts: list[str], keys: set[Key]) -> None:
    """One send row and one intent, done, per (contact, kind, cycle); no other assessment intent at all."""
    assert set(send_rows(store, crm, contacts)) == keys
    intents = assessment_intents(store, crm)
    assert sorted(intent_send(i) for i in intents.values()) == sorted(keys)
    assert {i.status for i in intents.values()} == {"done"}


@BOTH_STORES
def test_a_send_whose_reply_is_lost_is_written_once_per_key(
    sandbox: Driver, store: Store, log: RequestLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The CRM commits each request's fields and drops the reply: the next cycle completes it, no second send."""
    contacts = hand_off_two(sandbox)
    keys = {(c, ONBOARDING, 0) for c in contacts}
    dropped = DroppedReplies(sandbox, sandbox.write_path("contacts"))
    monkeypatch.setattr(engine, "handlers", dropped.handlers)

    decided = sandbox.time.now()
    first = ran(cycle(sandbox, store))
    assert first.outbox is not None
    assert first.outbox.retried == 2
    assert log.census() == Counter(dict.fromkeys(keys, 1))  # committed, though no reply came
    assert {i.status for i in assessment_intents(store, sandbox.crm).values()} == {"pending"}

    sandbox.time.advance(backoff(1).total_seconds())
    second = ran(cycle(sandbox, store))
    assert second.outbox is not None
    assert (second.outbox.done, second.outbox.retried) == (2, 0)  # request fields have no key to look up
    assert set(log.census()) == keys  # the same request written again, by design: one distinct request per key
    assert {r.requested_at for r in log.requests} == {decided}  # the retry writes the values decided then
    assert_one_send_each(store, sandbox.crm, contacts, keys)
    assert {i.attempts for i in assessment_intents(store, sandbox.crm).values()} == {2}

    sandbox.time.advance(DAY.total_seconds())
    third = ran(cycle(sandbox, store))
    assert third.outbox is not None
    assert third.outbox.claimed == 0
    assert len(log.requests) == 4
    assert len(dropped.dropped) == 2


def audience_policy(crm: str, audience: str) -> Callable[[dict[str, Any]], None]:
    """Both kinds sent through the CRM's audience channel (a Salesforce campaign, a HubSpot list)."""
    if crm == "salesforce":
        channel: dict[str, Any] = {"type": "salesforce_campaign", "campaign_id": audience, "status": "Sent"}
    else:
        channel = {"type": "hubspot_list", "lists": {"default": audience}}

    def edit(data: dict[str, Any]) -> None:
        for kind in data["kinds"].values():
            kind["channel"] = channel

    return edit


@BOTH_STORES
def test_an_audience_send_whose_reply_is_lost_is_one_membership(
    sandbox: Driver, store: Store, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The CRM adds each contact to the campaign or list and drops the reply: the retry finds it; one membership."""
    audience = str(sandbox.app.ids("Campaign")[0]) if sandbox.crm == "salesforce" else HUBSPOT_LIST
    env = daemon_env(sandbox.crm, policy_copy(tmp_path, audience_policy(sandbox.crm, audience)))
    contacts = hand_off_two(sandbox)
    keys = {(c, ONBOARDING, 0) for c in contacts}
    add = AUDIENCE_ADD[sandbox.crm]
    dropped = DroppedReplies(sandbox, add)
    monkeypatch.setattr(engine, "handlers", dropped.handlers)

    first = ran(cycle(sandbox, store, env))
    assert first.outbox is not None
    assert first.outbox.retried == 2
    assert [memberships(sandbox, audience, c) for c in contacts] == [1, 1]  # added, though no reply came

    sandbox.time.advance(backoff(1).total_seconds())
    second = ran(cycle(sandbox, store, env))
    assert second.outbox is not None
    assert (second.outbox.done, second.outbox.found_existing, second.outbox.performed) == (2, 2, 0)
    assert [memberships(sandbox, audience, c) for c in contacts] == [1, 1]
    assert sandbox.app.count(*add) == 2  # never added again
    assert_one_send_each(store, sandbox.crm, contacts, keys)
    rows = send_rows(store, sandbox.crm, contacts)
    assert {r.channel for r in rows.values()} == {
        "salesforce_campaign" if sandbox.crm == "salesforce" else "hubspot_list"
    }
    assert all(i.result and i.result.get("member_id") for i in assessment_intents(store, sandbox.crm).values())


# -- exactly once: a SIGKILLed daemon ---------------------------------------------------------------------


def run_killed_cycle(driver: Driver, store_url: str, mode: str) -> None:
    """A real daemon cycle in a child process, SIGKILLed in its first send (the sandbox keeps serving from here)."""
    job = KilledCycle(store_url, SandboxAddress.of(driver).to_json(), driver.time.now().isoformat(), mode)
    done = subprocess.run(  # noqa: S603 - fixed arguments, our own interpreter
        [sys.executable, "-m", "tests.integration.assessment_support", job.to_json()],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == -signal.SIGKILL, done.stderr[-3000:]


@BOTH_STORES
@pytest.mark.parametrize(
    "mode", [pytest.param("before_call", id="killed-before-the-crm-call"),
             pytest.param("after_effect", id="killed-after-the-crm-acted")],
)  # fmt: skip
def test_a_send_of_a_killed_daemon_is_made_once(
    sandbox: Driver, store: Store, store_url: str, log: RequestLog, mode: str
) -> None:
    """Killed with the sends stored and claimed, before or after the CRM acted: the next cycle completes each once."""
    contacts = hand_off_two(sandbox)
    keys = {(c, ONBOARDING, 0) for c in contacts}
    acted = mode == "after_effect"

    run_killed_cycle(sandbox, store_url, mode)
    assert set(send_rows(store, sandbox.crm, contacts)) == keys  # recorded with their intents, before the drain
    held = assessment_intents(store, sandbox.crm)
    assert {i.status for i in held.values()} == {"in_flight"}
    assert len(log.requests) == int(acted)

    sandbox.time.advance(LEASE.total_seconds() + 1)  # the dead daemon's lease runs out
    after = ran(cycle(sandbox, store))
    assert after.outbox is not None
    assert (after.outbox.claimed, after.outbox.done) == (3, 3)  # the two sends and the note the child held
    assert {i.attempts for i in assessment_intents(store, sandbox.crm).values()} == {2}
    census = log.census()
    assert set(census) == keys
    killed_in = [k for k in keys if census[k] == 2]  # the one the child wrote, written again (no key to look up)
    assert (len(killed_in), sorted(census.values())) == ((1, [1, 2]) if acted else (0, [1, 1]))
    assert_one_send_each(store, sandbox.crm, contacts, keys)

    sandbox.time.advance(DAY.total_seconds())
    again = ran(cycle(sandbox, store))
    assert again.outbox is not None
    assert again.outbox.claimed == 0
    assert log.census() == census


# -- exactly once: three replicas --------------------------------------------------------------------------

REPLICAS = 3


@pytest.fixture(scope="module")
def replicas() -> Iterator[Pool]:
    """Three spawned processes sharing a start barrier, each running whole daemon cycles."""
    context = multiprocessing.get_context("spawn")
    with context.Pool(REPLICAS, initializer=init_replica, initargs=(context.Barrier(REPLICAS),)) as pool:
        yield pool
        pool.close()
        pool.join()


def run_replicas(pool: Pool, driver: Driver, store_url: str) -> list[dict[str, Any]]:
    """One full cycle in each replica at the sandbox's now, all started together; each must complete."""
    task = (store_url, SandboxAddress.of(driver).to_json(), driver.time.now().isoformat())
    results = pool.starmap(replica_cycle, [task] * REPLICAS)
    assert len({r["pid"] for r in results}) == REPLICAS
    assert [(r["status"], r["error"]) for r in results] == [("ok", None)] * REPLICAS, results
    return results


@pytest.mark.postgres
@pytest.mark.parametrize("store_url", ["postgresql"], indirect=True)
def test_three_replicas_running_full_cycles_send_each_assessment_once(
    sandbox: Driver, store: Store, store_url: str, log: RequestLog, replicas: Pool
) -> None:
    """Three daemons on one PostgreSQL store, the same day twice (handoff, then six months on): one send per key."""
    accounts = customers(sandbox, 3)
    contacts: list[str] = []
    for index, account in enumerate(accounts):
        fresh_account(sandbox, account, today(sandbox))
        contacts += [add_person(sandbox, account, Person(f"R{index}", f"N{n}", t)) for n, t in enumerate(TEAM[:4])]
    # One daemon first: in production the lease keeps cycles apart, and replicas racing through a fresh store's
    # first cycle (plans, cursors, pages all new) are not what this test is about; nothing is due yet.
    ran(cycle(sandbox, store))
    assert log.requests == []
    travel_to(sandbox, today(sandbox) + DAY)
    for account in accounts:
        force_handoff(sandbox, account)
    onboarding = {(c, ONBOARDING, 0) for c in contacts}

    results = run_replicas(replicas, sandbox, store_url)
    assert log.census() == Counter(dict.fromkeys(onboarding, 1))
    assert sum(r["sent"] for r in results) == len(onboarding)  # each send recorded by exactly one replica
    assert_one_send_each(store, sandbox.crm, contacts, onboarding)

    travel_to(sandbox, relationship_due(today(sandbox), 1))
    one_process = send_plan(shipped_policy(sandbox), store, sandbox.crm, sandbox.time.now())
    relationship = {d.key() for d in one_process.sends}
    assert relationship == {(c, RELATIONSHIP, 1) for c in contacts}
    results = run_replicas(replicas, sandbox, store_url)
    assert log.census() == Counter(dict.fromkeys(onboarding | relationship, 1))
    assert sum(r["sent"] for r in results) == len(relationship)
    assert_one_send_each(store, sandbox.crm, contacts, onboarding | relationship)
    assert {r.day for r in log.requests if r.kind == RELATIONSHIP} == {today(sandbox)}
