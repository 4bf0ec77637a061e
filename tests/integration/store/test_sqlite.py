"""SQLite specifics: the file and its directory, pragmas, concurrent writers, the developer CLI."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

from sqlalchemy import text

from sync_daemon.store import CursorState, Store
from tests.integration.store.store_builders import rec

ROOT = Path(__file__).resolve().parents[3]


def test_the_file_and_its_directories_are_created(tmp_path: Path) -> None:
    """Opening a store in a directory that does not exist yet creates it and the database."""
    path = tmp_path / "data" / "nested" / "state.db"
    store = Store.open(f"sqlite:///{path}")
    store.close()
    assert path.is_file()


def test_connections_use_wal_foreign_keys_and_a_busy_timeout(tmp_path: Path) -> None:
    """Every connection runs in WAL mode with foreign keys on and waits when the file is busy."""
    store = Store.open(f"sqlite:///{tmp_path / 'state.db'}")
    try:
        with store.engine.connect() as conn:
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
            assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 10_000
    finally:
        store.close()


def test_two_writers_on_one_file_queue_instead_of_failing(tmp_path: Path) -> None:
    """Two stores writing pages to one file at once both succeed (BEGIN IMMEDIATE + busy wait)."""
    url = f"sqlite:///{tmp_path / 'state.db'}"
    Store.open(url).close()
    errors: list[BaseException] = []

    def writer(crm: str) -> None:
        store = Store(url)
        try:
            for n in range(30):
                page = [rec(f"{crm}-{n}-{i}") for i in range(20)]
                store.apply_page(crm, "accounts", page, None, CursorState(resume=str(n)))
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread's assertion
            errors.append(exc)
        finally:
            store.close()

    threads = [threading.Thread(target=writer, args=(crm,)) for crm in ("hubspot", "salesforce")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    store = Store(url)
    try:
        assert store.count("accounts") == 2 * 30 * 20
    finally:
        store.close()


def test_developers_can_migrate_with_the_alembic_command(tmp_path: Path) -> None:
    """``alembic -c sync_daemon/store/alembic.ini -x url=...`` upgrades and reports the head."""
    url = f"sqlite:///{tmp_path / 'dev.db'}"
    ini = "sync_daemon/store/alembic.ini"
    for args in (["upgrade", "head"], ["current"]):
        done = subprocess.run(  # noqa: S603 - fixed arguments, our own interpreter
            [sys.executable, "-m", "alembic", "-c", ini, "-x", f"url={url}", *args],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stderr
    assert "0007 (head)" in done.stdout
    store = Store(url)
    try:
        assert store.schema_version() == "0007"
    finally:
        store.close()
