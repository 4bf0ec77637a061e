"""The state store: bookkeeping of what was pulled (accounts, contacts, cursors) and of runs.

SQLAlchemy 2 on a SQLite file by default or PostgreSQL (``postgresql+psycopg://...``), with the
schema managed by Alembic migrations shipped in this package (``Store.migrate``).
"""

from sync_daemon.store.store import Store
from sync_daemon.store.values import CursorState, PageResult, RunRow, UnstorableRecordError

__all__ = ["CursorState", "PageResult", "RunRow", "Store", "UnstorableRecordError"]
