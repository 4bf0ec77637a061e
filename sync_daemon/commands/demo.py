"""``sync-daemon demo``: start a sandbox, run one cycle into a local SQLite file, show what happened."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Literal

from connectors.retry import RetryPolicy
from sync_daemon.demo import demo_mapping, running_sandbox, sandbox_connector
from sync_daemon.domain.personas import PersonaClassifier
from sync_daemon.engine import CycleOptions, CycleResult, run_cycle
from sync_daemon.progress import make_progress
from sync_daemon.render import cycle_table, personas_table
from sync_daemon.store import Store

if TYPE_CHECKING:
    from pathlib import Path

    from rich.console import Console

    from sync_daemon.settings import AppSettings


def _next_steps(crm: str, url: str) -> str:
    other = "hubspot" if crm == "salesforce" else "salesforce"
    return "\n".join(
        [
            "[bold]Where to look next[/bold]",
            f"  the run history:    sync-daemon status --database {url}",
            f"  run it again:       sync-daemon demo --crm {crm}   (incremental: nothing new is stored)",
            f"  the other CRM:      sync-daemon demo --crm {other}",
            f"  the field mapping:  mappings/{crm}.yaml  (check edits with `sync-daemon validate`)",
            "  the logs:           SYNC_LOG_LEVEL=INFO sync-daemon demo  (one JSON line per event off a terminal)",
            "  a real CRM:         README.md, section 'Configuration'",
        ]
    )


def run_demo(
    crm: Literal["salesforce", "hubspot"],
    *,
    accounts: int,
    contacts: int,
    database: Path | None,
    settings: AppSettings,
    console: Console,
) -> CycleResult:
    """Run the demo cycle and print its summary; exits 1 if the cycle did not complete."""
    db = database or settings.sync.data_dir / f"demo-{crm}.db"
    db.parent.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{db}"
    mapping = demo_mapping(crm)
    classifier = PersonaClassifier.from_rules(mapping.personas)
    console.print(f"Starting a {crm} sandbox with {accounts:,} accounts and {contacts:,} contacts on a loopback port")
    progress = make_progress(settings.sync.log_format, console.is_terminal, settings.sync.progress_interval_seconds)
    store = Store.open(url)
    try:
        with running_sandbox(crm, accounts, contacts) as handle:
            connector = sandbox_connector(handle, mapping, RetryPolicy(settings.retry_settings()))
            try:
                result = run_cycle(
                    connector,
                    store,
                    options=CycleOptions(overlap=timedelta(seconds=settings.sync.overlap_seconds), command="demo"),
                    clock=lambda: datetime.now(UTC),
                    classifier=classifier,
                    progress=progress,
                )
            finally:
                connector.close()
    finally:
        progress.close()
        store.close()
    console.print(cycle_table(result))
    personas = result.stats["contacts"].personas if "contacts" in result.stats else {}
    if personas:
        console.print(personas_table(personas))
    console.print(f"State stored in [bold]{db}[/bold]")
    console.print(_next_steps(crm, url))
    if not result.ok:
        console.print(f"[red]The cycle did not complete: {result.error}[/red]")
        sys.exit(1)
    return result
