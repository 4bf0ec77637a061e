"""The daemon-owned handoff fields of an account, from its decision: what list views and reports see.

Pure. The handoff status shows the policy's label for the outcome (``hold`` shows as its own label, so a
person sees their override took); the evidence is the decision's one-line form; the at-risk reason is set
only while the account is at risk (and cleared after a restart or a ``force``). The handoff date, the days
from sale to handoff and the note's text are written only once the account was handed off, and the note's text
is the one sent, trimmed at a line to the field's length, so a list view shows the same words as the note.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sync_daemon.domain.handoff import SHORT_MAX
from sync_daemon.domain.handoff_note import trimmed

if TYPE_CHECKING:
    from datetime import date

    from sync_daemon.config.handoff_models import StatusLabels
    from sync_daemon.domain.adoption import AdoptionResult
    from sync_daemon.domain.handoff import HandoffDecision

__all__ = ["DEFAULT_NOTE_FIELD_LENGTH", "Handed", "handoff_values", "status_label"]

DEFAULT_NOTE_FIELD_LENGTH = 32_768  # a Salesforce long text area's default length; HubSpot allows 65,536


@dataclass(frozen=True, slots=True)
class Handed:
    """The handoff, once it happened: its day and the note's text as sent."""

    on: date
    note_text: str | None


def status_label(labels: StatusLabels, decision: HandoffDecision) -> str:
    """The CRM's handoff status for ``decision`` (onboarding held by a person has its own label)."""
    if decision.outcome == "onboarding" and decision.override == "hold":
        return labels.on_hold
    return str(getattr(labels, decision.outcome))


def handoff_values(
    labels: StatusLabels,
    decision: HandoffDecision,
    adoption: AdoptionResult,
    *,
    handed: Handed | None,
    sale: date | None,
    note_limit: int = DEFAULT_NOTE_FIELD_LENGTH,
) -> dict[str, object]:
    """Every handoff field by canonical push name (the caller keeps those the mapping declares)."""
    values: dict[str, object] = {
        "adoption_status": adoption.label,
        "handoff_status": status_label(labels, decision),
        "handoff_evidence": decision.short,
        "at_risk_reason": _clip(decision.reason) if decision.outcome == "at_risk" else None,
    }
    if handed is not None:
        values["handoff_date"] = handed.on
        values["days_to_onboard"] = (handed.on - sale).days if sale is not None else None
        if handed.note_text is not None:
            values["handoff_note_text"] = trimmed(handed.note_text, note_limit)
    return values


def _clip(text: str) -> str:
    """A reason fits a 255-character text field (Salesforce's short text area)."""
    return text if len(text) <= SHORT_MAX else text[: SHORT_MAX - 1] + "…"
