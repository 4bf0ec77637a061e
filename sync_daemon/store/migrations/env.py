"""Alembic environment for the state store.

Called two ways: from ``Store.migrate()``, which passes an open connection inside its transaction
(``config.attributes["connection"]``), and by developers through
``alembic -c sync_daemon/store/alembic.ini ...``, where the URL comes from ``-x url=...`` or
``SYNC_DATABASE_URL``.
"""

from __future__ import annotations

import os
from logging.config import fileConfig

from alembic import context
from sqlalchemy import Connection

from sync_daemon.store.engine import create_store_engine
from sync_daemon.store.models import Base

config = context.config
target_metadata = Base.metadata


def _developer_url() -> str:
    """The URL for command-line use: ``-x url=...`` first, then ``SYNC_DATABASE_URL``."""
    url = context.get_x_argument(as_dictionary=True).get("url") or os.environ.get("SYNC_DATABASE_URL")
    if not url:
        raise SystemExit("give the database with -x url=... or SYNC_DATABASE_URL")
    return url


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=True,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


def main() -> None:
    """Run migrations offline (SQL script), on the given connection, or on a fresh engine."""
    if config.config_file_name is not None:
        fileConfig(config.config_file_name, disable_existing_loggers=False)
    if context.is_offline_mode():
        context.configure(url=_developer_url(), target_metadata=target_metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    connection = config.attributes.get("connection")
    if isinstance(connection, Connection):
        _run(connection)
        return
    engine = create_store_engine(_developer_url())
    try:
        with engine.begin() as conn:
            _run(conn)
    finally:
        engine.dispose()


main()
