"""A push field's ``max_length`` (how long a long-text field is): at least 100, reported where it is written."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from sync_daemon.config.errors import ConfigError
from sync_daemon.config.loader import load_mapping
from sync_daemon.config.models import PushField
from sync_daemon.resources import shipped

if TYPE_CHECKING:
    from pathlib import Path

SHIPPED = {
    "salesforce": ("{field: Handoff_Note_Text__c, max_length: 32768}", 32768),
    "hubspot": ("{field: handoff_note_text, max_length: 65536}", 65536),
}


def with_max_length(tmp_path: Path, crm: str, value: str) -> tuple[Path, int, int]:
    """The shipped mapping of ``crm`` with the note field's max_length set to ``value``; its line and column."""
    text = shipped(f"mappings/{crm}.yaml").read_text(encoding="utf-8")
    flow, length = SHIPPED[crm]
    assert text.count(flow) == 1
    changed = text.replace(flow, flow.replace(str(length), value))
    lines = changed.splitlines()
    line = next(n for n, row in enumerate(lines, start=1) if f"max_length: {value}" in row)
    column = lines[line - 1].index(f"max_length: {value}") + len("max_length: ") + 1
    path = tmp_path / f"{crm}.yaml"
    path.write_text(changed, encoding="utf-8")
    return path, line, column


@pytest.mark.parametrize("crm", sorted(SHIPPED))
def test_the_shipped_note_fields_declare_their_length(crm: str) -> None:
    """Both shipped mappings give the note field its CRM's long-text length."""
    push = load_mapping(shipped(f"mappings/{crm}.yaml")).accounts.push["handoff_note_text"]
    assert isinstance(push, PushField)
    assert push.max_length == SHIPPED[crm][1]


@pytest.mark.parametrize("crm", sorted(SHIPPED))
@pytest.mark.parametrize("value", ["99", "0", "-5"])
def test_a_max_length_below_100_is_reported_at_its_value(tmp_path: Path, crm: str, value: str) -> None:
    """A length under 100 is one problem, at the value's line and column, saying the minimum."""
    path, line, column = with_max_length(tmp_path, crm, value)
    with pytest.raises(ConfigError) as caught:
        load_mapping(path)
    (problem,) = caught.value.problems
    assert (problem.file, problem.line, problem.column) == (str(path), line, column)
    assert problem.message.startswith("max_length")
    assert "100" in problem.message


@pytest.mark.parametrize("crm", sorted(SHIPPED))
def test_a_max_length_of_100_is_the_smallest_accepted(tmp_path: Path, crm: str) -> None:
    """100 characters is allowed, and it is what the loaded push field holds."""
    path, _, _ = with_max_length(tmp_path, crm, "100")
    push = load_mapping(path).accounts.push["handoff_note_text"]
    assert isinstance(push, PushField)
    assert push.max_length == 100


def test_max_length_is_optional_on_a_push_field() -> None:
    """A push field without max_length has none (the daemon's default length applies)."""
    assert PushField(field="Handoff_Note_Text__c").max_length is None
