"""The API budget governor: a reserve for other integrations, and the most valuable work first.

It keeps a share of the CRM's daily budget for the other integrations that share it, and when the budget is short
it spends what is left on the most valuable work first.

Pure: it judges figures the connector reported (``ApiUsage``) against a policy. Salesforce reports a rolling daily
budget (``Sforce-Limit-Info``); HubSpot a daily one that resets at midnight in the account's time zone (a ``DAILY``
429 parks work until then, which the engine records in the store).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import IntEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

    from connectors.base import ApiUsage


class Priority(IntEnum):
    """What goes first when the budget is short (lower first)."""

    ASSESSMENT = 0  # assessment triggers: a missed send window is lost feedback
    HANDOFF = 1  # handoff status, dates, evidence: a CSM is waiting on them
    PROGRESS = 2  # plan progress fields: refreshed every cycle anyway
    NOTE = 3  # notes: the longest calls, and the field copy already carries the text


_ASSESSMENT_FIELDS = frozenset({"assessment_kind", "assessment_persona", "assessment_cycle", "assessment_requested_at"})
_HANDOFF_FIELDS = frozenset(
    {
        "adoption_status",
        "handoff_status",
        "handoff_date",
        "days_to_onboard",
        "handoff_evidence",
        "handoff_note_text",
        "at_risk_reason",
    }
)


def field_priority(field: str) -> Priority:
    """The priority of writing a daemon-owned field."""
    if field in _ASSESSMENT_FIELDS:
        return Priority.ASSESSMENT
    if field in _HANDOFF_FIELDS:
        return Priority.HANDOFF
    return Priority.PROGRESS


@dataclass(frozen=True, slots=True)
class BudgetPolicy:
    """``reserve_share`` of the daily budget is left for other integrations (``SYNC_API_RESERVE_SHARE``)."""

    reserve_share: float = 0.20


def calls_available(usage: ApiUsage, policy: BudgetPolicy) -> int | None:
    """Calls the daemon may still spend today, or ``None`` when the CRM reported no budget."""
    if usage.used is None or usage.limit is None:
        return None
    reserve = math.ceil(usage.limit * policy.reserve_share)
    return max(usage.limit - usage.used - reserve, 0)


@dataclass(frozen=True, slots=True)
class Work:
    """A unit of work and the calls it is expected to cost."""

    priority: Priority
    calls: int
    label: str


def schedule(work: Sequence[Work], available: int | None) -> tuple[list[Work], list[Work]]:
    """Split work into what runs now (most valuable first) and what waits for budget.

    Work is taken in priority order while it fits; a unit that does not fit is deferred with everything of
    lower priority, so a cheaper low-value unit never jumps ahead of a deferred high-value one.
    """
    ordered = sorted(work, key=lambda w: w.priority)
    if available is None:
        return ordered, []
    now: list[Work] = []
    left = available
    for index, unit in enumerate(ordered):
        if unit.calls > left:
            return now, ordered[index:]
        now.append(unit)
        left -= unit.calls
    return now, []
