"""``sync-daemon demo``: start a sandbox, run two cycles into a fresh SQLite file, show what happened.

The first cycle is the first backfill: it pulls everything and writes each account's plan fields and each
contact's persona back. Against a
real CRM that first backfill stops at the safety valve until checked with ``--dry-run`` and forced; the sandbox
is throwaway, so the demo forces it and says so. The second cycle shows the steady state: it re-reads only the
overlap window, stores nothing new and writes nothing.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Literal

from rich.table import Table

from connectors.retry import RetryPolicy
from sync_daemon.commands.sync import push_setup
from sync_daemon.demo import demo_mapping, running_sandbox, sandbox_connector
from sync_daemon.domain.personas import PersonaClassifier
from sync_daemon.engine import CycleOptions, CycleResult, run_cycle
from sync_daemon.progress import make_progress
from sync_daemon.render import personas_table
from sync_daemon.store import Store
from sync_daemon.wiring import load_assessment_policy, load_handoff_setup, load_plan_set

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
            f"  the other CRM:      sync-daemon demo --crm {other}",
            f"  the field mapping:  mappings/{crm}.yaml  (check edits with `sync-daemon validate`)",
            "  the logs:           SYNC_LOG_LEVEL=INFO sync-daemon demo  (one JSON line per event off a terminal)",
            "  a real CRM:         README.md, section 'Configuration'; start with `sync-daemon sync --dry-run`",
        ]
    )


def _table(results: list[CycleResult]) -> Table:
    table = Table(title="two cycles against the sandbox", title_justify="left")
    for col in ("cycle", "status", "accounts pulled / stored", "contacts pulled / stored", "written", "API calls"):
        table.add_column(col, justify="left" if col in {"cycle", "status"} else "right")
    for n, r in enumerate(results, start=1):
        a, c = r.stats["accounts"], r.stats["contacts"]
        written = sum(r.push.written.values()) if r.push else 0
        label = "1: first backfill (forced)" if n == 1 else f"{n}: incremental"
        table.add_row(
            label,
            r.status,
            f"{a.pulled:,} / {a.stored:,}",
            f"{c.pulled:,} / {c.stored:,}",
            f"{written:,} in {r.push.write_calls if r.push else 0:,} calls",
            f"{r.api_calls:,}",
        )
    return table


def run_demo(
    crm: Literal["salesforce", "hubspot"],
    *,
    accounts: int,
    contacts: int,
    database: Path | None,
    settings: AppSettings,
    console: Console,
) -> list[CycleResult]:
    """Run the demo's two cycles and print their summary; exits 1 if a cycle did not complete."""
    db = database or settings.sync.data_dir / f"demo-{crm}.db"
    db.parent.mkdir(parents=True, exist_ok=True)
    db.unlink(missing_ok=True)  # the sandbox is new each time, so is the demo's state
    url = f"sqlite:///{db}"
    mapping = demo_mapping(crm)
    plans = load_plan_set(settings, mapping)
    handoff = load_handoff_setup(settings, mapping, plans)
    assessments = load_assessment_policy(settings, mapping, {})  # the demo's policy sends through CRM fields
    classifier = PersonaClassifier.from_rules(mapping.personas)
    console.print(f"Starting a {crm} sandbox with {accounts:,} accounts and {contacts:,} contacts on a loopback port")
    options = CycleOptions(overlap=timedelta(seconds=settings.sync.overlap_seconds), command="demo")
    results: list[CycleResult] = []
    store = Store.open(url)
    try:
        with running_sandbox(crm, accounts, contacts) as handle:
            connector = sandbox_connector(handle, mapping, RetryPolicy(settings.retry_settings()))
            try:
                for force in (True, False):
                    progress = make_progress(
                        settings.sync.log_format, console.is_terminal, settings.sync.progress_interval_seconds
                    )
                    try:
                        results.append(
                            run_cycle(
                                connector,
                                store,
                                options=options,
                                clock=lambda: datetime.now(UTC),
                                classifier=classifier,
                                progress=progress,
                                push_setup=push_setup(
                                    settings,
                                    mapping,
                                    force=force,
                                    plans=plans,
                                    store=store,
                                    crm=crm,
                                    handoff=handoff,
                                    assessments=assessments,
                                ),
                            )
                        )
                    finally:
                        progress.close()
            finally:
                connector.close()
    finally:
        store.close()
    console.print(_table(results))
    personas = results[0].stats["contacts"].personas if "contacts" in results[0].stats else {}
    if personas:
        console.print(personas_table(personas))
    console.print(
        "The first cycle wrote each account's onboarding plan (progress, phase, next task, go-live, health...) and\n"
        "each contact's persona to the CRM. Against a real CRM that first backfill stops at the safety valve until\n"
        "you have checked `sync-daemon sync --dry-run` and run `sync --force`."
    )
    console.print(f"State stored in [bold]{db}[/bold]")
    console.print(_next_steps(crm, url))
    failed = [r for r in results if not r.ok]
    if failed:
        console.print(f"[red]A cycle did not complete: {failed[0].status}: {failed[0].error}[/red]")
        sys.exit(1)
    return results
