"""Builders for mapping-file tests: a small valid file per CRM, edited by text replacement."""

from __future__ import annotations

from sync_daemon.config.loader import validate_mapping_document
from sync_daemon.config.yaml_positions import parse_yaml

SALESFORCE = """\
version: 1
crm: salesforce
accounts:
  object: Account
  pull:
    name: Name
  push:
    health: Health__c
contacts:
  object: Contact
  link: {field: AccountId}
  pull:
    title: Title
    role: Role__c
personas:
  names: [decision_maker, champion]
  roles:
    champion: [Champion]
  titles:
    - persona: decision_maker
      patterns: ['\\bvp\\b']
"""

HUBSPOT = (
    SALESFORCE.replace("crm: salesforce", "crm: hubspot")
    .replace("Account\n", "companies\n")
    .replace("Contact\n", "contacts\n")
    .replace("{field: AccountId}", "{association: companies}")
    .replace("Name", "name")
    .replace("Health__c", "health")
    .replace("Title", "jobtitle")
    .replace("Role__c", "hs_buying_role")
)


def edit(base: str, old: str, new: str) -> str:
    """``base`` with ``old`` replaced by ``new`` (which must be there, so a typo fails loudly)."""
    assert old in base, old
    return base.replace(old, new, 1)


def problems_of(text: str) -> list[str]:
    """Rendered problems of a mapping file's text, read as ``m.yaml``."""
    _, problems = validate_mapping_document(parse_yaml(text, "m.yaml"))
    return [p.render() for p in problems]
