"""Pydantic models of the assessment policy an admin edits (``config/assessments.yaml``).

An assessment is a short, persona-tagged questionnaire the daemon *triggers* through the CRM (it never sends an
email itself): at the handoff (``onboarding``) and every six months after it (``relationship``). The policy says,
per kind, its questions, when it falls due, which personas receive it and through which channel; then the
throttles that keep it respectful (minimum gap, caps, a send window) and the personas every account should hear
from. ``revision`` is the admin's counter: each send records the revision that made it.
"""

from __future__ import annotations

from datetime import time  # noqa: TC003 - pydantic reads field types at runtime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from sync_daemon.config.plan_models import Identifier  # noqa: TC001 - pydantic reads field types at runtime
from sync_daemon.domain.personas import UNKNOWN

__all__ = [
    "UNKNOWN_PERSONA",
    "AssessmentKind",
    "AssessmentPolicy",
    "Cadence",
    "Channel",
    "ChoiceQuestion",
    "Coverage",
    "CrmFieldsChannel",
    "HubSpotListChannel",
    "Question",
    "SalesforceCampaignChannel",
    "ScaleQuestion",
    "SendWindow",
    "Throttle",
    "UnknownPersonaQuestion",
    "WebhookChannel",
]

UNKNOWN_PERSONA = UNKNOWN  # the tag of a contact no persona rule placed
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class ScaleQuestion(_Strict):
    """A question answered on a number scale (the likelihood to recommend: 0 to 10)."""

    id: Identifier
    text: str = Field(min_length=1, max_length=500)
    scale: tuple[int, int] = Field(default=(0, 10), description="[lowest, highest], e.g. [0, 10].")

    @model_validator(mode="after")
    def _ordered(self) -> ScaleQuestion:
        if self.scale[0] >= self.scale[1]:
            raise ValueError(f"scale [{self.scale[0]}, {self.scale[1]}] must go from low to high")
        return self


class ChoiceQuestion(_Strict):
    """A question answered by one of a few choices (the change in ability to recommend: better / same / worse)."""

    id: Identifier
    text: str = Field(min_length=1, max_length=500)
    choices: list[str] = Field(min_length=2, max_length=10, description="The answers offered, in order.")


Question = ScaleQuestion | ChoiceQuestion


class Cadence(_Strict):
    """When a kind falls due: at the handoff, or every N months anchored on the handoff date.

    ``at: handoff`` is due on the handoff day; ``every_months: 6`` is due at handoff + 6n months for cycle n
    (n = 1, 2, ...). A due send stays due for ``valid_days`` (default: until the next cycle falls due, or 30 days
    for the handoff one), so a contact who was opted out or over a cap on the day is still asked later that cycle.
    """

    at: Literal["handoff"] | None = None
    every_months: int | None = Field(default=None, ge=1, le=36)
    valid_days: int | None = Field(default=None, ge=1, le=1100)

    @model_validator(mode="after")
    def _one(self) -> Cadence:
        if (self.at is None) == (self.every_months is None):
            raise ValueError("give exactly one of at: handoff or every_months: N")
        return self


class CrmFieldsChannel(_Strict):
    """Write the contact's request fields (kind, persona, cycle, requested-at): a CRM workflow sends the survey."""

    type: Literal["crm_fields"]


class SalesforceCampaignChannel(_Strict):
    """Add the contact to a Salesforce Campaign (a CampaignMember with a status)."""

    type: Literal["salesforce_campaign"]
    campaign_id: str = Field(min_length=15, max_length=18, pattern=r"^701[A-Za-z0-9]+$")
    status: str = Field(default="Sent", min_length=1, max_length=40)


class HubSpotListChannel(_Strict):
    """Add the contact to a HubSpot list: one per persona (``unknown`` included), or ``default`` for the rest."""

    type: Literal["hubspot_list"]
    lists: dict[str, str] = Field(
        min_length=1, description="Persona (or default) to list id, e.g. {decision_maker: '101', default: '100'}."
    )


class WebhookChannel(_Strict):
    """POST a signed JSON body to a survey tool; the secret comes from the environment, never from this file."""

    type: Literal["webhook"]
    url: str = Field(pattern=r"^https?://", description="The survey tool's endpoint.")
    secret_env: str = Field(
        default="SYNC_WEBHOOK_SECRET", pattern=r"^[A-Z][A-Z0-9_]*$", description="Environment variable of the secret."
    )
    timeout_seconds: float = Field(default=10.0, gt=0, le=120)


Channel = Annotated[
    CrmFieldsChannel | SalesforceCampaignChannel | HubSpotListChannel | WebhookChannel, Field(discriminator="type")
]


class AssessmentKind(_Strict):
    """One kind of assessment: its questions, when it falls due, who receives it and how."""

    label: str | None = Field(default=None, min_length=1, max_length=80, description="CRM value; default: the id.")
    questions: list[Question] = Field(min_length=1, max_length=20)
    cadence: Cadence
    personas: list[Identifier] = Field(min_length=1, description="Personas that receive it (unknown included).")
    channel: Channel


class UnknownPersonaQuestion(_Strict):
    """Asked of a contact whose persona is unknown: which sentence best describes their relationship with us."""

    text: str = Field(default="Which sentence best describes your relationship with us?", min_length=1)
    choices: dict[Identifier, str] = Field(min_length=2, description="Persona to the sentence that describes it.")


class SendWindow(_Strict):
    """Sends go out only on these weekdays, between these hours, in this time zone."""

    days: list[Weekday] = Field(default_factory=lambda: list(WEEKDAYS[:5]), min_length=1)
    start: time = Field(description="e.g. 09:00")
    end: time = Field(description="e.g. 17:00")
    timezone: str = Field(default="UTC", min_length=1)

    @model_validator(mode="after")
    def _ordered(self) -> SendWindow:
        if self.start >= self.end:
            raise ValueError(f"the window must start before it ends ({self.start} is not before {self.end})")
        return self


class Throttle(_Strict):
    """What keeps assessments respectful: a gap between any two, caps per account and per day, a window."""

    min_gap_days: int = Field(default=30, ge=0, le=365, description="Between any two assessments to one contact.")
    per_account_per_day: int = Field(default=10, ge=1, le=10_000)
    per_day: int = Field(default=1000, ge=1, le=1_000_000, description="All accounts together.")
    window: SendWindow | None = None


class Coverage(_Strict):
    """The personas every account should hear from; the missing ones are written to the account."""

    expected: list[Identifier] = Field(default_factory=lambda: ["decision_maker", "champion", "end_user"])


class AssessmentPolicy(_Strict):
    """``config/assessments.yaml``: kinds, the unknown-persona question, throttles and coverage."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, title="Assessment policy")

    version: Literal[1]
    revision: int = Field(ge=1)
    kinds: dict[Identifier, AssessmentKind] = Field(min_length=1)
    unknown_persona: UnknownPersonaQuestion
    throttle: Throttle = Field(default_factory=Throttle)
    coverage: Coverage = Field(default_factory=Coverage)

    def label(self, kind: str) -> str:
        """The CRM value of a kind."""
        return self.kinds[kind].label or kind
