"""Load the onboarding-plan folder (``config/plans/``): ``plans.yaml`` plus one file per template.

The whole folder is read and every check runs before anything is decided, so an admin sees every
problem of every file at once, each at its file, line and column, and bad plans stop the daemon
before any write. Field names in conditions are checked against the fields the mapping pulls
(:func:`known_account_fields`): a condition on a field the daemon never reads could never hold.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from pydantic import BaseModel

from sync_daemon.config.errors import ConfigError, Problem, sort_problems
from sync_daemon.config.plan_checks import PlanChecker, get
from sync_daemon.config.plan_config_checks import PlansConfigChecker
from sync_daemon.config.plan_models import PlansConfig, PlanTemplate
from sync_daemon.config.translate import validate_document
from sync_daemon.config.yaml_positions import YamlDocument, YamlPath, read_yaml
from sync_daemon.domain.conditions import Verdict, evaluate

if TYPE_CHECKING:
    from collections.abc import Collection, Mapping
    from pathlib import Path

    from sync_daemon.config.models import MappingFile

__all__ = ["PLANS_FILE", "PlanSet", "known_account_fields", "load_plans", "validate_plans"]

PLANS_FILE = "plans.yaml"
M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class PlanSet:
    """The validated plan folder: segment rules, calendar and health, and the templates by id."""

    config: PlansConfig
    templates: Mapping[str, PlanTemplate]

    def choose(self, fields: Mapping[str, object]) -> tuple[PlanTemplate, Verdict | None]:
        """The template for an account: the first segment rule that holds (and why), else the default."""
        for rule in self.config.segments:
            verdict = evaluate(rule.when, fields)
            if verdict.holds:
                return self.templates[rule.template], verdict
        return self.templates[self.config.default], None


def known_account_fields(mapping: MappingFile) -> frozenset[str]:
    """Account fields a condition may name: pulled canonical fields, KPIs and daemon-owned fields."""
    accounts = mapping.accounts
    return frozenset(accounts.pull) | frozenset(accounts.kpis) | frozenset(accounts.push)


def load_plans(directory: Path, known_fields: Collection[str]) -> PlanSet:
    """Load and fully validate the plan folder; raise :class:`ConfigError` listing every problem."""
    plan_set, problems = _load(directory, frozenset(known_fields))
    if problems or plan_set is None:
        raise ConfigError(problems)
    return plan_set


def validate_plans(directory: Path, mapping: MappingFile) -> list[Problem]:
    """Every problem of the plan folder against ``mapping`` (none when valid), for ``validate``."""
    try:
        load_plans(directory, known_account_fields(mapping))
    except ConfigError as exc:
        return list(exc.problems)
    return []


def _load(directory: Path, known: frozenset[str]) -> tuple[PlanSet | None, list[Problem]]:
    plans_path = directory / PLANS_FILE
    if not directory.is_dir():
        return None, [Problem(str(directory), None, None, "the plans folder does not exist", "see config/plans/")]
    problems: list[Problem] = []
    templates: dict[str, PlanTemplate] = {}
    claimed: dict[str, str] = {}  # template id -> "file:line" of the first file using it
    for path in _template_paths(directory):
        doc, found = _read(path)
        problems.extend(found)
        if doc is None:
            claimed.setdefault(path.stem, str(path))  # unreadable: assume its id is its name
            continue
        template, found = _template(doc, known)
        problems.extend([*found, *_claim_id(doc, claimed)])
        if template is not None:
            templates[template.id] = template
    if not plans_path.is_file():
        hint = "it names the default template and the segment rules; see config/plans/plans.yaml"
        return None, [*problems, Problem(str(plans_path), None, None, "the file is missing", hint)]
    config, found = _plans_file(plans_path, known, set(claimed))
    problems = sort_problems([*problems, *found])
    if problems or config is None:
        return None, problems
    return PlanSet(config, templates), []


def _template_paths(directory: Path) -> list[Path]:
    found = [*directory.glob("*.yaml"), *directory.glob("*.yml")]
    return sorted(p for p in found if p.name != PLANS_FILE and p.is_file())


def _template(doc: YamlDocument, known: frozenset[str]) -> tuple[PlanTemplate | None, list[Problem]]:
    checker = PlanChecker(doc, known)
    checker.template()
    return _validate(doc, PlanTemplate, checker)


def _claim_id(doc: YamlDocument, claimed: dict[str, str]) -> list[Problem]:
    """Two template files must not share an id: the segment rules name templates by id."""
    raw_id = get(doc.data, "id")
    if not isinstance(raw_id, str):
        return []
    line, col = doc.positions.at(("id",))
    if raw_id in claimed:
        hint = f"{claimed[raw_id]} already uses it; give each template its own id"
        return [Problem(doc.file, line, col, f"duplicate template id '{raw_id}'", hint)]
    claimed[raw_id] = f"{doc.file}:{line}"
    return []


def _plans_file(path: Path, known: frozenset[str], ids: set[str]) -> tuple[PlansConfig | None, list[Problem]]:
    doc, problems = _read(path)
    if doc is None:
        return None, problems
    checker = PlansConfigChecker(doc, known)
    checker.plans_config(ids)
    config, found = _validate(doc, PlansConfig, checker)
    return config, [*problems, *found]


def _read(path: Path) -> tuple[YamlDocument | None, list[Problem]]:
    """The parsed file, or ``None`` and why not (unreadable, bad YAML, empty)."""
    try:
        doc = read_yaml(path)
    except ConfigError as exc:
        return None, list(exc.problems)
    if doc.data is None:
        return None, [Problem(doc.file, None, None, "the file is empty", "see the shipped files in config/plans/")]
    return doc, []


def _validate(doc: YamlDocument, model: type[M], checker: PlanChecker) -> tuple[M | None, list[Problem]]:
    """The model validation on the data with the checker's stand-ins, plus every problem found."""
    data = copy.deepcopy(doc.data)
    for path, value in checker.stand_ins.items():
        _put(data, path, value)
    instance, found = validate_document(YamlDocument(doc.file, data, doc.positions), model)
    # The checker words unknown keys with a suggestion where the model cannot: keep its version.
    worded = {(p.line, p.column) for p in checker.problems if p.message.startswith("unknown key")}
    found = [p for p in found if not (p.message.startswith("unknown key") and (p.line, p.column) in worded)]
    problems = [*doc.problems, *checker.problems, *found]
    return (instance if not problems else None), problems


def _put(data: object, path: YamlPath, value: object) -> None:
    parent = get(data, *path[:-1])
    key = path[-1]
    if isinstance(parent, dict):
        parent[key] = value
        return
    if isinstance(parent, list) and isinstance(key, int):
        parent[key] = value
