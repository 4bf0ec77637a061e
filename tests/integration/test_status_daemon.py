"""``sync-daemon status`` shows the daemon: which replica is active, its next runs, and the API budget."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from rich.console import Console

from sync_daemon.commands.status import collect, run_status
from sync_daemon.leadership import DEFAULT_LEASE
from sync_daemon.store import Store

if TYPE_CHECKING:
    from pathlib import Path

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def store_at(tmp_path: Path, clock: datetime) -> Store:
    return Store.open(f"sqlite:///{tmp_path / 'state.db'}", clock=lambda: clock)


def a_run(store: Store, *, used: int, limit: int, at: datetime) -> None:
    run_id = store.start_run("salesforce", "run", False, at)  # noqa: FBT003 - the store's positional flag
    counts = {"accounts": {"pulled": 3}, "api_budget": {"used": used, "limit": limit}}
    store.finish_run(run_id, status="ok", finished_at=at + timedelta(seconds=4), counts=counts, api_calls=7,
                     errors=0, error_summary=None)  # fmt: skip


def test_status_names_the_active_daemon_its_next_runs_and_the_newest_budget(tmp_path: Path) -> None:
    """A live lease with published next runs; the budget of the newest run, with what is left."""
    store = store_at(tmp_path, NOW)
    assert store.acquire_lease(DEFAULT_LEASE, "host-a:41:abc", 30) is not None
    runs = {"sync": "2026-03-02T09:15:00+00:00", "assessments": "2026-03-03T10:00:00+00:00"}
    assert store.publish_lease(DEFAULT_LEASE, "host-a:41:abc", {"next_runs": runs})
    a_run(store, used=1000, limit=15000, at=NOW - timedelta(hours=2))
    a_run(store, used=1200, limit=15000, at=NOW - timedelta(hours=1))
    data = collect(store, 10, NOW)
    assert data["daemon"] == {"active": "host-a:41:abc", "lease_expires_at": "2026-03-02T09:00:30+00:00",
                              "next_runs": runs}  # fmt: skip
    assert data["api_budget"] == {
        "salesforce": {"used": 1200, "limit": 15000, "remaining": 13800, "as_of": "2026-03-02T08:00:00+00:00"}
    }
    out = io.StringIO()
    run_status(f"sqlite:///{tmp_path / 'state.db'}", output="json", limit=10, console=Console(file=out, width=200))
    printed = json.loads(out.getvalue())  # read on the real clock: that lease lapsed long ago
    assert set(printed) >= {"daemon", "api_budget", "runs", "errors_by_code", "outbox"}
    assert printed["api_budget"]["salesforce"]["remaining"] == 13800


def test_a_lapsed_lease_shows_no_active_daemon(tmp_path: Path) -> None:
    """The holder died a minute ago and its 30 s lease ran out: status says nobody is active."""
    store_at(tmp_path, NOW - timedelta(minutes=1)).acquire_lease(DEFAULT_LEASE, "host-a:41:abc", 30)
    later = store_at(tmp_path, NOW)
    assert collect(later, 10, NOW)["daemon"] == {"active": None, "lease_expires_at": None, "next_runs": {}}
    out = io.StringIO()
    run_status(f"sqlite:///{tmp_path / 'state.db'}", output="table", limit=10, console=Console(file=out, width=200))
    assert "No runs yet" in out.getvalue()


def test_a_run_left_running_by_a_dead_process_is_closed_by_the_next_leader(tmp_path: Path) -> None:
    """A `run` cycle still marked running is closed as failed, with why; a manual `sync` in flight is left alone."""
    store = store_at(tmp_path, NOW)
    dead = store.start_run("salesforce", "run", False, NOW - timedelta(minutes=5))  # noqa: FBT003
    manual = store.start_run("salesforce", "sync", False, NOW - timedelta(minutes=1))  # noqa: FBT003
    assert store.abandon_runs("run", NOW) == 1
    rows = {r.id: r for r in store.recent_runs(10)}
    assert (rows[dead].status, rows[dead].finished_at) == ("failed", NOW)
    assert (rows[dead].error_summary or "").startswith("abandoned:")
    assert rows[manual].status == "running"
