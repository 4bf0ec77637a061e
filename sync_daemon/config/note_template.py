"""Load the handoff-note template (``config/handoff_note.txt.j2``) and check it before any note is written.

Admins edit this file by hand, so every mistake is found at load time, at its line, with the fix:

* Jinja2 syntax errors (and unknown filters) at the line Jinja2 reports;
* ``include`` / ``import`` / ``extends``: the template is one self-contained file (there is no loader);
* sandbox escapes such as ``''.__class__``, found in the template's syntax tree, so also in branches a
  sample account never reaches;
* unknown variables, found in the syntax tree, each occurrence at its line;
* unknown attributes (``csm.emial``), found by rendering the template against sample accounts that between
  them take every branch of the default template (full, sparse, in between) under ``StrictUndefined``, and
  placed at the line Jinja2's rewritten traceback gives. Each suggests the closest valid name.
"""

from __future__ import annotations

import re
from dataclasses import fields, is_dataclass
from datetime import date
from typing import TYPE_CHECKING

from jinja2 import meta, nodes
from jinja2.exceptions import SecurityError, TemplateSyntaxError

from sync_daemon.config.errors import ConfigError, Problem, did_you_mean
from sync_daemon.domain import handoff_note as hn
from sync_daemon.domain.handoff_note import UnknownNameError, note_environment, template_line

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from jinja2 import Template

__all__ = ["NOTE_TEMPLATE_FILE", "check_note_template", "load_note_template", "sample_contexts"]

NOTE_TEMPLATE_FILE = "handoff_note.txt.j2"
TOP_LEVEL = tuple(f.name for f in fields(hn.HandoffContext))
_FORBIDDEN = {nodes.Include: "include", nodes.Import: "import", nodes.FromImport: "from ... import"}
_VARIABLE = object()  # marks a missing top-level variable (as opposed to an attribute of a value)
_LABELS: dict[type, str] = {
    hn.Account: "account",
    hn.Csm: "csm",
    hn.Adoption: "adoption",
    hn.Risks: "risks",
    hn.Timing: "timing",
    hn.AssessmentScore: "risks.low_assessment",
    hn.DoneTask: "a done task (in done)",
    hn.OpenTask: "an open task (in open or risks.overdue)",
    hn.Kpi: "a KPI (in adoption.kpis)",
    hn.PersonaGroup: "a persona group (in committee)",
    hn.Member: "a committee member (in group.members)",
}


def load_note_template(path: Path) -> hn.NoteTemplate:
    """Read and fully check the template at ``path``; raise :class:`ConfigError` listing every problem."""
    origin = str(path)
    try:
        source = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError([Problem(origin, None, None, "the handoff note template does not exist", _RESTORE)]) from None
    except UnicodeDecodeError as exc:
        raise ConfigError([Problem(origin, None, None, f"not UTF-8 text ({exc.reason})", "save it as UTF-8")]) from None
    problems = check_note_template(source, origin)
    if problems:
        raise ConfigError(problems)
    return hn.NoteTemplate.compile(source, origin)


_RESTORE = f"copy the default {NOTE_TEMPLATE_FILE} from the shipped config/ folder"


def check_note_template(source: str, origin: str) -> list[Problem]:
    """Every problem of a template's text (none when it is valid); ``origin`` names it in messages."""
    if not source.strip():
        return [Problem(origin, None, None, "the handoff note template is empty", _RESTORE)]
    env = note_environment()
    try:
        tree = env.parse(source)
        template = env.from_string(source)  # compiling finds unknown filters and tests
    except TemplateSyntaxError as exc:
        return [_syntax_problem(origin, exc)]
    forbidden = list(_forbidden_tags(tree, origin))
    if forbidden:  # nothing to render: these fail for want of a loader, hiding the real message
        return forbidden
    problems = [*_private_attributes(tree, origin), *_unknown_variables(tree, source, origin)]
    seen = {p.line for p in problems}
    for context in sample_contexts():
        problem = _render_problem(template, context, source, origin)
        if problem is not None and problem.line not in seen:  # one problem per line: samples fail alike
            problems.append(problem)
            seen.add(problem.line)
    return problems


def _syntax_problem(origin: str, exc: TemplateSyntaxError) -> Problem:
    hint = None
    unknown = re.match(r"No (filter|test) named '([^']+)'", exc.message or "")
    if unknown:
        known = note_environment().filters if unknown.group(1) == "filter" else note_environment().tests
        hint = did_you_mean(unknown.group(2), known)
    return Problem(origin, exc.lineno, None, f"template syntax: {(exc.message or '').rstrip('.')}", hint)


def _forbidden_tags(tree: nodes.Template, origin: str) -> Iterator[Problem]:
    hint = "the note template must be one self-contained file: write the text here instead"
    for node in tree.find_all((nodes.Extends, *_FORBIDDEN)):
        tag = "extends" if isinstance(node, nodes.Extends) else _FORBIDDEN[type(node)]
        yield Problem(origin, node.lineno, None, f"'{{% {tag} %}}' is not allowed", hint)


def _private_attributes(tree: nodes.Template, origin: str) -> Iterator[Problem]:
    hint = "the template runs in a sandbox: use only the note's variables and their fields"
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        name = node.attr if isinstance(node, nodes.Getattr) else getattr(node, "arg", None)
        name = name.value if isinstance(name, nodes.Const) else name
        if isinstance(name, str) and name.startswith("_"):
            yield Problem(origin, node.lineno, None, f"access to '{name}' is not allowed", hint)


def _unknown_variables(tree: nodes.Template, source: str, origin: str) -> Iterator[Problem]:
    known = {*TOP_LEVEL, *note_environment().globals}
    unknown = meta.find_undeclared_variables(tree) - known
    for node in tree.find_all(nodes.Name):
        if node.name in unknown and node.ctx == "load":
            yield _name_problem(origin, source, node.lineno, _VARIABLE, node.name)


def _render_problem(template: Template, context: hn.HandoffContext, source: str, origin: str) -> Problem | None:
    try:
        template.render(context.variables())
    except UnknownNameError as exc:
        owner = _VARIABLE if exc.is_variable else exc.owner
        return _name_problem(origin, source, template_line(exc), owner, exc.name)
    except SecurityError as exc:
        return Problem(origin, template_line(exc), None, f"not allowed in the sandbox: {exc}", None)
    except Exception as exc:  # noqa: BLE001 - any failure on a sample account is the admin's to fix
        message = f"fails on a sample account: {type(exc).__name__}: {exc}"
        return Problem(origin, template_line(exc), None, message, "an account may have empty lists and no dates")
    return None


def _name_problem(origin: str, source: str, line: int | None, owner: object, name: object) -> Problem:
    column = _column(source, line, name)
    if owner is _VARIABLE:
        return Problem(origin, line, column, f"unknown variable '{name}'", _hint(name, TOP_LEVEL))
    if owner is None:
        message = f"cannot read '{name}' of a value that is empty (none) on some accounts"
        return Problem(origin, line, column, message, "guard it with {% if ... %}, as the default template does")
    if not isinstance(name, str):
        return Problem(origin, line, None, f"{type(owner).__name__} value has no element {name!r}", None)
    label = _LABELS.get(type(owner), f"a {type(owner).__name__} value")
    return Problem(origin, line, column, f"unknown attribute '{name}' of {label}", _hint(name, attributes(owner)))


def _hint(name: object, choices: tuple[str, ...]) -> str:
    near = did_you_mean(str(name), choices)
    if near:
        return near
    return f"valid names: {', '.join(choices)}" if choices else "see the default template for valid names"


def attributes(owner: object) -> tuple[str, ...]:
    """The names a template may read on ``owner``: a context dataclass's fields and properties."""
    if not is_dataclass(owner):
        return ()
    cls = type(owner)
    props = [n for n in dir(cls) if not n.startswith("_") and isinstance(getattr(cls, n), property)]
    return (*(f.name for f in fields(owner)), *props)


def _column(source: str, line: int | None, name: object) -> int | None:
    lines = source.splitlines()
    if line is None or not isinstance(name, str) or not 0 < line <= len(lines):
        return None
    found = re.search(rf"(?<![\w]){re.escape(name)}(?!\w)", lines[line - 1])
    return found.start() + 1 if found else None


def sample_contexts() -> tuple[hn.HandoffContext, ...]:
    """Accounts that, between them, take every branch of the default template: full, sparse, in between."""
    return (_full_sample(), _sparse_sample(), _middle_sample())


_DAY = date(2025, 3, 3)


def _full_sample() -> hn.HandoffContext:
    late = hn.OpenTask("Connect SSO", "customer", "IT admin", date(2025, 2, 1), overdue=True)
    return hn.HandoffContext(
        account=hn.Account("001SAMPLE", "Sample Corp"),
        csm=hn.Csm("Jane Doe", "jane@example.com", "+1 555 0100"),
        goals="Go live with two teams.\nCut response time by half.",
        done=(hn.DoneTask("Kickoff", "vendor", "Onboarding lead", date(2024, 12, 2)),),
        open=(late, hn.OpenTask("Train admins", "vendor", "Trainer", _DAY, overdue=False)),
        adoption=hn.Adoption("partial_utilization", date(2025, 2, 20), adopted=True, kpis=(hn.Kpi("mrr", 2400),)),
        risks=hn.Risks((late,), 12, ("decision_maker",), hn.AssessmentScore(4, 10, date(2025, 3, 1))),
        timing=hn.Timing(date(2024, 11, 1), _DAY, 90),
        committee=(hn.PersonaGroup("champion", (hn.Member("Ann Lee", "Head of Ops"), hn.Member("Bo Chu"))),),
    )


def _sparse_sample() -> hn.HandoffContext:
    return hn.HandoffContext(
        account=hn.Account("001SPARSE", "Sparse Ltd"),
        csm=None,
        goals="",
        done=(),
        open=(),
        adoption=hn.Adoption("inactive", None, adopted=False),
        risks=hn.Risks(),
        timing=hn.Timing(None, _DAY, 90),
        committee=(),
    )


def _middle_sample() -> hn.HandoffContext:
    return hn.HandoffContext(
        account=hn.Account("001MIDDLE", "Middle GmbH"),
        csm=hn.Csm("Sam Roe"),
        goals="One team live.",
        done=(),
        open=(hn.OpenTask("Sign DPA", "customer", "Legal", None, overdue=False),),
        adoption=hn.Adoption("implementing", None, adopted=False, kpis=(hn.Kpi("active_users", None),)),
        risks=hn.Risks(slip_days=3),
        timing=hn.Timing(date(2025, 1, 2), _DAY, 90),
        committee=(hn.PersonaGroup("decision_maker"), hn.PersonaGroup("unknown", (hn.Member("Kim Poe"),))),
    )
