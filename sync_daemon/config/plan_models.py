"""Pydantic models of the onboarding-plan files an admin edits (``config/plans/``).

``config/plans/plans.yaml`` says which template each account gets (segment rules on account fields, the first
match wins, a default is required), the working calendar (weekend days, holidays) and the health thresholds.
Each other file in the folder is one template: phases of tasks, each task with its side (who must act), its kind
(customer-facing or internal), an owner role, a duration, dependencies, a weight and how it is completed.

Conditions (segment rules and task completion) are a structured YAML form, never code: a clause
``{field, op, value}`` or ``{all: [...]}``, ``{any: [...]}``, ``{not: ...}``. Field names are canonical account
fields or the mapping's KPI names. Evaluating one explains itself (:mod:`sync_daemon.domain.conditions`).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Identifier = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$")]
# "5bd" business days, "3d" calendar days, "2w" calendar weeks.
Duration = Annotated[str, StringConstraints(pattern=r"^\d{1,4}(bd|d|w)$")]
ConditionOp = Literal["eq", "ne", "gt", "gte", "lt", "lte", "in", "not_in", "is_set", "is_not_set", "contains"]
Scalar = str | int | float | bool | dt.date
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
Side = Literal["vendor", "customer"]
TaskKind = Literal["customer_facing", "internal"]
InternalCategory = Literal[
    "billing", "provisioning", "licensing", "legal", "documents", "security", "procurement", "other"
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Clause(_Strict):
    """One test on an account field: ``{field: contract_value, op: gte, value: 25000}``."""

    field: Identifier = Field(description="Canonical account field or KPI name (see the mapping file).")
    op: ConditionOp = Field(description="eq, ne, gt, gte, lt, lte, in, not_in, is_set, is_not_set, contains.")
    value: Scalar | list[Scalar] | None = Field(
        default=None, description="A value; a list for in/not_in; omitted for is_set/is_not_set."
    )


class AllOf(_Strict):
    """Every condition holds."""

    all: list[Condition] = Field(min_length=1)


class AnyOf(_Strict):
    """At least one condition holds."""

    any: list[Condition] = Field(min_length=1)


class NotOf(_Strict):
    """The condition does not hold."""

    not_: Condition = Field(alias="not")


Condition = Clause | AllOf | AnyOf | NotOf


class Completion(_Strict):
    """How a task is seen done, besides by hand (``sync-daemon task done`` works for every task).

    Exactly one of: ``step`` (a value people tick in the CRM's onboarding-steps multi-select), ``field`` (a
    canonical account field or KPI that is true or set), ``when`` (a condition on account fields).
    """

    step: str | None = Field(default=None, description="A value of the onboarding-steps field ticked in the CRM.")
    field: Identifier | None = Field(default=None, description="A checkbox/field that marks the task done when set.")
    when: Condition | None = Field(default=None, description="Done when this condition on account fields holds.")


class Task(_Strict):
    """One thing to get done, by one side."""

    id: Identifier
    title: str = Field(min_length=1, max_length=120)
    side: Side = Field(description="Who must act: vendor or customer.")
    kind: TaskKind = Field(description="customer_facing (enablement) or internal (billing, provisioning, ...).")
    category: InternalCategory | None = Field(default=None, description="For internal tasks: what kind of work.")
    owner: Identifier = Field(description="The owner role, e.g. onboarding_manager, customer_admin, billing.")
    duration: Duration = Field(description="How long the task takes once its dependencies are done: 5bd, 3d, 2w.")
    due: Duration | None = Field(
        default=None, description="Optional deadline from the plan start (e.g. 10bd); the earlier of the two wins."
    )
    depends_on: list[Identifier] = Field(default_factory=list, description="Task ids that must be done first.")
    weight: float = Field(default=1.0, gt=0, description="Share of progress this task carries (default 1).")
    done_when: Completion | None = Field(default=None, description="Omit for tasks done by hand only.")


class Phase(_Strict):
    """A named group of tasks, in order."""

    id: Identifier
    name: str = Field(min_length=1)
    tasks: list[Task] = Field(min_length=1)


class PlanTemplate(_Strict):
    """One onboarding plan template (one file in ``config/plans/``)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, title="Onboarding plan template")

    version: Literal[1] = Field(description="Format version of this file.")
    id: Identifier = Field(description="The template's id, used by the segment rules.")
    name: str = Field(min_length=1, description="Shown in the CRM's plan field.")
    revision: int = Field(ge=1, description="Bump when you change the template; running plans record it.")
    target_days: int = Field(ge=1, le=730, description="Time-to-value target: calendar days from the plan start.")
    phases: list[Phase] = Field(min_length=1)


class SegmentRule(_Strict):
    """Accounts matching ``when`` get ``template``."""

    template: Identifier
    when: Condition


_WEEKEND: list[Weekday] = ["sat", "sun"]


class Calendar(_Strict):
    """Working days for business-day durations."""

    weekend: list[Weekday] = Field(default_factory=_WEEKEND.copy)
    holidays: list[dt.date] = Field(default_factory=list)


class HealthThresholds(_Strict):
    """Slip (days of projected go-live past the target) at which a plan turns at risk, then off track."""

    at_risk_slip_days: int = Field(default=7, ge=0)
    off_track_slip_days: int = Field(default=21, ge=1)


class PlansConfig(_Strict):
    """``config/plans/plans.yaml``: segment rules, calendar, health thresholds, where a plan starts."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, title="Onboarding plans")

    version: Literal[1]
    start_field: Identifier = Field(default="onboarding_start", description="Account field holding the plan start.")
    fallback_start_field: Identifier | None = Field(default="close_date", description="Used when the start is empty.")
    segments: list[SegmentRule] = Field(default_factory=list, description="Tried in order; the first match wins.")
    default: Identifier = Field(description="The template for accounts no rule matches.")
    calendar: Calendar = Field(default_factory=Calendar)
    health: HealthThresholds = Field(default_factory=HealthThresholds)


AllOf.model_rebuild()
AnyOf.model_rebuild()
NotOf.model_rebuild()
Completion.model_rebuild()
Task.model_rebuild()
SegmentRule.model_rebuild()
