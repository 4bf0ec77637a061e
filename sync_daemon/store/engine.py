"""Engine construction: the one place that knows SQLite needs coaxing to behave like a server.

SQLite gets WAL (readers do not block the writer), foreign keys, a busy timeout, and SQLAlchemy
emitting BEGIN itself, because the sqlite3 module's legacy mode does not BEGIN before a SELECT:
without that, reading the stored hashes and writing the page would not share one transaction.
Write transactions ask for ``BEGIN IMMEDIATE`` so two writers queue on the busy timeout instead of
failing on a lock upgrade.
"""

from __future__ import annotations

from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import make_url

if TYPE_CHECKING:
    from collections.abc import Iterator

    from sqlalchemy import Connection, Engine
    from sqlalchemy.engine import URL

SUPPORTED_BACKENDS = ("sqlite", "postgresql")
BUSY_TIMEOUT_MS = 10_000
CONNECT_TIMEOUT_S = 10
_BEGIN = {"IMMEDIATE": "BEGIN IMMEDIATE", "DEFERRED": "BEGIN"}


def create_store_engine(url: str, *, echo: bool = False) -> Engine:
    """Create the engine for ``url`` (``sqlite:///path`` or ``postgresql+psycopg://...``)."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend not in SUPPORTED_BACKENDS:
        raise ValueError(f"unsupported database {backend!r}; use one of {SUPPORTED_BACKENDS}")
    if backend == "postgresql":  # a host that drops packets must not hang /readyz or a cycle for minutes
        return create_engine(parsed, echo=echo, pool_pre_ping=True, connect_args={"connect_timeout": CONNECT_TIMEOUT_S})
    _ensure_parent_dir(parsed)
    engine = create_engine(parsed, echo=echo)
    event.listen(engine, "connect", _configure_sqlite)
    event.listen(engine, "begin", _begin_sqlite)
    return engine


def _ensure_parent_dir(url: URL) -> None:
    """Create the directory of a SQLite file, so a fresh data directory just works."""
    database = url.database
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    """Per-connection pragmas; SQLAlchemy, not sqlite3, decides where transactions begin."""
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS:d}")
    finally:
        cursor.close()


def _begin_sqlite(conn: Connection) -> None:
    """Emit BEGIN, IMMEDIATE when the connection was marked for writing."""
    mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
    conn.exec_driver_sql(_BEGIN[mode])


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """Yield a connection inside a write transaction: committed on success, rolled back on error."""
    with engine.connect() as conn:
        conn.execution_options(sqlite_begin="IMMEDIATE")
        with conn.begin():
            yield conn


@contextmanager
def joined_or_new(engine: Engine, conn: Connection | None) -> Iterator[Connection]:
    """The caller's connection (and so its transaction) when given, else a new write transaction.

    This is how a store call folds into a caller's transaction, e.g. an intent stored with its decision.
    """
    with nullcontext(conn) if conn is not None else write_transaction(engine) as active:
        yield active


@contextmanager
def read_connection(engine: Engine) -> Iterator[Connection]:
    """Yield a connection for reads; its implicit transaction is rolled back on exit."""
    with engine.connect() as conn:
        yield conn
