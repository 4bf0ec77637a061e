"""Evaluate the plan files' conditions on account fields, and say why they held or failed.

A condition decides which template an account gets and when a task counts as done, so a person
reading the CRM must be able to ask "why?". :func:`evaluate` therefore returns, besides the answer,
every clause that decided it together with the value it actually saw; :func:`explain` renders that
as one line (``contract_value 180000 >= 150000 ✓; tier 'SMB' = 'Enterprise' ✗``).

The form is structured data, never code (no ``eval``). Values arrive as the CRM sends them: HubSpot
sends text (``"180000"``, ``"true"``, ``"a;b"``), Salesforce typed JSON. The *expected* value says
how to read the actual one: a number compares numerically, a date (or ``YYYY-MM-DD`` text) as a
date, ``true``/``false`` as a boolean, anything else as case-sensitive text. A value that is
missing, ``None``, blank or an empty list is *not set*: it fails every test except ``ne``,
``not_in`` and ``is_not_set``. A value that cannot be read as the expected kind (``"n/a"`` against
a number) is never equal to it and never ordered against it.
"""

from __future__ import annotations

import operator
import re
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from sync_daemon.config.plan_models import AllOf, Clause, Completion, NotOf
from sync_daemon.domain.values import normalize

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from connectors.base import FieldType
    from sync_daemon.config.plan_models import Condition

__all__ = ["ClauseResult", "Verdict", "completion_condition", "evaluate", "explain"]

STEPS_FIELD = "onboarding_steps"
"""The canonical account field holding the onboarding steps people tick in the CRM."""

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_HOLDS_WHEN_UNSET = frozenset({"ne", "not_in", "is_not_set"})
_ORDER: dict[str, Callable[[Any, Any], bool]] = {
    "gt": operator.gt,
    "gte": operator.ge,
    "lt": operator.lt,
    "lte": operator.le,
}
_SYMBOL = {
    "eq": "=",
    "ne": "≠",
    "gt": ">",
    "gte": ">=",
    "lt": "<",
    "lte": "<=",
    "in": "in",
    "not_in": "not in",
    "contains": "contains",
    "is_set": "is set",
    "is_not_set": "is not set",
}
Kind = Literal["number", "date", "boolean", "text"]
_FIELD_TYPE: dict[Kind, FieldType] = {"number": "number", "date": "date", "boolean": "boolean", "text": "string"}


@dataclass(frozen=True, slots=True)
class ClauseResult:
    """One clause as evaluated: ``field op expected``, the value seen, and whether it held.

    ``actual`` is the value as read for the comparison (a number, date, boolean, text, or the tuple of
    options for ``contains``), ``None`` when the field was not set, or the raw value when it could not
    be read as the expected kind. ``holds`` is the clause's own truth; ``negated`` says it sat under
    an odd number of ``not``, so it counted the other way round.
    """

    field: str
    op: str
    expected: object
    actual: object
    holds: bool
    negated: bool = False


@dataclass(frozen=True, slots=True)
class Verdict:
    """The outcome of a condition and every clause that decided it, in the order written."""

    holds: bool
    clauses: tuple[ClauseResult, ...]


def evaluate(condition: Condition, fields: Mapping[str, object]) -> Verdict:
    """Evaluate ``condition`` on an account's ``fields`` (canonical names to CRM values).

    Every branch is evaluated (no short cut) so the verdict can name all deciding clauses: for
    ``all`` the failing ones when it fails (all of them when it holds), for ``any`` the holding ones
    when it holds (all of them when it fails).
    """
    if isinstance(condition, Clause):
        result = _clause(condition, fields)
        return Verdict(result.holds, (result,))
    if isinstance(condition, NotOf):
        inner = evaluate(condition.not_, fields)
        flipped = tuple(replace(c, negated=not c.negated) for c in inner.clauses)
        return Verdict(not inner.holds, flipped)
    children = [evaluate(c, fields) for c in (condition.all if isinstance(condition, AllOf) else condition.any)]
    return _combine(children, want_all=isinstance(condition, AllOf))


def _combine(children: list[Verdict], *, want_all: bool) -> Verdict:
    """Join children of ``all`` (``want_all``) or ``any``, keeping the clauses that decided."""
    outcomes = [c.holds for c in children]
    holds = all(outcomes) if want_all else any(outcomes)
    # all fails / any holds: decided by the children that agree with the outcome; else by all of them.
    deciders = [c for c in children if c.holds == holds] if holds != want_all else children
    return Verdict(holds, tuple(r for c in deciders for r in c.clauses))


def completion_condition(completion: Completion) -> Condition:
    """The condition equivalent of a task's ``done_when`` (a step, a field, or a condition).

    A ``step`` is ticked when the steps field contains it; a ``field`` marks the task done when it
    is set and not false (a checkbox left unticked is a value, but not a "done").
    """
    if completion.when is not None:
        return completion.when
    if completion.step is not None:
        return Clause(field=STEPS_FIELD, op="contains", value=completion.step)
    if completion.field is None:
        raise ValueError("a completion needs one of step, field or when")
    is_set = Clause(field=completion.field, op="is_set")
    return AllOf(all=[is_set, Clause(field=completion.field, op="ne", value=False)])


def _clause(clause: Clause, fields: Mapping[str, object]) -> ClauseResult:
    """Evaluate one clause; an unset field holds only for ne, not_in and is_not_set."""
    raw = fields.get(clause.field)
    expected = clause.value
    if _is_unset(raw):
        return ClauseResult(clause.field, clause.op, expected, None, holds=clause.op in _HOLDS_WHEN_UNSET)
    if clause.op in ("is_set", "is_not_set"):
        return ClauseResult(clause.field, clause.op, None, _shown(raw), holds=clause.op == "is_set")
    if clause.op == "contains":
        return _contains(clause, raw)
    if clause.op in ("in", "not_in"):
        choices = expected if isinstance(expected, list) else [expected]
        found = any(_equal(raw, choice) for choice in choices)
        actual = _read(raw, _kind(choices[0])) if choices else _shown(raw)
        return ClauseResult(clause.field, clause.op, expected, actual, holds=found == (clause.op == "in"))
    actual, want = _read(raw, _kind(expected)), _read(expected, _kind(expected))
    return ClauseResult(clause.field, clause.op, expected, actual, holds=_compare(clause.op, actual, want))


def _contains(clause: Clause, raw: object) -> ClauseResult:
    """A multi-select (``'a;b'`` or a list) holds every wanted option (one, or each of a list)."""
    options = normalize(raw, "multipicklist")
    wanted = clause.value if isinstance(clause.value, list) else [clause.value]
    texts = [normalize(w, "string") for w in wanted]
    holds = isinstance(options, tuple) and all(t in options for t in texts)
    return ClauseResult(clause.field, clause.op, clause.value, options, holds=holds)


def _is_unset(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    return isinstance(value, list | tuple | set | frozenset) and not value


def _kind(expected: object) -> Kind:
    """How to read values compared with ``expected``: decided by the admin's value, never the CRM's."""
    if isinstance(expected, bool):
        return "boolean"
    if isinstance(expected, int | float | Decimal):
        return "number"
    if isinstance(expected, date) or (isinstance(expected, str) and _ISO_DATE.fullmatch(expected)):
        return "date"
    return "text"


def _read(value: object, kind: Kind) -> object:
    """``value`` in the comparable form of ``kind``; the raw value when it cannot be read so."""
    try:
        return normalize(value, _FIELD_TYPE[kind])
    except ValueError:  # a naive datetime: unreadable here, so it compares with nothing
        return value


def _equal(raw: object, expected: object) -> bool:
    kind = _kind(expected)
    return _compare("eq", _read(raw, kind), _read(expected, kind))


def _compare(op: str, actual: object, expected: object) -> bool:
    """Compare two read values; values of different kinds are unequal and unordered."""
    comparable = type(actual) is type(expected)
    if op == "eq":
        return comparable and actual == expected
    if op == "ne":
        return not (comparable and actual == expected)
    if not comparable or isinstance(actual, bool):
        return False
    return _ORDER[op](actual, expected)


def _shown(raw: object) -> object:
    """A raw value for display (whitespace-trimmed text; other values as they came)."""
    return raw.strip() if isinstance(raw, str) else raw


def explain(verdict: Verdict) -> str:
    """Render the deciding clauses for people: ``contract_value 180000 >= 150000 ✓; tier 'SMB' = 'Enterprise' ✗``."""
    return "; ".join(_render(c) for c in verdict.clauses)


def _render(result: ClauseResult) -> str:
    mark = "✓" if result.holds else "✗"
    actual = _value(result.actual)
    if result.op in ("is_set", "is_not_set"):
        text = f"{result.field} {actual} {_SYMBOL[result.op]} {mark}"
    else:
        text = f"{result.field} {actual} {_SYMBOL[result.op]} {_value(_as_read(result.expected))} {mark}"
    return f"not ({text})" if result.negated else text


def _as_read(expected: object) -> object:
    """The admin's value as compared (``'2026-04-01'`` is a date), element by element for a list."""
    if isinstance(expected, list):
        return [_read(e, _kind(e)) for e in expected]
    return _read(expected, _kind(expected))


def _value(value: object) -> str:
    """A value as people read it: numbers plain, text quoted, dates ISO, lists bracketed."""
    if value is None:
        return "(not set)"
    if isinstance(value, list | tuple | set | frozenset):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | Decimal):
        number = normalize(value, "number")
        return f"{number:f}" if isinstance(number, Decimal) else str(number)
    return value.isoformat() if isinstance(value, date) else f"'{value}'"
