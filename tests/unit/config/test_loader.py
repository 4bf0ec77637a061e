"""The mapping loader: YAML with positions, every problem at once, compiler-style messages."""

from __future__ import annotations

from pathlib import Path

import pytest

from sync_daemon.config.errors import ConfigError, Problem
from sync_daemon.config.loader import load_mapping, load_mapping_with_positions, validate_files
from sync_daemon.config.yaml_positions import parse_yaml

ROOT = Path(__file__).resolve().parents[3]
SHIPPED = [ROOT / "mappings" / "salesforce.yaml", ROOT / "mappings" / "hubspot.yaml"]
FIXTURES = ROOT / "tests" / "fixtures" / "mappings"


def rendered(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_mapping(path)
    return caught.value.render().splitlines()


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_shipped_mappings_load_cleanly(path: Path) -> None:
    """Both shipped mapping files load without a single problem."""
    mapping = load_mapping(path)
    assert mapping.crm == path.stem
    assert validate_files([path]) == []


def test_every_mistake_is_reported_at_once_with_its_line(monkeypatch: pytest.MonkeyPatch) -> None:
    """A file with many mistakes yields all of them, each at its line and column, with hints."""
    monkeypatch.chdir(ROOT)
    lines = rendered(Path("tests/fixtures/mappings/many_mistakes.yaml"))
    f = "tests/fixtures/mappings/many_mistakes.yaml"
    assert lines == [
        f"{f}:2:1: missing key 'version' at the top level; Format version of this file: 1.",
        f"{f}:2:1: unknown key 'verison' at the top level; did you mean 'version'?",
        f"{f}:9:5: unknown canonical name 'nmae' in accounts.pull; did you mean 'name'?",
        (f"{f}:12:53: on_drift must be one of: overwrite, keep (found 'overwrit'); did you mean 'overwrite'?"),
        f"{f}:13:16: push.slip_days must be text or a mapping (key: value); found a list",
        f"{f}:23:5: duplicate key 'title' in contacts.pull; first defined at line 20, column 5",
        f"{f}:28:5: unknown persona 'champoin' in personas.roles; did you mean 'champion'?",
        (
            f"{f}:31:18: title pattern '\\b(vp|chief\\b' does not compile: "
            "missing ), unterminated subpattern at position 2"
        ),
    ]


def test_yaml_syntax_error_is_reported_where_ruamel_points() -> None:
    """A YAML syntax error becomes one problem at the line and column the parser reports."""
    lines = rendered(FIXTURES / "syntax_error.yaml")
    assert len(lines) == 1
    assert lines[0].endswith(
        "syntax_error.yaml:6:9: YAML syntax error: expected ',' or '}', but got ':'; "
        "while parsing a flow mapping started at line 5, column 9"
    )


def test_tab_indentation_is_a_syntax_error_with_position() -> None:
    """A tab where YAML expects spaces is reported at the tab."""
    with pytest.raises(ConfigError) as caught:
        parse_yaml("version: 1\n\tcrm: hubspot\n", "m.yaml")
    (problem,) = caught.value.problems
    assert (problem.line, problem.column) == (2, 1)
    assert "'\\t'" in problem.message


def test_empty_file_is_one_problem(tmp_path: Path) -> None:
    """An empty mapping file says so instead of listing every missing key."""
    path = tmp_path / "empty.yaml"
    path.write_text("# nothing here\n", encoding="utf-8")
    assert [p.message for p in validate_files([path])] == ["the file is empty"]


def test_unreadable_file_is_a_problem_without_position(tmp_path: Path) -> None:
    """A missing file is reported as a problem of that file, not as a traceback."""
    (problem,) = validate_files([tmp_path / "nope.yaml"])
    assert problem.line is None
    assert problem.message.startswith("cannot read the file")


def test_positions_point_at_values_and_keys() -> None:
    """The position index gives 1-based positions of values and of the keys naming them."""
    _, positions = load_mapping_with_positions(SHIPPED[0])
    assert positions.at(("accounts", "pull", "name")) == (12, 11)
    assert positions.key_at(("accounts", "pull", "name")) == (12, 5)
    assert positions.at(("accounts", "push", "handoff_status", "on_drift")) == (48, 58)
    assert positions.at(("accounts", "pull", "no_such_name")) == (12, 5)  # nearest ancestor


def test_validate_files_sorts_problems_across_files(tmp_path: Path) -> None:
    """Problems of several files come back sorted by file, then line."""
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    a.write_text("version: 2\ncrm: salesforce\n", encoding="utf-8")
    b.write_text("crm: [x\n", encoding="utf-8")
    problems = validate_files([b, a])
    assert [p.file for p in problems] == sorted(p.file for p in problems)
    assert problems[0].file == str(a)
    assert [p.line for p in problems if p.file == str(a)] == sorted(p.line or 0 for p in problems if p.file == str(a))


def test_problem_renders_like_a_compiler() -> None:
    """A problem renders as file:line:col: message; hint, leaving out what is unknown."""
    assert Problem("m.yaml", 12, 5, "unknown key 'feilds'", "did you mean 'fields'?").render() == (
        "m.yaml:12:5: unknown key 'feilds'; did you mean 'fields'?"
    )
    assert Problem("m.yaml", None, None, "the file is empty").render() == "m.yaml: the file is empty"
    assert Problem("m.yaml", 3, None, "x").render() == "m.yaml:3: x"


def test_merge_keys_and_aliases_are_followed() -> None:
    """YAML anchors, aliases and merge keys work, with explicit keys winning over merged ones."""
    doc = parse_yaml("base: &b {a: 1, b: 2}\nother:\n  <<: *b\n  b: 3\n", "m.yaml")
    assert doc.data == {"base": {"a": 1, "b": 2}, "other": {"a": 1, "b": 3}}
    assert doc.problems == []


def test_dates_stay_text_and_bad_typed_scalars_are_problems() -> None:
    """Dates are kept as written; an explicit tag that cannot be read is reported at its value."""
    doc = parse_yaml("d: 2024-01-31\nn: !!int abc\n", "m.yaml")
    assert doc.data == {"d": "2024-01-31", "n": "abc"}
    (problem,) = doc.problems
    assert (problem.line, problem.message) == (2, "cannot read 'abc' as int")
