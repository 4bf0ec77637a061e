"""The safety valve: a cycle that would rewrite a large share of the CRM stops before writing.

After octoDNS: a plan that would update more than a configured share of existing records (default 30%, and only
from 50 records up, so a small org is not blocked by a handful of changes) is refused unless the operator checked
the dry run and passed ``--force``. The very first backfill into a CRM is announced the same way rather than
written silently. The check is per object kind, so a mass change of accounts is not diluted by many untouched
contacts.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SafetyPolicy:
    """Thresholds from settings (``SYNC_SAFETY_MAX_SHARE``, ``SYNC_SAFETY_MIN_RECORDS``)."""

    max_share: float = 0.30
    min_records: int = 50


@dataclass(frozen=True, slots=True)
class SafetyVerdict:
    """Whether the writes may go ahead, and if not, why and how to proceed."""

    allowed: bool
    kind: str
    changed: int
    existing: int
    first_backfill: bool = False
    reason: str | None = None

    @property
    def share(self) -> float:
        """The share of existing records the plan would change."""
        return self.changed / self.existing if self.existing else 1.0

    def as_dict(self) -> dict[str, object]:
        """JSON-able form for the store, status and metrics."""
        return {
            "kind": self.kind,
            "changed": self.changed,
            "existing": self.existing,
            "share": round(self.share, 4),
            "first_backfill": self.first_backfill,
            "reason": self.reason,
        }


HOW_TO_PROCEED = "check the plan with `sync-daemon sync --dry-run`, then run `sync-daemon sync --force`"


def check(
    kind: str, changed: int, existing: int, *, has_pushed_before: bool, policy: SafetyPolicy, force: bool
) -> SafetyVerdict:
    """Judge one kind's planned changes; ``force`` lets a checked plan through."""
    if force or changed < policy.min_records:
        return SafetyVerdict(allowed=True, kind=kind, changed=changed, existing=existing)
    if not has_pushed_before:
        reason = f"first backfill: {changed:,} {kind} would be written for the first time; {HOW_TO_PROCEED}"
        return SafetyVerdict(
            allowed=False, kind=kind, changed=changed, existing=existing, first_backfill=True, reason=reason
        )
    share = changed / existing if existing else 1.0
    if share > policy.max_share:
        reason = (
            f"{changed:,} of {existing:,} {kind} ({share:.0%}) would change, over the {policy.max_share:.0%} "
            f"safety threshold; {HOW_TO_PROCEED}"
        )
        return SafetyVerdict(allowed=False, kind=kind, changed=changed, existing=existing, reason=reason)
    return SafetyVerdict(allowed=True, kind=kind, changed=changed, existing=existing)
