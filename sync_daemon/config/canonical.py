"""The canonical vocabulary: the names the daemon uses for what it pulls and pushes.

The mapping files translate these to CRM field names. A name that is not here (outside ``kpis``,
whose names are the admin's) is a mistake, and the loader suggests the closest one. Each name
carries the normalised type a CRM field must fit (``validate --remote`` checks it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from connectors.base import FieldType

ACCOUNT_PULL: dict[str, tuple[FieldType, ...]] = {
    "name": ("string",),
    "owner_id": ("reference", "string", "id", "picklist"),
    "csm_name": ("string",),
    "csm_email": ("email", "string"),
    "csm_phone": ("phone", "string"),
    "close_date": ("date", "datetime"),
    "onboarding_start": ("date", "datetime"),
    "contract_value": ("currency", "number", "integer"),
    "employees": ("integer", "number"),
    "tier": ("picklist", "string"),
    "region": ("picklist", "string"),
    "industry": ("picklist", "string"),
    "website": ("url", "string"),
    "onboarding_steps": ("multipicklist", "picklist", "text", "string"),
    "handoff_override": ("picklist", "string"),
    "goals": ("text", "string"),
}

CONTACT_PULL: dict[str, tuple[FieldType, ...]] = {
    "first_name": ("string",),
    "last_name": ("string",),
    "email": ("email", "string"),
    "phone": ("phone", "string"),
    "title": ("string", "text"),
    "role": ("picklist", "multipicklist", "string"),
    "email_opt_out": ("boolean",),
    "assessment_score": ("number", "integer", "string"),
    "assessment_recommend_change": ("picklist", "string"),
    "assessment_answered_at": ("datetime", "date"),
    "assessment_persona_answered": ("picklist", "string", "text"),
}

# Daemon-owned fields: declared now, written by the push side. The daemon writes nothing else.
ACCOUNT_PUSH: dict[str, tuple[FieldType, ...]] = {
    "onboarding_plan": ("string", "picklist"),
    "onboarding_progress": ("percent", "number", "integer"),
    "onboarding_phase": ("string", "picklist"),
    "overdue_tasks": ("integer", "number"),
    "next_task": ("string", "text"),
    "next_task_due": ("date", "datetime"),
    "projected_go_live": ("date", "datetime"),
    "slip_days": ("integer", "number"),
    "health": ("picklist", "string"),
    "waiting_on_customer": ("integer", "number"),
    "plan_summary": ("text", "string"),
    "adoption_status": ("picklist", "string"),
    "handoff_status": ("picklist", "string"),
    "handoff_date": ("date", "datetime"),
    "days_to_onboard": ("integer", "number"),
    "handoff_evidence": ("text", "string"),
    "handoff_note_text": ("text",),
    "at_risk_reason": ("text", "string"),
    "next_assessment_date": ("date", "datetime"),
    "persona_gaps": ("text", "string"),
    "sentiment_by_persona": ("text",),
    "detractor_alert": ("boolean", "string", "text"),
}

CONTACT_PUSH: dict[str, tuple[FieldType, ...]] = {
    "persona": ("picklist", "string"),
    "assessment_kind": ("picklist", "string"),
    "assessment_persona": ("picklist", "string"),
    "assessment_cycle": ("integer", "number", "string"),
    "assessment_requested_at": ("datetime", "date"),
}

DEFAULT_PERSONAS: tuple[str, ...] = ("decision_maker", "champion", "end_user", "business_influencer")
