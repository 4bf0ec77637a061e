"""The API budget governor over whole cycles, against both sandbox CRMs with the real client libraries.

Issue 3, build point 8. When the calls left above the reserve (20% of the daily budget, kept for other
integrations) do not cover the cycle's writes, the most valuable work goes first (assessment fields, then
handoff fields, then progress fields) and the rest waits for the next cycle; the reserve is never spent on
writes or on the outbox. A HubSpot ``DAILY`` 429 parks the CRM until midnight in the account's time zone,
and a parked cycle makes no call at all. A spent budget met by the outbox drain parks the CRM and gives
the intent back without counting the attempt.

"Calls left above the reserve" is read, as the daemon reads it, from the sandbox's own counters:
Salesforce ``limit - ceil(20% of limit) - used``; HubSpot ``daily remaining - ceil(20% of daily)``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from click.testing import CliRunner

from connectors.hubspot import HubSpotConnector, RateLimiter
from connectors.salesforce.auth import ClientCredentialsAuth
from connectors.salesforce.connector import SalesforceConnector
from sync_daemon.cli import main
from sync_daemon.commands.status import collect
from sync_daemon.config.loader import load_mapping
from sync_daemon.domain.budget import BudgetPolicy
from sync_daemon.domain.diff import DesiredRecord
from sync_daemon.engine import CycleOptions, CycleResult, PushSetup, run_cycle
from sync_daemon.intents import NOTE, note_payload
from sync_daemon.push import BATCH_CALL_SIZE, PushOptions
from sync_daemon.resources import shipped
from sync_daemon.sandbox import hubspot as hs
from sync_daemon.sandbox import salesforce as sf
from sync_daemon.sandbox.hubspot import HubSpotSandbox
from sync_daemon.sandbox.hubspot_data import PropertyDef
from sync_daemon.sandbox.server import Clock, SandboxServer
from sync_daemon.store import Store
from tests.conformance.drivers import Driver, HubSpotDriver, start_driver
from tests.faketime import FakeTime

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
    from pathlib import Path

    from connectors.base import Connector, ObjectKind
    from sync_daemon.config.models import MappingFile

CRMS = ["salesforce", "hubspot"]
RESERVE = 0.20
N = 250  # records per kind that the provider wants changed
ASSESSMENT = {"assessment_kind": "relationship", "assessment_cycle": 1}
HANDOFF = {"handoff_status": "Ready", "handoff_date": date(2026, 2, 20)}
PROGRESS = {"onboarding_progress": 42.0, "onboarding_phase": "Configuration"}


def governed_mapping(crm: str, tmp_path: Path) -> Path:
    """A copy of the shipped mapping: its contacts push the assessment request fields, its accounts the rest."""
    text = shipped(f"mappings/{crm}.yaml").read_text(encoding="utf-8")
    assert "assessment_kind:" in text
    assert "assessment_cycle:" in text
    path = tmp_path / f"{crm}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@dataclass
class Wanted:
    """A desired-state provider: assessment fields on some contacts, handoff and progress on some accounts.

    ``on_plan`` runs while the push plans (after the pull, before any write or outbox call): the hook
    through which a test lets "another integration" spend the budget mid-cycle.
    """

    contacts: frozenset[str] = frozenset()
    accounts: frozenset[str] = frozenset()
    on_plan: Callable[[], None] | None = None
    seen: list[str] = field(default_factory=list)

    def desired(self, kind: ObjectKind, rows: Sequence[Mapping[str, Any]]) -> Iterable[DesiredRecord]:
        """The wanted fields for the wanted rows."""
        if self.on_plan is not None and not self.seen:
            self.on_plan()
        self.seen.append(kind)
        wanted = self.contacts if kind == "contacts" else self.accounts
        values = ASSESSMENT if kind == "contacts" else HANDOFF | PROGRESS
        for row in rows:
            if row["id"] in wanted:
                yield DesiredRecord(kind, row["id"], dict(values))


@dataclass
class Org:
    """A running sandbox, the governed mapping, and how to reach and measure its budget."""

    driver: Driver
    mapping: MappingFile

    @property
    def crm(self) -> str:
        """``salesforce`` or ``hubspot``."""
        return self.driver.crm

    def connector(self) -> Connector:
        """The real connector on the governed mapping, on the driver's fake time."""
        d = self.driver
        if self.crm == "salesforce":
            auth = ClientCredentialsAuth(sf.CONSUMER_KEY, sf.CONSUMER_SECRET, login_url=d.server.url)
            return SalesforceConnector(self.mapping, auth, ca_bundle=d.server.ca_file, retry=d.retry(), page_size=200)
        limiter = RateLimiter(180, clock=d.time.monotonic, sleep=d.time.sleep)
        return HubSpotConnector(self.mapping, hs.ACCESS_TOKEN, base_url=d.server.url, retry=d.retry(),
                                limiter=limiter, clock=d.time.now, timezone="America/New_York")  # fmt: skip

    def _daily(self) -> tuple[int, int]:
        """(used, limit) of the day's budget, as the sandbox counts it."""
        app = self.driver.app
        if self.crm == "salesforce":
            return app.api_used, app.api_limit
        return app.limiter.used_today, app.limiter.daily

    def left_above_reserve(self) -> int:
        """Calls left before the reserve is touched (negative once it is dipped into)."""
        used, limit = self._daily()
        return limit - math.ceil(limit * RESERVE) - used

    def leave_above_reserve(self, calls: int) -> None:
        """Let other integrations spend the day's budget until ``calls`` are left above the reserve."""
        used, limit = self._daily()
        used = limit - math.ceil(limit * RESERVE) - calls
        if self.crm == "salesforce":
            self.driver.app.set_api_usage(used)
        else:
            self.driver.app.set_daily_remaining(limit - used)

    def restore_budget(self) -> None:
        """A fresh day: nothing spent."""
        if self.crm == "salesforce":
            self.driver.app.set_api_usage(0)
        else:
            self.driver.app.set_daily_remaining(self.driver.app.limiter.daily)

    def write_calls(self) -> int:
        """Batch write calls the sandbox has served (composite/sobjects, batch/update)."""
        path = r"/composite/sobjects$" if self.crm == "salesforce" else r"/batch/update$"
        return int(self.driver.app.count(path=path))

    def value(self, kind: ObjectKind, record_id: str, name: str) -> Any:
        """A field's value in the CRM, by canonical name."""
        crm_name = self.mapping.push_fields(kind)[name].field
        if self.crm == "salesforce":
            return self.driver.app.record("Account" if kind == "accounts" else "Contact", record_id)[crm_name]
        return self.driver.app.get("companies" if kind == "accounts" else "contacts", record_id)[crm_name]

    def count_with(self, kind: ObjectKind, ids: Iterable[str], name: str) -> int:
        """How many of ``ids`` hold a value in ``name``."""
        return sum(self.value(kind, i, name) not in (None, "") for i in ids)

    def cycle(self, store: Store, *, wanted: Wanted | None = None, dry_run: bool = False,
              reserve: float = RESERVE) -> CycleResult:  # fmt: skip
        """One cycle with a fresh connector; the safety valve is forced (these are first backfills)."""
        options = PushOptions(force=True, budget=BudgetPolicy(reserve_share=reserve))
        setup = PushSetup(self.mapping, [wanted or Wanted()], options)
        connector = self.connector()
        try:
            return run_cycle(connector, store, options=CycleOptions(overlap=timedelta(minutes=5), dry_run=dry_run),
                             clock=self.driver.time.now, monotonic=self.driver.time.monotonic,
                             push_setup=setup)  # fmt: skip
        finally:
            connector.close()


def _add_hubspot_assessment_properties(app: HubSpotSandbox) -> None:
    """What a HubSpot admin does before mapping the assessment fields: create the contact properties."""
    with app.lock:
        props = app.properties["contacts"]
        props["assessment_kind"] = PropertyDef("assessment_kind", "Assessment kind", "string", "text",
                                               "contactinformation", custom=True)  # fmt: skip
        props["assessment_cycle"] = PropertyDef("assessment_cycle", "Assessment cycle", "number", "number",
                                                "contactinformation", custom=True)  # fmt: skip


@pytest.fixture(params=CRMS)
def org(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Org]:
    """A small org on fake time with the governed mapping."""
    driver = start_driver(request.param, accounts=400, contacts=600)
    if driver.crm == "hubspot":
        _add_hubspot_assessment_properties(driver.app)
    try:
        yield Org(driver, load_mapping(governed_mapping(driver.crm, tmp_path)))
    finally:
        driver.server.stop()


def _first(ids: Iterable[str], n: int = N) -> frozenset[str]:
    return frozenset(sorted(ids, key=lambda i: (len(i), i))[:n])


def wanted_for(org: Org) -> Wanted:
    """N contacts to assess, N customer accounts to hand off and move along."""
    d = org.driver
    return Wanted(_first(d.in_scope_ids("contacts")), _first(d.in_scope_ids("accounts")))


def quiet_pull_calls(org: Org, store: Store) -> int:
    """Fill the store (a dry run), then measure what a no-change cycle's pull costs (another dry run).

    Measured on the CRM's budget counter: Salesforce's login is a call the connector makes but the org's
    API budget does not count.
    """
    first = org.cycle(store, dry_run=True)
    assert first.ok, first.error
    org.driver.time.advance(3600)
    before = org.left_above_reserve()
    second = org.cycle(store, dry_run=True)
    assert second.ok, second.error
    org.driver.time.advance(3600)
    return before - org.left_above_reserve()


def calls_for(records: int, crm: str) -> int:
    """Write calls for ``records`` record updates in full batches."""
    return math.ceil(records / BATCH_CALL_SIZE[crm])


# -- priority passes when the budget is short -----------------------------------------------------


def test_a_short_budget_writes_assessments_then_handoff_and_defers_the_rest(org: Org, store: Store) -> None:
    """With K calls left above the reserve, assessment fields land, then handoff fields; progress waits a cycle."""
    size = BATCH_CALL_SIZE[org.crm]
    wanted = wanted_for(org)
    pull = quiet_pull_calls(org, store)
    k = calls_for(N, org.crm) + 1  # every contact's assessment, and one batch of accounts' handoff fields
    org.leave_above_reserve(pull + k)
    writes_before = org.write_calls()

    short = org.cycle(store, wanted=wanted)

    assert short.ok, short.error
    assert short.push is not None
    assert org.write_calls() - writes_before == k == short.push.write_calls
    assert org.left_above_reserve() == 0  # the pull's calls and the writes spent exactly K: none of the reserve
    assert org.count_with("contacts", wanted.contacts, "assessment_kind") == N
    assert org.count_with("accounts", wanted.accounts, "handoff_status") == size
    assert org.count_with("accounts", wanted.accounts, "handoff_date") == size
    assert org.count_with("accounts", wanted.accounts, "onboarding_progress") == 0
    # Deferred record updates, per pass: the accounts' handoff fields that did not fit, and every progress update.
    assert short.push.deferred_records == (N - size) + N
    assert store.recent_runs(1)[0].counts["push"]["deferred_records"] == (N - size) + N

    org.restore_budget()
    org.driver.time.advance(600)
    writes_before = org.write_calls()
    restored = org.cycle(store, wanted=wanted)

    assert restored.ok, restored.error
    assert restored.push is not None
    assert restored.push.deferred_records == 0
    assert restored.push.planned == {"accounts": N, "contacts": 0}
    assert org.write_calls() - writes_before == calls_for(N, org.crm)  # one unsplit pass: all fields per record
    for name in ("handoff_status", "onboarding_progress", "onboarding_phase"):
        assert org.count_with("accounts", wanted.accounts, name) == N
    assert org.value("accounts", min(wanted.accounts), "onboarding_phase") == "Configuration"


@pytest.mark.parametrize("budget", ["exact", "ample"])
def test_a_sufficient_budget_writes_in_unsplit_full_batches(org: Org, store: Store, budget: str) -> None:
    """When the calls left cover the writes (exactly, or amply) every record goes in ceil(N/size) calls a kind."""
    wanted = wanted_for(org)
    needed = 2 * calls_for(N, org.crm)
    pull = quiet_pull_calls(org, store)
    if budget == "exact":
        org.leave_above_reserve(pull + needed)
    writes_before = org.write_calls()

    result = org.cycle(store, wanted=wanted)

    assert result.ok, result.error
    assert result.push is not None
    assert result.push.deferred_records == 0
    assert org.write_calls() - writes_before == needed == result.push.write_calls
    assert result.push.written == {"accounts": N, "contacts": N}
    assert org.left_above_reserve() >= 0
    assert org.count_with("accounts", wanted.accounts, "onboarding_progress") == N


def test_extra_calls_from_lock_retries_never_reach_into_the_reserve(tmp_path: Path, store: Store) -> None:
    """Calls spent retrying locked rows count: later passes see the budget the CRM reports, not an estimate."""
    driver = start_driver("salesforce", accounts=400, contacts=600)
    try:
        org = Org(driver, load_mapping(governed_mapping("salesforce", tmp_path)))
        wanted = wanted_for(org)
        pull = quiet_pull_calls(org, store)
        org.leave_above_reserve(pull + calls_for(N, "salesforce") + 1)
        driver.app.lock_rows([min(wanted.contacts)], times=1)  # one more call: the locked contact's second round

        result = org.cycle(store, wanted=wanted)

        assert result.ok, result.error
        assert result.push is not None
        assert org.left_above_reserve() >= 0
        assert org.count_with("contacts", wanted.contacts, "assessment_kind") == N
        assert org.count_with("accounts", wanted.accounts, "handoff_status") == 0
        assert result.push.deferred_records == 2 * N
    finally:
        driver.server.stop()


# -- HubSpot's DAILY limit: park until midnight in the account's time zone --------------------------

# 01:30 in New York on the night clocks go forward (2026-03-08, EST to EDT): the next midnight comes 22.5 hours
# later, at 04:00 UTC; a reset computed with the evening's UTC-5 offset would say 05:00.
DST_NIGHT = datetime(2026, 3, 8, 6, 30, tzinfo=UTC)
NEXT_MIDNIGHT_NY = datetime(2026, 3, 9, 4, 0, tzinfo=UTC)


@pytest.fixture
def portal(tmp_path: Path) -> Iterator[Org]:
    """A HubSpot portal in New York that enforces its limits, on a fake clock just before a DST change."""
    fake = FakeTime(DST_NIGHT)
    app = HubSpotSandbox(accounts=60, contacts=150, clock=Clock(fake.now), enforce_rate_limits=True,
                         timezone="America/New_York")  # fmt: skip
    server = SandboxServer(app, tls=False).start()
    try:
        yield Org(HubSpotDriver("hubspot", app, server, fake), load_mapping(governed_mapping("hubspot", tmp_path)))
    finally:
        server.stop()


def status_json(url: str, tmp_path: Path, now: datetime | None = None) -> dict[str, Any]:
    """What ``sync-daemon status --output json`` shows on the store at ``url``, as of ``now``.

    Through the CLI when ``now`` is the wall clock; through the same collector with the test's fake clock otherwise
    (status hides a park that has already ended, and the fake clock lives in another month).
    """
    if now is not None:
        store = Store.open(url)
        try:
            return collect(store, 10, now)
        finally:
            store.close()
    env = {"SYNC_DATABASE_URL": url, "SYNC_SECRETS_DIR": str(tmp_path / "no-secrets"), "SYNC_LOG_FORMAT": "json"}
    result = CliRunner().invoke(main, ["status", "--output", "json"], env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.output[result.output.index("{\n") :])
    return data


def test_a_daily_429_parks_hubspot_until_midnight_in_the_account_time_zone(portal: Org, tmp_path: Path) -> None:
    """DAILY 429 ends the cycle partial and parks until NY midnight; parked cycles make no call; then it resumes."""
    url = f"sqlite:///{tmp_path / 'parked.db'}"
    store = Store.open(url)
    try:
        portal.driver.app.set_daily_remaining(2)  # other integrations spent the day: two calls, then DAILY

        spent = portal.cycle(store)

        assert spent.status == "partial"
        assert spent.error is not None
        assert "BudgetExhaustedError" in spent.error
        assert portal.driver.app.count() == 3  # two answered, the third refused with 429 DAILY
        assert store.parked_until("hubspot") == NEXT_MIDNIGHT_NY
        assert status_json(url, tmp_path, portal.driver.time.now())["parked"] == {
            "hubspot": NEXT_MIDNIGHT_NY.isoformat()
        }
        assert status_json(url, tmp_path)["parked"] == {}  # by the wall clock (November), that park has ended

        portal.driver.time.advance((NEXT_MIDNIGHT_NY - DST_NIGHT).total_seconds() - 60)  # 03:59 UTC, 23:59 EDT
        calls = portal.driver.app.count()
        parked = portal.cycle(store)

        assert parked.status == "parked"
        assert parked.api_calls == 0
        assert portal.driver.app.count() == calls  # not one request reached the CRM
        assert store.recent_runs(1)[0].status == "parked"

        portal.driver.time.advance(120)  # 00:01 in New York: HubSpot's new day
        resumed = portal.cycle(store)

        assert resumed.ok, resumed.error
        assert store.count("accounts", "hubspot") == len(portal.driver.in_scope_ids("accounts"))
        assert store.count("contacts", "hubspot") == len(portal.driver.in_scope_ids("contacts"))
    finally:
        store.close()


# -- the outbox: last in line, never in the reserve, parked on a spent budget ------------------------


def _note_intent(org: Org, store: Store) -> str:
    """A note intent on the first customer account, stored as the domain would; returns its key."""
    account = min(_first(org.driver.in_scope_ids("accounts"), 1))
    key = f"note:budget:{account}"
    payload = note_payload(account, "Handoff", "Ready for Customer Success")
    store.enqueue(None, key=key, crm=org.crm, kind=NOTE, payload=payload, priority=30, now=org.driver.time.now())
    return key


def _notes(org: Org) -> list[str]:
    return list(org.driver.app.ids("ContentNote" if org.crm == "salesforce" else "notes"))


def _spend_everything(org: Org) -> Callable[[], None]:
    """Another integration spends the rest of the day's budget (Salesforce 403, HubSpot DAILY 429 from now)."""

    def spend() -> None:
        if org.crm == "salesforce":
            org.driver.app.set_api_usage(org.driver.app.api_limit)
        else:
            org.driver.app.enforce_rate_limits = True
            org.driver.app.set_daily_remaining(0)

    return spend


def test_the_drain_parks_on_a_spent_budget_without_counting_the_attempt(org: Org, store: Store) -> None:
    """A budget refusal met by the drain parks the CRM, ends the cycle partial, and leaves the intent uncounted."""
    first = org.cycle(store)
    assert first.ok, first.error
    key = _note_intent(org, store)
    org.driver.time.advance(600)

    spent = org.cycle(store, wanted=Wanted(on_plan=_spend_everything(org)))

    assert spent.status == "partial"
    assert spent.outbox is not None
    assert spent.outbox.stopped == "budget"
    assert spent.error is not None
    assert "API budget is spent" in spent.error
    intent = store.intent(key)
    assert intent is not None
    assert (intent.status, intent.attempts) == ("pending", 0)
    assert intent.last_error is not None
    assert "BudgetExhaustedError" in intent.last_error
    until = store.parked_until(org.crm)
    assert until is not None
    assert until > org.driver.time.now()
    assert _notes(org) == []

    calls = org.driver.app.count()
    assert org.cycle(store).status == "parked"
    assert org.driver.app.count() == calls

    org.driver.time.advance((until - org.driver.time.now()).total_seconds() + 1)
    org.restore_budget()
    resumed = org.cycle(store)

    assert resumed.ok, resumed.error
    done = store.intent(key)
    assert done is not None
    assert (done.status, done.attempts) == ("done", 1)
    assert len(_notes(org)) == 1


def test_the_drain_leaves_the_reserve_alone(org: Org, store: Store) -> None:
    """With less than an intent's calls left above the reserve, the drain claims nothing; budget back, it runs."""
    key = _note_intent(org, store)
    pull = quiet_pull_calls(org, store)
    org.leave_above_reserve(pull + 1)

    short = org.cycle(store)

    assert short.ok, short.error
    assert short.outbox is not None
    assert (short.outbox.stopped, short.outbox.claimed) == ("reserve", 0)
    assert org.left_above_reserve() == 1
    intent = store.intent(key)
    assert intent is not None
    assert (intent.status, intent.attempts) == ("pending", 0)

    org.restore_budget()
    org.driver.time.advance(600)
    assert org.cycle(store).ok
    done = store.intent(key)
    assert done is not None
    assert done.status == "done"
    assert len(_notes(org)) == 1
