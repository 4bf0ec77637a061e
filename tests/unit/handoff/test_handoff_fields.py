"""The daemon-owned handoff fields of an account: status labels, evidence, at-risk reason, the handoff itself."""

from __future__ import annotations

from datetime import date

import pytest

from sync_daemon.config.handoff_models import Override, StatusLabels
from sync_daemon.domain.adoption import AdoptionResult, adoption_status
from sync_daemon.domain.handoff import SHORT_MAX, HandoffDecision, Outcome
from sync_daemon.domain.handoff_fields import DEFAULT_NOTE_FIELD_LENGTH, Handed, handoff_values, status_label
from sync_daemon.domain.handoff_note import TRIM_MARKER
from sync_daemon.domain.handoff_note import trimmed as trim
from tests.unit.handoff.builders import FULL, IMPLEMENTING, SALE, account, all_done, day, decide_on, shipped_policy

POLICY = shipped_policy()
DEFAULT = StatusLabels()
CUSTOM = StatusLabels(onboarding="In Arbeit", on_hold="Angehalten", ready="Bereit", handed_off="Übergeben",
                      at_risk="Gefährdet")  # fmt: skip
ADOPTED: AdoptionResult = adoption_status(POLICY, FULL)
HANDOFF_DAY = date(2026, 3, 16)
NOTE = "\n".join(f"- line {i}: " + "x" * 60 for i in range(40)) + "\n"


def decision(outcome: Outcome, *, override: Override | None = None, reason: str = "why") -> HandoffDecision:
    return HandoffDecision(outcome, (), override, None, 40, reason, f"{outcome} · day 40/90", 1)


@pytest.mark.parametrize(
    ("outcome", "override", "default", "custom"),
    [
        ("onboarding", None, "Not ready", "In Arbeit"),
        ("onboarding", "hold", "On hold", "Angehalten"),
        ("ready", None, "Ready", "Bereit"),
        ("ready", "force", "Ready", "Bereit"),
        ("handed_off", None, "Handed off", "Übergeben"),
        ("at_risk", None, "At risk", "Gefährdet"),
        ("at_risk", "hold", "At risk", "Gefährdet"),
    ],
)
def test_each_outcome_shows_its_label(outcome: Outcome, override: Override | None, default: str, custom: str) -> None:
    """The status shows the policy's label for the outcome; only onboarding held by a person shows on_hold."""
    made = decision(outcome, override=override)
    assert status_label(DEFAULT, made) == default
    assert status_label(CUSTOM, made) == custom
    assert handoff_values(CUSTOM, made, ADOPTED, handed=None, sale=SALE)["handoff_status"] == custom


def test_a_hold_from_the_policy_shows_on_hold_on_a_real_decision() -> None:
    """A ready account held by the CRM override is decided onboarding, and the CRM shows the on-hold label."""
    held = decide_on(POLICY, account(FULL, handoff_override="HOLD"), day(40), plan_eval=all_done(day(40)))
    assert (held.outcome, held.override) == ("onboarding", "hold")
    assert handoff_values(CUSTOM, held, ADOPTED, handed=None, sale=SALE)["handoff_status"] == "Angehalten"


def test_before_the_handoff_the_fields_are_status_evidence_and_reason_only() -> None:
    """Without a handoff the date, the days and the note text are not written at all, not even as empty."""
    made = decide_on(POLICY, account(FULL), day(40), plan_eval=all_done(day(40)))
    assert made.outcome == "ready"
    assert handoff_values(DEFAULT, made, ADOPTED, handed=None, sale=SALE) == {
        "adoption_status": "Full utilization",
        "handoff_status": "Ready",
        "handoff_evidence": made.short,
        "at_risk_reason": None,
    }


def test_the_at_risk_reason_is_set_only_while_at_risk() -> None:
    """An at-risk decision writes its reason; any other outcome writes None, which clears the field."""
    implementing = adoption_status(POLICY, IMPLEMENTING)
    at_risk = decide_on(POLICY, account(IMPLEMENTING), day(91))
    assert at_risk.outcome == "at_risk"
    values = handoff_values(DEFAULT, at_risk, implementing, handed=None, sale=SALE)
    assert values["at_risk_reason"] == at_risk.reason
    assert values["adoption_status"] == "Implementing"
    assert "day 91 of a 90-day window" in str(values["at_risk_reason"])
    others: tuple[Outcome, ...] = ("onboarding", "ready", "handed_off")
    for outcome in others:
        values = handoff_values(DEFAULT, decision(outcome), implementing, handed=None, sale=SALE)
        assert values["at_risk_reason"] is None, outcome


@pytest.mark.parametrize("length", [SHORT_MAX - 1, SHORT_MAX])
def test_a_reason_that_fits_is_kept_whole(length: int) -> None:
    """Reasons up to 255 characters go to the field as they are."""
    reason = "r" * length
    values = handoff_values(DEFAULT, decision("at_risk", reason=reason), ADOPTED, handed=None, sale=SALE)
    assert values["at_risk_reason"] == reason


@pytest.mark.parametrize("length", [SHORT_MAX + 1, 1000])
def test_a_long_reason_is_clipped_to_255_characters_with_an_ellipsis(length: int) -> None:
    """A longer reason keeps its first 254 characters and ends with '…', 255 in all."""
    reason = "".join(chr(ord("a") + i % 26) for i in range(length))
    clipped = handoff_values(DEFAULT, decision("at_risk", reason=reason), ADOPTED, handed=None, sale=SALE)
    text = clipped["at_risk_reason"]
    assert isinstance(text, str)
    assert len(text) == SHORT_MAX
    assert text == reason[: SHORT_MAX - 1] + "…"


def test_once_handed_off_the_date_days_and_note_text_are_written() -> None:
    """The handoff day, the days from the sale to it, and the note's text as sent."""
    handed = Handed(HANDOFF_DAY, "Handoff to Customer Success: Acme\n")
    values = handoff_values(DEFAULT, decision("handed_off"), ADOPTED, handed=handed, sale=SALE)
    assert values["handoff_status"] == "Handed off"
    assert values["handoff_date"] == HANDOFF_DAY
    assert values["days_to_onboard"] == (HANDOFF_DAY - SALE).days == 70
    assert values["handoff_note_text"] == "Handoff to Customer Success: Acme\n"


def test_without_a_sale_date_the_days_to_onboard_are_unknown() -> None:
    """Handed off without a sale date: the date is written, the days are None."""
    values = handoff_values(DEFAULT, decision("handed_off"), ADOPTED, handed=Handed(HANDOFF_DAY, "note"), sale=None)
    assert (values["handoff_date"], values["days_to_onboard"]) == (HANDOFF_DAY, None)


def test_a_handoff_without_its_note_text_leaves_the_note_field_alone() -> None:
    """A handoff recorded before the text was kept writes the date but not the note field."""
    values = handoff_values(DEFAULT, decision("handed_off"), ADOPTED, handed=Handed(HANDOFF_DAY, None), sale=SALE)
    assert values["handoff_date"] == HANDOFF_DAY
    assert "handoff_note_text" not in values


@pytest.mark.parametrize("limit", [200, 1000, 1500])
def test_the_note_text_is_trimmed_to_the_field_length_at_a_line_with_the_marker(limit: int) -> None:
    """A note longer than the field keeps whole leading lines and ends with the trim marker, within the limit."""
    assert len(NOTE) > limit
    values = handoff_values(DEFAULT, decision("handed_off"), ADOPTED, handed=Handed(HANDOFF_DAY, NOTE), sale=SALE,
                            note_limit=limit)  # fmt: skip
    text = values["handoff_note_text"]
    assert isinstance(text, str)
    assert text == trim(NOTE, limit)
    assert len(text) <= limit
    assert text.endswith(TRIM_MARKER)
    kept = text.removesuffix(TRIM_MARKER)
    assert kept
    assert NOTE.startswith(kept)
    assert kept.endswith("\n")


def test_a_note_that_fits_is_written_whole() -> None:
    """A note within the limit (by default a Salesforce long text area's 32,768) is the text as sent."""
    values = handoff_values(DEFAULT, decision("handed_off"), ADOPTED, handed=Handed(HANDOFF_DAY, NOTE), sale=SALE)
    assert len(NOTE) < DEFAULT_NOTE_FIELD_LENGTH
    assert values["handoff_note_text"] == NOTE
    exact = handoff_values(DEFAULT, decision("handed_off"), ADOPTED, handed=Handed(HANDOFF_DAY, NOTE), sale=SALE,
                           note_limit=len(NOTE))  # fmt: skip
    assert exact["handoff_note_text"] == NOTE
