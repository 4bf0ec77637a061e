"""Salesforce ``sobjects/{Object}/describe`` answers, turned into the seam's :class:`ObjectSchema`.

``validate --remote`` uses this to check that each mapped field exists, fits its canonical type and
(for daemon-owned fields) is updateable by the integration user.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from connectors.base import FieldInfo, FieldType, ObjectSchema, ProtocolError

if TYPE_CHECKING:
    from collections.abc import Mapping

SF_TYPES: Mapping[str, FieldType] = {
    "id": "id",
    "string": "string",
    "textarea": "text",
    "email": "email",
    "phone": "phone",
    "url": "url",
    "double": "number",
    "int": "integer",
    "long": "integer",
    "currency": "currency",
    "percent": "percent",
    "boolean": "boolean",
    "date": "date",
    "datetime": "datetime",
    "picklist": "picklist",
    "multipicklist": "multipicklist",
    "reference": "reference",
}


def _options(raw: Any) -> tuple[str, ...]:
    """Active picklist values, in the org's order."""
    if not isinstance(raw, list):
        return ()
    return tuple(str(v["value"]) for v in raw if isinstance(v, dict) and v.get("active", True) and "value" in v)


def field_info(raw: Any) -> FieldInfo:
    """One entry of ``fields`` in a describe answer."""
    if not isinstance(raw, dict) or not isinstance(raw.get("name"), str):
        raise ProtocolError("Salesforce describe listed a field without a name")
    crm_type = str(raw.get("type") or "")
    length = raw.get("length")
    return FieldInfo(
        name=raw["name"],
        type=SF_TYPES.get(crm_type, "other"),
        crm_type=crm_type,
        updateable=bool(raw.get("updateable", False)),
        length=length if isinstance(length, int) and length > 0 else None,
        options=_options(raw.get("picklistValues")),
    )


def object_schema(object_name: str, answer: Any) -> ObjectSchema:
    """The whole describe answer; anything but ``{"fields": [...]}`` is a protocol error."""
    if not isinstance(answer, dict) or not isinstance(answer.get("fields"), list):
        raise ProtocolError(f"Salesforce describe of {object_name} answered without a field list")
    fields = [field_info(f) for f in answer["fields"]]
    return ObjectSchema(object_name=str(answer.get("name") or object_name), fields={f.name: f for f in fields})
