"""HubSpot's data model as the sandbox stores it: property definitions, value rules, seeded records.

Written from HubSpot's CRM v3 documentation, not from the connector: every value is stored as the
string HubSpot would answer (numbers ``"123"``, booleans ``"true"``, dates ``"2026-01-05"``,
datetimes ``"2026-01-05T09:00:00.000Z"``), and writes are checked the way HubSpot checks them, so a
connector that sends text to a number property or an unknown option fails here as it would there.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sync_daemon.sandbox import seed

COMPANY_ID_BASE = 9_000_000_000
CONTACT_ID_BASE = 51_000_000_000
NOTE_ID_BASE = 70_000_000_000
OWNER_ID_BASE = 10_000_000

LAST_MODIFIED = {
    "companies": "hs_lastmodifieddate",
    "contacts": "lastmodifieddate",
    "notes": "hs_lastmodifieddate",
}
CREATED = {"companies": "createdate", "contacts": "createdate", "notes": "hs_createdate"}
DEFAULT_PROPERTIES = {
    "companies": ("name", "domain"),
    "contacts": ("firstname", "lastname", "email"),
    "notes": ("hs_timestamp", "hs_note_body"),
}
SINGULAR = {"companies": "company", "contacts": "contact", "notes": "note"}

LIFECYCLE = (
    "subscriber",
    "lead",
    "marketingqualifiedlead",
    "salesqualifiedlead",
    "opportunity",
    "customer",
    "evangelist",
    "other",
)
BUYING_ROLES = (
    "BLOCKER",
    "BUDGET_HOLDER",
    "CHAMPION",
    "DECISION_MAKER",
    "END_USER",
    "EXECUTIVE_SPONSOR",
    "INFLUENCER",
    "LEGAL_AND_COMPLIANCE",
    "OTHER",
)
NEUTRAL_ROLE = {
    "decision_maker": "DECISION_MAKER",
    "champion": "CHAMPION",
    "end_user": "END_USER",
    "business_influencer": "INFLUENCER",
}
FIELD_TYPES = {
    "string": "text",
    "number": "number",
    "date": "date",
    "datetime": "date",
    "enumeration": "select",
    "bool": "booleancheckbox",
}


class PropertyValueError(ValueError):
    """One invalid value, in HubSpot's ``validationResults`` vocabulary."""

    def __init__(self, name: str, code: str, message: str) -> None:
        """Keep the detail entry HubSpot lists in its 400 body."""
        super().__init__(message)
        self.detail = {
            "isValid": False,
            "message": message,
            "error": code,
            "name": name,
            "localizedErrorMessage": message,
        }


@dataclass
class PropertyDef:
    """A property definition; ``to_json`` is the shape ``GET /crm/v3/properties/{type}`` answers."""

    name: str
    label: str
    type: str
    field_type: str = ""
    group: str = "companyinformation"
    options: tuple[str, ...] = ()
    unique: bool = False
    read_only: bool = False
    calculated: bool = False
    custom: bool = False
    description: str = ""

    def to_json(self, order: int) -> dict[str, Any]:
        """HubSpot's Property object."""
        opts = [
            {
                "label": o.replace("_", " ").title() if o.islower() else o,
                "value": o,
                "hidden": False,
                "displayOrder": i,
                "description": "",
            }
            for i, o in enumerate(self.options)
        ]
        meta = {
            "archivable": self.custom,
            "readOnlyDefinition": not self.custom,
            "readOnlyValue": self.read_only,
        }
        when = "2019-10-30T03:30:17.883Z"
        return {
            "name": self.name,
            "label": self.label,
            "type": self.type,
            "fieldType": self.field_type or FIELD_TYPES[self.type],
            "description": self.description,
            "groupName": self.group,
            "options": opts,
            "displayOrder": order,
            "calculated": self.calculated,
            "externalOptions": False,
            "hasUniqueValue": self.unique,
            "hidden": False,
            "hubspotDefined": not self.custom,
            "modificationMetadata": meta,
            "formField": not self.read_only,
            "createdAt": when,
            "updatedAt": when,
            "archived": False,
        }

    def coerce(self, value: Any, *, system: bool = False) -> str | None:
        """The stored string for a written value; ``PropertyValueError`` as HubSpot rejects.

        ``system`` writes (seed data, test hooks: HubSpot itself) may set read-only values.
        """
        if (self.read_only or self.calculated) and not system:
            raise PropertyValueError(
                self.name,
                "READ_ONLY_VALUE",
                f'"{self.name}" is a read only property; its value cannot be set.',
            )
        if value is None or value == "":
            return None
        coerce = _COERCE.get(self.type, _coerce_string)
        return coerce(self, value)


def _coerce_string(prop: PropertyDef, value: Any) -> str:
    if isinstance(value, (dict, list)):
        raise PropertyValueError(prop.name, "INVALID_STRING", f"{value!r} is not a valid string")
    return str(value).lower() if isinstance(value, bool) else str(value)


def _coerce_number(prop: PropertyDef, value: Any) -> str:
    try:
        number = float(value) if not isinstance(value, bool) else math.nan
    except (TypeError, ValueError):
        number = math.nan
    if not math.isfinite(number):
        raise PropertyValueError(prop.name, "INVALID_FLOAT", f"{value} was not a valid number.")
    return format_number(number)


def _coerce_bool(prop: PropertyDef, value: Any) -> str:
    text = str(value).lower()
    if text not in ("true", "false"):
        raise PropertyValueError(prop.name, "INVALID_BOOLEAN", f"{value} was not a valid boolean (true/false).")
    return text


def _coerce_date(prop: PropertyDef, value: Any) -> str:
    ms = to_millis(value)
    if ms is None or ms % 86_400_000:
        raise PropertyValueError(prop.name, "INVALID_DATE", f"{value} is not a valid date at midnight UTC!")
    return datetime.fromtimestamp(ms / 1000, UTC).date().isoformat()


def _coerce_datetime(prop: PropertyDef, value: Any) -> str:
    ms = to_millis(value)
    if ms is None:
        raise PropertyValueError(prop.name, "INVALID_DATETIME", f"{value} is not a valid datetime.")
    return format_datetime(datetime.fromtimestamp(ms / 1000, UTC))


def _coerce_enum(prop: PropertyDef, value: Any) -> str:
    chosen = [v for v in str(value).split(";") if v != ""]
    for v in chosen:
        if v not in prop.options:
            raise PropertyValueError(
                prop.name,
                "INVALID_OPTION",
                f"{v} was not one of the allowed options: {list(prop.options)}",
            )
    return ";".join(chosen)


_COERCE = {
    "number": _coerce_number,
    "bool": _coerce_bool,
    "date": _coerce_date,
    "datetime": _coerce_datetime,
    "enumeration": _coerce_enum,
    "string": _coerce_string,
}


def format_number(number: float) -> str:
    """HubSpot's number rendering: ``"12"`` for whole numbers, ``"12.5"`` otherwise."""
    return str(int(number)) if number.is_integer() else repr(number)


def format_datetime(moment: datetime) -> str:
    """ISO 8601 in UTC with milliseconds and ``Z``, as HubSpot answers datetimes."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def to_millis(value: Any) -> int | None:
    """Epoch ms of a filter or written value: ms (int or string), ISO datetime or ISO date."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return int(value)
    text = str(value).strip()
    if text.lstrip("-").isdigit():
        return int(text)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp() * 1000)


# One line per property: "name type [field_type] [flags]"; flags: unique, readonly. Options below.
_CATALOGUE = {
    "companies": """
        name string; domain string text unique; hubspot_owner_id enumeration;
        lifecyclestage enumeration radio; closedate datetime date; numberofemployees number;
        industry enumeration; website string; csm_name string; csm_email string;
        csm_phone string phonenumber; onboarding_start_date date; contract_value number;
        plan_tier enumeration; region enumeration; onboarding_steps enumeration checkbox;
        handoff_override enumeration; customer_goals string textarea; active_users number;
        licensed_seats number; mrr number; integration_connected bool;
        last_login_at datetime date; daily_active_pct number; onboarding_plan string;
        onboarding_phase string; onboarding_next_task string; onboarding_health string;
        adoption_status string; handoff_status string; onboarding_progress number;
        onboarding_overdue_tasks number; onboarding_slip_days number;
        onboarding_waiting_on_customer number; onboarding_next_task_due date;
        onboarding_projected_go_live date; handoff_date date;
        onboarding_plan_summary string textarea; days_to_onboard number;
        handoff_evidence string textarea; at_risk_reason string textarea; handoff_note_text string textarea;
        next_assessment_date date; persona_gaps string textarea; sentiment_by_persona string textarea;
        detractor_alert bool booleancheckbox""",
    "contacts": """
        firstname string; lastname string; email string text unique;
        phone string phonenumber; jobtitle string; hs_buying_role enumeration checkbox;
        hs_email_optout bool booleancheckbox readonly; lifecyclestage enumeration radio;
        associatedcompanyid number number readonly; persona string; assessment_score number;
        assessment_recommend_change string; assessment_answered_at datetime date;
        assessment_persona_answered string; assessment_kind string; assessment_persona string;
        assessment_cycle number; assessment_requested_at datetime date""",
    "notes": "hs_timestamp datetime date; hs_note_body string html; hubspot_owner_id enumeration",
}
_OWNERS = tuple(str(OWNER_ID_BASE + n) for n in range(1, 26))
_OPTIONS: dict[str, tuple[str, ...]] = {
    "hubspot_owner_id": _OWNERS,
    "lifecyclestage": LIFECYCLE,
    "industry": seed.INDUSTRIES,
    "plan_tier": ("SMB", "Mid-Market", "Enterprise"),
    "region": seed.REGIONS,
    "onboarding_steps": seed.STEPS,
    "handoff_override": ("force", "hold"),
    "hs_buying_role": BUYING_ROLES,
}
_GROUPS = {
    "companies": "companyinformation",
    "contacts": "contactinformation",
    "notes": "engagement",
}


def _parse_line(entry: str, group: str) -> PropertyDef:
    name, type_, *rest = entry.split()
    flags = {f for f in rest if f in ("unique", "readonly")}
    field_type = next((f for f in rest if f not in flags), "")
    return PropertyDef(
        name,
        name.replace("_", " ").title(),
        type_,
        field_type,
        group,
        _OPTIONS.get(name, ()),
        unique="unique" in flags,
        read_only="readonly" in flags,
    )


def _common(object_type: str) -> list[PropertyDef]:
    """Identity and audit properties every object has; HubSpot sets their values, never a client."""
    group = _GROUPS[object_type]
    return [
        PropertyDef("hs_object_id", "Record ID", "number", "", group, read_only=True),
        PropertyDef(CREATED[object_type], "Create Date", "datetime", "date", group, read_only=True),
        PropertyDef(LAST_MODIFIED[object_type], "Last Modified Date", "datetime", "", group, read_only=True),
        PropertyDef("hs_merged_object_ids", "Merged IDs", "enumeration", "checkbox", group, read_only=True),
    ]


def default_properties() -> dict[str, dict[str, PropertyDef]]:
    """Fresh property registries per object type (clients may add custom ones)."""
    registry: dict[str, dict[str, PropertyDef]] = {}
    for object_type, text in _CATALOGUE.items():
        group = _GROUPS[object_type]
        entries = [e for e in " ".join(text.split()).split("; ") if e]
        props = [*_common(object_type), *(_parse_line(e, group) for e in entries)]
        registry[object_type] = {p.name: p for p in props}
    return registry


@dataclass
class HubObject:
    """One stored record; ``written_ms`` is when the write happened (for search lag)."""

    id: int
    props: dict[str, str | None]
    created_at: datetime
    updated_at: datetime
    written_ms: int
    archived: bool = False
    archived_at: datetime | None = None
    merged_into: int | None = None
    typed: dict[str, Any] = field(default_factory=dict)
