"""``sync-daemon status``: the daemon's role and next runs, last runs, errors, the outbox backlog, the API budget.

Read from the store only, so it works from any host or container that reaches the database: the active daemon
publishes its lease (who holds it, until when) and its next scheduled runs there; each run records its counts and
the CRM's API budget as last reported.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sync_daemon.leadership import DEFAULT_LEASE
from sync_daemon.render import errors_table, run_to_json, runs_table
from sync_daemon.store import Store

if TYPE_CHECKING:
    from rich.console import Console

    from sync_daemon.store import RunRow
    from sync_daemon.store.leases import LeaseRow


def _crms(runs: list[Any]) -> list[str]:
    return sorted({r.crm for r in runs})


def collect(store: Store, limit: int, now: datetime | None = None) -> dict[str, Any]:
    """Everything status shows, as data (a park that has already ended is not shown)."""
    now = now or datetime.now(UTC)
    runs = store.recent_runs(limit)
    crms = _crms(runs)
    return {
        "daemon": _daemon(store.lease(DEFAULT_LEASE)),
        "api_budget": _budgets(runs),
        "runs": [run_to_json(r) for r in runs],
        "errors": store.error_counts(None),
        "errors_by_code": store.errors_by_code(None),
        "outbox": store.backlog(None),
        "safety": {crm: w for crm in crms if (w := store.safety_warning(crm))},
        "parked": {crm: p.isoformat() for crm in crms if (p := store.parked_until(crm)) and p > now},
    }


def _daemon(lease: LeaseRow | None) -> dict[str, Any]:
    """Which ``sync-daemon run`` is active (none when no lease is live), until when, and its next runs."""
    if lease is None or not lease.live or not lease.holder:
        return {"active": None, "lease_expires_at": None, "next_runs": {}}
    info = lease.info if isinstance(lease.info, dict) else {}
    runs = info.get("next_runs")
    return {
        "active": lease.holder,
        "lease_expires_at": lease.expires_at.isoformat(),
        "next_runs": runs if isinstance(runs, dict) else {},
    }


def _budgets(runs: list[RunRow]) -> dict[str, dict[str, Any]]:
    """Per CRM, the API budget its newest run recorded (used, limit, remaining)."""
    out: dict[str, dict[str, Any]] = {}
    for run in runs:  # newest first
        budget = (run.counts or {}).get("api_budget")
        if run.crm in out or not isinstance(budget, dict) or budget.get("limit") is None:
            continue
        used, limit = budget.get("used"), budget["limit"]
        remaining = limit - used if isinstance(used, int) and isinstance(limit, int) else None
        out[run.crm] = {"used": used, "limit": limit, "remaining": remaining, "as_of": run.started_at.isoformat()}
    return out


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
    _print_daemon(data["daemon"], console)
    console.print(runs_table(runs))
    for crm, budget in data["api_budget"].items():
        used = "?" if budget["used"] is None else f"{budget['used']:,}"
        left = "" if budget["remaining"] is None else f", {budget['remaining']:,} left"
        console.print(f"API budget ({crm}): {used} of {budget['limit']:,} used today{left} "
                      f"(as of {budget['as_of'][:19]} UTC)", markup=False, highlight=False)  # fmt: skip
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


def _print_daemon(daemon: dict[str, Any], console: Console) -> None:
    if daemon["active"] is None:
        console.print("daemon: no `sync-daemon run` is active (none started, or its lease lapsed)")
        return
    console.print(f"daemon: active {daemon['active']} (lease until {daemon['lease_expires_at'][:19]} UTC)",
                  markup=False, highlight=False)  # fmt: skip
    for job, when in sorted(daemon["next_runs"].items()):
        console.print(f"  next {job}: {when or 'not scheduled'}", markup=False, highlight=False)
