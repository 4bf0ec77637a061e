"""Describe results in the REST API's JSON shape: ``sobjects``, ``sobjects/{Obj}/describe``.

Only the keys a client reads are filled with meaning (name, label, type, length, flags, picklist
values, referenceTo); the rest carry the values a plain custom field has, so a client that indexes a
key a real org always sends does not fail here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sync_daemon.sandbox.salesforce_schema import NUMBER_TYPES, OBJECTS

if TYPE_CHECKING:
    from sync_daemon.sandbox.salesforce_schema import FieldDef, ObjectDef

_SOAP_TYPES = {
    "id": "tns:ID",
    "reference": "tns:ID",
    "boolean": "xsd:boolean",
    "date": "xsd:date",
    "datetime": "xsd:dateTime",
    "int": "xsd:int",
    "base64": "xsd:base64Binary",
    **dict.fromkeys(("double", "currency", "percent"), "xsd:double"),
}


def _picklist(fdef: FieldDef) -> list[dict[str, Any]]:
    return [
        {
            "active": True,
            "defaultValue": value == fdef.default,
            "label": value,
            "validFor": None,
            "value": value,
        }
        for value in fdef.picklist
    ]


def describe_field(fdef: FieldDef) -> dict[str, Any]:
    """One entry of ``fields`` in a describe result."""
    numeric = fdef.type in NUMBER_TYPES
    long_text = fdef.type in ("textarea", "multipicklist", "base64")
    return {
        "name": fdef.name,
        "label": fdef.label,
        "type": fdef.type,
        "soapType": _SOAP_TYPES.get(fdef.type, "xsd:string"),
        "length": 0 if numeric or fdef.type in ("boolean", "date", "datetime") else fdef.length,
        "byteLength": fdef.length * 3,
        "precision": fdef.precision if numeric and fdef.type != "int" else 0,
        "scale": fdef.scale if numeric and fdef.type != "int" else 0,
        "digits": fdef.precision if fdef.type == "int" else 0,
        "updateable": fdef.updateable,
        "createable": fdef.createable,
        "nillable": fdef.nillable,
        "custom": fdef.custom,
        "calculated": False,
        "autoNumber": False,
        "defaultedOnCreate": fdef.default is not None or fdef.name in ("Id", "IsDeleted"),
        "defaultValue": fdef.default if fdef.picklist else None,
        "externalId": False,
        "filterable": not long_text,
        "sortable": not long_text,
        "groupable": not long_text and not numeric,
        "unique": False,
        "idLookup": fdef.name == "Id",
        "nameField": fdef.name == "Name",
        "htmlFormatted": False,
        "restrictedPicklist": fdef.restricted,
        "dependentPicklist": False,
        "picklistValues": _picklist(fdef),
        "referenceTo": list(fdef.reference_to),
        "relationshipName": fdef.name.removesuffix("Id") if fdef.type == "reference" else None,
        "inlineHelpText": None,
    }


def _urls(obj: ObjectDef, version: str) -> dict[str, str]:
    base = f"/services/data/v{version}/sobjects/{obj.name}"
    return {"sobject": base, "describe": f"{base}/describe", "rowTemplate": f"{base}/{{ID}}"}


def object_summary(obj: ObjectDef, version: str) -> dict[str, Any]:
    """An object as listed by ``GET sobjects`` (no fields)."""
    return {
        "name": obj.name,
        "label": obj.label,
        "labelPlural": obj.label_plural,
        "keyPrefix": obj.key_prefix,
        "custom": False,
        "createable": True,
        "updateable": obj.name != "ContentDocumentLink",
        "deletable": True,
        "queryable": True,
        "searchable": True,
        "urls": _urls(obj, version),
    }


def describe_object(obj: ObjectDef, version: str) -> dict[str, Any]:
    """``GET sobjects/{Obj}/describe``."""
    return {
        **object_summary(obj, version),
        "fields": [describe_field(f) for f in obj.fields],
        "childRelationships": [],
        "recordTypeInfos": [],
    }


def describe_global(version: str) -> dict[str, Any]:
    """``GET sobjects``."""
    return {
        "encoding": "UTF-8",
        "maxBatchSize": 200,
        "sobjects": [object_summary(o, version) for o in OBJECTS.values()],
    }
