"""Column types that behave the same on SQLite and PostgreSQL.

SQLite has no time zones and no JSONB; the daemon must not care which backend it runs on, so the
differences are absorbed here rather than in every query.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, DateTime, TypeDecorator
from sqlalchemy.dialects.postgresql import JSONB

if TYPE_CHECKING:
    from sqlalchemy.engine import Dialect

# A JSON document: JSONB on PostgreSQL (compact, indexable), JSON text on SQLite.
JSONDocument = JSON().with_variant(JSONB(), "postgresql")


def to_utc(value: datetime) -> datetime:
    """Return ``value`` in UTC, refusing naive datetimes (their zone would be a guess)."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime {value.isoformat()} has no time zone; pass an aware one")
    return value.astimezone(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """An aware datetime stored in UTC and always read back as an aware UTC datetime.

    SQLite keeps no zone, so the UTC value is stored naive and the zone is re-attached on read;
    PostgreSQL's ``timestamptz`` keeps the instant and hands it back in the session zone, which
    we normalise to UTC so callers compare like with like.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Convert to UTC before writing (naive on SQLite, which drops zones anyway)."""
        if value is None:
            return None
        utc = to_utc(value)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: Any | None, dialect: Dialect) -> datetime | None:
        """Attach UTC to naive SQLite values; normalise PostgreSQL's session-zone values to UTC."""
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime from {dialect.name}, got {type(value).__name__}")
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
