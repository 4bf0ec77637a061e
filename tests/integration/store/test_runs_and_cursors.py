"""The run history and the pull cursors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from sync_daemon.store import CursorState, Store

T = datetime(2025, 6, 1, 8, 0, tzinfo=UTC)


def test_a_started_run_is_running(store: Store) -> None:
    """start_run records a running row with empty counts and returns a uuid4 hex id."""
    run_id = store.start_run("hubspot", "sync", dry_run=True, started_at=T)
    [run] = store.recent_runs()
    assert len(run_id) == 32
    assert int(run_id, 16) >= 0
    assert (run.id, run.crm, run.command, run.dry_run) == (run_id, "hubspot", "sync", True)
    assert (run.status, run.finished_at, run.counts, run.api_calls, run.errors) == (
        "running",
        None,
        {},
        0,
        0,
    )


def test_a_finished_run_keeps_its_outcome(store: Store) -> None:
    """finish_run stores status, end time, nested counts, calls, errors and the summary."""
    run_id = store.start_run("salesforce", "demo", dry_run=False, started_at=T)
    counts = {"accounts": {"pulled": 3, "stored": 2, "deleted": 1}, "contacts": {"pulled": 0}}
    store.finish_run(
        run_id,
        status="partial",
        finished_at=T + timedelta(seconds=42),
        counts=counts,
        api_calls=7,
        errors=1,
        error_summary="contacts: budget spent",
    )
    [run] = store.recent_runs()
    assert (run.status, run.finished_at, run.counts) == (
        "partial",
        T + timedelta(seconds=42),
        counts,
    )
    assert (run.api_calls, run.errors, run.error_summary) == (7, 1, "contacts: budget spent")
    assert run.started_at.tzinfo is UTC


def test_recent_runs_are_newest_first_and_limited(store: Store) -> None:
    """recent_runs orders by start time, newest first, and returns at most ``limit`` rows."""
    starts = [T + timedelta(minutes=m) for m in (5, 1, 9)]
    ids = [store.start_run("hubspot", "sync", dry_run=False, started_at=s) for s in starts]
    assert [run.id for run in store.recent_runs(2)] == [ids[2], ids[0]]
    assert len(store.recent_runs()) == 3


def test_finishing_an_unknown_run_raises(store: Store) -> None:
    """A finish for an id never started is a bug and says which id."""
    with pytest.raises(LookupError, match="nope"):
        store.finish_run("nope", status="ok", finished_at=T, counts={}, api_calls=0, errors=0)


def test_an_unknown_status_is_refused(store: Store) -> None:
    """Only running, ok, partial and failed are statuses."""
    run_id = store.start_run("hubspot", "sync", dry_run=False, started_at=T)
    with pytest.raises(ValueError, match="done"):
        store.finish_run(run_id, status="done", finished_at=T, counts={}, api_calls=0, errors=0)


def test_a_cursor_never_saved_is_empty(store: Store) -> None:
    """get_cursor of an object never pulled says: pull everything."""
    assert store.get_cursor("hubspot", "contacts") == CursorState(None, None, None)


def test_set_cursor_round_trips_and_overwrites(store: Store) -> None:
    """set_cursor stores aware instants (read back in UTC) and a later call replaces them."""
    cet = timezone(timedelta(hours=1))
    first = CursorState(datetime(2025, 1, 1, 1, 0, tzinfo=cet), T, "opaque/next?after=200")
    store.set_cursor("hubspot", "contacts", first)
    assert store.get_cursor("hubspot", "contacts") == first
    store.set_cursor("hubspot", "contacts", CursorState(T, None, None))
    assert store.get_cursor("hubspot", "contacts") == CursorState(T, None, None)
    assert store.get_cursor("salesforce", "contacts") == CursorState()
