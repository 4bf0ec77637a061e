"""Pydantic models of the handoff policy an admin edits (``config/handoff.yaml``).

The file has two parts. ``adoption`` lists the adoption statuses in order, lowest first, each (but the
first, where every account starts) with a condition on usage KPIs, and names the statuses that count as
adopted. ``handoff`` says when an account is ready for its CSM: gates on the plan, the adoption status,
KPI thresholds and a CSM being assigned; the window from the sale within which it should adopt; an
optional time box; and the CRM field a person sets to ``force`` or ``hold`` the handoff.

The file is versioned twice: ``version`` is the format, ``revision`` the admin's own counter, bumped on
every change, so a stored decision says which policy made it. Conditions are the plan files' structured
form (:mod:`sync_daemon.config.plan_models`), evaluated and explained by
:mod:`sync_daemon.domain.conditions`.
"""

from __future__ import annotations

from datetime import date  # noqa: TC003 - pydantic reads field types at runtime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from sync_daemon.config.plan_models import Condition, Identifier  # noqa: TC001 - pydantic reads field types at runtime

__all__ = [
    "AdoptionGate",
    "AdoptionPolicy",
    "AdoptionStatus",
    "AtRiskPath",
    "CsmGate",
    "Gates",
    "HandoffPolicy",
    "HandoffRules",
    "KpiThreshold",
    "NoteSettings",
    "PlanGate",
    "StatusLabels",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class AdoptionStatus(_Strict):
    """One adoption status; it holds when its condition on the account's KPIs holds."""

    name: Identifier = Field(description="The status id, e.g. partial_utilization.")
    label: str | None = Field(
        default=None,
        min_length=1,
        max_length=80,
        description="What the CRM shows (its picklist value); default: the name in words, e.g. 'Partial utilization'.",
    )
    when: Condition | None = Field(
        default=None, description="The condition on usage KPIs; omit it on the first status (where accounts start)."
    )

    @property
    def shown(self) -> str:
        """The label, or the name in words (``partial_utilization`` -> ``Partial utilization``)."""
        return self.label or self.name.replace("_", " ").capitalize()


class AdoptionPolicy(_Strict):
    """Ordered statuses, lowest first: an account has the highest status whose condition holds."""

    statuses: list[AdoptionStatus] = Field(min_length=2, description="Lowest first; the highest that holds wins.")
    adopted: list[Identifier] = Field(
        min_length=1, description="The statuses that count as adopted: the highest ones of the list."
    )

    def names(self) -> tuple[str, ...]:
        """The status names, lowest first."""
        return tuple(s.name for s in self.statuses)

    def rank(self, name: str) -> int:
        """The position of ``name`` in the order (0 is the lowest); ValueError when unknown."""
        return self.names().index(name)

    def status(self, name: str) -> AdoptionStatus:
        """The status called ``name`` (KeyError when unknown)."""
        for status in self.statuses:
            if status.name == name:
                return status
        raise KeyError(name)


class PlanGate(_Strict):
    """Tasks and phases of the account's plan that must be done."""

    tasks: list[Identifier] = Field(default_factory=list, description="Task ids that must be done.")
    phases: list[Identifier] = Field(default_factory=list, description="Phase ids whose every task must be done.")


class AdoptionGate(_Strict):
    """The adoption status the account must have reached, at least."""

    at_least: Identifier = Field(description="A status of adoption.statuses; it or any higher one passes.")


class KpiThreshold(_Strict):
    """A named usage or revenue level, e.g. ``{name: revenue, when: {field: mrr, op: gte, value: 2000}}``."""

    name: Identifier = Field(description="Shown in the evidence.")
    when: Condition


class CsmGate(_Strict):
    """A CSM is assigned: at least one of these account fields is set."""

    fields: list[Identifier] = Field(
        default_factory=lambda: ["csm_name", "csm_email"], min_length=1, description="Any one set passes."
    )


class Gates(_Strict):
    """Every gate given must pass for an account to be ready; leave one out to skip it."""

    plan: PlanGate | None = None
    adoption: AdoptionGate | None = None
    kpis: list[KpiThreshold] = Field(default_factory=list, description="Every threshold must hold.")
    csm: CsmGate | None = Field(default_factory=CsmGate, description="Default: csm_name or csm_email set; null skips.")


class HandoffRules(_Strict):
    """When an account is ready for its CSM, and when it has taken too long."""

    window_days: int = Field(default=90, ge=1, le=730, description="Days from the sale to adopt in.")
    window_from: Identifier = Field(default="close_date", description="The account date field of the sale.")
    time_box_days: int | None = Field(
        default=None, ge=1, le=730, description="Optional: from this day after the sale the plan gate is waived."
    )
    override_field: Identifier = Field(
        default="handoff_override", description="Account field a person sets to force or hold (any case)."
    )
    sold_from: date | None = Field(
        default=None,
        description="Optional: accounts sold before this day went to CS before the daemon ran; it leaves them alone.",
    )
    gates: Gates = Field(default_factory=Gates)


class StatusLabels(_Strict):
    """What the CRM's handoff status field shows for each outcome (its picklist values)."""

    onboarding: str = Field(default="Not ready", min_length=1, max_length=80)
    on_hold: str = Field(default="On hold", min_length=1, max_length=80, description="Onboarding, held by a person.")
    ready: str = Field(default="Ready", min_length=1, max_length=80)
    handed_off: str = Field(default="Handed off", min_length=1, max_length=80)
    at_risk: str = Field(default="At risk", min_length=1, max_length=80)


class AtRiskPath(_Strict):
    """What happens to an account past the window without adoption: a restart from a retention template."""

    restart_template: Identifier | None = Field(
        default="retention",
        description="The plan template a restart starts (a file of config/plans/); null: no restart path.",
    )
    automatic: bool = Field(
        default=False,
        description="Restart as soon as an account is at risk; false: a person runs `sync-daemon handoff restart`.",
    )


class NoteSettings(_Strict):
    """The handoff note: its title and the personas the buying committee should cover."""

    title: str = Field(
        default="Handoff to Customer Success", min_length=1, max_length=120, description="The account name follows."
    )
    expected_personas: list[Identifier] = Field(
        default_factory=lambda: ["decision_maker", "champion", "end_user"],
        description=(
            "Personas the CSM should know someone in; the note lists those nobody covers as a risk. "
            "Default: assessments.yaml's coverage.expected when that file exists, else these three."
        ),
    )


class HandoffPolicy(_Strict):
    """``config/handoff.yaml``: adoption statuses and handoff readiness."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, title="Handoff policy")

    version: Literal[1] = Field(description="Format version of this file.")
    revision: int = Field(ge=1, description="Bump when you change the policy; every decision records it.")
    adoption: AdoptionPolicy
    handoff: HandoffRules = Field(default_factory=HandoffRules)
    status_labels: StatusLabels = Field(default_factory=StatusLabels)
    at_risk: AtRiskPath = Field(default_factory=AtRiskPath)
    note: NoteSettings = Field(default_factory=NoteSettings)


Override = Literal["force", "hold"]
OVERRIDES: tuple[Override, ...] = ("force", "hold")
