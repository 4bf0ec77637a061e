"""Pydantic models of the admin-edited mapping files (``mappings/<crm>.yaml``).

The models are the single source of truth: the loader validates against them and the JSON Schema
shipped beside the files is generated from them (``sync-daemon schema``). Cross-field rules that
need the whole file (canonical names, persona names, regexes) live in
:mod:`sync_daemon.config.checks`, so that every problem is reported at once with its location.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

CrmName = Literal["salesforce", "hubspot"]
DriftPolicy = Literal["overwrite", "keep"]
ScopeOp = Literal["eq", "ne", "in", "not_in", "gt", "gte", "lt", "lte", "is_set", "is_not_set"]
Identifier = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$")]
CrmField = Annotated[str, StringConstraints(min_length=1, pattern=r"^[A-Za-z][A-Za-z0-9_.]*$")]
ScalarValue = str | int | float | bool


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ScopeClause(_Strict):
    """One condition on a CRM field; a record is in play when every clause of the scope holds."""

    field: CrmField = Field(description="CRM field name (API name), e.g. Type or lifecyclestage.")
    op: ScopeOp = Field(description="Comparison: eq, ne, in, not_in, gt, gte, lt, lte, is_set, is_not_set.")
    value: ScalarValue | list[ScalarValue] | None = Field(
        default=None, description="A value; a list for in/not_in; omitted for is_set/is_not_set."
    )


class PushField(_Strict):
    """A daemon-owned CRM field, and what to do when a person edits it after the daemon wrote it."""

    field: CrmField = Field(description="CRM field name the daemon owns and writes.")
    on_drift: DriftPolicy = Field(
        default="overwrite",
        description="overwrite (default): the daemon's value wins; keep: leave the person's edit.",
    )
    max_length: int | None = Field(
        default=None,
        ge=100,
        le=1_000_000,
        description="The field's length in characters, for long text the daemon trims to fit (e.g. the handoff note).",
    )


class LinkBySalesforceField(_Strict):
    """Salesforce: the contact's lookup field holding its account id."""

    field: CrmField = Field(description="Contact lookup field to the account, e.g. AccountId.")


class LinkByAssociation(_Strict):
    """HubSpot: the contact-to-company association (v4), primary first."""

    association: Literal["companies"] = Field(description="The associated object type.")
    primary_only: bool = Field(default=False, description="Ignore non-primary associations.")


class ObjectMapping(_Strict):
    """How one canonical object (accounts or contacts) maps onto a CRM object."""

    object: CrmField = Field(description="CRM object: Account/Contact (Salesforce), companies/contacts (HubSpot).")
    scope: list[ScopeClause] = Field(default_factory=list, description="Which records are in play (all must hold).")
    pull: dict[Identifier, CrmField] = Field(description="Canonical field name to the CRM field to read.")
    kpis: dict[Identifier, CrmField] = Field(
        default_factory=dict,
        description="Usage KPIs other tools write to the CRM: your name to the CRM field.",
    )
    push: dict[Identifier, CrmField | PushField] = Field(
        default_factory=dict,
        description="Daemon-owned fields: canonical name to CRM field (or field + on_drift).",
    )


class ContactMapping(ObjectMapping):
    """Contacts add the link to their account."""

    link: LinkBySalesforceField | LinkByAssociation = Field(description="How a contact points at its account.")


class TitleRule(_Strict):
    """Title patterns (case-insensitive regular expressions) that mark a persona."""

    persona: Identifier = Field(description="The persona these titles mark (one of personas.names).")
    patterns: list[str] = Field(
        min_length=1,
        description="Python regular expressions, searched case-insensitively in the title.",
    )


class PersonaRules(_Strict):
    """From the role field, then title patterns, to a persona; no match means ``unknown``."""

    names: list[Identifier] = Field(
        default_factory=lambda: ["decision_maker", "champion", "end_user", "business_influencer"],
        description="The personas in use; add your own names here to extend the set.",
    )
    role_field: Identifier | None = Field(
        default="role", description="Canonical contact field holding the buying role."
    )
    roles: dict[Identifier, list[str]] = Field(
        default_factory=dict,
        description="Persona to the role values (as the CRM stores them) that mean it.",
    )
    titles: list[TitleRule] = Field(default_factory=list, description="Tried in order when no role matches.")


class MappingFile(_Strict):
    """A whole mapping file: one per CRM."""

    model_config = ConfigDict(extra="forbid", frozen=True, title="Sync daemon field mapping")

    version: Literal[1] = Field(description="Format version of this file: 1.")
    crm: CrmName = Field(description="The CRM this file maps: salesforce or hubspot.")
    accounts: ObjectMapping = Field(description="How accounts (companies) map onto the CRM.")
    contacts: ContactMapping = Field(description="How contacts map onto the CRM.")
    personas: PersonaRules = Field(default_factory=PersonaRules, description="How a contact's persona is derived.")

    def push_fields(self, kind: Literal["accounts", "contacts"]) -> dict[str, PushField]:
        """Daemon-owned fields of ``kind`` with the shorthand form expanded."""
        raw = self.accounts.push if kind == "accounts" else self.contacts.push
        return {k: v if isinstance(v, PushField) else PushField(field=v) for k, v in raw.items()}

    def pulled_fields(self, kind: Literal["accounts", "contacts"]) -> dict[str, str]:
        """Canonical name to CRM field for everything pulled: mapped fields, KPIs and push fields.

        Push fields are read too, so the diff can compare desired values with what the CRM holds.
        """
        obj = self.accounts if kind == "accounts" else self.contacts
        out = dict(obj.pull)
        out.update(obj.kpis)
        out.update({k: v.field for k, v in self.push_fields(kind).items()})
        return out
