"""Rules of the plan files that the models alone cannot say, checked on the raw YAML data.

Like :mod:`sync_daemon.config.checks`, they run on the data as read (not on the validated model) so
they still report when pydantic found something else wrong in the same file. Some values are owned
here: a bad duration or holiday gets a message in an admin's words from this module, and the model
then sees a neutral stand-in (``stand_ins``) so the same mistake is not reported twice, in jargon.
Anything of the wrong shape is skipped: the model validation reports it.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING, get_args

from sync_daemon.config.errors import Problem, closest, did_you_mean, one_of
from sync_daemon.config.plan_graph import check_dependencies
from sync_daemon.config.plan_models import InternalCategory
from sync_daemon.config.yaml_positions import YamlDocument, YamlPath, dotted

if TYPE_CHECKING:
    from collections.abc import Collection

IDENTIFIER = re.compile(r"[a-z][a-z0-9_]*")
_DURATION = re.compile(r"\d{1,4}(bd|d|w)")
_LOOSE_DURATION = re.compile(r"(\d{1,4})\s*(business\s*days?|working\s*days?|bd|weeks?|wks?|w|days?|d)", re.IGNORECASE)
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_LIST_OPS = frozenset({"in", "not_in"})
_NO_VALUE_OPS = frozenset({"is_set", "is_not_set"})
_ORDER_OPS = frozenset({"gt", "gte", "lt", "lte"})
_COMPLETION_KEYS = ("step", "field", "when")
_CLAUSE_KEYS = ("field", "op", "value")
_COMBINE_KEYS = ("all", "any", "not")
_CATEGORIES = get_args(InternalCategory)
_STEPS_FIELD = "onboarding_steps"
_DURATION_HELP = "write a number and a unit, like 5bd (business days), 3d (calendar days) or 2w (weeks)"


def get(data: object, *keys: object) -> object:
    """The value at ``keys`` below ``data``; ``None`` when a step is missing or of the wrong shape."""
    for key in keys:
        if isinstance(data, dict):
            data = data.get(key)
        elif isinstance(data, list) and isinstance(key, int) and 0 <= key < len(data):
            data = data[key]
        else:
            return None
    return data


def items(data: object, *keys: object) -> list[object]:
    """The list at ``keys`` (empty when absent or not a list)."""
    found = get(data, *keys)
    return found if isinstance(found, list) else []


class PlanChecker:
    """Collects the problems of one plan file; one method per rule."""

    def __init__(self, doc: YamlDocument, known_fields: Collection[str]) -> None:
        self.doc = doc
        self.data = doc.data
        self.known_fields = frozenset(known_fields)
        self.problems: list[Problem] = []
        self.stand_ins: dict[YamlPath, object] = {}

    def at(self, path: YamlPath, message: str, hint: str | None = None, *, key: bool = False) -> None:
        """Record a problem at the value (or with ``key``, the key) at ``path``."""
        line, col = self.doc.positions.key_at(path) if key else self.doc.positions.at(path)
        self.problems.append(Problem(self.doc.file, line, col, message, hint))

    def where(self, path: YamlPath) -> str:
        """Where the value at ``path`` sits, for "first defined at ..." hints."""
        line, col = self.doc.positions.at(path)
        return f"line {line}, column {col}"

    # -- templates ---------------------------------------------------------------------------------

    def template(self) -> None:
        """Every rule of a template file: tasks, durations, dependencies, completions."""
        tasks = list(self._tasks())
        self._duplicates("phase", [(get(p, "id"), (*path, "id")) for path, p in self._phases()])
        self._duplicates("task", [(get(t, "id"), (*path, "id")) for path, t in tasks])
        for path, task in tasks:
            self._durations(path, task)
            self._category(path, task)
            self._completion(path, task)
        self.problems.extend(check_dependencies(self.doc, tasks))

    def _phases(self) -> list[tuple[YamlPath, object]]:
        return [(("phases", i), phase) for i, phase in enumerate(items(self.data, "phases"))]

    def _tasks(self) -> list[tuple[YamlPath, dict[object, object]]]:
        return [
            ((*path, "tasks", j), task)
            for path, phase in self._phases()
            for j, task in enumerate(items(phase, "tasks"))
            if isinstance(task, dict)
        ]

    def _duplicates(self, what: str, named: list[tuple[object, YamlPath]]) -> None:
        """Ids must be unique (task ids across all phases of the template)."""
        first: dict[str, YamlPath] = {}
        for name, path in named:
            if not isinstance(name, str):
                continue
            if name in first:
                hint = f"first defined at {self.where(first[name])}"
                self.at(path, f"duplicate {what} id '{name}'", hint)
            first.setdefault(name, path)

    def _durations(self, path: YamlPath, task: dict[object, object]) -> None:
        for key in ("duration", "due"):
            value = task.get(key)
            if value is None or isinstance(value, bool) or not isinstance(value, str | int):
                continue  # absent (the model says if it is required) or of another shape
            if isinstance(value, str) and _DURATION.fullmatch(value):
                continue
            where = (*path, key)
            self.at(where, f"{key} of task {_name(task)}: '{value}' is not a duration; {_DURATION_HELP}", _fix(value))
            self.stand_ins[where] = "1d"

    def _category(self, path: YamlPath, task: dict[object, object]) -> None:
        kind, category = task.get("kind"), task.get("category")
        if kind == "internal" and category is None:
            hint = f"add category: one of {one_of(_CATEGORIES)}"
            self.at((*path, "kind"), f"internal task {_name(task)} needs a category", hint)
        elif kind == "customer_facing" and category is not None:
            hint = "remove category, or set kind: internal"
            self.at((*path, "category"), f"category is for internal tasks; {_name(task)} is customer_facing", hint)

    def _completion(self, path: YamlPath, task: dict[object, object]) -> None:
        done = task.get("done_when")
        if not isinstance(done, dict):
            return
        where = (*path, "done_when")
        self.keys(done, where, _COMPLETION_KEYS)
        given = [k for k in _COMPLETION_KEYS if done.get(k) is not None]
        if len(given) > 1:
            message = f"done_when of task {_name(task)} has {' and '.join(given)}: use exactly one"
            self.at(where, message, "combine several conditions with any: [...] in when", key=True)
        elif not given and set(done) <= set(_COMPLETION_KEYS):  # a misspelt key is reported as such
            message = f"done_when of task {_name(task)} needs one of step, field or when"
            self.at(where, message, "omit done_when for a task done by hand only", key=True)
        if isinstance(done.get("field"), str):
            self.field_name((*where, "field"), done["field"])
        if isinstance(done.get("step"), str) and _STEPS_FIELD not in self.known_fields:
            hint = f"map {_STEPS_FIELD} in accounts.pull, or complete the task by a field or a condition"
            self.at((*where, "step"), f"the mapping does not pull {_STEPS_FIELD}, so a step is never ticked", hint)
        self.condition(done.get("when"), (*where, "when"))

    # -- conditions --------------------------------------------------------------------------------

    def condition(self, node: object, path: YamlPath) -> None:
        """Walk a condition (clause, all, any, not) and check every clause in it."""
        if not isinstance(node, dict):
            return
        if "field" in node or "op" in node:
            self.keys(node, path, _CLAUSE_KEYS)
            self._clause(node, path)
            return
        combined = [k for k in _COMBINE_KEYS if k in node]
        self.keys(node, path, combined or (*_COMBINE_KEYS, *_CLAUSE_KEYS))
        for key, child in node.items():
            meant = key if key in _COMBINE_KEYS else None if combined else _closest_of(key, _COMBINE_KEYS)
            if meant == "not":
                self.condition(child, (*path, key))
            elif meant is not None:
                for i, item in enumerate(items(node, key)):
                    self.condition(item, (*path, key, i))

    def keys(self, node: dict[object, object], path: YamlPath, allowed: Collection[str]) -> None:
        """Unknown keys, with the nearest valid one (the model alone cannot tell inside an optional)."""
        for key in node:
            if isinstance(key, str) and key not in allowed:
                hint = did_you_mean(key, allowed) or f"valid keys: {one_of(allowed)}"
                self.at((*path, key), f"unknown key '{key}' in {dotted(path)}", hint, key=True)

    def field_name(self, path: YamlPath, name: object) -> None:
        """A field named in a condition or a completion must be one the mapping pulls."""
        if not isinstance(name, str) or not IDENTIFIER.fullmatch(name) or name in self.known_fields:
            return
        hint = did_you_mean(name, self.known_fields) or "use a canonical account field or a KPI name of the mapping"
        self.at(path, f"unknown field '{name}' in {dotted(path[:-1])}", hint)

    def _clause(self, clause: dict[object, object], path: YamlPath) -> None:
        self.field_name((*path, "field"), clause.get("field"))
        op, value = clause.get("op"), clause.get("value")
        where = (*path, "value") if "value" in clause else path
        problem = _op_value_problem(op, value)
        if problem is not None:
            self.at(where, problem[0], problem[1])


def _closest_of(key: object, choices: Collection[str]) -> str | None:
    return closest(key, choices) if isinstance(key, str) else None


def _op_value_problem(op: object, value: object) -> tuple[str, str | None] | None:
    """What is wrong with ``value`` for ``op`` (in takes a list, is_set nothing...), if anything."""
    if op in _LIST_OPS:
        if not isinstance(value, list):
            return f"op '{op}' needs a list of values", "e.g. value: [A, B]"
        return (f"op '{op}' has an empty list, which matches nothing", None) if not value else None
    if op in _NO_VALUE_OPS:
        return (f"op '{op}' takes no value", "remove value") if value is not None else None
    if op in (*_ORDER_OPS, "eq", "ne", "contains"):
        return _single_value_problem(str(op), value)
    return None  # an unknown op: the model names the valid ones


def _single_value_problem(op: str, value: object) -> tuple[str, str | None] | None:
    """eq, ne and the orderings take one value (orderings: a number or a date); contains one or a list."""
    if value is None:
        return f"op '{op}' needs a value", None
    if isinstance(value, list) and op != "contains":
        return f"op '{op}' takes one value, not a list", "use op: in for a list"
    if op in _ORDER_OPS and not _orderable(value):
        return f"op '{op}' compares numbers or dates (YYYY-MM-DD); found {_shown(value)}", None
    return None


def _orderable(value: object) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int | float | dt.date) or (isinstance(value, str) and bool(ISO_DATE.fullmatch(value)))


def _shown(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return f"'{value}'"


def _name(task: dict[object, object]) -> str:
    name = task.get("id")
    return f"'{name}'" if isinstance(name, str) else "(no id)"


def _fix(value: str | int) -> str | None:
    """A near-miss duration's likely meaning: ``5 days`` is 5d, ``2 weeks`` 2w, ``10`` 10d or 10bd."""
    if isinstance(value, int):
        return f"did you mean '{value}d' or '{value}bd'?"
    match = _LOOSE_DURATION.fullmatch(value.strip())
    if match is None:
        return None
    number, unit = match.group(1), match.group(2).lower()
    if unit.startswith(("business", "working")) or unit == "bd":
        return f"did you mean '{number}bd'?"
    return f"did you mean '{number}{unit[0]}'?"
