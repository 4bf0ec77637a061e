"""Column types, engine URLs and the packaged Alembic configuration."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy.dialects import postgresql, sqlite

from sync_daemon.store import Store
from sync_daemon.store.migrate import MIGRATIONS_DIR, alembic_config, head_revision
from sync_daemon.store.models import Base, record_table
from sync_daemon.store.types import UTCDateTime, to_utc

EAST = timezone(timedelta(hours=3))
INSTANT = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)


def test_to_utc_keeps_the_instant() -> None:
    """An aware datetime in any zone becomes the same instant in UTC."""
    assert to_utc(INSTANT.astimezone(EAST)) == INSTANT
    assert to_utc(INSTANT.astimezone(EAST)).tzinfo is UTC


def test_to_utc_refuses_naive_datetimes() -> None:
    """A naive datetime has no zone to convert from and is refused."""
    with pytest.raises(ValueError, match="naive"):
        to_utc(datetime(2025, 1, 1))  # noqa: DTZ001


def test_sqlite_gets_naive_utc_and_postgresql_aware_utc() -> None:
    """Binding stores UTC: naive for SQLite (which drops zones), aware for PostgreSQL."""
    column_type = UTCDateTime()
    local = INSTANT.astimezone(EAST)
    assert column_type.process_bind_param(local, sqlite.dialect()) == INSTANT.replace(tzinfo=None)
    assert column_type.process_bind_param(local, postgresql.dialect()) == INSTANT
    assert column_type.process_bind_param(None, sqlite.dialect()) is None


def test_reading_always_returns_aware_utc() -> None:
    """Naive values (SQLite) gain UTC; values in a session zone (PostgreSQL) move to UTC."""
    column_type = UTCDateTime()
    from_sqlite = column_type.process_result_value(INSTANT.replace(tzinfo=None), sqlite.dialect())
    from_pg = column_type.process_result_value(INSTANT.astimezone(EAST), postgresql.dialect())
    assert from_sqlite == from_pg == INSTANT
    assert from_sqlite.tzinfo is UTC  # type: ignore[union-attr]
    assert from_pg.tzinfo is UTC  # type: ignore[union-attr]


def test_other_databases_are_refused() -> None:
    """Only SQLite and PostgreSQL URLs make a store."""
    with pytest.raises(ValueError, match="mysql"):
        Store("mysql+pymysql://user@localhost/db")


def test_unknown_record_kinds_are_refused() -> None:
    """Asking for a table that is not a record kind names the kind."""
    with pytest.raises(ValueError, match="cursors"):
        record_table("cursors")


def test_the_migrations_ship_inside_the_package() -> None:
    """The script location is the package's own directory, with env.py and revision 0001."""
    location = Path(alembic_config().get_main_option("script_location") or "")
    assert location == MIGRATIONS_DIR
    assert (location / "env.py").is_file()
    assert head_revision() == "0007"


def test_constraint_names_follow_the_convention() -> None:
    """Primary keys get ``pk_<table>`` names so PostgreSQL names are stable."""
    names = {table.name: table.primary_key.name for table in Base.metadata.sorted_tables}
    pushed = ("pushed_values", "record_errors", "outbox", "crm_state")
    assessed = ("assessment_sends", "assessment_skips", "assessment_responses")
    tables = ("accounts", "contacts", "cursors", "runs", *pushed, "plans", "plan_tasks", "adoption_reached", "handoffs",
              *assessed, "leases")  # fmt: skip
    assert names == {t: f"pk_{t}" for t in tables}
