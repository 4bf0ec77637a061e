"""Adoption status: the highest status whose condition holds, explained, and the date each was first reached."""

from __future__ import annotations

from datetime import date

import pytest

from sync_daemon.domain.adoption import adoption_status, first_reached, is_adopted, status_from_crm
from tests.unit.handoff.builders import FULL, IMPLEMENTING, INACTIVE, PARTIAL, shipped_policy

POLICY = shipped_policy()
D1, D2, D3 = date(2026, 2, 1), date(2026, 3, 1), date(2026, 4, 1)


@pytest.mark.parametrize(
    ("usage", "status", "adopted"),
    [
        (INACTIVE, "inactive", False),
        (IMPLEMENTING, "implementing", False),
        (PARTIAL, "partial_utilization", True),
        (FULL, "full_utilization", True),
        ({}, "inactive", False),
    ],
    ids=["inactive", "implementing", "partial", "full", "no-kpis"],
)
def test_each_status_is_reached_from_its_kpis(usage: dict[str, object], status: str, adopted: bool) -> None:
    """Each default status is reached by realistic usage; no KPIs at all is inactive."""
    result = adoption_status(POLICY, usage)
    assert (result.status, result.adopted) == (status, adopted)
    assert is_adopted(POLICY, status) is adopted


def test_the_highest_holding_status_wins_even_when_a_lower_one_fails() -> None:
    """Full utilization (70% daily, integration) wins although partial's user count is not met."""
    result = adoption_status(POLICY, {"active_users": 2, "daily_active_pct": 75, "integration_connected": True})
    assert result.status == "full_utilization"
    assert not result.check("partial_utilization").holds
    assert result.check("implementing").holds


def test_every_status_is_explained_highest_first() -> None:
    """The explanation names each status with the values it saw, highest first."""
    result = adoption_status(POLICY, IMPLEMENTING)
    assert result.explain() == (
        "full_utilization ✗ (daily_active_pct 10 >= 70 ✗; integration_connected false = true ✗); "
        "partial_utilization ✗ (active_users 2 >= 3 ✗; daily_active_pct 10 >= 30 ✗); "
        "implementing ✓ (active_users 2 >= 1 ✓); "
        "inactive ✓ (where every account starts)"
    )


def test_kpis_as_crm_text_give_the_same_status_as_typed_values() -> None:
    """HubSpot sends numbers and checkboxes as text: '82', 'true' read as 82 and true."""
    as_text = {"active_users": "40", "daily_active_pct": "82.0", "integration_connected": "true"}
    assert adoption_status(POLICY, as_text).status == adoption_status(POLICY, FULL).status == "full_utilization"


def test_labels_default_to_the_name_in_words() -> None:
    """The CRM value of a status is its label: partial_utilization shows as 'Partial utilization'."""
    assert adoption_status(POLICY, PARTIAL).label == "Partial utilization"
    assert [POLICY.adoption.status(n).shown for n in POLICY.adoption.names()] == [
        "Inactive", "Implementing", "Partial utilization", "Full utilization"
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("text", "status"),
    [
        ("Partial utilization", "partial_utilization"),
        ("partial_utilization", "partial_utilization"),
        ("  FULL  UTILIZATION ", "full_utilization"),
        ("Full-utilization", "full_utilization"),
        ("Churned", None),
        ("", None),
        (None, None),
    ],
)
def test_a_status_is_read_back_from_its_crm_forms(text: object, status: str | None) -> None:
    """Labels, names, any case and spacing name the same status; anything else names none."""
    assert status_from_crm(POLICY, text) == status


def test_first_reached_records_the_status_and_those_below_it() -> None:
    """Jumping to full utilization also dates the lower statuses, which had no date yet."""
    assert first_reached(POLICY, {"inactive": D1}, "full_utilization", D2) == {
        "inactive": D1, "implementing": D2, "partial_utilization": D2, "full_utilization": D2
    }  # fmt: skip


def test_first_reached_dates_never_move_or_disappear() -> None:
    """Dropping back and reaching a status again keeps every first date as it was."""
    dates = first_reached(POLICY, {}, "partial_utilization", D1)
    dropped = first_reached(POLICY, dates, "inactive", D2)
    again = first_reached(POLICY, dropped, "partial_utilization", D3)
    assert dropped == again == dates == {"inactive": D1, "implementing": D1, "partial_utilization": D1}


def test_first_reached_keeps_dates_of_statuses_no_longer_in_the_policy() -> None:
    """A renamed status's history is kept, and an unknown status changes nothing."""
    previous = {"onboarded": D1}
    assert first_reached(POLICY, previous, "implementing", D2) == {"onboarded": D1, "inactive": D2, "implementing": D2}
    assert first_reached(POLICY, previous, "churned", D2) == previous
