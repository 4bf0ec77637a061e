"""Load the assessment policy (``config/assessments.yaml``) with every problem at its file, line and column.

The checks (:mod:`sync_daemon.config.assessment_checks`) and the model validation both run before anything is
sent, so an admin sees every mistake at once: a persona the mapping does not have, a channel for the other CRM,
a push field the mapping lacks, a time zone that does not exist, a misspelt key. The JSON Schema for editors is
generated here from the models, like the handoff and mapping schemas.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import TYPE_CHECKING

from sync_daemon.config.assessment_checks import AssessmentChecker
from sync_daemon.config.assessment_models import AssessmentPolicy
from sync_daemon.config.errors import ConfigError, Problem, sort_problems
from sync_daemon.config.schema import DRAFT, Schema
from sync_daemon.config.translate import validate_document
from sync_daemon.config.yaml_positions import read_yaml

if TYPE_CHECKING:
    from pathlib import Path

    from sync_daemon.config.models import MappingFile

__all__ = [
    "ASSESSMENTS_FILE",
    "ASSESSMENTS_SCHEMA_FILE",
    "assessments_json_schema",
    "assessments_schema_text",
    "load_assessments",
    "validate_assessments",
]

ASSESSMENTS_FILE = "assessments.yaml"
ASSESSMENTS_SCHEMA_FILE = "assessments.schema.json"
_VALUE_ERROR = "Value error, "


def load_assessments(path: Path, mapping: MappingFile) -> AssessmentPolicy:
    """Load and fully validate the policy against ``mapping``; raise :class:`ConfigError` listing every problem.

    The mapping says which personas exist, which CRM the channels talk to and which contact fields are pushed.
    """
    doc = read_yaml(path)
    if doc.data is None:
        hint = "see the shipped config/assessments.yaml"
        raise ConfigError([Problem(doc.file, None, None, "the file is empty", hint)])
    checker = AssessmentChecker(doc, mapping)
    checker.policy()
    policy, found = validate_document(doc, AssessmentPolicy)
    # Where the checker worded a mistake the model also saw, keep one message: the checker's, with its hint.
    kept = [_plain(p) for p in found if (p.line, p.column) not in checker.owned]
    problems = sort_problems([*doc.problems, *checker.problems, *kept])
    if problems or policy is None:
        raise ConfigError(problems)
    return policy


def validate_assessments(path: Path, mapping: MappingFile) -> list[Problem]:
    """Every problem of the policy file against ``mapping``; none when valid."""
    try:
        load_assessments(path, mapping)
    except ConfigError as exc:
        return list(exc.problems)
    return []


def assessments_json_schema() -> Schema:
    """The schema of ``assessments.yaml``, generated from the models (the single source of truth)."""
    return {"$schema": DRAFT, **AssessmentPolicy.model_json_schema()}


def assessments_schema_text() -> str:
    """The schema as written to ``config/assessments.schema.json``: indented JSON, final newline, stable."""
    return json.dumps(assessments_json_schema(), indent=2, ensure_ascii=False) + "\n"


def _plain(problem: Problem) -> Problem:
    """A model rule's message without pydantic's ``Value error,`` prefix (a scale's order, a cadence's form)."""
    return replace(problem, message=problem.message.replace(_VALUE_ERROR, "", 1))
