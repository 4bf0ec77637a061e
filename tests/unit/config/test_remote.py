"""validate --remote: the mapping checked against hand-built CRM schemas."""

from __future__ import annotations

from pathlib import Path

from connectors.base import FieldInfo, FieldType, ObjectKind, ObjectSchema
from sync_daemon.config.loader import load_mapping_with_positions
from sync_daemon.config.remote import check_remote
from tests.unit.config.builders import HUBSPOT, SALESFORCE, edit

ROOT = Path(__file__).resolve().parents[3]


def field(name: str, kind: FieldType, *, updateable: bool = True) -> FieldInfo:
    return FieldInfo(name=name, type=kind, crm_type=kind.title(), updateable=updateable)


def schema(name: str, *fields: FieldInfo) -> ObjectSchema:
    return ObjectSchema(object_name=name, fields={f.name: f for f in fields})


def salesforce_schemas(**overrides: FieldInfo) -> dict[ObjectKind, ObjectSchema]:
    accounts = {"Name": field("Name", "string"), "Health__c": field("Health__c", "picklist")}
    contacts = {
        "AccountId": field("AccountId", "reference"),
        "Title": field("Title", "string"),
        "Role__c": field("Role__c", "multipicklist"),
    }
    for key, info in overrides.items():
        target = accounts if key.startswith("a_") else contacts
        target.pop(info.name, None)
        target[info.name] = info
    return {
        "accounts": schema("Account", *accounts.values()),
        "contacts": schema("Contact", *contacts.values()),
    }


def run(text: str, schemas: dict[ObjectKind, ObjectSchema], tmp_path: Path) -> list[str]:
    path = tmp_path / "m.yaml"
    path.write_text(text, encoding="utf-8")
    mapping, positions = load_mapping_with_positions(path)
    return [p.render() for p in check_remote(mapping, schemas, "m.yaml", positions=positions)]


def test_matching_schema_has_no_problem(tmp_path: Path) -> None:
    """A mapping whose fields all exist, fit and are writable passes."""
    assert run(SALESFORCE, salesforce_schemas(), tmp_path) == []


def test_missing_field_suggests_the_closest(tmp_path: Path) -> None:
    """A field the org lacks is reported at its value with the closest existing name."""
    text = edit(SALESFORCE, "health: Health__c", "health: Helth__c")
    assert run(text, salesforce_schemas(), tmp_path) == [
        ("m.yaml:8:13: accounts.push.health: Account has no field 'Helth__c'; did you mean 'Health__c'?")
    ]


def test_salesforce_wrong_case_names_the_right_spelling(tmp_path: Path) -> None:
    """Salesforce ignores case, so a wrong case is found and the exact spelling is suggested."""
    text = edit(SALESFORCE, "role: Role__c", "role: role__C")
    assert run(text, salesforce_schemas(), tmp_path) == [
        (
            "m.yaml:14:11: contacts.pull.role: 'role__C' is spelt 'Role__c' in Contact; "
            "write 'Role__c': records come back with that spelling"
        )
    ]


def test_type_misfit_names_what_the_canonical_field_accepts(tmp_path: Path) -> None:
    """A field whose type does not fit its canonical name is reported with the accepted types."""
    schemas = salesforce_schemas(c_title=field("Title", "boolean"))
    assert run(SALESFORCE, schemas, tmp_path) == [
        (
            "m.yaml:13:12: contacts.pull.title reads 'Title', a Boolean field (boolean), "
            "which does not fit: it needs one of: string, text"
        )
    ]


def test_push_field_must_be_updateable(tmp_path: Path) -> None:
    """A daemon-owned field the integration user cannot update is refused."""
    schemas = salesforce_schemas(a_health=field("Health__c", "picklist", updateable=False))
    assert run(SALESFORCE, schemas, tmp_path) == [
        (
            "m.yaml:8:13: accounts.push.health writes 'Health__c', which the integration user "
            "cannot update; grant edit access to the field, or map a writable one (not a formula)"
        )
    ]


def test_scope_kpi_and_link_fields_are_checked(tmp_path: Path) -> None:
    """Scope fields must exist, KPIs must be scalar, and the link must be a reference."""
    text = edit(
        SALESFORCE,
        "  pull:\n    name: Name\n",
        "  scope:\n    - {field: Typ, op: eq, value: x}\n  pull:\n    name: Name\n  kpis:\n    seats: Seats__c\n",
    )
    schemas = salesforce_schemas(
        a_type=field("Type", "picklist"),
        a_seats=field("Seats__c", "multipicklist"),
        c_link=field("AccountId", "string"),
    )
    assert run(text, schemas, tmp_path) == [
        "m.yaml:6:15: accounts.scope[0]: Account has no field 'Typ'; did you mean 'Type'?",
        (
            "m.yaml:10:12: accounts.kpis.seats reads 'Seats__c', a Multipicklist field "
            "(multipicklist), which does not fit: it needs one of: number, integer, currency, "
            "percent, boolean, date, datetime, string, text, picklist"
        ),
        (
            "m.yaml:15:17: contacts.link.field reads 'AccountId', a String field (string), which "
            "does not fit: it needs one of: reference, id"
        ),
    ]


def test_hubspot_names_are_case_sensitive(tmp_path: Path) -> None:
    """On HubSpot a name in another case is missing, with the right one suggested."""
    schemas: dict[ObjectKind, ObjectSchema] = {
        "accounts": schema("companies", field("name", "string"), field("health", "picklist")),
        "contacts": schema("contacts", field("jobtitle", "string"), field("hs_buying_role", "multipicklist")),
    }
    text = edit(HUBSPOT, "title: jobtitle", "title: job_title")
    assert run(text, schemas, tmp_path) == [
        ("m.yaml:13:12: contacts.pull.title: contacts has no field 'job_title'; did you mean 'jobtitle'?")
    ]


def test_without_positions_problems_carry_the_file_only(tmp_path: Path) -> None:
    """Without a position index, remote problems still name the file and what is wrong."""
    path = tmp_path / "m.yaml"
    path.write_text(edit(SALESFORCE, "health: Health__c", "health: Nope__c"), encoding="utf-8")
    mapping, _ = load_mapping_with_positions(path)
    (problem,) = check_remote(mapping, salesforce_schemas(), "m.yaml")
    assert (problem.line, problem.column) == (None, None)


def test_shipped_salesforce_mapping_against_an_empty_org() -> None:
    """Every mapped field of the shipped file is reported when the org has none of them."""
    mapping, positions = load_mapping_with_positions(ROOT / "mappings" / "salesforce.yaml")
    empty: dict[ObjectKind, ObjectSchema] = {
        "accounts": schema("Account"),
        "contacts": schema("Contact"),
    }
    problems = check_remote(mapping, empty, "salesforce.yaml", positions=positions)
    expected = sum(len(mapping.pulled_fields(k)) for k in ("accounts", "contacts")) + 2  # scope, link
    assert len(problems) == expected


def _note_field(length: int) -> FieldInfo:
    return FieldInfo(name="Note__c", type="text", crm_type="Textarea", updateable=True, length=length)


def test_a_note_field_shorter_than_the_trim_length_is_reported(tmp_path: Path) -> None:
    """The note's text is trimmed to max_length (default 32,768): a shorter CRM field would refuse it."""
    text = edit(SALESFORCE, "health: Health__c", "health: Health__c\n    handoff_note_text: Note__c")
    assert run(text, salesforce_schemas(a_note=_note_field(4000)), tmp_path) == [
        (
            "m.yaml:9:24: accounts.push.handoff_note_text trims 'Note__c' to 32,768 characters, but the field "
            "holds 4,000: the CRM would refuse the longer texts; set max_length: 4000 on this push field"
        )
    ]
    fitted = edit(text, "handoff_note_text: Note__c", "handoff_note_text: {field: Note__c, max_length: 4000}")
    assert run(fitted, salesforce_schemas(a_note=_note_field(4000)), tmp_path) == []
