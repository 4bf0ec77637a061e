"""A manual ``sync`` on a SQLite store a running daemon holds is refused (exit 2), before any CRM call."""

from __future__ import annotations

from typing import TYPE_CHECKING

from click.testing import CliRunner

from sync_daemon.cli import main
from sync_daemon.leadership import SqliteLeadership

if TYPE_CHECKING:
    from pathlib import Path


def test_sync_refuses_a_sqlite_store_a_daemon_holds(tmp_path: Path) -> None:
    """The daemon's lock is held: exit 2 naming it; once released, the same command gets past the lock."""
    db = tmp_path / "state.db"
    daemon = SqliteLeadership(db, holder="host:1:abc")
    env = {
        "SYNC_CRM": "hubspot",
        "HUBSPOT_ACCESS_TOKEN": "pat-test-0000",
        "HUBSPOT_BASE_URL": "http://127.0.0.1:9",  # nothing listens: a CRM call would fail with exit 1, not 2
        "SYNC_DATABASE_URL": f"sqlite:///{db}",
        "SYNC_LOG_FORMAT": "json",
        "SYNC_RETRY_ATTEMPTS": "1",
    }
    refused = CliRunner().invoke(main, ["sync"], env=env, catch_exceptions=False)
    assert refused.exit_code == 2
    assert f"is using the SQLite store {db}" in " ".join(refused.output.split())
    daemon.release()
    ran = CliRunner().invoke(main, ["sync"], env=env, catch_exceptions=False)
    assert ran.exit_code == 1  # past the lock: the cycle itself fails on the unreachable CRM
    assert "is using the SQLite store" not in ran.output
