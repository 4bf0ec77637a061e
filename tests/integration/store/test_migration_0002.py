"""Migration 0002 (push side): up, down, up again, on both backends, matching the models."""

from __future__ import annotations

from typing import TYPE_CHECKING

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from sync_daemon.store import CursorState
from sync_daemon.store.migrate import alembic_config, head_revision
from sync_daemon.store.models import Base
from tests.integration.store.store_builders import rec

if TYPE_CHECKING:
    from sync_daemon.store import Store

PUSH_TABLES = {"pushed_values", "record_errors", "outbox", "crm_state"}
PULL_TABLES = {"accounts", "contacts", "cursors", "runs"}


def _migrate(store: Store, action: str, target: str) -> None:
    with store.engine.begin() as conn:
        getattr(command, action)(alembic_config(conn), target)


def test_0002_creates_the_push_tables_and_matches_the_models(store: Store) -> None:
    """At head the push tables exist and autogenerate finds no difference with the models."""
    assert store.schema_version() == head_revision()
    assert set(inspect(store.engine).get_table_names()) >= PUSH_TABLES | PULL_TABLES
    with store.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_0002_downgrades_to_0001_keeping_pulled_data_and_upgrades_again(store: Store) -> None:
    """Down to 0001 drops only the push tables; pulled rows survive; up again restores them empty."""
    store.apply_page("hubspot", "accounts", [rec("a1")], None, CursorState())
    store.record_written("hubspot", "accounts", [("a1", "health", "on track")], None)
    _migrate(store, "downgrade", "0001")
    tables = set(inspect(store.engine).get_table_names())
    assert not PUSH_TABLES & tables
    assert tables >= PULL_TABLES
    assert store.schema_version() == "0001"
    assert store.count("accounts") == 1
    store.migrate()
    assert store.schema_version() == head_revision()
    assert store.has_pushed("hubspot") is False


def test_the_outbox_key_is_unique_and_named(store: Store) -> None:
    """The idempotency key carries a named unique constraint (SQLite may report it unnamed)."""
    constraints = inspect(store.engine).get_unique_constraints("outbox")
    assert [c["column_names"] for c in constraints] == [["key"]]
    assert constraints[0]["name"] in {"uq_outbox_key", None}
