"""The JSON Schema shipped beside the mapping files: generated, never drifting, and accurate."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from ruamel.yaml import YAML

from sync_daemon.config.canonical import ACCOUNT_PULL, CONTACT_PUSH
from sync_daemon.config.schema import mapping_json_schema, mapping_schema_text, write_schema

ROOT = Path(__file__).resolve().parents[3]
SHIPPED_SCHEMA = ROOT / "mappings" / "mapping.schema.json"
SHIPPED = [ROOT / "mappings" / "salesforce.yaml", ROOT / "mappings" / "hubspot.yaml"]


def load_yaml(path: Path) -> Any:
    return YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8"))


def validator() -> jsonschema.Draft202012Validator:
    schema = mapping_json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_shipped_schema_is_the_generated_one() -> None:
    """mappings/mapping.schema.json equals what the models generate (see write_schema)."""
    assert SHIPPED_SCHEMA.read_text(encoding="utf-8") == mapping_schema_text()


def test_write_schema_writes_the_rendered_schema(tmp_path: Path) -> None:
    """write_schema writes exactly the rendered schema, as valid JSON."""
    target = tmp_path / "s.json"
    write_schema(target)
    assert target.read_text(encoding="utf-8") == mapping_schema_text()
    assert json.loads(target.read_text(encoding="utf-8"))["title"] == "Sync daemon field mapping"


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_shipped_mappings_validate_against_the_schema(path: Path) -> None:
    """Both shipped mapping files satisfy the schema (editors show no squiggles)."""
    errors = [e.message for e in validator().iter_errors(load_yaml(path))]
    assert errors == []


def test_every_mapping_file_names_the_schema_on_its_first_line() -> None:
    """Each shipped mapping file points the YAML language server at the schema."""
    for path in SHIPPED:
        first = path.read_text(encoding="utf-8").splitlines()[0]
        assert first == "# yaml-language-server: $schema=./mapping.schema.json"


def test_schema_flags_a_misspelt_canonical_name_but_not_a_kpi() -> None:
    """pull/push accept only canonical names for their object, while kpis names are free."""
    data = load_yaml(SHIPPED[0])
    data["accounts"]["kpis"]["anything_goes"] = "X__c"
    assert list(validator().iter_errors(data)) == []
    data["accounts"]["pull"]["nmae"] = "Name"
    data["contacts"]["push"]["health"] = "Health__c"  # an account push name on contacts
    errors = sorted(e.json_path for e in validator().iter_errors(data))
    assert errors == ["$.accounts.pull", "$.contacts.push"]


def test_schema_lists_canonical_names_with_their_accepted_types() -> None:
    """Editors can offer each canonical name, with the CRM field types it accepts."""
    defs = mapping_json_schema()["$defs"]
    pull = defs["AccountMapping"]["properties"]["pull"]["properties"]
    assert set(pull) == set(ACCOUNT_PULL)
    assert pull["close_date"]["description"] == "CRM field types accepted: date, datetime."
    assert set(defs["ContactMapping"]["properties"]["push"]["properties"]) == set(CONTACT_PUSH)
