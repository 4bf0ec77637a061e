"""The HubSpot connector with the real hubspot-api-client against the loopback HubSpot sandbox.

Time is shared and fake: the sandbox's clock, the connector's rate limiter and the retry policy's
sleep all read or move one :class:`FakeTime`, so waits cost nothing and no test sleeps.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import pytest
from ruamel.yaml import YAML

from connectors.base import (
    AuthError,
    BudgetExhaustedError,
    Connector,
    CrmRecord,
    ObjectKind,
    Page,
    ProtocolError,
)
from connectors.hubspot import HubSpotConnector, RateLimiter
from connectors.retry import RetryPolicy, RetrySettings
from sync_daemon.config.models import MappingFile
from sync_daemon.sandbox.hubspot import ACCESS_TOKEN, HubSpotSandbox
from sync_daemon.sandbox.server import Clock, Fault, SandboxServer

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

MAPPING = MappingFile.model_validate(YAML(typ="safe").load(Path(__file__).parents[2] / "mappings" / "hubspot.yaml"))
START = datetime(2026, 2, 2, 15, 0, tzinfo=UTC)
PORTAL_TZ = "America/New_York"


class FakeTime:
    """One fake clock for the sandbox, the limiter and the retry sleeps."""

    def __init__(self) -> None:
        """Start at :data:`START`."""
        self.elapsed = 0.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        """Seconds since the start (the limiter's clock)."""
        return self.elapsed

    def now(self) -> datetime:
        """The wall-clock time (the sandbox's and the connector's)."""
        return START + timedelta(seconds=self.elapsed)

    def sleep(self, seconds: float) -> None:
        """Move time on instead of waiting."""
        self.sleeps.append(seconds)
        self.elapsed += seconds

    def advance(self, seconds: float) -> None:
        """Let time pass without a sleep being recorded."""
        self.elapsed += seconds


@pytest.fixture
def fake_time() -> FakeTime:
    """A fresh fake clock."""
    return FakeTime()


@pytest.fixture(scope="module")
def reaper() -> Iterator[list[SandboxServer]]:
    """Servers to stop at the end of the module, all at once.

    Stopping one waits out its serve loop's half-second poll; doing it in parallel once per module
    keeps the suite fast.
    """
    servers: list[SandboxServer] = []
    yield servers
    threads = [threading.Thread(target=server.stop) for server in servers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


@pytest.fixture
def make(
    fake_time: FakeTime, reaper: list[SandboxServer]
) -> Iterator[Callable[..., tuple[HubSpotSandbox, HubSpotConnector]]]:
    """Build a sandbox, serve it, and connect to it; the connector is closed after the test."""
    opened: list[HubSpotConnector] = []

    def build(
        accounts: int = 40,
        contacts: int = 300,
        *,
        limiter: RateLimiter | None = None,
        tls: bool = False,
        trust: bool = True,
        **sandbox: Any,
    ) -> tuple[HubSpotSandbox, HubSpotConnector]:
        app = HubSpotSandbox(
            accounts=accounts,
            contacts=contacts,
            clock=Clock(fake_time.now),
            timezone=PORTAL_TZ,
            **sandbox,
        )
        server = SandboxServer(app, tls=tls).start()
        limiter = limiter or RateLimiter.for_tier("professional", clock=fake_time.monotonic, sleep=fake_time.sleep)
        connector = HubSpotConnector(
            MAPPING,
            ACCESS_TOKEN,
            base_url=server.url,
            timeout=5.0,
            retry=RetryPolicy(RetrySettings(attempts=5), sleep=fake_time.sleep),
            limiter=limiter,
            timezone=PORTAL_TZ,
            clock=fake_time.now,
            ca_bundle=server.ca_file if trust else None,
        )
        reaper.append(server)
        opened.append(connector)
        return app, connector

    yield build
    for connector in opened:
        connector.close()


def _pull(connector: HubSpotConnector, kind: ObjectKind, since: datetime | None = None) -> list[Page]:
    return list(connector.pull(kind, since))


def _live(pages: list[Page]) -> list[CrmRecord]:
    return [r for p in pages for r in p.records if not r.deleted]


def _in_scope(app: HubSpotSandbox) -> set[str]:
    return {i for i in app.ids("companies") if app.get("companies", i).get("lifecyclestage") == "customer"}


def test_connector_satisfies_the_protocol(make: Any) -> None:
    """The HubSpot connector is a :class:`connectors.base.Connector`."""
    _, connector = make(accounts=2, contacts=2)
    assert isinstance(connector, Connector)


@pytest.mark.slow
def test_full_pull_past_the_search_cap(make: Any) -> None:
    """300 companies and 12,000 contacts arrive complete and unduplicated, past the 10,000 cap."""
    app, connector = make(accounts=300, contacts=12_000)
    accounts = _live(_pull(connector, "accounts"))
    assert sorted(r.id for r in accounts) == sorted(_in_scope(app))
    contacts = _live(_pull(connector, "contacts"))
    assert len(contacts) == 12_000
    assert len({r.id for r in contacts}) == 12_000
    assert {r.id for r in contacts} == set(app.ids("contacts"))
    assert all(r.account_id in set(app.ids("companies")) for r in contacts)
    assert app.count("POST", r"/search$") == 2 + 61  # one per page, no 400 from the cap


def test_records_carry_canonical_fields_and_modified_time(make: Any) -> None:
    """Fields arrive under canonical names with HubSpot's string values and an aware UTC time."""
    app, connector = make()
    record = _live(_pull(connector, "accounts"))[0]
    stored = app.get("companies", record.id)
    assert record.fields["name"] == stored["name"]
    assert record.fields["onboarding_steps"] == stored.get("onboarding_steps")
    assert set(record.fields) == set(MAPPING.pulled_fields("accounts"))
    assert record.modified_at.tzinfo is not None
    assert record.modified_at.utcoffset() == timedelta(0)


def test_contacts_carry_their_primary_company(make: Any) -> None:
    """A contact's account is its primary company, even when another company has a lower id."""
    app, connector = make()
    contact = app.ids("contacts")[5]
    low, high = min(app.ids("companies"), key=int), max(app.ids("companies"), key=int)
    app.associate(contact, low, primary=False)
    app.associate(contact, high, primary=True)
    by_id = {r.id: r for r in _live(_pull(connector, "contacts"))}
    assert by_id[contact].account_id == high
    assert all(r.account_id == app.get("contacts", r.id)["associatedcompanyid"] for r in by_id.values())


def test_archived_records_come_back_as_tombstones(make: Any, fake_time: FakeTime) -> None:
    """An archived company and contact arrive once as tombstones for a since before the archive."""
    app, connector = make()
    company, contact = sorted(_in_scope(app))[3], app.ids("contacts")[7]
    since = fake_time.now()
    fake_time.advance(60)
    app.archive("companies", company)
    app.archive("contacts", contact)
    accounts = [r for p in _pull(connector, "accounts", since) for r in p.records]
    assert [(r.id, r.deleted) for r in accounts if r.id == company] == [(company, True)]
    contacts = [r for p in _pull(connector, "contacts", since) for r in p.records]
    assert [(r.id, r.deleted) for r in contacts if r.id == contact] == [(contact, True)]
    later = [r for p in _pull(connector, "accounts", fake_time.now() + timedelta(seconds=1)) for r in p.records]
    assert not any(r.deleted for r in later)


def test_merged_records_name_the_ids_they_absorbed(make: Any, fake_time: FakeTime) -> None:
    """The survivor of a merge arrives with the merged-away id in ``merged_ids``."""
    app, connector = make()
    gone, survivor = sorted(_in_scope(app))[:2]
    since = fake_time.now()
    fake_time.advance(60)
    app.merge("companies", gone, survivor)
    records = {r.id: r for r in _live(_pull(connector, "accounts", since))}
    assert gone in records[survivor].merged_ids
    assert gone not in records


def test_backdated_update_is_caught_by_an_overlapping_since(make: Any, fake_time: FakeTime) -> None:
    """A late write with an older timestamp is missed at the cursor and caught by the overlap."""
    app, connector = make()
    cursor = max(r.modified_at for r in _live(_pull(connector, "accounts")))
    fake_time.advance(600)
    target = sorted(_in_scope(app))[1]
    app.update("companies", target, modified_at=cursor - timedelta(minutes=2), name="Backdated Ltd")
    exact = {r.id for r in _live(_pull(connector, "accounts", cursor))}
    assert target not in exact
    overlapped = {r.id: r for r in _live(_pull(connector, "accounts", cursor - timedelta(minutes=5)))}
    assert overlapped[target].fields["name"] == "Backdated Ltd"


def test_search_lag_hides_fresh_writes_until_they_index(make: Any, fake_time: FakeTime) -> None:
    """A fresh write is invisible to search during the lag and appears once it has indexed."""
    app, connector = make(search_lag_seconds=30)
    since = fake_time.now()
    target = sorted(_in_scope(app))[2]
    app.update("companies", target, name="Fresh Co")
    assert target not in {r.id for r in _live(_pull(connector, "accounts", since))}
    fake_time.advance(31)
    assert target in {r.id for r in _live(_pull(connector, "accounts", since))}


def test_resume_continues_right_after_a_page(make: Any) -> None:
    """Resuming from a page's token yields exactly the records after that page."""
    _, connector = make(accounts=40, contacts=700)
    pages = _pull(connector, "contacts")
    resumed = list(connector.pull("contacts", None, pages[1].resume))
    assert [r.id for p in resumed for r in p.records] == [r.id for p in pages[2:] for r in p.records]


TEN_SECONDLY = {"status": "error", "message": "You have reached your ten_secondly_rolling limit.",
                "errorType": "RATE_LIMIT", "policyName": "TEN_SECONDLY_ROLLING"}  # fmt: skip


@pytest.mark.parametrize(
    ("fault", "waits"),
    [
        (
            Fault(
                "status",
                "POST",
                r"/search$",
                status=429,
                body=TEN_SECONDLY,
                headers={"Retry-After": "3"},
            ),
            [3.0],
        ),
        (Fault("status", "POST", r"/search$", status=429, body=TEN_SECONDLY), [10.0]),
        (
            Fault("status", "POST", r"/batch/read$", times=2, status=503, body=b"<html>busy</html>"),
            None,
        ),
        (Fault("reset", "POST", r"/search$"), None),
        (Fault("reset", "GET", r"/objects/contacts$"), None),
    ],
    ids=[
        "429-retry-after",
        "429-no-retry-after",
        "503-twice",
        "reset-search",
        "reset-archived-list",
    ],
)
def test_transient_faults_change_nothing(
    make: Any, fake_time: FakeTime, fault: Fault, waits: list[float] | None
) -> None:
    """429s (with or without Retry-After), 503s and resets are retried to the same result."""
    app, connector = make(contacts=450)
    clean = _live(_pull(connector, "contacts"))
    clean_calls, sleeps_before = connector.usage().calls, len(fake_time.sleeps)
    retries = fault.times if fault.kind == "status" else 1
    app.inject(fault)
    faulty = _live(_pull(connector, "contacts"))
    assert faulty == clean
    assert connector.usage().calls == 2 * clean_calls + retries
    if waits is not None:
        assert fake_time.sleeps[sleeps_before:] == waits


def test_client_side_limiter_keeps_the_portal_from_refusing(make: Any, fake_time: FakeTime) -> None:
    """With limits enforced, the tier limiter paces searches so HubSpot never answers 429."""
    app, connector = make(accounts=20, contacts=2_000, tier="free", enforce_rate_limits=True)
    assert len(_live(_pull(connector, "contacts"))) == 2_000
    assert not [c for c in app.calls if c.status == 429]
    assert fake_time.sleeps  # the limiter did hold searches back


def test_without_pacing_secondly_429s_are_retried(make: Any, fake_time: FakeTime) -> None:
    """A limiter too generous for search meets SECONDLY 429s, which are waited out and retried."""
    greedy = RateLimiter(1000, 1000, clock=fake_time.monotonic, sleep=fake_time.sleep)
    app, connector = make(accounts=20, contacts=2_000, enforce_rate_limits=True, limiter=greedy)
    assert len(_live(_pull(connector, "contacts"))) == 2_000
    assert [c for c in app.calls if c.status == 429]


def test_daily_limit_parks_until_the_portals_midnight(make: Any, fake_time: FakeTime) -> None:
    """A DAILY 429 raises BudgetExhaustedError at once, resuming at the portal's midnight."""
    app, connector = make(enforce_rate_limits=True)
    app.set_daily_remaining(0)
    with pytest.raises(BudgetExhaustedError) as info:
        _pull(connector, "accounts")
    local_midnight = datetime.combine(
        fake_time.now().astimezone(ZoneInfo(PORTAL_TZ)).date() + timedelta(days=1),
        datetime.min.time(),
        tzinfo=ZoneInfo(PORTAL_TZ),
    )
    assert info.value.resume_at == local_midnight.astimezone(UTC)
    assert app.count() == 1  # no hammering


def test_expired_token_is_an_auth_error_without_the_token(make: Any) -> None:
    """An expired token fails at once with AuthError whose message has no token in it."""
    app, connector = make()
    app.expire_token()
    with pytest.raises(AuthError) as info:
        _pull(connector, "accounts")
    assert ACCESS_TOKEN not in str(info.value)
    assert "EXPIRED_AUTHENTICATION" in str(info.value)
    assert app.count() == 1


def test_usage_counts_calls_and_reports_the_daily_budget(make: Any) -> None:
    """Usage counts every request and carries the daily figures from HubSpot's headers."""
    app, connector = make()
    _pull(connector, "accounts")
    usage = connector.usage()
    assert usage.calls == app.count()
    assert usage.limit == 650_000
    assert usage.used == app.count()


def test_describe_normalises_property_types(make: Any) -> None:
    """Describe lists the portal's properties with normalised types and updateability."""
    _, connector = make(accounts=2, contacts=2)
    schema = connector.describe("accounts")
    assert schema.object_name == "companies"
    assert set(MAPPING.pulled_fields("accounts").values()) <= set(schema.fields)
    assert schema.fields["onboarding_steps"].type == "multipicklist"
    assert schema.fields["onboarding_steps"].options
    assert not schema.fields["hs_object_id"].updateable
    assert connector.describe("contacts").fields["email"].type == "string"


def test_tls_with_the_configured_ca_bundle(make: Any) -> None:
    """Over TLS the connector trusts the CA bundle it is given, and only that."""
    _, connector = make(accounts=5, contacts=5, tls=True)
    assert _live(_pull(connector, "accounts"))
    _, untrusting = make(accounts=5, contacts=5, tls=True, trust=False)
    with pytest.raises(ProtocolError, match="TLS verification"):
        _pull(untrusting, "accounts")
    assert untrusting.usage().calls == 1  # a certificate failure is not retried
