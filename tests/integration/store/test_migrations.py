"""Schema management: Alembic migrations against the models, on both backends."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from sync_daemon.store import CursorState, Store
from sync_daemon.store.migrate import alembic_config, head_revision
from sync_daemon.store.models import Base
from tests.integration.store.store_builders import rec

TABLES = {"accounts", "contacts", "cursors", "runs", "plans", "plan_tasks", "adoption_reached", "handoffs"}


def test_migrate_creates_the_schema_on_an_empty_database(store_url: str) -> None:
    """A database never migrated has no revision; migrate() creates every table and the head."""
    store = Store(store_url)
    try:
        assert store.schema_version() is None
        store.migrate()
        assert store.schema_version() == head_revision() == "0007"
        assert set(inspect(store.engine).get_table_names()) >= TABLES
    finally:
        store.close()


def test_migrate_twice_is_a_no_op_that_keeps_data(store: Store) -> None:
    """Running migrate() on a current schema changes neither the revision nor the rows."""
    store.apply_page("hubspot", "accounts", [rec("a1")], None, CursorState())
    store.migrate()
    assert store.schema_version() == "0007"
    assert store.count("accounts") == 1


def test_models_match_the_migrated_schema(store: Store) -> None:
    """Alembic autogenerate finds no difference between the models and the migrations (0001 to 0007)."""
    with store.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_downgrade_to_base_removes_the_schema(store: Store) -> None:
    """The initial migration's downgrade drops every table it created."""
    with store.engine.begin() as conn:
        command.downgrade(alembic_config(conn), "base")
    assert not TABLES & set(inspect(store.engine).get_table_names())
    assert store.schema_version() is None


def test_constraint_names_follow_the_naming_convention(store: Store) -> None:
    """Primary keys and indexes carry the stable names the models declare."""
    inspector = inspect(store.engine)
    assert inspector.get_pk_constraint("runs")["name"] in {"pk_runs", None}  # SQLite keeps no name
    index_names = {index["name"] for index in inspector.get_indexes("contacts")}
    assert "ix_contacts_crm_account_id" in index_names
