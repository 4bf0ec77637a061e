"""The safety valve and the API budget governor: pure judgements over counts and reported usage."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectors.base import ApiUsage
from sync_daemon.domain.budget import BudgetPolicy, Priority, Work, calls_available, field_priority, schedule
from sync_daemon.domain.safety import SafetyPolicy, check

POLICY = SafetyPolicy(max_share=0.30, min_records=50)


def verdict(changed: int, existing: int, *, pushed: bool = True, force: bool = False):  # noqa: ANN201
    return check("accounts", changed, existing, has_pushed_before=pushed, policy=POLICY, force=force)


def test_small_plans_pass_whatever_their_share() -> None:
    """Under 50 changed records the valve never closes, even at 100% of a tiny org."""
    assert verdict(49, 49).allowed


def test_a_large_share_stops_with_how_to_proceed() -> None:
    """Changing 31% of 1,000 accounts stops, saying why and naming --dry-run and --force."""
    v = verdict(310, 1_000)
    assert not v.allowed
    assert v.reason is not None
    assert "31%" in v.reason
    assert "--dry-run" in v.reason
    assert "--force" in v.reason


def test_at_the_threshold_passes() -> None:
    """Exactly 30% is allowed; the threshold is a maximum."""
    assert verdict(300, 1_000).allowed


def test_first_backfill_is_announced() -> None:
    """The first push into a CRM stops even at a small share, flagged as a first backfill."""
    v = verdict(60, 1_000, pushed=False)
    assert not v.allowed
    assert v.first_backfill


def test_force_lets_a_checked_plan_through() -> None:
    """--force overrides both the share and the first-backfill stop."""
    assert verdict(900, 1_000, force=True).allowed
    assert verdict(900, 1_000, pushed=False, force=True).allowed


def test_budget_keeps_the_reserve() -> None:
    """With 100,000 a day, 70,000 used and a 20% reserve, 10,000 calls remain for the daemon."""
    assert calls_available(ApiUsage(calls=0, used=70_000, limit=100_000), BudgetPolicy(0.2)) == 10_000
    assert calls_available(ApiUsage(calls=0, used=85_000, limit=100_000), BudgetPolicy(0.2)) == 0
    assert calls_available(ApiUsage(calls=3), BudgetPolicy()) is None


def test_short_budget_runs_the_most_valuable_work_first() -> None:
    """Assessment triggers, then handoff updates, then progress fields, then notes; the rest waits."""
    work = [
        Work(Priority.NOTE, 2, "notes"),
        Work(Priority.PROGRESS, 5, "progress"),
        Work(Priority.ASSESSMENT, 1, "assessments"),
        Work(Priority.HANDOFF, 2, "handoff"),
    ]
    now, later = schedule(work, available=4)
    assert [w.label for w in now] == ["assessments", "handoff"]
    assert [w.label for w in later] == ["progress", "notes"]


def test_a_cheap_low_value_unit_never_jumps_a_deferred_one() -> None:
    """Once a unit does not fit, everything of lower priority waits too."""
    now, later = schedule([Work(Priority.HANDOFF, 9, "h"), Work(Priority.NOTE, 1, "n")], available=5)
    assert now == []
    assert [w.label for w in later] == ["h", "n"]


@pytest.mark.parametrize(
    ("field", "priority"),
    [("assessment_cycle", Priority.ASSESSMENT), ("handoff_status", Priority.HANDOFF), ("slip_days", Priority.PROGRESS)],
)
def test_fields_have_priorities(field: str, priority: Priority) -> None:
    """Daemon-owned fields are ranked by what they are for."""
    assert field_priority(field) == priority


@given(st.lists(st.tuples(st.sampled_from(list(Priority)), st.integers(0, 20)), max_size=20), st.integers(0, 100))
def test_schedule_never_exceeds_the_budget(items: list[tuple[Priority, int]], available: int) -> None:
    """Whatever the work, what runs now fits the budget and nothing is lost."""
    work = [Work(p, c, str(i)) for i, (p, c) in enumerate(items)]
    now, later = schedule(work, available)
    assert sum(w.calls for w in now) <= available
    assert sorted(w.label for w in now + later) == sorted(w.label for w in work)
