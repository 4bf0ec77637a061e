"""Loading the note template: every mistake an admin can make is reported at its line, with the fix."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from sync_daemon.config.errors import ConfigError
from sync_daemon.config.note_template import check_note_template, load_note_template, sample_contexts
from sync_daemon.domain.handoff_note import render
from tests.unit.handoff_note.builders import DEFAULT

if TYPE_CHECKING:
    from pathlib import Path


def problems(source: str) -> list[str]:
    """The rendered problems of a template text, as `validate` would print them."""
    return [p.render() for p in check_note_template(source, "note.j2")]


def load_error(tmp_path: Path, source: str) -> ConfigError:
    path = tmp_path / "note.j2"
    path.write_text(source, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_note_template(path)
    return caught.value


def test_the_shipped_template_is_valid() -> None:
    """The default template passes every check and renders every sample account."""
    template = load_note_template(DEFAULT)
    assert template.origin == str(DEFAULT)
    assert all(render(template, context) for context in sample_contexts())


def test_a_misspelt_attribute_names_its_line_column_and_the_closest_name(tmp_path: Path) -> None:
    """`csm.emial` is an unknown attribute of csm, and `email` is suggested, at the place it was written."""
    error = load_error(tmp_path, "Hello\n\n{% if csm %}\nWrite to {{ csm.emial }}\n{% endif %}\n")
    assert [p.render() for p in error.problems] == [
        f"{tmp_path / 'note.j2'}:4:17: unknown attribute 'emial' of csm; did you mean 'email'?"
    ]
    assert (error.problems[0].line, error.problems[0].hint) == (4, "did you mean 'email'?")


def test_a_misspelt_attribute_of_a_loop_item_names_what_the_item_is() -> None:
    """A typo on a task inside a loop says which kind of value it was read from."""
    assert problems("x\n{% for task in done %}\n- {{ task.titel }}\n{% endfor %}\n") == [
        "note.j2:3:11: unknown attribute 'titel' of a done task (in done); did you mean 'title'?"
    ]


def test_every_unknown_variable_is_reported_at_each_line() -> None:
    """Unknown variables are found in the syntax tree, so all of them at once, even in branches never taken."""
    source = "{{ acount.name }}\n{% if false %}\n{{ handof_date }}\n{% endif %}\n{{ acount.id }}\n"
    assert problems(source) == [
        "note.j2:1:4: unknown variable 'acount'; did you mean 'account'?",
        (
            "note.j2:3:4: unknown variable 'handof_date'; valid names: "
            "account, csm, goals, done, open, adoption, risks, timing, committee"
        ),
        "note.j2:5:4: unknown variable 'acount'; did you mean 'account'?",
    ]


def test_reading_a_field_of_an_empty_value_asks_for_a_guard() -> None:
    """`csm.email` without `{% if csm %}` fails on an account without a CSM, and says how to fix it."""
    assert problems("{{ csm.email }}") == [
        (
            "note.j2:1:8: cannot read 'email' of a value that is empty (none) on some accounts; "
            "guard it with {% if ... %}, as the default template does"
        )
    ]


@pytest.mark.parametrize(
    ("source", "line"),
    [
        ("Hello\n{% if csm %}\nno end\n", 3),
        ("a\nb\n{{ account.name }\n", 3),
        ("a\n{% for x in %}{% endfor %}\n", 2),
        ("{% endif %}", 1),
    ],
)
def test_a_syntax_error_is_reported_at_its_line(tmp_path: Path, source: str, line: int) -> None:
    """Jinja2's syntax errors keep the line Jinja2 found them on."""
    error = load_error(tmp_path, source)
    assert [(p.line, p.message.split(":")[0]) for p in error.problems] == [(line, "template syntax")]


def test_an_unknown_filter_suggests_the_closest_one() -> None:
    """A misspelt filter is a syntax problem with the nearest real filter as the hint."""
    assert problems("x\n{{ account.name | uper }}") == [
        "note.j2:2: template syntax: No filter named 'uper'; did you mean 'upper'?"
    ]


@pytest.mark.parametrize(
    "expression",
    [
        "''.__class__.__mro__",
        "account.__class__",
        "account.name.__class__.__base__.__subclasses__()",
        "account['__dict__']",
        "cycler.__init__.__globals__",
    ],
)
def test_sandbox_escapes_are_refused_at_load(tmp_path: Path, expression: str) -> None:
    """Walking to Python internals is a configuration error at its line, even inside a branch never taken."""
    for source in (f"ok\n{{{{ {expression} }}}}\n", f"ok\n{{% if false %}}{{{{ {expression} }}}}{{% endif %}}\n"):
        error = load_error(tmp_path, source)
        assert {p.line for p in error.problems} == {2}
        assert all("is not allowed" in p.message for p in error.problems)


def test_the_sandbox_itself_refuses_what_the_static_check_cannot_see() -> None:
    """An unsafe attribute reached through a filter is refused by the sandbox while rendering a sample."""
    found = problems("x\n{{ account | attr('__class__') }}\n")
    assert found == [
        "note.j2:2: not allowed in the sandbox: access to attribute '__class__' of 'Account' object is unsafe."
    ]


@pytest.mark.parametrize(
    ("tag", "name"),
    [
        ("{% include 'other.j2' %}", "include"),
        ("{% import 'macros.j2' as m %}", "import"),
        ("{% from 'macros.j2' import m %}", "from ... import"),
        ("{% extends 'base.j2' %}", "extends"),
    ],
)
def test_include_import_and_extends_are_forbidden(tag: str, name: str) -> None:
    """The template must be one self-contained file; each loading tag is refused at its line."""
    assert problems(f"Hello\n\n{tag}\n") == [
        (
            f"note.j2:3: '{{% {name} %}}' is not allowed; "
            "the note template must be one self-contained file: write the text here instead"
        )
    ]


def test_a_failure_on_a_sparse_sample_is_reported_once_at_its_line() -> None:
    """An expression that breaks on an account without a sale date is caught before any note is written."""
    assert problems("a\n{{ timing.days + 1 }}\n") == [
        (
            "note.j2:2: fails on a sample account: TypeError: unsupported operand type(s) for +: 'NoneType' and 'int'; "
            "an account may have empty lists and no dates"
        )
    ]


def test_missing_empty_and_non_utf8_files_are_config_errors(tmp_path: Path) -> None:
    """A missing, empty or undecodable template stops the load with a message naming the file."""
    with pytest.raises(ConfigError, match="does not exist"):
        load_note_template(tmp_path / "absent.j2")
    assert "is empty" in str(load_error(tmp_path, "  \n"))
    path = tmp_path / "latin.j2"
    path.write_bytes("Caf\xe9".encode("latin-1"))
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_note_template(path)
