"""Pydantic's errors, reworded for admins and placed on the YAML node they are about."""

from __future__ import annotations

import pytest

from tests.unit.config.builders import HUBSPOT, SALESFORCE, edit, problems_of

SCOPE = "  scope:\n    - {field: Type, op: eq, value: 1}\n  pull:\n    name"


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "health: Health__c",
            "health: 5",
            "m.yaml:8:13: push.health must be text or a mapping (key: value); found the number 5",
        ),
        (
            "crm: salesforce",
            "crm: salesfroce",
            ("m.yaml:2:6: crm must be one of: salesforce, hubspot (found 'salesfroce'); did you mean 'salesforce'?"),
        ),
        (
            "version: 1",
            "version: '1'",
            "m.yaml:1:10: version must be one of: 1 (found '1'); write 1 without quotes",
        ),
        (
            "  object: Account\n",
            "",
            (
                "m.yaml:3:1: missing key 'object' in accounts; "
                "CRM object: Account/Contact (Salesforce), companies/contacts (HubSpot)."
            ),
        ),
        (
            "    name: Name",
            "    Name: Name",
            (
                "m.yaml:6:5: 'Name' is not a valid name in accounts.pull: use lowercase letters, "
                "digits and _, starting with a letter; did you mean 'name'?"
            ),
        ),
        (
            "    name: Name",
            "    name: Account Name",
            (
                "m.yaml:6:11: pull.name: 'Account Name' is not a valid CRM field name: "
                "use letters, digits, _ and ., starting with a letter"
            ),
        ),
        (
            "names: [decision_maker, champion]",
            "names: decision_maker",
            "m.yaml:16:10: names must be a list; found 'decision_maker'",
        ),
        (
            "patterns: ['\\bvp\\b']",
            "patterns: []",
            "m.yaml:21:17: patterns must not be empty",
        ),
        ("object: Account", "object: ''", "m.yaml:4:11: object must not be empty"),
        (
            "health: Health__c",
            "health: {field: Health__c, ondrift: keep}",
            "m.yaml:8:32: unknown key 'ondrift' in accounts.push.health; did you mean 'on_drift'?",
        ),
        (
            "  pull:\n    name",
            SCOPE.replace("value: 1", "value: {a: 1}"),
            ("m.yaml:6:36: value must be text, a number, true or false or a list; found a mapping (key: value)"),
        ),
        (
            "  pull:\n    name",
            SCOPE.replace("op: eq", "op: eqq"),
            (
                "m.yaml:6:25: op must be one of: eq, ne, in, not_in, gt, gte, lt, lte, is_set, "
                "is_not_set (found 'eqq'); did you mean 'eq'?"
            ),
        ),
    ],
)
def test_pydantic_errors_read_like_admin_messages(old: str, new: str, expected: str) -> None:
    """Each kind of model error becomes one plain-words problem at the right node."""
    assert problems_of(edit(SALESFORCE, old, new)) == [expected]


def test_union_picks_the_shape_the_admin_meant() -> None:
    """A typo inside the association form is reported as such, not as a broken lookup field."""
    text = edit(HUBSPOT, "{association: companies}", "{association: companiez}")
    assert problems_of(text) == [
        ("m.yaml:11:23: association must be one of: companies (found 'companiez'); did you mean 'companies'?")
    ]


def test_misspelt_key_in_union_reports_the_key_and_the_missing_one() -> None:
    """A misspelt link key is flagged at the key, and the missing one at the link."""
    assert problems_of(edit(SALESFORCE, "{field: AccountId}", "{fild: AccountId}")) == [
        ("m.yaml:11:3: missing key 'field' in contacts.link; Contact lookup field to the account, e.g. AccountId."),
        "m.yaml:11:10: unknown key 'fild' in contacts.link; did you mean 'field'?",
    ]


def test_unknown_key_without_near_miss_lists_the_valid_keys() -> None:
    """An unknown key with nothing close gets the list of valid keys."""
    text = edit(SALESFORCE, "accounts:\n  object", "accounts:\n  zzz: 1\n  object")
    assert problems_of(text) == [
        "m.yaml:4:3: unknown key 'zzz' in accounts; valid keys: object, scope, pull, kpis, push"
    ]


def test_a_file_that_is_not_a_mapping() -> None:
    """A file holding a list is told it must be a mapping."""
    assert problems_of("- a\n- b\n") == ["m.yaml:1:1: the file must be a mapping (key: value); found a list"]


def test_malformed_role_field_is_reported_once() -> None:
    """A role_field that is not a name is reported by the model only, not twice."""
    text = edit(SALESFORCE, "  roles:", "  role_field: Bad-Name\n  roles:")
    assert problems_of(text) == [
        (
            "m.yaml:17:15: role_field: 'Bad-Name' is not a valid name: use lowercase letters, "
            "digits and _, starting with a letter"
        )
    ]
