"""The outbox in the store: enqueue by key, claim with leases, complete, release, backlog."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import event, select

from sync_daemon.store.models import OUTBOX

if TYPE_CHECKING:
    from sync_daemon.store import Store

T = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
LEASE = timedelta(minutes=5)


def _enqueue(store: Store, key: str, *, priority: int = 10, crm: str = "hubspot", at: datetime = T) -> bool:
    return store.enqueue(None, key=key, crm=crm, kind="note", payload={"k": key}, priority=priority, now=at)


def test_enqueuing_a_key_twice_is_a_no_op(store: Store) -> None:
    """The first enqueue stores the intent; the same key again changes nothing and says so."""
    assert _enqueue(store, "k1") is True
    assert store.enqueue(None, key="k1", crm="hubspot", kind="note", payload={"other": 1}, priority=0, now=T) is False
    intent = store.intent("k1")
    assert intent is not None
    assert (intent.payload, intent.priority, intent.status, intent.attempts) == ({"k": "k1"}, 10, "pending", 0)
    assert store.backlog() == {"pending": 1, "in_flight": 0, "done": 0, "dead": 0}


def test_an_intent_rolls_back_with_the_decision_that_caused_it(store: Store) -> None:
    """Enqueued in the caller's transaction, an intent disappears when that transaction fails."""

    def decide_then_fail() -> None:
        with store.transaction() as conn:
            store.record_written("hubspot", "accounts", [("a1", "handoff_status", "ready")], "run1", conn=conn)
            store.enqueue(conn, key="note:a1", crm="hubspot", kind="note", payload={}, priority=30, now=T)
            raise RuntimeError("decision failed")

    with pytest.raises(RuntimeError, match="decision failed"):
        decide_then_fail()
    assert store.intent("note:a1") is None
    assert store.last_written("hubspot", "accounts", ["a1"]) == {}


def test_an_intent_commits_with_the_decision_that_caused_it(store: Store) -> None:
    """Enqueue and the decision's write, in one transaction, are both there after it commits."""
    with store.transaction() as conn:
        store.record_written("hubspot", "accounts", [("a1", "handoff_status", "ready")], "run1", conn=conn)
        assert store.enqueue(conn, key="note:a1", crm="hubspot", kind="note", payload={}, priority=30, now=T)
    assert store.intent("note:a1") is not None
    assert store.last_written("hubspot", "accounts", ["a1"]) == {("accounts", "a1", "handoff_status"): "ready"}


def test_claim_takes_due_intents_by_priority_then_age_up_to_the_limit(store: Store) -> None:
    """claim() moves the most urgent due intents to in_flight for the worker, attempts counted."""
    for key, priority in (("late", 30), ("urgent", 0), ("mid-a", 10), ("mid-b", 10)):
        _enqueue(store, key, priority=priority)
    _enqueue(store, "future", priority=0, at=T + timedelta(hours=1))
    claimed = store.claim(worker="w1", limit=3, now=T, lease=LEASE)
    assert [intent.key for intent in claimed] == ["urgent", "mid-a", "mid-b"]
    assert {(i.status, i.claimed_by, i.attempts, i.lease_until) for i in claimed} == {("in_flight", "w1", 1, T + LEASE)}
    assert [i.key for i in store.claim(worker="w2", limit=10, now=T, lease=LEASE)] == ["late"]
    assert store.claim(worker="w2", limit=10, now=T, lease=LEASE) == []


def test_claim_can_be_limited_to_one_crm(store: Store) -> None:
    """With ``crm``, only that CRM's intents are claimed."""
    _enqueue(store, "h", crm="hubspot")
    _enqueue(store, "s", crm="salesforce")
    assert [i.key for i in store.claim(worker="w", limit=10, now=T, lease=LEASE, crm="salesforce")] == ["s"]


def test_an_expired_lease_makes_the_intent_claimable_again(store: Store) -> None:
    """A crashed worker's intent is due again once its lease runs out, with one more attempt."""
    _enqueue(store, "k")
    store.claim(worker="crashed", limit=1, now=T, lease=LEASE)
    assert store.claim(worker="w2", limit=1, now=T + LEASE - timedelta(seconds=1), lease=LEASE) == []
    [again] = store.claim(worker="w2", limit=1, now=T + LEASE, lease=LEASE)
    assert (again.claimed_by, again.attempts, again.tried_before) == ("w2", 2, True)
    assert store.complete(again.id, "crashed", {"late": True}, now=T + LEASE) is False
    assert store.complete(again.id, "w2", {"id": "n1"}, now=T + LEASE) is True


def test_complete_stores_the_result_once(store: Store) -> None:
    """Completing a held intent marks it done with its result; completing it again is refused."""
    _enqueue(store, "k")
    [intent] = store.claim(worker="w", limit=1, now=T, lease=LEASE)
    assert store.complete(intent.id, "w", {"note_id": "n-1"}, now=T) is True
    done = store.intent("k")
    assert done is not None
    assert (done.status, done.result, done.lease_until, done.updated_at) == ("done", {"note_id": "n-1"}, None, T)
    assert store.complete(intent.id, "w", {"note_id": "n-2"}) is False
    assert store.claim(worker="w", limit=1, now=T + timedelta(days=1), lease=LEASE) == []


def test_release_backs_off_then_kills_after_max_attempts(store: Store) -> None:
    """A release makes the intent due at retry_at with the error; at max_attempts it is dead."""
    _enqueue(store, "k")
    [intent] = store.claim(worker="w", limit=1, now=T, lease=LEASE)
    retry_at = T + timedelta(minutes=1)
    assert store.release(intent.id, "w", "RetriableError: 503", retry_at, max_attempts=2, now=T) is True
    pending = store.intent("k")
    assert pending is not None
    assert (pending.status, pending.not_before, pending.last_error, pending.claimed_by) == (
        "pending", retry_at, "RetriableError: 503", None,
    )  # fmt: skip
    assert store.claim(worker="w", limit=1, now=retry_at - timedelta(seconds=1), lease=LEASE) == []
    [second] = store.claim(worker="w", limit=1, now=retry_at, lease=LEASE)
    assert store.release(second.id, "w", "RetriableError: 503", retry_at, max_attempts=2, now=T) is True
    assert store.backlog() == {"pending": 0, "in_flight": 0, "done": 0, "dead": 1}
    assert store.claim(worker="w", limit=1, now=T + timedelta(days=9), lease=LEASE) == []


def test_an_uncounted_release_restores_the_attempts_and_never_kills(store: Store) -> None:
    """count_attempt=False undoes the claim's increment, even at max_attempts; error None keeps the last one."""
    _enqueue(store, "k")
    [intent] = store.claim(worker="w", limit=1, now=T, lease=LEASE)
    store.release(intent.id, "w", "BudgetExhaustedError: daily", T, max_attempts=1, count_attempt=False)
    [again] = store.claim(worker="w", limit=1, now=T, lease=LEASE)
    assert (again.attempts, again.last_error, again.tried_before) == (1, "BudgetExhaustedError: daily", True)
    store.release(again.id, "w", None, T, max_attempts=1, count_attempt=False)
    back = store.intent("k")
    assert back is not None
    assert (back.status, back.attempts, back.last_error) == ("pending", 0, "BudgetExhaustedError: daily")


def test_only_the_holder_may_release(store: Store) -> None:
    """Another worker's release of an intent it does not hold is refused and changes nothing."""
    _enqueue(store, "k")
    [intent] = store.claim(worker="w1", limit=1, now=T, lease=LEASE)
    assert store.release(intent.id, "w2", "nope", T, max_attempts=5) is False
    held = store.intent("k")
    assert held is not None
    assert (held.status, held.claimed_by, held.last_error) == ("in_flight", "w1", None)


def test_backlog_counts_by_status_and_crm(store: Store) -> None:
    """backlog() counts every status, per CRM when asked."""
    for n in range(3):
        _enqueue(store, f"h{n}")
    _enqueue(store, "s0", crm="salesforce")
    [first] = store.claim(worker="w", limit=1, now=T, lease=LEASE)
    store.complete(first.id, "w", {})
    store.claim(worker="w", limit=1, now=T, lease=LEASE)
    assert store.backlog("hubspot") == {"pending": 1, "in_flight": 1, "done": 1, "dead": 0}
    assert store.backlog() == {"pending": 2, "in_flight": 1, "done": 1, "dead": 0}


def _fail_fast_on_locks(store: Store) -> None:
    """Make the store's connections give up on a row lock after 2 s, so a missing SKIP LOCKED fails."""

    def short_lock_timeout(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.autocommit = True
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '2s'")
        dbapi_connection.autocommit = False

    event.listen(store.engine, "connect", short_lock_timeout)
    store.engine.dispose()


@pytest.mark.postgres
@pytest.mark.parametrize("store_url", ["postgresql"], indirect=True)
def test_postgresql_claims_skip_rows_locked_by_another_claimer(store: Store) -> None:
    """While another transaction holds the first intent's row lock, a claim takes the next ones at once."""
    for n in range(3):
        _enqueue(store, f"k{n}")
    _fail_fast_on_locks(store)
    with store.engine.connect() as other, other.begin():
        locked = other.execute(select(OUTBOX.c.key).where(OUTBOX.c.key == "k0").with_for_update()).scalar_one()
        assert locked == "k0"
        claimed = store.claim(worker="w", limit=10, now=T, lease=LEASE)
        assert [intent.key for intent in claimed] == ["k1", "k2"]
    assert [intent.key for intent in store.claim(worker="w", limit=10, now=T, lease=LEASE)] == ["k0"]
