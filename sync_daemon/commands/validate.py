"""``sync-daemon validate [--remote]``: every configuration problem at once, before any write."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

from connectors.base import OBJECT_KINDS
from sync_daemon.config.assessment_loader import ASSESSMENTS_FILE, validate_assessments
from sync_daemon.config.errors import ConfigError
from sync_daemon.config.handoff_loader import HANDOFF_FILE, validate_handoff
from sync_daemon.config.loader import load_mapping, load_mapping_with_positions, validate_files
from sync_daemon.config.note_template import NOTE_TEMPLATE_FILE, check_note_template
from sync_daemon.config.plan_loader import known_account_fields, load_plans, validate_plans
from sync_daemon.config.remote import check_remote
from sync_daemon.resources import resolve
from sync_daemon.wiring import build_connector, config_path, plans_directory

if TYPE_CHECKING:
    from rich.console import Console

    from sync_daemon.config.errors import Problem
    from sync_daemon.config.models import MappingFile
    from sync_daemon.settings import AppSettings


def mapping_paths(settings: AppSettings) -> list[Path]:
    """The mapping files in play: the configured one, or every shipped/local one when no CRM is set."""
    if settings.sync.crm is not None or settings.sync.mapping_file is not None:
        return [settings.mapping_path()]
    # The working directory's mappings (a container's mounted /app/mappings), else the shipped examples.
    return [resolve(Path(f"mappings/{crm}.yaml"), f"mappings/{crm}.yaml") for crm in ("salesforce", "hubspot")]


def _policy_problems(settings: AppSettings, plans_dir: Path, mapping: MappingFile) -> list[Problem]:
    """Plan templates, the handoff and assessment policies and the note template, checked against ``mapping``."""
    problems = validate_plans(plans_dir, mapping)
    plans = None if problems else load_plans(plans_dir, known_account_fields(mapping))
    handoff = config_path(settings, HANDOFF_FILE)
    if handoff.exists():
        problems += validate_handoff(handoff, mapping, plans)
    note = config_path(settings, NOTE_TEMPLATE_FILE)
    if note.exists():
        problems += check_note_template(note.read_text(encoding="utf-8"), str(note))
    assessments = config_path(settings, ASSESSMENTS_FILE)
    if assessments.exists():
        problems += validate_assessments(assessments, mapping)
    return problems


def run_validate(settings: AppSettings, *, remote: bool, console: Console) -> None:
    """Validate files (and the CRM schema with ``remote``); raise ConfigError listing every problem."""
    paths = mapping_paths(settings)
    problems = validate_files(paths)
    if problems:
        raise ConfigError(problems)
    plans_dir = plans_directory(settings)
    for path in paths:
        problems += _policy_problems(settings, plans_dir, load_mapping(path))
    if problems:
        raise ConfigError(sorted(set(problems), key=lambda p: (p.file, p.line or 0, p.column or 0, p.message)))
    if remote:
        path = paths[0]
        mapping, positions = load_mapping_with_positions(path)
        connector = build_connector(settings, mapping)
        try:
            schemas = {kind: connector.describe(kind) for kind in OBJECT_KINDS}
        finally:
            connector.close()
        problems = check_remote(mapping, schemas, str(path), positions)
        if problems:
            raise ConfigError(problems)
    for path in paths:
        console.print(f"ok  {path}")
    console.print(f"ok  {plans_dir} (plan templates)")
    for name in (HANDOFF_FILE, NOTE_TEMPLATE_FILE, ASSESSMENTS_FILE):
        if (path := config_path(settings, name)).exists():
            console.print(f"ok  {path}")
    console.print("Configuration is valid" + (" and matches the CRM's schema." if remote else "."))
    sys.exit(0)
