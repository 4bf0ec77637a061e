"""Builders of pulled records for the store tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from connectors.base import CrmRecord

T0 = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)


def rec(
    record_id: str,
    *,
    minutes: int = 0,
    account_id: str | None = None,
    deleted: bool = False,
    merged: tuple[str, ...] = (),
    **fields: Any,
) -> CrmRecord:
    """A record modified ``minutes`` after T0 with ``fields`` (default: a name from the id)."""
    return CrmRecord(
        id=record_id,
        modified_at=T0 + timedelta(minutes=minutes),
        fields=fields or {"name": f"Name {record_id}"},
        deleted=deleted,
        account_id=account_id,
        merged_ids=merged,
    )


class FakeClock:
    """A clock the test moves by hand; every read returns the current value."""

    def __init__(self, start: datetime) -> None:
        """Start the clock at ``start``."""
        self.now = start

    def __call__(self) -> datetime:
        """Return the current fake time."""
        return self.now

    def advance(self, seconds: float) -> None:
        """Move the clock forward."""
        self.now += timedelta(seconds=seconds)
