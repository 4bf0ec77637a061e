"""``sync-daemon validate [--remote]``: every configuration problem at once, before any write."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from connectors.base import OBJECT_KINDS
from sync_daemon.config.errors import ConfigError
from sync_daemon.config.loader import load_mapping, load_mapping_with_positions, validate_files
from sync_daemon.config.plan_loader import validate_plans
from sync_daemon.config.remote import check_remote
from sync_daemon.resources import shipped
from sync_daemon.wiring import build_connector, plans_directory

if TYPE_CHECKING:
    from pathlib import Path

    from rich.console import Console

    from sync_daemon.settings import AppSettings


def mapping_paths(settings: AppSettings) -> list[Path]:
    """The mapping files in play: the configured one, or every shipped/local one when no CRM is set."""
    if settings.sync.crm is not None or settings.sync.mapping_file is not None:
        return [settings.mapping_path()]
    return [shipped("mappings/salesforce.yaml"), shipped("mappings/hubspot.yaml")]


def run_validate(settings: AppSettings, *, remote: bool, console: Console) -> None:
    """Validate files (and the CRM schema with ``remote``); raise ConfigError listing every problem."""
    paths = mapping_paths(settings)
    problems = validate_files(paths)
    if problems:
        raise ConfigError(problems)
    plans_dir = plans_directory(settings)
    for path in paths:
        problems += validate_plans(plans_dir, load_mapping(path))
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
    console.print("Configuration is valid" + (" and matches the CRM's schema." if remote else "."))
    sys.exit(0)
