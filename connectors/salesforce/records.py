"""From the mapping to what a pull selects, and from a Salesforce record to a :class:`CrmRecord`.

The mapping's CRM field names stop here: records leave with canonical names only. Values are passed
on exactly as Salesforce sent them (conversion is the store's business).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from connectors.base import CrmRecord, ObjectKind
from connectors.salesforce.soql import Keyset, parse_datetime
from sync_daemon.config.models import LinkBySalesforceField

if TYPE_CHECKING:
    from collections.abc import Mapping

    from sync_daemon.config.models import MappingFile, ScopeClause


class SkipRecord(Exception):  # noqa: N818 - a signal, not an error the caller sees
    """A record the pull cannot use (no Id, unreadable SystemModstamp); ``reason`` says why."""

    def __init__(self, record_id: str | None, reason: str) -> None:
        """Keep what identifies the record (when anything does) and why it is skipped."""
        super().__init__(reason)
        self.record_id = record_id
        self.reason = reason


@dataclass(frozen=True, slots=True)
class ObjectPlan:
    """What to pull for one kind: the Salesforce object, its scope and the fields to read."""

    kind: ObjectKind
    object_name: str
    scope: tuple[ScopeClause, ...]
    fields: Mapping[str, str]
    link_field: str | None = None

    @classmethod
    def from_mapping(cls, mapping: MappingFile, kind: ObjectKind) -> ObjectPlan:
        """Read the plan for ``kind`` from a Salesforce mapping file."""
        obj = mapping.accounts if kind == "accounts" else mapping.contacts
        link: str | None = None
        if kind == "contacts":
            if not isinstance(mapping.contacts.link, LinkBySalesforceField):
                raise ValueError("a Salesforce mapping links contacts by a lookup field (link.field)")
            link = mapping.contacts.link.field
        return cls(kind, obj.object, tuple(obj.scope), mapping.pulled_fields(kind), link)

    def select(self) -> list[str]:
        """The mapped CRM fields (and the link), in mapping order; duplicates are dropped later."""
        names = list(self.fields.values())
        return [*names, self.link_field] if self.link_field else names


def field_value(raw: Mapping[str, Any], path: str) -> Any:
    """A field's value; a dotted relationship path (``Owner.Name``) walks the nested objects."""
    value: Any = raw
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def record_key(raw: Any) -> Keyset:
    """The ``(SystemModstamp, Id)`` of a raw record, or :class:`SkipRecord` saying what is wrong."""
    if not isinstance(raw, dict):
        raise SkipRecord(None, "record is not an object")
    record_id = raw.get("Id")
    if not isinstance(record_id, str) or not record_id:
        raise SkipRecord(None, "record has no Id")
    try:
        modstamp = parse_datetime(raw.get("SystemModstamp"))
    except (TypeError, ValueError):
        raise SkipRecord(record_id, "SystemModstamp missing or unreadable") from None
    return Keyset(modstamp, record_id)


def to_record(plan: ObjectPlan, raw: Mapping[str, Any], key: Keyset) -> CrmRecord:
    """A raw Salesforce record as the seam's record, tombstone when ``IsDeleted``."""
    link = field_value(raw, plan.link_field) if plan.link_field else None
    return CrmRecord(
        id=key.id,
        modified_at=key.modstamp,
        fields={canonical: field_value(raw, crm) for canonical, crm in plan.fields.items()},
        deleted=raw.get("IsDeleted") is True,
        account_id=link if isinstance(link, str) and link else None,
    )
