"""``sync-daemon status``: last runs, open record errors, the outbox backlog, safety and budget warnings."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sync_daemon.render import errors_table, run_to_json, runs_table
from sync_daemon.store import Store

if TYPE_CHECKING:
    from rich.console import Console


def _crms(runs: list[Any]) -> list[str]:
    return sorted({r.crm for r in runs})


def collect(store: Store, limit: int, now: datetime | None = None) -> dict[str, Any]:
    """Everything status shows, as data (a park that has already ended is not shown)."""
    now = now or datetime.now(UTC)
    runs = store.recent_runs(limit)
    crms = _crms(runs)
    return {
        "runs": [run_to_json(r) for r in runs],
        "errors": store.error_counts(None),
        "errors_by_code": store.errors_by_code(None),
        "outbox": store.backlog(None),
        "safety": {crm: w for crm in crms if (w := store.safety_warning(crm))},
        "parked": {crm: p.isoformat() for crm in crms if (p := store.parked_until(crm)) and p > now},
    }


def run_status(database_url: str, *, output: str, limit: int, console: Console) -> None:
    """Print the state of the daemon, newest runs first."""
    store = Store.open(database_url)
    try:
        data = collect(store, limit)
        runs = store.recent_runs(limit)
    finally:
        store.close()
    groups = data.pop("errors_by_code")
    if output == "json":
        data["errors_by_code"] = [{"code": g.code, "count": g.count} for g in groups]
        console.print_json(data=data, default=str)
        return
    if not runs:
        console.print("No runs yet: try `sync-daemon demo` or `sync-daemon sync --dry-run`.")
        return
    console.print(runs_table(runs))
    for crm, warning in data["safety"].items():
        console.print(f"[yellow]safety valve ({crm}): {warning.get('reason')}[/yellow]")
    for crm, until in data["parked"].items():
        console.print(f"[yellow]{crm} is parked until {until}: its API budget is spent[/yellow]")
    if groups:
        console.print(errors_table(groups))
    backlog = data["outbox"]
    console.print(
        f"outbox: {backlog.get('pending', 0):,} pending, {backlog.get('in_flight', 0):,} in flight, "
        f"{backlog.get('dead', 0):,} dead, {backlog.get('done', 0):,} done"
    )
