"""``sync-daemon sync``: one cycle now against the configured CRM."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from sync_daemon.config.loader import load_mapping
from sync_daemon.domain.personas import PersonaClassifier
from sync_daemon.engine import CycleOptions, run_cycle
from sync_daemon.progress import make_progress
from sync_daemon.render import cycle_table, cycle_to_json, print_json
from sync_daemon.store import Store
from sync_daemon.wiring import build_connector

if TYPE_CHECKING:
    from rich.console import Console

    from sync_daemon.settings import AppSettings


def run_sync(settings: AppSettings, *, dry_run: bool, output: str, console: Console) -> bool:
    """Run one cycle; returns whether it completed. Bad config raises before any CRM call."""
    mapping = load_mapping(settings.mapping_path())
    classifier = PersonaClassifier.from_rules(mapping.personas)
    store = Store.open(settings.sync.database_url)
    connector = build_connector(settings, mapping, sleep=time.sleep)
    is_tty = console.is_terminal and output == "table"
    progress = make_progress(settings.sync.log_format, is_tty, settings.sync.progress_interval_seconds)
    try:
        result = run_cycle(
            connector,
            store,
            options=CycleOptions(
                overlap=timedelta(seconds=settings.sync.overlap_seconds),
                command="sync",
                dry_run=dry_run,
            ),
            clock=lambda: datetime.now(UTC),
            classifier=classifier,
            progress=progress,
        )
    finally:
        progress.close()
        connector.close()
        store.close()
    if output == "json":
        print_json(console, cycle_to_json(result) | {"plan": [], "dry_run": dry_run})
    else:
        console.print(cycle_table(result))
        if dry_run:
            console.print("Dry run: nothing was written to the CRM (plan: 0 field changes).")
        if result.error:
            console.print(f"[red]{result.status}: {result.error}[/red]")
    return result.ok
