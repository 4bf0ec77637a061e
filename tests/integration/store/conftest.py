"""Fixtures running the same store tests on SQLite and on PostgreSQL.

PostgreSQL gets one throwaway database per test session (``sync_test_<random>``), created through
the server's ``test`` database and dropped at the end; each test starts from an empty schema.
When the server cannot be reached the PostgreSQL half is skipped, or failed when ``CI`` is set.
"""

from __future__ import annotations

import os
import secrets
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import OperationalError

from sync_daemon.store import Store
from tests.integration.store.store_builders import FakeClock

if TYPE_CHECKING:
    from collections.abc import Iterator

DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _admin_url() -> URL:
    return make_url(os.environ.get("SYNC_TEST_POSTGRES_URL", DEFAULT_PG_URL))


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[URL]:
    """Create a throwaway database for the session and drop it afterwards."""
    admin_url = _admin_url()
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5})
    name = f"sync_test_{secrets.token_hex(6)}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as exc:
        admin.dispose()
        reason = f"PostgreSQL unreachable at {admin_url.render_as_string(hide_password=True)}: "
        reason += str(exc.orig).splitlines()[0] if exc.orig else str(exc)
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    try:
        yield admin_url.set(database=name)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _reset_schema(url: URL) -> None:
    """Empty the database by recreating its public schema (much faster than a new database)."""
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    finally:
        engine.dispose()


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
    ]
)
def store_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A URL to an empty database: a fresh SQLite file, or the session's emptied PostgreSQL DB."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('store') / 'state.db'}"
    url: URL = request.getfixturevalue("postgres_database")
    _reset_schema(url)
    return url.render_as_string(hide_password=False)


@pytest.fixture
def clock() -> FakeClock:
    """A hand-moved clock starting at a fixed instant."""
    return FakeClock(datetime(2025, 3, 1, 9, 0, tzinfo=UTC))


@pytest.fixture
def store(store_url: str, clock: FakeClock) -> Iterator[Store]:
    """A migrated store on each backend, closed after the test."""
    opened = Store.open(store_url, clock=clock)
    try:
        yield opened
    finally:
        opened.close()
