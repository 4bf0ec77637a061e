"""``sync-daemon errors``: records the CRM rejected, grouped by its code; dismiss or retry them.

A rejected record is retried every cycle until it lands (so a fix made in the CRM is picked up on its own);
``dismiss`` stops retrying it (it leaves the plan) until ``retry`` puts it back.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sync_daemon.render import errors_table
from sync_daemon.store import Store

if TYPE_CHECKING:
    from rich.console import Console


def list_errors(database_url: str, *, crm: str | None, output: str, console: Console) -> None:
    """Print open errors grouped by code, with example records."""
    store = Store.open(database_url)
    try:
        groups = store.errors_by_code(crm)
        counts = store.error_counts(crm)
    finally:
        store.close()
    if output == "json":
        data = {
            "counts": counts,
            "groups": [
                {
                    "code": g.code,
                    "count": g.count,
                    "examples": [{"kind": e.kind, "record_id": e.record_id, "message": e.message} for e in g.examples],
                }
                for g in groups
            ],
        }
        console.print_json(data=data)
        return
    if not groups:
        console.print(f"No open record errors ({counts.get('dismissed', 0):,} dismissed).")
        return
    console.print(errors_table(groups))
    console.print(
        "Each is retried every cycle. `sync-daemon errors dismiss --code CODE` stops retrying; "
        "`sync-daemon errors retry --code CODE` resumes."
    )


def change_errors(
    database_url: str, *, action: str, crm: str, record_id: str | None, code: str | None, console: Console
) -> int:
    """Dismiss or retry errors by record or code; returns how many changed."""
    store = Store.open(database_url)
    try:
        if action == "dismiss":
            changed = store.dismiss(crm, record_id=record_id, code=code)
        else:
            changed = store.retry(crm, record_id=record_id, code=code)
    finally:
        store.close()
    target = f"record {record_id}" if record_id else f"code {code}" if code else "every error"
    console.print(f"{action}: {changed:,} record error(s) for {target} on {crm}")
    return changed
