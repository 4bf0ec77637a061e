"""Running the Alembic migrations from code, with no alembic.ini needed at runtime.

The migrations directory ships inside the package, so ``Store.migrate()`` works the same from a
checkout and from an installed wheel. Replicas starting together on PostgreSQL serialise on an
advisory lock; on SQLite, ``BEGIN IMMEDIATE`` does the same.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, select

from sync_daemon.errors import SchemaTooNewError
from sync_daemon.store.engine import read_connection, write_transaction

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine

MIGRATIONS_DIR = Path(__file__).resolve().with_name("migrations")
# An arbitrary constant naming this daemon's migration lock among PostgreSQL advisory locks.
_ADVISORY_LOCK_KEY = 0x53594E43


def alembic_config(connection: Connection | None = None) -> Config:
    """Build the Alembic config in code; ``env.py`` uses ``connection`` when given one."""
    config = Config()
    # ConfigParser interpolates '%', so a path containing one must be escaped.
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    config.attributes["connection"] = connection
    return config


def upgrade_to_head(engine: Engine) -> None:
    """Apply every pending migration in one transaction; a no-op when already at head.

    ``SchemaTooNewError`` when the database is at a revision this version does not ship (a newer daemon migrated
    it): refusing is the only safe answer, and the message says what to do instead of a traceback.
    """
    with write_transaction(engine) as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(select(func.pg_advisory_xact_lock(_ADVISORY_LOCK_KEY)))
        current = MigrationContext.configure(conn).get_current_revision()
        if current is not None and current not in _known_revisions():
            raise SchemaTooNewError(current, head_revision())
        command.upgrade(alembic_config(conn), "head")


def _known_revisions() -> set[str]:
    from alembic.script import ScriptDirectory  # noqa: PLC0415 - only needed here

    return {script.revision for script in ScriptDirectory.from_config(alembic_config()).walk_revisions()}


def current_revision(engine: Engine) -> str | None:
    """Return the schema revision stored in the database, ``None`` before the first migration."""
    with read_connection(engine) as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str | None:
    """Return the newest revision shipped with this package."""
    from alembic.script import ScriptDirectory  # noqa: PLC0415 - only needed for this query

    return ScriptDirectory.from_config(alembic_config()).get_current_head()
