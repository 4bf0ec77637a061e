"""The state store: bookkeeping of what was pulled, of runs, and of what was pushed.

Pulled: accounts, contacts, cursors. Pushed: values written, record errors, per-CRM state, and the
outbox of exactly-once intents. SQLAlchemy 2 on a SQLite file by default or PostgreSQL
(``postgresql+psycopg://...``), with the schema managed by Alembic migrations shipped in this
package (``Store.migrate``).
"""

from sync_daemon.store.push_values import ErrorGroup, ErrorRow, Intent
from sync_daemon.store.store import Store
from sync_daemon.store.values import CursorState, PageResult, RunRow, UnstorableRecordError

__all__ = [
    "CursorState",
    "ErrorGroup",
    "ErrorRow",
    "Intent",
    "PageResult",
    "RunRow",
    "Store",
    "UnstorableRecordError",
]
