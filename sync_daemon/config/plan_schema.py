"""The JSON Schemas shipped beside the plan files, so admins' editors complete keys and flag mistakes.

Generated from the pydantic models (the single source of truth), like the mapping schema
(:mod:`sync_daemon.config.schema`), and sharpened with two rules the models check in code: a
``done_when`` names exactly one of step, field or when, and an internal task needs a category.
Cross-file rules (dependencies, template and field names) stay with ``sync-daemon validate``.
A test keeps the shipped files equal to what is generated here.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from sync_daemon.config.plan_models import PlansConfig, PlanTemplate
from sync_daemon.config.schema import DRAFT, Schema

if TYPE_CHECKING:
    from pathlib import Path

TEMPLATE_SCHEMA_FILE = "plan.schema.json"
PLANS_SCHEMA_FILE = "plans.schema.json"


def plan_template_json_schema() -> Schema:
    """The schema of one template file (``smb.yaml``, ...)."""
    schema: Schema = {"$schema": DRAFT, **PlanTemplate.model_json_schema()}
    defs: Schema = schema["$defs"]
    defs["Completion"]["minProperties"] = 1
    defs["Completion"]["maxProperties"] = 1
    defs["Task"]["if"] = {"properties": {"kind": {"const": "internal"}}, "required": ["kind"]}
    defs["Task"]["then"] = {"required": ["category"]}
    return schema


def plans_config_json_schema() -> Schema:
    """The schema of ``plans.yaml``."""
    return {"$schema": DRAFT, **PlansConfig.model_json_schema()}


def plan_schema_texts() -> dict[str, str]:
    """File name to content, as written to disk: indented JSON with a final newline, stable across runs."""
    return {
        TEMPLATE_SCHEMA_FILE: _text(plan_template_json_schema()),
        PLANS_SCHEMA_FILE: _text(plans_config_json_schema()),
    }


def write_plan_schemas(directory: Path) -> None:
    """Write both schemas into ``directory`` (normally ``config/plans/``)."""
    for name, text in plan_schema_texts().items():
        (directory / name).write_text(text, encoding="utf-8")


def _text(schema: Schema) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"
