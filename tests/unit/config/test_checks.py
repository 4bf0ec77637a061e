"""Cross-field rules of mapping files, each reported at the node it is about."""

from __future__ import annotations

import pytest

from tests.unit.config.builders import HUBSPOT, SALESFORCE, edit, problems_of


@pytest.mark.parametrize("text", [SALESFORCE, HUBSPOT], ids=["salesforce", "hubspot"])
def test_small_base_files_are_valid(text: str) -> None:
    """The builders' base files have no problem, so each test's finding is its edit's."""
    assert problems_of(text) == []


def test_canonical_name_in_the_wrong_section_says_where_it_belongs() -> None:
    """A contact field pulled on accounts is named, with the section where it belongs."""
    text = edit(SALESFORCE, "    name: Name\n", "    name: Name\n    role: Role2__c\n")
    assert problems_of(text) == [
        "m.yaml:7:5: unknown canonical name 'role' in accounts.pull; it belongs in contacts.pull"
    ]


def test_unknown_canonical_name_without_near_miss_lists_the_valid_ones() -> None:
    """With nothing close, the hint lists the valid push names of that object."""
    text = edit(SALESFORCE, "    health: Health__c", "    zzz: Health__c")
    (line,) = problems_of(text)
    assert line.startswith("m.yaml:8:5: unknown canonical name 'zzz' in accounts.push; valid names:")
    assert "onboarding_plan, onboarding_progress" in line


def test_kpi_name_must_not_shadow_a_canonical_field() -> None:
    """A KPI named like a canonical field of the same object is refused."""
    text = edit(SALESFORCE, "  push:\n    health", "  kpis:\n    employees: Emp__c\n  push:\n    health")
    assert problems_of(text) == [
        (
            "m.yaml:8:5: KPI name 'employees' in accounts.kpis clashes with the canonical field; "
            "give the KPI another name"
        )
    ]


def test_pushing_an_input_field_is_refused_case_insensitively_on_salesforce() -> None:
    """Pushing to a field the mapping reads as input is refused (Salesforce ignores case)."""
    text = edit(SALESFORCE, "health: Health__c", "health: NAME")
    assert problems_of(text) == [
        (
            "m.yaml:8:13: accounts.push.health writes 'NAME', which accounts.pull.name (line 6) "
            "reads as input: the daemon would overwrite it; push to a field of its own"
        )
    ]


def test_two_push_names_must_not_write_the_same_field() -> None:
    """Two daemon-owned values written to one CRM field are refused at the second one."""
    text = edit(SALESFORCE, "    health: Health__c", "    health: Health__c\n    next_task: Health__c")
    assert problems_of(text) == [
        (
            "m.yaml:9:16: accounts.push.next_task writes 'Health__c', as accounts.push.health "
            "(line 8) already does; each daemon-owned value needs its own CRM field"
        )
    ]


def test_link_kind_must_fit_the_crm() -> None:
    """Salesforce links by lookup field, HubSpot by association; the other way is refused."""
    sf = edit(SALESFORCE, "{field: AccountId}", "{association: companies}")
    hs = edit(HUBSPOT, "{association: companies}", "{field: accountid}")
    assert problems_of(sf) == [
        ("m.yaml:11:10: contacts.link uses an association, which is HubSpot's way; write link: {field: AccountId}")
    ]
    assert problems_of(hs) == [
        (
            "m.yaml:11:10: contacts.link uses a lookup field, which is Salesforce's way; "
            "write link: {association: companies}"
        )
    ]


def test_hubspot_property_names_must_be_internal_names() -> None:
    """A HubSpot property written with capitals is refused with its internal form suggested."""
    text = edit(HUBSPOT, "title: jobtitle", "title: JobTitle")
    assert problems_of(text) == [
        (
            "m.yaml:13:12: HubSpot property 'JobTitle' in contacts.pull.title is not an internal "
            "name: use lowercase letters, digits and _; did you mean 'jobtitle'?"
        )
    ]


@pytest.mark.parametrize(
    ("clause", "expected"),
    [
        ("{field: Type, op: in, value: Customer}", "6:36: scope op 'in' needs a list of values"),
        ("{field: Type, op: in, value: []}", "6:36: scope op 'in' has an empty list"),
        ("{field: Type, op: is_set, value: x}", "6:40: scope op 'is_set' takes no value"),
        ("{field: Type, op: eq, value: [a, b]}", "6:36: scope op 'eq' takes one value, not a list"),
        ("{field: Type, op: gte}", "6:7: scope op 'gte' needs a value"),
    ],
)
def test_scope_clause_values_fit_their_operator(clause: str, expected: str) -> None:
    """in/not_in need a list, is_set/is_not_set nothing, the other operators one value."""
    text = edit(SALESFORCE, "  pull:\n    name", f"  scope:\n    - {clause}\n  pull:\n    name")
    (line,) = problems_of(text)
    assert line.startswith(f"m.yaml:{expected}")


def test_is_set_without_value_is_fine() -> None:
    """An is_set clause without a value is valid."""
    text = edit(
        SALESFORCE,
        "  pull:\n    name",
        "  scope:\n    - {field: Type, op: is_set}\n  pull:\n    name",
    )
    assert problems_of(text) == []


def test_title_rule_persona_must_be_declared() -> None:
    """A title rule for a persona missing from personas.names is refused with the closest name."""
    text = edit(SALESFORCE, "- persona: decision_maker", "- persona: decision_makr")
    assert problems_of(text) == [
        ("m.yaml:20:16: unknown persona 'decision_makr' in personas.titles; did you mean 'decision_maker'?")
    ]


def test_role_field_must_be_a_canonical_contact_field() -> None:
    """personas.role_field names a canonical contact field; a near miss is suggested."""
    text = edit(SALESFORCE, "  names:", "  role_field: rol\n  names:")
    assert problems_of(text) == [
        ("m.yaml:16:15: personas.role_field 'rol' is not a canonical contact field; did you mean 'role'?")
    ]


def test_default_role_field_must_be_pulled() -> None:
    """When role is not pulled, the default role_field says so at the personas section."""
    text = edit(SALESFORCE, "    role: Role__c\n", "")
    assert problems_of(text) == [
        (
            "m.yaml:15:3: personas.role_field 'role' (the default) is not pulled in contacts.pull; "
            "map role in contacts.pull, or set role_field: null"
        )
    ]


def test_title_rules_need_the_title_pulled() -> None:
    """Title rules without a pulled title could never match, so they are refused."""
    text = edit(SALESFORCE, "    title: Title\n", "")
    assert problems_of(text) == [
        ("m.yaml:18:3: personas.titles has rules, but contacts.pull does not map title; map title in contacts.pull")
    ]


def test_role_field_null_switches_roles_off() -> None:
    """role_field: null is valid even when no role is pulled."""
    text = edit(edit(SALESFORCE, "    role: Role__c\n", ""), "  names:", "  role_field: null\n  names:")
    assert problems_of(text) == []
