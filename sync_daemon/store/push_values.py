"""Value objects of the push side: stored record errors and outbox intents.

Plain frozen dataclasses, like ``values.py``, so the engine, the CLI and the drain loop never touch
SQLAlchemy rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime  # noqa: TC003 - dataclass field types are read at runtime
from typing import Any, Literal

ErrorStatus = Literal["open", "dismissed"]
ERROR_STATUSES: tuple[ErrorStatus, ...] = ("open", "dismissed")

IntentStatus = Literal["pending", "in_flight", "done", "dead"]
INTENT_STATUSES: tuple[IntentStatus, ...] = ("pending", "in_flight", "done", "dead")


@dataclass(frozen=True, slots=True)
class ErrorRow:
    """The CRM's last rejection of one record.

    ``code`` and ``message`` are the CRM's own; ``attempts`` counts the cycles that failed since the
    record last succeeded (or since an operator's retry); a ``dismissed`` record is left out of plans.
    """

    crm: str
    kind: str
    record_id: str
    code: str
    message: str
    fields: tuple[str, ...]
    first_seen_at: datetime
    last_seen_at: datetime
    attempts: int
    status: ErrorStatus
    run_id: str | None


@dataclass(frozen=True, slots=True)
class ErrorGroup:
    """Open errors sharing a CRM code: how many, and a few examples to show an operator."""

    code: str
    count: int
    examples: list[ErrorRow]


@dataclass(frozen=True, slots=True)
class Intent:
    """One outbox row: a side effect to perform exactly once, identified by its ``key``.

    ``attempts`` counts claims, so ``attempts > 1`` means a worker held it before and may have done
    it (a crash, a timeout, a lost reply).
    """

    id: int
    key: str
    crm: str
    kind: str
    priority: int
    payload: dict[str, Any]
    status: IntentStatus
    attempts: int
    created_at: datetime
    updated_at: datetime
    not_before: datetime
    claimed_by: str | None
    lease_until: datetime | None
    result: dict[str, Any] | None
    last_error: str | None

    @property
    def tried_before(self) -> bool:
        """Whether the CRM may already hold this effect, so it must be looked up before acting.

        True after an earlier claim, and also after a release that did not count as an attempt
        (a spent budget leaves ``last_error``): a multi-call operation may have half-happened.
        """
        return self.attempts > 1 or self.last_error is not None
