"""An account's adoption status from its usage KPIs, and the date it first reached each status.

Pure: a function of the policy and the account's fields (as the CRM sends them: text from HubSpot,
typed JSON from Salesforce; :mod:`sync_daemon.domain.conditions` reads both alike).

The rules, in an onboarding lead's words:

- The statuses are ordered, lowest first. An account has the **highest** status whose condition holds,
  whether or not the lower ones hold too (an account at 80% daily use with its integration connected is in
  full utilization even if a lower status asks for something else); the first status, which has no
  condition, is where every account is until a higher one holds.
- Every status is evaluated and explained, so ``handoff show`` can say why an account is not one higher.
- **First reached**: the date each status was first reached is kept for good. Reaching a status also
  counts as reaching every status below it (an account that jumps from inactive to full utilization
  between two pulls has, for the record, also implemented and partly adopted that day; without this,
  "days to adoption" would have holes for the fastest accounts). A status dropping back never erases or
  moves a date, and a date once recorded never changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sync_daemon.domain.conditions import Verdict, evaluate, explain

if TYPE_CHECKING:
    from collections.abc import Mapping
    from datetime import date

    from sync_daemon.config.handoff_models import HandoffPolicy

__all__ = ["AdoptionResult", "StatusCheck", "adoption_status", "first_reached", "is_adopted", "status_from_crm"]


@dataclass(frozen=True, slots=True)
class StatusCheck:
    """One status as evaluated; ``verdict`` is None for the first status (no condition: it always holds)."""

    name: str
    holds: bool
    verdict: Verdict | None

    def explain(self) -> str:
        """``partial_utilization ✓ (active_users 5 >= 3 ✓; daily_active_pct 42 >= 30 ✓)``."""
        mark = "✓" if self.holds else "✗"
        reason = "where every account starts" if self.verdict is None else explain(self.verdict)
        return f"{self.name} {mark} ({reason})"


@dataclass(frozen=True, slots=True)
class AdoptionResult:
    """The status reached (its CRM label too), whether it counts as adopted, and every status's verdict."""

    status: str
    label: str
    adopted: bool
    verdicts: tuple[StatusCheck, ...]

    def check(self, name: str) -> StatusCheck:
        """The verdict of one status (KeyError when the policy has no such status)."""
        for check in self.verdicts:
            if check.name == name:
                return check
        raise KeyError(name)

    def explain(self) -> str:
        """Every status, highest first, with why it held or not; for ``handoff show``."""
        return "; ".join(c.explain() for c in reversed(self.verdicts))


def adoption_status(policy: HandoffPolicy, fields: Mapping[str, object]) -> AdoptionResult:
    """The highest status of ``policy`` whose condition holds on ``fields``, with every verdict."""
    checks = tuple(
        StatusCheck(s.name, holds=True, verdict=None) if s.when is None else _check(s.name, evaluate(s.when, fields))
        for s in policy.adoption.statuses
    )
    reached = next(c.name for c in reversed(checks) if c.holds or c is checks[0])
    status = policy.adoption.status(reached)
    return AdoptionResult(reached, status.shown, is_adopted(policy, reached), checks)


def _check(name: str, verdict: Verdict) -> StatusCheck:
    return StatusCheck(name, verdict.holds, verdict)


def is_adopted(policy: HandoffPolicy, status: str) -> bool:
    """Whether ``status`` counts as adopted (an unknown status does not)."""
    return status in policy.adoption.adopted


def first_reached(policy: HandoffPolicy, previous: Mapping[str, date], status: str, today: date) -> dict[str, date]:
    """The first-reached dates after an account is seen at ``status`` on ``today``.

    ``status`` and every status below it get ``today`` unless they already have a date; every date in
    ``previous`` is kept as it is, including those of statuses the policy no longer has (renaming a
    status must not lose history). An unknown ``status`` changes nothing.
    """
    names = policy.adoption.names()
    reached = dict(previous)
    if status not in names:
        return reached
    for name in names[: names.index(status) + 1]:
        reached.setdefault(name, today)
    return reached


def status_from_crm(policy: HandoffPolicy, text: object) -> str | None:
    """The status a CRM value names: its name or label, in any case and spacing; None when none matches.

    The daemon writes labels (``Partial utilization``); people and imports write names, labels, or
    ``PARTIAL_UTILIZATION``. Reading all of them back is what lets a previous status be trusted.
    """
    if not isinstance(text, str):
        return None
    wanted = _folded(text)
    for status in policy.adoption.statuses:
        if wanted in (_folded(status.name), _folded(status.shown)):
            return status.name
    return None


def _folded(text: str) -> str:
    return " ".join(text.replace("_", " ").replace("-", " ").split()).casefold()
