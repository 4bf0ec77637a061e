"""``sync-daemon status``: the last runs from the store."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sync_daemon.render import print_json, run_to_json, runs_table
from sync_daemon.store import Store

if TYPE_CHECKING:
    from rich.console import Console


def run_status(database_url: str, *, output: str, limit: int, console: Console) -> None:
    """Print the run history, newest first."""
    store = Store.open(database_url)
    try:
        runs = store.recent_runs(limit)
    finally:
        store.close()
    if output == "json":
        print_json(console, {"runs": [run_to_json(r) for r in runs]})
        return
    if not runs:
        console.print("No runs yet: try `sync-daemon demo` or `sync-daemon sync --dry-run`.")
        return
    console.print(runs_table(runs))
