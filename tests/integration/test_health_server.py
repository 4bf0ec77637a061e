"""The daemon's health server against real cycles on both sandbox CRMs (issue 7's health and metrics acceptance).

The server runs on an ephemeral loopback port with a SQLite store filled by whole daemon cycles (plans, handoff,
assessments, push, outbox drain) against a sandbox on fake time; every request goes through ``requests``. Proven:

- ``/healthz`` answers while the process lives, ``/readyz`` is ready after a cycle, unready (503, naming the
  credentials) once the sandbox refuses the credentials, and ready again when it takes them back; it also turns
  unready when the last cycle is older than the limit, as the fake clock moves on;
- ``/metrics`` parses with the Prometheus client's parser, ``sync_api_calls_total`` equals the number of requests
  in the sandbox's own call log (the refused login included), the records written and pulled are what the cycles
  did, assessments sent are counted by kind, and the budget gauge is the sandbox's own figure;
- a store that does not answer makes ``/readyz`` unready and ``/metrics`` say ``sync_store_up 0``.
"""

from __future__ import annotations

import json
import socket
from collections import Counter
from contextlib import contextmanager
from datetime import timedelta
from typing import TYPE_CHECKING

import pytest
import requests
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client.parser import text_string_to_metric_families

from sync_daemon.metrics import registry_for
from sync_daemon.ops import DaemonState, HealthServer
from sync_daemon.sandbox import salesforce_auth
from sync_daemon.store import Store
from tests.conformance.drivers import start_driver
from tests.faketime import START
from tests.integration.assessment_support import Person, add_person, assessment_cycle, daemon_config, daemon_env
from tests.integration.handoff_support import connector_for, customers
from tests.integration.outbox_support.sandboxes import CRMS, SandboxAddress
from tests.integration.test_handoff_scenarios import fresh_account, stage

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from contextlib import AbstractContextManager
    from pathlib import Path

    from sync_daemon.engine import CycleResult
    from tests.conformance.drivers import Driver

MAX_AGE = timedelta(hours=1)
HOUR = 3600.0
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@pytest.fixture(params=CRMS)
def driver(request: pytest.FixtureRequest) -> Iterator[Driver]:
    d = start_driver(request.param, 4, 0)
    yield d
    d.server.stop()


@pytest.fixture
def store(tmp_path: Path, driver: Driver) -> Iterator[Store]:
    opened = Store.open(f"sqlite:///{tmp_path / 'state.db'}", clock=driver.time.now)
    yield opened
    opened.close()


@pytest.fixture
def state(driver: Driver) -> DaemonState:
    """An active daemon started now, on the sandbox's fake clock."""
    s = DaemonState(started_at=driver.time.now(), clock=driver.time.now)
    s.set_role("active")
    return s


@pytest.fixture
def server(driver: Driver, store: Store, state: DaemonState) -> Iterator[HealthServer]:
    registry = registry_for(store, driver.time.now, state=state, process=True)
    health = HealthServer("127.0.0.1", 0, state=state, store=store, now=driver.time.now, max_age=MAX_AGE,
                          registry=registry)  # fmt: skip
    with health:
        yield health


@pytest.fixture
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.trust_env = False  # loopback only: no proxy from the environment
        yield session


def daemon_cycle(driver: Driver, store: Store, state: DaemonState) -> CycleResult:
    """One cycle as ``sync-daemon run`` wires it, reported to the daemon's state as its runner does."""
    env = daemon_env(driver.crm)
    connector = connector_for(SandboxAddress.of(driver), daemon_config(env).mapping, driver.time, attempts=1)
    try:
        result = assessment_cycle(env, store, connector, driver.time.now)
        state.record_usage(driver.crm, connector.usage())
    finally:
        connector.close()
    state.record_cycle(result)
    return result


@pytest.fixture
def cycle(driver: Driver, store: Store, state: DaemonState) -> Callable[[], CycleResult]:
    """Run one daemon cycle now."""
    return lambda: daemon_cycle(driver, store, state)


@pytest.fixture
def refused(driver: Driver, monkeypatch: pytest.MonkeyPatch) -> Callable[[], AbstractContextManager[None]]:
    """A block during which the CRM refuses the daemon's credentials (a revoked token, a rotated secret)."""

    @contextmanager
    def block() -> Iterator[None]:
        if driver.crm == "hubspot":
            driver.app.expire_token()
            try:
                yield
            finally:
                driver.app.restore_token()
            return
        with monkeypatch.context() as patch:
            patch.setattr(salesforce_auth, "CONSUMER_SECRET", "rotated-by-an-admin")
            driver.app.expire_sessions()
            yield

    return block


def stage_a_handoff(driver: Driver) -> str:
    """One customer account handed off today with one contact, so the cycle sends its onboarding assessment."""
    (account,) = customers(driver, 1)
    fresh_account(driver, account, driver.time.now().date())
    stage(driver, account, handoff_override="force")
    return add_person(driver, account, Person("Grace", "Hopper", "CEO"))


def scrape(http: requests.Session, server: HealthServer) -> Samples:
    reply = http.get(f"{server.url}/metrics", timeout=10)
    assert reply.status_code == 200, reply.text
    assert reply.headers["Content-Type"] == CONTENT_TYPE_LATEST
    out: Samples = {}
    for family in text_string_to_metric_families(reply.text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def ready(http: requests.Session, server: HealthServer) -> tuple[int, dict[str, object]]:
    reply = http.get(f"{server.url}/readyz", timeout=10)
    assert reply.headers["Content-Type"] == "application/json"
    return reply.status_code, json.loads(reply.text)


def sandbox_remaining(driver: Driver) -> int:
    """Calls left in the day's budget by the sandbox's own counter."""
    if driver.crm == "salesforce":
        return int(driver.app.api_limit - driver.app.api_used)
    return int(driver.app.limiter.daily - driver.app.limiter.used_today)


def test_health_and_metrics_reflect_real_cycles(
    driver: Driver, store: Store, state: DaemonState, server: HealthServer, http: requests.Session
) -> None:
    """Alive, ready after cycles, and metrics that match the sandbox's call log and what the cycles did."""
    assert server.port > 0
    alive = http.get(f"{server.url}/healthz", timeout=10)
    assert (alive.status_code, alive.text) == (200, "ok\n")
    assert ready(http, server)[0] == 200  # no cycle yet: within the grace from the start
    contact = stage_a_handoff(driver)
    results = [daemon_cycle(driver, store, state)]
    driver.time.advance(HOUR / 4)
    results.append(daemon_cycle(driver, store, state))
    assert [r.status for r in results] == ["ok", "ok"], [r.error for r in results]
    status, body = ready(http, server)
    assert (status, body["ready"], body["role"]) == (200, True, "active")
    got = scrape(http, server)
    crm = (("crm", driver.crm),)
    assert got[("sync_api_calls_total", crm)] == driver.app.count() > 0
    assert got[("sync_cycles_total", (*crm, ("status", "ok")))] == 2
    written: Counter[str] = Counter()
    pulled: Counter[str] = Counter()
    for r in results:
        assert r.push is not None
        written.update(r.push.written)
        pulled.update({kind: s.pulled for kind, s in r.stats.items()})
    assert written["accounts"] == len(driver.in_scope_ids("accounts"))  # the first push stamps every account
    for kind in ("accounts", "contacts"):
        assert got[("sync_records_written_total", (*crm, ("kind", kind)))] == written[kind]
        assert got[("sync_records_pulled_total", (*crm, ("kind", kind)))] == pulled[kind] > 0
    sends = store.sends_of(driver.crm, [contact])
    assert [s.kind for s in sends] == ["onboarding"]
    assert got[("sync_assessments_sent_total", (*crm, ("kind", "onboarding")))] == 1
    assert got[("sync_daemon_role", (("role", "active"),))] == 1
    assert got[("sync_daemon_role", (("role", "standby"),))] == 0
    assert got[("sync_api_budget_remaining", crm)] == sandbox_remaining(driver)
    assert got[("sync_store_up", ())] == 1
    assert got[("sync_outbox_intents", (("status", "done"),))] == 2  # the handoff note and the assessment
    assert http.get(f"{server.url}/nothing-here", timeout=10).status_code == 404


def test_readiness_follows_the_credentials_and_the_age_of_the_last_cycle(
    driver: Driver,
    cycle: Callable[[], CycleResult],
    server: HealthServer,
    http: requests.Session,
    refused: Callable[[], AbstractContextManager[None]],
) -> None:
    """Refused credentials: 503 naming them; accepted again: 200; no cycle for longer than the limit: 503."""
    assert cycle().ok
    assert ready(http, server)[0] == 200
    driver.time.advance(HOUR / 4)
    with refused():
        failed = cycle()
    assert failed.status == "failed"
    assert failed.error is not None
    assert failed.error.startswith("AuthError:")
    status, body = ready(http, server)
    assert (status, body["ready"], body["failed"]) == (503, False, ["credentials"])
    got = scrape(http, server)
    assert got[("sync_cycles_total", (("crm", driver.crm), ("status", "failed")))] == 1
    assert got[("sync_api_calls_total", (("crm", driver.crm),))] == driver.app.count()  # the refusal is a call
    driver.time.advance(HOUR / 4)
    assert cycle().ok
    assert ready(http, server)[0] == 200
    driver.time.advance(MAX_AGE.total_seconds() + 1)
    status, body = ready(http, server)
    assert (status, body["failed"]) == (503, ["last_cycle"])


@contextmanager
def port_nobody_listens_on() -> Iterator[int]:
    """A loopback port held (bound, never listening) for the block: a connection to it is refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield int(sock.getsockname()[1])


def test_a_store_that_does_not_answer_is_reported(http: requests.Session) -> None:
    """Nothing listens where the store should be: /readyz is 503 on the store, /metrics says sync_store_up 0."""
    state = DaemonState(started_at=START)
    state.set_role("standby")
    with port_nobody_listens_on() as port:
        down = Store(f"postgresql+psycopg://postgres@127.0.0.1:{port}/none")
        registry = registry_for(down, lambda: START, state=state)
        health = HealthServer("127.0.0.1", 0, state=state, store=down, now=lambda: START, max_age=MAX_AGE,
                              registry=registry)  # fmt: skip
        with health:
            status, body = ready(http, health)
            assert (status, body["failed"]) == (503, ["store"])
            got = scrape(http, health)
        down.close()
    assert got[("sync_store_up", ())] == 0
    assert got[("sync_daemon_role", (("role", "standby"),))] == 1
    assert not any(name == "sync_cycles_total" for name, _ in got)
