"""The sandbox org's schema: the objects it serves and their fields, as describe shows them.

Field names are the contract with ``mappings/salesforce.yaml``; types, lengths, picklists and the
updateable/createable/nillable flags follow the REST API's describe result, because the sandbox
validates writes against them exactly as an org would (a restricted picklist refuses a stray value,
system fields refuse writes). Daemon-owned push fields use unrestricted picklists: an admin's org
would list the values, but the daemon's vocabulary is its own business.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

from sync_daemon.sandbox.seed import INDUSTRIES, REGIONS, STEPS

SYSTEM_FIELDS = ("Id", "IsDeleted", "CreatedDate", "LastModifiedDate", "SystemModstamp")
NUMBER_TYPES = frozenset(("double", "int", "currency", "percent"))
TEXT_TYPES = frozenset(("string", "textarea", "email", "phone", "url", "picklist", "base64"))
OWNER = "$integration-user"  # default of OwnerId: the store puts the integration user's id there


@dataclass(frozen=True)
class FieldDef:
    """One field as describe reports it, plus what the sandbox needs to validate writes."""

    name: str
    type: str
    label: str = ""
    length: int = 0
    precision: int = 0
    scale: int = 0
    updateable: bool = True
    createable: bool = True
    nillable: bool = True
    picklist: tuple[str, ...] = ()
    restricted: bool = False
    reference_to: tuple[str, ...] = ()
    default: Any = None

    @property
    def custom(self) -> bool:
        """Custom fields end in ``__c``."""
        return self.name.endswith("__c")

    @property
    def required(self) -> bool:
        """Must be given on insert: not nillable, writable, and without a default."""
        return not self.nillable and self.createable and self.type != "boolean" and self.default is None


@dataclass(frozen=True)
class ObjectDef:
    """One sObject: its label, key prefix (the first three characters of its ids) and fields."""

    name: str
    label: str
    label_plural: str
    key_prefix: str
    fields: tuple[FieldDef, ...]
    _by_lower: dict[str, FieldDef] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        """Index fields by lower-cased name: Salesforce field names are case-insensitive."""
        self._by_lower.update({f.name.lower(): f for f in self.fields})

    @functools.cached_property
    def blank_row(self) -> dict[str, Any]:
        """Every field at its default: the start of a new record."""
        return {f.name: f.default for f in self.fields}

    def field(self, name: str) -> FieldDef | None:
        """The field called ``name`` in any case, or ``None``."""
        return self._by_lower.get(name.lower())


def _f(name: str, type_: str, label: str = "", **kw: Any) -> FieldDef:
    """A field; the label defaults to the API name without ``__c`` and underscores."""
    shown = label or name.removesuffix("__c").replace("_", " ")
    defaults: dict[str, Any] = _TYPE_DEFAULTS.get(type_, {})
    return FieldDef(name, type_, shown, **{**defaults, **kw})


_TYPE_DEFAULTS: dict[str, dict[str, Any]] = {
    "string": {"length": 255},
    "textarea": {"length": 32768},
    "email": {"length": 80},
    "phone": {"length": 40},
    "url": {"length": 255},
    "picklist": {"length": 255},
    "multipicklist": {"length": 4099},
    "id": {"length": 18},
    "reference": {"length": 18},
    "double": {"precision": 18},
    "currency": {"precision": 18, "scale": 2},
    "percent": {"precision": 5, "scale": 2},
    "int": {"precision": 9},
    "boolean": {"nillable": False, "default": False},
}


def _ro(name: str, type_: str, label: str = "", **kw: Any) -> FieldDef:
    """A read-only field (system, formula-like or computed)."""
    return _f(name, type_, label, updateable=False, createable=False, **kw)


def _system(*, dated: bool = True) -> tuple[FieldDef, ...]:
    """The system fields every object carries (CreatedDate and LastModifiedDate on most)."""
    head = (
        _ro("Id", "id", "Record ID", nillable=False),
        _ro("IsDeleted", "boolean", "Deleted"),
    )
    dates = (
        (
            _ro("CreatedDate", "datetime", "Created Date", nillable=False),
            _ro("LastModifiedDate", "datetime", "Last Modified Date", nillable=False),
        )
        if dated
        else ()
    )
    return (*head, *dates, _ro("SystemModstamp", "datetime", "System Modstamp", nillable=False))


def _pick(name: str, values: tuple[str, ...], *, restricted: bool = False, **kw: Any) -> FieldDef:
    return _f(name, "picklist", picklist=values, restricted=restricted, **kw)


def _owner() -> FieldDef:
    return _f("OwnerId", "reference", "Owner ID", nillable=False, reference_to=("User",), default=OWNER)


ACCOUNT_TYPES = (
    "Prospect", "Customer", "Customer - Direct", "Customer - Channel", "Channel Partner / Reseller",
    "Installation Partner", "Technology Partner", "Other",
)  # fmt: skip
BUYING_ROLES = (
    "Decision Maker", "Economic Buyer", "Executive Sponsor", "Champion", "Coach", "End User",
    "Influencer", "Technical Evaluator",
)  # fmt: skip

ADOPTION_STATUSES = ("Inactive", "Implementing", "Partial utilization", "Full utilization")

ACCOUNT = ObjectDef("Account", "Account", "Accounts", "001", (
    *_system(),
    _f("Name", "string", "Account Name", nillable=False),
    _pick("Type", ACCOUNT_TYPES, label="Account Type"),
    _owner(),
    _pick("Industry", (*INDUSTRIES, "Consulting", "Government", "Other")),
    _f("Website", "url"),
    _f("NumberOfEmployees", "int", "Employees", precision=8),
    _f("CSM_Name__c", "string", "CSM Name"),
    _f("CSM_Email__c", "email", "CSM Email"),
    _f("CSM_Phone__c", "phone", "CSM Phone"),
    _f("Close_Date__c", "date"),
    _f("Onboarding_Start__c", "date"),
    _f("Contract_Value__c", "currency"),
    _pick("Plan_Tier__c", ("SMB", "Mid-Market", "Enterprise"), restricted=True),
    _pick("Region__c", REGIONS, restricted=True),
    _f("Onboarding_Steps__c", "multipicklist", picklist=STEPS, restricted=True),
    _pick("Handoff_Override__c", ("force", "hold")),
    _f("Customer_Goals__c", "textarea"),
    _f("Active_Users__c", "double", scale=0),
    _f("Licensed_Seats__c", "double", scale=0),
    _f("MRR__c", "currency", "MRR"),
    _f("Integration_Connected__c", "boolean"),
    _f("Last_Login__c", "datetime"),
    _f("Daily_Active_Pct__c", "percent", "Daily Active %", precision=5, scale=1),
    # Daemon-owned push fields.
    _f("Onboarding_Plan__c", "string"),
    _f("Onboarding_Progress__c", "percent"),
    _f("Onboarding_Phase__c", "string"),
    _f("Overdue_Tasks__c", "double", scale=0),
    _f("Next_Task__c", "string"),
    _f("Next_Task_Due__c", "date"),
    _f("Projected_Go_Live__c", "date"),
    _f("Slip_Days__c", "double", scale=0),
    _pick("Onboarding_Health__c", ("On Track", "At Risk", "Off Track")),
    _f("Waiting_On_Customer__c", "double", scale=0),
    _f("Plan_Summary__c", "textarea"),
    _pick("Adoption_Status__c", ADOPTION_STATUSES),
    _pick("Handoff_Status__c", ("Not ready", "Ready", "Handed off", "On hold", "At risk")),
    _f("Handoff_Date__c", "date"),
    _f("Days_To_Onboard__c", "double", scale=0),
    _f("Handoff_Evidence__c", "textarea"),
    _f("At_Risk_Reason__c", "textarea"),
    _f("Handoff_Note_Text__c", "textarea", "Handoff Note", length=32768),
    _f("Next_Assessment_Date__c", "date"),
    _f("Persona_Gaps__c", "textarea"),
    _f("Sentiment_By_Persona__c", "textarea"),
    _f("Detractor_Alert__c", "boolean"),
))  # fmt: skip

PERSONA_VALUES = ("decision_maker", "champion", "end_user", "business_influencer", "unknown")

CONTACT = ObjectDef("Contact", "Contact", "Contacts", "003", (
    *_system(),
    _f("AccountId", "reference", "Account ID", reference_to=("Account",)),
    _f("FirstName", "string", "First Name", length=40),
    _f("LastName", "string", "Last Name", length=80, nillable=False),
    _ro("Name", "string", "Full Name", length=121, nillable=False),
    _f("Email", "email"),
    _f("Phone", "phone", "Business Phone"),
    _f("Title", "string", length=128),
    _pick("Buying_Role__c", BUYING_ROLES, restricted=True),
    _f("HasOptedOutOfEmail", "boolean", "Email Opt Out"),
    _owner(),
    _pick("Persona__c", PERSONA_VALUES),
    _f("Assessment_Score__c", "double", precision=2, scale=0),
    _pick("Assessment_Recommend_Change__c", ("Better", "The same", "Worse")),
    _f("Assessment_Answered_At__c", "datetime"),
    _pick("Assessment_Persona_Answered__c", PERSONA_VALUES),
    _pick("Assessment_Kind__c", ("onboarding", "relationship")),
    _pick("Assessment_Persona__c", PERSONA_VALUES),
    _f("Assessment_Cycle__c", "double", scale=0),
    _f("Assessment_Requested_At__c", "datetime"),
))  # fmt: skip

CONTENT_NOTE = ObjectDef("ContentNote", "Note", "Notes", "069", (
    *_system(),
    _f("Title", "string", nillable=False),
    _f("Content", "base64", length=0),
    _ro("TextPreview", "string"),
    _ro("FileType", "string", length=20),
    _ro("FileExtension", "string", length=40),
    _ro("ContentSize", "int"),
    _owner(),
))  # fmt: skip

CONTENT_DOCUMENT_LINK = ObjectDef("ContentDocumentLink", "Content Document Link",
    "Content Document Links", "06A", (
    *_system(dated=False),
    _f("ContentDocumentId", "reference", "ContentDocument ID", updateable=False, nillable=False,
       reference_to=("ContentDocument",)),
    _f("LinkedEntityId", "reference", "Linked Entity ID", updateable=False, nillable=False,
       reference_to=("Account", "Contact", "Campaign", "User")),
    _pick("ShareType", ("V", "C", "I"), restricted=True, nillable=False, default="V"),
    _pick("Visibility", ("AllUsers", "InternalUsers", "SharedUsers"), restricted=True,
          default="AllUsers"),
))  # fmt: skip

CAMPAIGN = ObjectDef("Campaign", "Campaign", "Campaigns", "701", (
    *_system(),
    _f("Name", "string", "Campaign Name", length=80, nillable=False),
    _f("IsActive", "boolean", "Active"),
    _pick("Status", ("Planned", "In Progress", "Completed", "Aborted")),
    _pick("Type", ("Email", "Webinar", "Other")),
    _f("StartDate", "date"),
    _f("EndDate", "date"),
    _owner(),
))  # fmt: skip

CAMPAIGN_MEMBER = ObjectDef("CampaignMember", "Campaign Member", "Campaign Members", "00v", (
    *_system(),
    _f("CampaignId", "reference", "Campaign ID", updateable=False, nillable=False,
       reference_to=("Campaign",)),
    _f("ContactId", "reference", "Contact ID", updateable=False, reference_to=("Contact",)),
    _pick("Status", ("Sent", "Responded"), default="Sent"),
    _ro("HasResponded", "boolean", "Responded"),
))  # fmt: skip

OBJECTS: dict[str, ObjectDef] = {
    o.name.lower(): o for o in (ACCOUNT, CONTACT, CONTENT_NOTE, CONTENT_DOCUMENT_LINK, CAMPAIGN, CAMPAIGN_MEMBER)
}


def find_object(name: str) -> ObjectDef | None:
    """The object called ``name`` in any case, or ``None``."""
    return OBJECTS.get(name.lower())
