"""Exactly-once side effects through the outbox, with the real connectors against the sandboxes.

The issue's acceptance, on both CRMs and both store backends: a note whose create the sandbox
commits and then drops the reply; a daemon SIGKILLed between storing an intent and calling the CRM,
and after the CRM acted but before the intent completed (a real child process with its own
connector to this process's sandbox); three real processes draining one PostgreSQL outbox into one
sandbox; and an audience membership whose reply is lost. Every count is read from the sandbox's own
state and call log, never through the connector. The outbox's clock is injected: nothing sleeps.
"""

from __future__ import annotations

import multiprocessing
import signal
import subprocess
import sys
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from sync_daemon.intents import AUDIENCE, NOTE, audience_payload, handlers, note_payload
from sync_daemon.outbox import DrainStats, backoff, drain
from sync_daemon.sandbox.server import Fault
from sync_daemon.store import Store
from tests.conformance.drivers import start_driver
from tests.integration.outbox_support.census import (
    a_contact,
    account_ids,
    audience_of,
    memberships,
    note_ids,
    note_tag,
    notes_by_account,
    notes_with_key,
)
from tests.integration.outbox_support.crash_child import WORKER, CrashJob
from tests.integration.outbox_support.sandboxes import (
    AUDIENCE_ADD,
    CRMS,
    LEASE,
    NOTE_CREATE,
    T0,
    SandboxAddress,
    connected,
)
from tests.integration.outbox_support.workers import drain_worker, init_worker
from tests.integration.store import conftest as store_fixtures
from tests.integration.store.store_builders import FakeClock

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from datetime import datetime
    from multiprocessing.pool import Pool

    from connectors.base import Writer
    from sync_daemon.store import Intent
    from tests.conformance.drivers import Driver

# The store suite's fixtures: the same tests on SQLite and on a throwaway PostgreSQL database.
postgres_database = store_fixtures.postgres_database
store_url = store_fixtures.store_url

ROOT = Path(__file__).resolve().parents[2]
ACCOUNTS = 60
CONTACTS = 20
WORKERS = 3
ROUNDS = 3
CLAIM_SIZE = 2
ONE_SECOND = timedelta(seconds=1)


@pytest.fixture(params=CRMS)
def sandbox(request: pytest.FixtureRequest) -> Iterator[Driver]:
    """A fresh sandbox of each CRM on fake time, serving from this process."""
    driver = start_driver(request.param, ACCOUNTS, CONTACTS)
    yield driver
    driver.server.stop()


@pytest.fixture
def clock() -> FakeClock:
    """The outbox's clock, moved by hand."""
    return FakeClock(T0)


@pytest.fixture
def store(store_url: str, clock: FakeClock) -> Iterator[Store]:
    """A migrated store on each backend."""
    opened = Store.open(store_url, clock=clock)
    try:
        yield opened
    finally:
        opened.close()


def note_key(account_id: str, version: int = 1) -> str:
    """A deterministic key, as the handoff decision would make it."""
    return f"note:{account_id}:handoff:v{version}"


def enqueue_note(store: Store, crm: str, account_id: str, key: str) -> None:
    payload = note_payload(account_id, "Handoff to Customer Success", "Ready for CS.\n\n- kickoff done")
    store.enqueue(None, key=key, crm=crm, kind=NOTE, payload=payload, priority=30, now=T0)


def drain_once(store: Store, writer: Writer, now: Callable[[], datetime], worker: str = "w1") -> DrainStats:
    return drain(store, handlers(writer), worker=worker, now=now, lease=LEASE)


def intent_of(store: Store, key: str) -> Intent:
    intent = store.intent(key)
    assert intent is not None
    return intent


def at(instant: datetime) -> Callable[[], datetime]:
    return lambda: instant


def drop_reply(driver: Driver, request: tuple[str, str]) -> None:
    """The sandbox commits the next matching request, then resets the connection instead of answering."""
    method, path = request
    driver.inject(Fault("drop_reply", method=method, path=path))


# -- a lost reply -------------------------------------------------------------------------------


def test_a_note_whose_reply_is_lost_exists_once_after_recovery(sandbox: Driver, store: Store, clock: FakeClock) -> None:
    """The CRM commits the note and drops the reply: after the backoff the key finds it, and the CRM holds one."""
    (account,) = account_ids(sandbox, 1)
    key = note_key(account)
    enqueue_note(store, sandbox.crm, account, key)
    drop_reply(sandbox, NOTE_CREATE[sandbox.crm])
    with connected(SandboxAddress.of(sandbox), attempts=1, time=sandbox.time) as writer:
        first = drain_once(store, writer, clock)
        assert (first.claimed, first.retried, first.done) == (1, 1, 0)
        released = intent_of(store, key)
        assert (released.status, released.not_before) == ("pending", T0 + backoff(1))
        assert "RetriableError" in (released.last_error or "")
        assert notes_with_key(sandbox, account, key) == 1  # committed, though the reply never came
        clock.now = T0 + backoff(1) - ONE_SECOND
        assert drain_once(store, writer, clock).claimed == 0
        clock.now = T0 + backoff(1)
        second = drain_once(store, writer, clock)
    assert (second.done, second.found_existing, second.performed) == (1, 1, 0)
    (only,) = note_ids(sandbox)
    done = intent_of(store, key)
    assert (done.status, done.attempts, done.result) == ("done", 2, {"note_id": only})
    assert notes_with_key(sandbox, account, key) == 1
    assert sandbox.app.count(*NOTE_CREATE[sandbox.crm]) == 1


def test_an_audience_member_whose_reply_is_lost_is_added_once(sandbox: Driver, store: Store, clock: FakeClock) -> None:
    """Adding a contact to a Campaign or list: the reply is lost, the retry finds the membership, there is one."""
    audience, contact = audience_of(sandbox), a_contact(sandbox)
    key = f"audience:{audience}:{contact}"
    assert memberships(sandbox, audience, contact) == 0
    store.enqueue(None, key=key, crm=sandbox.crm, kind=AUDIENCE, payload=audience_payload(audience, contact),
                  priority=0, now=T0)  # fmt: skip
    drop_reply(sandbox, AUDIENCE_ADD[sandbox.crm])
    with connected(SandboxAddress.of(sandbox), attempts=1, time=sandbox.time) as writer:
        first = drain_once(store, writer, clock)
        assert (first.retried, first.done) == (1, 0)
        assert memberships(sandbox, audience, contact) == 1
        clock.now = T0 + backoff(1)
        second = drain_once(store, writer, clock)
        expected = writer.find_audience_member(audience, contact)
    assert (second.done, second.found_existing, second.performed) == (1, 1, 0)
    assert expected is not None
    assert intent_of(store, key).result == {"member_id": expected}
    assert memberships(sandbox, audience, contact) == 1
    assert sandbox.app.count(*AUDIENCE_ADD[sandbox.crm]) == 1


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_a_lost_note_reply_under_the_connector_s_own_retries_still_leaves_one_note(
    sandbox: Driver, store: Store, clock: FakeClock
) -> None:
    """With retries on, Salesforce recovers by key inside the call, HubSpot never re-posts: one note either way."""
    (account,) = account_ids(sandbox, 1)
    key = note_key(account)
    enqueue_note(store, sandbox.crm, account, key)
    drop_reply(sandbox, NOTE_CREATE[sandbox.crm])
    drains = 0
    with connected(SandboxAddress.of(sandbox), time=sandbox.time) as writer:
        while intent_of(store, key).status != "done" and drains < 3:
            clock.now = intent_of(store, key).not_before
            drain_once(store, writer, clock)
            drains += 1
    assert drains == {"salesforce": 1, "hubspot": 2}[sandbox.crm]
    (only,) = note_ids(sandbox)
    assert intent_of(store, key).result == {"note_id": only}
    assert sandbox.app.count(*NOTE_CREATE[sandbox.crm]) == 1


# -- a SIGKILLed daemon -------------------------------------------------------------------------


def run_doomed_child(job: CrashJob) -> None:
    """Run the crash child to its SIGKILL (the sandbox keeps serving from this process meanwhile)."""
    done = subprocess.run(  # noqa: S603 - fixed arguments, our own interpreter
        [sys.executable, "-m", "tests.integration.outbox_support.crash_child", job.to_json()],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == -signal.SIGKILL, done.stderr


@pytest.mark.parametrize(
    "mode", [pytest.param("before_call", id="killed-before-the-crm-call"),
             pytest.param("after_effect", id="killed-after-the-crm-acted")],
)  # fmt: skip
def test_a_note_of_a_killed_daemon_happens_exactly_once(
    sandbox: Driver, store: Store, store_url: str, mode: str
) -> None:
    """After a SIGKILL before the CRM call or before completing, the restarted daemon leaves exactly one note."""
    (account,) = account_ids(sandbox, 1)
    key = note_key(account)
    acted = mode == "after_effect"
    run_doomed_child(CrashJob(store_url, SandboxAddress.of(sandbox).to_json(), key, account, mode))
    assert notes_with_key(sandbox, account, key) == int(acted)
    held = intent_of(store, key)
    assert (held.status, held.claimed_by) == ("in_flight", WORKER)
    with connected(SandboxAddress.of(sandbox), attempts=1, time=sandbox.time) as writer:
        assert drain_once(store, writer, at(T0 + LEASE / 2), "restarted").claimed == 0
        stats = drain_once(store, writer, at(T0 + LEASE), "restarted")
        assert (stats.done, stats.found_existing, stats.performed) == (1, int(acted), int(not acted))
        assert drain_once(store, writer, at(T0 + LEASE * 100), "again").claimed == 0
    (only,) = note_ids(sandbox)
    done = intent_of(store, key)
    assert (done.status, done.attempts, done.claimed_by, done.result) == ("done", 2, "restarted", {"note_id": only})
    assert notes_with_key(sandbox, account, key) == 1
    assert sandbox.app.count(*NOTE_CREATE[sandbox.crm]) == 1


# -- concurrent daemons -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pool() -> Iterator[Pool]:
    """Three spawned worker processes sharing a start barrier."""
    context = multiprocessing.get_context("spawn")
    with context.Pool(WORKERS, initializer=init_worker, initargs=(context.Barrier(WORKERS),)) as workers:
        yield workers
        workers.close()
        workers.join()


def expected_notes(crm: str, accounts: list[str], rounds: int) -> dict[str, Counter[str]]:
    """One note per account and key, for every round so far, and nothing else."""
    return {a: Counter({note_tag(crm, note_key(a, r)): 1 for r in range(rounds)}) for a in accounts}


@pytest.mark.postgres
@pytest.mark.parametrize("store_url", ["postgresql"], indirect=True)
def test_three_processes_draining_one_outbox_write_each_note_once(
    sandbox: Driver, store: Store, store_url: str, pool: Pool
) -> None:
    """Three real daemons, 60 notes on 60 accounts, three rounds: every account holds one note per key."""
    accounts = account_ids(sandbox, ACCOUNTS)
    address = SandboxAddress.of(sandbox).to_json()
    for round_no in range(ROUNDS):
        for account in accounts:
            enqueue_note(store, sandbox.crm, account, note_key(account, round_no))
        tasks = [(store_url, address, f"r{round_no}w{i}", CLAIM_SIZE, T0.isoformat()) for i in range(WORKERS)]
        stats = pool.starmap(drain_worker, tasks)
        assert notes_by_account(sandbox) == expected_notes(sandbox.crm, accounts, round_no + 1), f"round {round_no}"
        assert sandbox.app.count(*NOTE_CREATE[sandbox.crm]) == ACCOUNTS * (round_no + 1)
        assert store.backlog() == {"pending": 0, "in_flight": 0, "done": ACCOUNTS * (round_no + 1), "dead": 0}
        assert sum(s["performed"] for s in stats) == ACCOUNTS
        assert sum(s["lost"] + s["found_existing"] + s["retried"] for s in stats) == 0
        busy = [s["worker"] for s in stats if s["performed"]]
        assert len(busy) == WORKERS, f"round {round_no}: not every worker drained: {stats}"
