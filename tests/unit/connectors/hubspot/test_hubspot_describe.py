"""HubSpot property definitions into the normalised schema (pure)."""

from __future__ import annotations

import pytest

from connectors.hubspot.describe import field_type, object_schema


@pytest.mark.parametrize(
    ("hs_type", "hs_field_type", "expected"),
    [
        ("string", "text", "string"),
        ("string", "textarea", "text"),
        ("number", "number", "number"),
        ("date", "date", "date"),
        ("datetime", "date", "datetime"),
        ("bool", "booleancheckbox", "boolean"),
        ("enumeration", "booleancheckbox", "boolean"),
        ("enumeration", "select", "picklist"),
        ("enumeration", "radio", "picklist"),
        ("enumeration", "checkbox", "multipicklist"),
        ("string", "phonenumber", "phone"),
        ("string", "html", "other"),
        ("object_coordinates", "text", "other"),
    ],
)
def test_field_type_mapping(hs_type: str, hs_field_type: str, expected: str) -> None:
    """Both ``type`` and ``fieldType`` decide the normalised type."""
    assert field_type(hs_type, hs_field_type) == expected


def test_schema_reads_updateability_and_options() -> None:
    """Read-only and calculated properties are not updateable; options keep their values."""
    results = [
        {
            "name": "onboarding_steps",
            "type": "enumeration",
            "fieldType": "checkbox",
            "options": [
                {"label": "Kickoff", "value": "kickoff"},
                {"label": "Go live", "value": "go_live"},
            ],
            "modificationMetadata": {"readOnlyValue": False},
        },
        {
            "name": "hs_object_id",
            "type": "number",
            "fieldType": "number",
            "modificationMetadata": {"readOnlyValue": True},
        },
        {
            "name": "days_open",
            "type": "number",
            "fieldType": "calculation_equation",
            "calculated": True,
        },
        {"label": "nameless"},
    ]
    schema = object_schema("companies", results)
    assert schema.object_name == "companies"
    assert set(schema.fields) == {"onboarding_steps", "hs_object_id", "days_open"}
    steps = schema.fields["onboarding_steps"]
    assert (steps.type, steps.updateable, steps.options) == (
        "multipicklist",
        True,
        ("kickoff", "go_live"),
    )
    assert steps.crm_type == "enumeration/checkbox"
    assert not schema.fields["hs_object_id"].updateable
    assert not schema.fields["days_open"].updateable
