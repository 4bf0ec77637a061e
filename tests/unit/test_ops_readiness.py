"""Readiness judged from the daemon's own state and a store ping, at an explicit now (no server, no clock)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from connectors.base import ApiUsage
from sync_daemon.engine import CycleResult
from sync_daemon.ops import DaemonState, readiness, ready_max_age
from sync_daemon.settings.models import SyncSettings

START = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
MAX_AGE = timedelta(minutes=45)


class FakeStore:
    """A store whose ping answers or raises as the test says."""

    def __init__(self, *, up: bool = True) -> None:
        self.up = up
        self.pings = 0

    def ping(self) -> None:
        """Count the ping; raise when the store is down."""
        self.pings += 1
        if not self.up:
            raise ConnectionRefusedError("connection refused")


def result(status: str = "ok", error: str | None = None, api_calls: int = 12) -> CycleResult:
    return CycleResult("run1", "hubspot", status, START, 2.5, api_calls, error=error)


def active(**changes: object) -> DaemonState:
    state = DaemonState(started_at=START)
    state.set_role("active")
    for name, value in changes.items():
        setattr(state, name, value)
    return state


def test_an_active_daemon_with_a_recent_cycle_is_ready() -> None:
    """Store answers, credentials taken, last cycle within the limit: ready, every check passed and reported."""
    state = active()
    state.record_cycle(result(), finished_at=START + timedelta(minutes=10))
    store = FakeStore()
    verdict = readiness(state, store, now=START + timedelta(minutes=20), max_age=MAX_AGE)
    assert verdict.ready
    assert set(verdict.checks) == {"role", "store", "credentials", "last_cycle"}
    assert verdict.failed == {}
    assert store.pings == 1
    body = verdict.as_json()
    assert body["ready"] is True
    assert body["role"] == "active"
    assert "failed" not in body
    assert body["checks"]["last_cycle"]["detail"] == "the last cycle (ok) finished 600 s ago (limit 2700 s)"


def test_the_store_not_answering_makes_it_unready() -> None:
    """A ping that raises fails the store check with the exception's class, not its message."""
    state = active()
    state.record_cycle(result(), finished_at=START)
    verdict = readiness(state, FakeStore(up=False), now=START, max_age=MAX_AGE)
    assert not verdict.ready
    assert verdict.failed == {"store": "the store did not answer (ConnectionRefusedError; see the log)"}
    assert verdict.as_json()["failed"] == ["store"]


def test_refused_credentials_make_it_unready_until_a_cycle_gets_through() -> None:
    """An AuthError cycle fails the credentials check with its error; the next successful cycle clears it."""
    state = active()
    state.record_cycle(result("failed", "AuthError: HubSpot refused the access token", api_calls=1),
                       finished_at=START + timedelta(minutes=5))  # fmt: skip
    assert state.snapshot().credentials_ok is False
    verdict = readiness(state, FakeStore(), now=START + timedelta(minutes=6), max_age=MAX_AGE)
    assert not verdict.ready
    assert set(verdict.failed) == {"credentials"}
    assert "AuthError: HubSpot refused the access token" in verdict.failed["credentials"]
    state.record_cycle(result(), finished_at=START + timedelta(minutes=20))
    assert state.snapshot().credentials_ok is True
    assert readiness(state, FakeStore(), now=START + timedelta(minutes=21), max_age=MAX_AGE).ready


@pytest.mark.parametrize(
    ("status", "error", "api_calls", "expected"),
    [
        pytest.param("failed", "RetriableError: the CRM is down", 3, None, id="unreachable-says-nothing"),
        pytest.param("failed", "ProtocolError: not JSON", 1, None, id="garbage-says-nothing"),
        pytest.param("parked", "the CRM's API budget is spent until 2026-05-05T00:00:00+00:00", 0, None,
                     id="parked-made-no-call"),
        pytest.param("failed", "AccessDeniedError: no access to Contact", 2, True, id="denied-but-known"),
        pytest.param("partial", "BudgetExhaustedError: daily limit", 40, True, id="budget-spent-but-known"),
        pytest.param("stopped", "the safety valve withheld 80% of contacts", 9, True, id="safety-valve"),
        pytest.param("failed", "AuthError: invalid_client", 1, False, id="refused"),
    ],
)  # fmt: skip
def test_what_a_cycle_says_about_the_credentials(
    status: str, error: str | None, api_calls: int, expected: bool | None
) -> None:
    """Only a refusal sets False; a cycle the CRM answered sets True; one it never answered changes nothing."""
    state = active()
    state.record_cycle(result(status, error, api_calls), finished_at=START)
    assert state.credentials_ok is expected


def test_a_stale_last_cycle_makes_it_unready() -> None:
    """Exactly at the limit is still ready; a second later the last-cycle check fails and says so."""
    state = active()
    state.record_cycle(result("partial", "RetriableError: timeout"), finished_at=START)
    assert readiness(state, FakeStore(), now=START + MAX_AGE, max_age=MAX_AGE).ready
    verdict = readiness(state, FakeStore(), now=START + MAX_AGE + timedelta(seconds=1), max_age=MAX_AGE)
    assert set(verdict.failed) == {"last_cycle"}
    assert verdict.failed["last_cycle"] == (
        "the last cycle (partial) finished 2701 s ago, more than 2700 s: is the scheduler stuck?"
    )


def test_a_fresh_daemon_gets_max_age_of_grace_from_its_start() -> None:
    """No cycle yet: ready until max_age after the start, then unready for want of any cycle."""
    state = active()
    assert readiness(state, FakeStore(), now=START + MAX_AGE, max_age=MAX_AGE).ready
    verdict = readiness(state, FakeStore(), now=START + MAX_AGE + timedelta(minutes=1), max_age=MAX_AGE)
    assert verdict.failed == {"last_cycle": "no cycle has finished since the start 2760 s ago (limit 2700 s)"}


def test_a_standby_is_ready_while_the_store_answers() -> None:
    """A standby runs no cycles: stale or refused cycles of its past do not count, only the store does."""
    state = DaemonState(started_at=START)
    state.record_cycle(result("failed", "AuthError: invalid_client", api_calls=1), finished_at=START)
    state.set_role("standby")
    later = START + 10 * MAX_AGE
    verdict = readiness(state, FakeStore(), now=later, max_age=MAX_AGE)
    assert verdict.ready
    assert set(verdict.checks) == {"role", "store"}
    assert not readiness(state, FakeStore(up=False), now=later, max_age=MAX_AGE).ready


@pytest.mark.parametrize("role", ["starting", "stopping"])
def test_a_starting_or_stopping_daemon_is_not_ready(role: str) -> None:
    """Between start and the first lease decision, and while draining to exit, the role check fails."""
    state = DaemonState(started_at=START)
    state.set_role(role)
    verdict = readiness(state, FakeStore(), now=START, max_age=MAX_AGE)
    assert verdict.failed == {"role": f"the daemon is {role}"}


def test_an_unknown_role_is_refused() -> None:
    """A typo in the caller is an error, not a silently unready daemon."""
    with pytest.raises(ValueError, match="unknown role 'leader'"):
        DaemonState(started_at=START).set_role("leader")


def test_a_snapshot_is_a_copy_and_the_clock_stamps_the_cycle_end() -> None:
    """Later updates do not change a snapshot taken before; without finished_at, the state's clock stamps it."""
    state = DaemonState(started_at=START, clock=lambda: START + timedelta(minutes=3))
    state.set_next_runs({"sync": START + timedelta(minutes=15), "assessments": None})
    state.record_usage("hubspot", ApiUsage(calls=5, used=100, limit=1000))
    before = state.snapshot()
    state.record_cycle(result())
    state.set_next_runs({"sync": START + timedelta(minutes=30)})
    assert before.last_finished_at is None
    assert before.next_runs == {"sync": START + timedelta(minutes=15)}
    assert before.usage["hubspot"].remaining == 900
    after = state.snapshot()
    assert (after.last_finished_at, after.last_status, after.last_duration_s) == (START + timedelta(minutes=3),
                                                                                  "ok", 2.5)  # fmt: skip


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({}, timedelta(seconds=2700)),
        ({"schedule_interval_seconds": 60}, timedelta(seconds=180)),
        ({"schedule_cron": "0 * * * *"}, timedelta(days=1)),
        ({"schedule_cron": "0 * * * *", "ready_max_age_seconds": 7200}, timedelta(hours=2)),
    ],
)
def test_ready_max_age_defaults_to_three_intervals(values: dict[str, object], expected: timedelta) -> None:
    """The explicit setting wins; else three sync intervals; else a day with a crontab line."""
    assert ready_max_age(SyncSettings(**values)) == expected  # type: ignore[arg-type]
