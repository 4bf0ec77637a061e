"""HubSpot property definitions (``GET /crm/v3/properties/{type}``) as an :class:`ObjectSchema`.

HubSpot describes a property twice: ``type`` is how the value is stored, ``fieldType`` how the form
shows it. The normalised :data:`~connectors.base.FieldType` needs both (an ``enumeration`` is a
picklist as a select or radio, a multi-picklist as checkboxes).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import structlog

from connectors.base import FieldInfo, FieldType, ObjectSchema

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

log = structlog.get_logger(__name__)

_BY_PAIR: dict[tuple[str, str], FieldType] = {
    ("string", "text"): "string",
    ("string", "textarea"): "text",
    ("string", "phonenumber"): "phone",
    ("phone_number", "phonenumber"): "phone",
    ("enumeration", "select"): "picklist",
    ("enumeration", "radio"): "picklist",
    ("enumeration", "checkbox"): "multipicklist",
    ("enumeration", "booleancheckbox"): "boolean",
}
_BY_TYPE: dict[str, FieldType] = {
    "number": "number",
    "date": "date",
    "datetime": "datetime",
    "bool": "boolean",
}


def field_type(hs_type: str, hs_field_type: str) -> FieldType:
    """The normalised type of a property from its ``type`` and ``fieldType``."""
    pair = _BY_PAIR.get((hs_type, hs_field_type))
    if pair is not None:
        return pair
    if hs_field_type == "booleancheckbox":
        return "boolean"
    if hs_field_type == "textarea":
        return "text"
    return _BY_TYPE.get(hs_type, "other")


def is_updateable(prop: Mapping[str, Any]) -> bool:
    """Writable through the API: not read-only by HubSpot and not calculated."""
    meta = prop.get("modificationMetadata")
    read_only = bool(meta.get("readOnlyValue")) if isinstance(meta, dict) else False
    return not read_only and not bool(prop.get("calculated"))


def field_info(prop: Mapping[str, Any]) -> FieldInfo:
    """One property definition as a :class:`FieldInfo`."""
    hs_type = str(prop.get("type") or "")
    hs_field_type = str(prop.get("fieldType") or "")
    options = tuple(
        str(o["value"]) for o in prop.get("options") or [] if isinstance(o, dict) and o.get("value") is not None
    )
    return FieldInfo(
        name=str(prop["name"]),
        type=field_type(hs_type, hs_field_type),
        crm_type=f"{hs_type}/{hs_field_type}",
        updateable=is_updateable(prop),
        options=options,
    )


def object_schema(object_name: str, results: Iterable[Any]) -> ObjectSchema:
    """The schema of an object from its property definitions; nameless entries are skipped."""
    fields: dict[str, FieldInfo] = {}
    for prop in results:
        if not isinstance(prop, dict) or not prop.get("name"):
            log.warning("crm.property_skipped", crm="hubspot", object=object_name, reason="no name")
            continue
        info = field_info(prop)
        fields[info.name] = info
    return ObjectSchema(object_name=object_name, fields=fields)
