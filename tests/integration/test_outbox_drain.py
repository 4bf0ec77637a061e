"""The outbox drain loop against a real store (SQLite and PostgreSQL) and a fake CRM.

Crash recovery with real SIGKILLed processes and concurrent worker processes are in
``tests/integration/store/test_outbox_crash.py`` and ``test_outbox_concurrency.py``.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest

from connectors.base import AuthError, BudgetExhaustedError, RecordError, RetriableError
from sync_daemon.outbox import backoff, drain
from sync_daemon.store import Store
from tests.integration.store import conftest as store_fixtures
from tests.integration.store.outbox_fakes import FakeCrm
from tests.integration.store.store_builders import FakeClock

if TYPE_CHECKING:
    from collections.abc import Iterator

    from sync_daemon.store import Intent

# The store suite's fixtures: the same tests on SQLite and on a throwaway PostgreSQL database.
postgres_database = store_fixtures.postgres_database
store_url = store_fixtures.store_url

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> FakeClock:
    """The drain's and the store's clock, moved by hand."""
    return FakeClock(T0)


@pytest.fixture
def store(store_url: str, clock: FakeClock) -> Iterator[Store]:
    """A migrated store on each backend."""
    opened = Store.open(store_url, clock=clock)
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def crm() -> FakeCrm:
    """A fake CRM recording every note it holds."""
    return FakeCrm()


def _enqueue(store: Store, key: str, *, kind: str = "note", priority: int = 30, at: datetime = T0) -> None:
    store.enqueue(None, key=key, crm="hubspot", kind=kind, payload={"account": key}, priority=priority, now=at)


def _drain(store: Store, fake: FakeCrm, clock: FakeClock, **options: Any) -> dict[str, Any]:
    stats = drain(store, {"note": fake}, worker="w1", now=clock, **options)
    return asdict(stats)


def _intent(store: Store, key: str) -> Intent:
    intent = store.intent(key)
    assert intent is not None
    return intent


def test_an_intent_is_performed_once_and_completed(store: Store, crm: FakeCrm, clock: FakeClock) -> None:
    """A new intent is performed without a lookup, completed with its result, and never run again."""
    _enqueue(store, "note:a1")
    stats = _drain(store, crm, clock)
    assert (stats["claimed"], stats["performed"], stats["found_existing"], stats["done"]) == (1, 1, 0, 1)
    assert crm.calls == [("perform", "note:a1")]
    done = _intent(store, "note:a1")
    assert (done.status, done.result, done.attempts) == ("done", {"note_id": "note-0"}, 1)
    clock.advance(86_400)
    assert _drain(store, crm, clock)["claimed"] == 0
    assert crm.items == ["note:a1"]


def test_a_lost_reply_is_resolved_by_finding_the_note(store: Store, crm: FakeCrm, clock: FakeClock) -> None:
    """The CRM commits then the reply is lost: the retry finds the note, and the CRM holds exactly one."""
    _enqueue(store, "note:a1")
    crm.fail_after.append(RetriableError("read timed out"))
    assert _drain(store, crm, clock)["retried"] == 1
    pending = _intent(store, "note:a1")
    assert (pending.status, pending.not_before, pending.last_error) == (
        "pending", T0 + backoff(1), "RetriableError: read timed out",
    )  # fmt: skip
    clock.advance(10)
    assert _drain(store, crm, clock)["claimed"] == 0
    clock.advance(30)
    stats = _drain(store, crm, clock)
    assert (stats["found_existing"], stats["performed"]) == (1, 0)
    assert crm.items == ["note:a1"]
    assert crm.calls == [("perform", "note:a1"), ("find", "note:a1")]
    assert _intent(store, "note:a1").result == {"note_id": "note-0"}


def test_a_refused_write_is_retried_after_a_lookup(store: Store, crm: FakeCrm, clock: FakeClock) -> None:
    """A failure before the CRM acted: the next try looks the key up, finds nothing, and performs."""
    _enqueue(store, "note:a1")
    crm.fail_before.append(RetriableError("503"))
    _drain(store, crm, clock)
    clock.advance(3600)
    assert _drain(store, crm, clock)["performed"] == 1
    assert crm.calls == [("perform", "note:a1"), ("find", "note:a1"), ("perform", "note:a1")]
    assert crm.items == ["note:a1"]


def test_a_longer_retry_after_beats_the_backoff(store: Store, crm: FakeCrm, clock: FakeClock) -> None:
    """When the CRM asks for a longer wait than the backoff, the intent waits that long."""
    _enqueue(store, "note:a1")
    crm.fail_before.append(RetriableError("429", retry_after=600))
    _drain(store, crm, clock)
    assert _intent(store, "note:a1").not_before == T0 + timedelta(seconds=600)


def test_repeated_failures_back_off_then_die(store: Store, crm: FakeCrm, clock: FakeClock) -> None:
    """Each failure doubles the wait; after max_attempts the intent is dead and no longer claimed."""
    _enqueue(store, "note:a1")
    crm.fail_before.extend(RecordError("a1", "INVALID", "no such account") for _ in range(3))
    waits = []
    for _ in range(3):
        stats = _drain(store, crm, clock, max_attempts=3)
        intent = _intent(store, "note:a1")
        waits.append(intent.not_before - clock.now)
        clock.now = intent.not_before
    assert waits[:2] == [timedelta(seconds=30), timedelta(seconds=60)]
    assert (stats["dead"], intent.status, intent.attempts) == (1, "dead", 3)
    assert "INVALID: no such account" in (intent.last_error or "")
    clock.advance(86_400)
    assert _drain(store, crm, clock)["claimed"] == 0
    assert crm.items == []


def test_a_spent_budget_parks_the_crm_and_stops_without_counting(store: Store, crm: FakeCrm, clock: FakeClock) -> None:
    """BudgetExhaustedError: the CRM is parked until the reset, the drain stops, no attempt is counted."""
    resume = T0 + timedelta(hours=15)
    for key in ("note:a1", "note:a2"):
        _enqueue(store, key)
    crm.fail_before.append(BudgetExhaustedError("DAILY limit", resume_at=resume))
    stats = _drain(store, crm, clock)
    assert (stats["stopped"], stats["handed_back"], stats["done"]) == ("budget", 2, 0)
    assert store.parked_until("hubspot") == resume
    first, second = _intent(store, "note:a1"), _intent(store, "note:a2")
    assert (first.attempts, first.not_before, first.status) == (0, resume, "pending")
    assert (second.attempts, second.not_before, second.last_error) == (0, T0, None)
    clock.now = resume
    assert _drain(store, crm, clock)["done"] == 2
    assert crm.calls[1:] == [("find", "note:a1"), ("perform", "note:a1"), ("perform", "note:a2")]


def test_a_parked_crm_is_not_drained_until_the_park_ends(store: Store, crm: FakeCrm, clock: FakeClock) -> None:
    """A drain for one CRM claims nothing while that CRM is parked, and resumes after."""
    _enqueue(store, "note:a1")
    store.park("hubspot", T0 + timedelta(hours=1), "DAILY limit")
    assert _drain(store, crm, clock, crm="hubspot")["stopped"] == "parked"
    assert _drain(store, crm, clock, crm="salesforce")["claimed"] == 0
    clock.advance(3600)
    assert _drain(store, crm, clock, crm="hubspot")["done"] == 1


def test_refused_credentials_stop_the_drain(store: Store, crm: FakeCrm, clock: FakeClock) -> None:
    """AuthError: nothing else could succeed, so the drain stops and the intent waits uncounted."""
    _enqueue(store, "note:a1")
    crm.fail_before.append(AuthError("token expired"))
    stats = _drain(store, crm, clock)
    assert (stats["stopped"], stats["retried"]) == ("auth", 0)
    assert (_intent(store, "note:a1").attempts, _intent(store, "note:a1").status) == (0, "pending")


def test_an_intent_without_a_handler_dies_with_a_reason(store: Store, crm: FakeCrm, clock: FakeClock) -> None:
    """An unknown kind is released with an error naming it, counted, and dead at max_attempts."""
    _enqueue(store, "fax:a1", kind="fax")
    stats = _drain(store, crm, clock, max_attempts=1)
    intent = _intent(store, "fax:a1")
    assert (stats["dead"], intent.status) == (1, "dead")
    assert "no handler for intent kind 'fax'" in (intent.last_error or "")


def test_work_goes_by_priority(store: Store, crm: FakeCrm, clock: FakeClock) -> None:
    """Lower priority numbers go first (assessment triggers before notes), then older intents."""
    for key, priority in (("note", 30), ("trigger", 0), ("handoff", 10), ("note2", 30)):
        _enqueue(store, key, priority=priority)
    _drain(store, crm, clock, limit=2)
    assert crm.items == ["trigger", "handoff", "note", "note2"]


def test_a_stop_request_hands_unstarted_intents_back(store: Store, crm: FakeCrm, clock: FakeClock) -> None:
    """should_stop between intents: what was claimed but not started is due again, uncounted."""
    for key in ("k1", "k2", "k3"):
        _enqueue(store, key)
    stats = _drain(store, crm, clock, should_stop=lambda: len(crm.items) >= 1)
    assert (stats["stopped"], stats["done"], stats["handed_back"]) == ("requested", 1, 2)
    assert [(_intent(store, k).status, _intent(store, k).attempts) for k in ("k2", "k3")] == [("pending", 0)] * 2


def test_a_bug_in_a_handler_is_released_then_raised(store: Store, crm: FakeCrm, clock: FakeClock) -> None:
    """An unexpected exception is recorded on the intent (counted) and propagates."""
    _enqueue(store, "note:a1")
    crm.fail_before.append(KeyError("account"))
    with pytest.raises(KeyError):
        _drain(store, crm, clock)
    intent = _intent(store, "note:a1")
    assert (intent.status, intent.attempts, intent.last_error) == ("pending", 1, "KeyError: 'account'")


def test_a_worker_that_lost_its_lease_does_not_complete(store: Store, crm: FakeCrm, clock: FakeClock) -> None:
    """A perform outliving the lease: another worker took the intent, so this one's result is dropped."""
    _enqueue(store, "note:a1")

    def stall_past_the_lease(intent: Intent) -> None:
        clock.advance(600)
        store.claim(worker="w2", limit=1, now=clock.now, lease=timedelta(minutes=5))

    crm.on_perform.append(stall_past_the_lease)
    stats = _drain(store, crm, clock)
    assert (stats["lost"], stats["done"]) == (1, 0)
    assert _intent(store, "note:a1").claimed_by == "w2"


def test_an_intent_whose_lease_is_nearly_over_is_not_started(store: Store, crm: FakeCrm, clock: FakeClock) -> None:
    """After a slow intent, the rest of the batch goes back and is claimed afresh with a new lease."""
    for key in ("k1", "k2"):
        _enqueue(store, key)
    crm.on_perform.append(lambda intent: clock.advance(250) if intent.key == "k1" else None)
    stats = _drain(store, crm, clock)
    assert (stats["done"], stats["handed_back"], stats["claimed"]) == (2, 1, 3)
    assert _intent(store, "k2").attempts == 1


def test_a_drain_needs_a_positive_lease_and_limit(store: Store, crm: FakeCrm, clock: FakeClock) -> None:
    """A zero lease would hand every intent back forever; it is refused up front, like a zero limit."""
    with pytest.raises(ValueError, match="positive lease"):
        _drain(store, crm, clock, lease=timedelta(0))
    with pytest.raises(ValueError, match="limit=0"):
        _drain(store, crm, clock, limit=0)
