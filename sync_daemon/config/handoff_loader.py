"""Load the handoff policy (``config/handoff.yaml``) with every problem at its file, line and column.

The checks (:mod:`sync_daemon.config.handoff_checks`) and the model validation both run before
anything is decided, so an admin sees every mistake at once: a status misspelt in a gate, a task id
no plan template has, a KPI the mapping does not pull, a duplicate, a misspelt key. The JSON Schema
for editors is generated here from the models, like the plan and mapping schemas.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from sync_daemon.config.errors import ConfigError, Problem, sort_problems
from sync_daemon.config.handoff_checks import HandoffChecker
from sync_daemon.config.handoff_models import HandoffPolicy
from sync_daemon.config.plan_loader import known_account_fields
from sync_daemon.config.schema import DRAFT, Schema
from sync_daemon.config.translate import validate_document
from sync_daemon.config.yaml_positions import read_yaml

if TYPE_CHECKING:
    from collections.abc import Collection
    from pathlib import Path

    from sync_daemon.config.models import MappingFile
    from sync_daemon.config.plan_loader import PlanSet

__all__ = [
    "HANDOFF_FILE",
    "HANDOFF_SCHEMA_FILE",
    "handoff_json_schema",
    "handoff_schema_text",
    "load_handoff",
    "plan_ids",
    "validate_handoff",
]

HANDOFF_FILE = "handoff.yaml"
HANDOFF_SCHEMA_FILE = "handoff.schema.json"


def load_handoff(
    path: Path,
    known_fields: Collection[str],
    *,
    task_ids: Collection[str] | None = None,
    phase_ids: Collection[str] | None = None,
    template_ids: Collection[str] | None = None,
) -> HandoffPolicy:
    """Load and fully validate the policy; raise :class:`ConfigError` listing every problem.

    ``task_ids`` / ``phase_ids``: those of the loaded plan templates (see :func:`plan_ids`); when
    ``None``, the plan gate's ids are not checked. ``template_ids``: the plan folder's templates, for the
    at-risk restart's template (``None``: not checked).
    """
    doc = read_yaml(path)
    if doc.data is None:
        raise ConfigError([Problem(doc.file, None, None, "the file is empty", "see the shipped config/handoff.yaml")])
    checker = HandoffChecker(doc, known_fields, task_ids, phase_ids, template_ids)
    checker.policy()
    policy, found = validate_document(doc, HandoffPolicy)
    # The checker words unknown keys inside conditions with a suggestion: keep its version only.
    worded = {(p.line, p.column) for p in checker.problems if p.message.startswith("unknown key")}
    found = [p for p in found if not (p.message.startswith("unknown key") and (p.line, p.column) in worded)]
    problems = sort_problems([*doc.problems, *checker.problems, *found])
    if problems or policy is None:
        raise ConfigError(problems)
    return policy


def plan_ids(plan_set: PlanSet) -> tuple[frozenset[str], frozenset[str]]:
    """Every task id and every phase id of the loaded plan templates, for the plan gate's check."""
    phases = [phase for template in plan_set.templates.values() for phase in template.phases]
    return frozenset(t.id for p in phases for t in p.tasks), frozenset(p.id for p in phases)


def validate_handoff(path: Path, mapping: MappingFile, plan_set: PlanSet | None = None) -> list[Problem]:
    """Every problem of the policy file against ``mapping`` (and the plans, if given); none when valid."""
    tasks, phases = plan_ids(plan_set) if plan_set is not None else (None, None)
    templates = frozenset(plan_set.templates) if plan_set is not None else None
    try:
        load_handoff(path, known_account_fields(mapping), task_ids=tasks, phase_ids=phases, template_ids=templates)
    except ConfigError as exc:
        return list(exc.problems)
    return []


def handoff_json_schema() -> Schema:
    """The schema of ``handoff.yaml``, generated from the models (the single source of truth)."""
    return {"$schema": DRAFT, **HandoffPolicy.model_json_schema()}


def handoff_schema_text() -> str:
    """The schema as written to ``config/handoff.schema.json``: indented JSON, final newline, stable."""
    return json.dumps(handoff_json_schema(), indent=2, ensure_ascii=False) + "\n"
