"""Tables for people (rich) and JSON for machines: the CLI's only output formats."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from rich.table import Table

if TYPE_CHECKING:
    from rich.console import Console

    from sync_daemon.domain.diff import FieldChange
    from sync_daemon.engine import CycleResult
    from sync_daemon.push import PushResult
    from sync_daemon.store import ErrorGroup, RunRow


def cycle_table(result: CycleResult) -> Table:
    """One row per object: pulled, stored, deleted, pages; API calls in the caption."""
    table = Table(title=f"{result.crm} cycle {result.run_id[:8]}: {result.status}", title_justify="left")
    for col in ("object", "pulled", "stored (new or changed)", "deleted", "pages"):
        table.add_column(col, justify="left" if col == "object" else "right")
    for kind, s in result.stats.items():
        table.add_row(kind, f"{s.pulled:,}", f"{s.stored:,}", f"{s.deleted:,}", f"{s.pages:,}")
    caption = f"{result.api_calls:,} API calls in {result.duration_s:.1f} s"
    push = result.push
    if push is not None and not push.dry_run and push.stopped is None:
        written = ", ".join(f"{k} {v:,}" for k, v in sorted(push.written.items())) or "nothing"
        caption += f"; wrote {written} in {push.write_calls:,} calls"
        failed = sum(push.failed.values())
        if failed:
            caption += f"; {failed:,} records rejected (see `sync-daemon errors`)"
    table.caption = caption
    return table


def personas_table(personas: dict[str, int]) -> Table:
    """Contacts by persona, as the mapping's rules classified them."""
    table = Table(title="contacts by persona", title_justify="left")
    table.add_column("persona")
    table.add_column("contacts", justify="right")
    for name, count in sorted(personas.items(), key=lambda kv: (-kv[1], kv[0])):
        table.add_row(name, f"{count:,}")
    return table


def _duration(run: RunRow) -> str:
    if run.finished_at is None:
        return "running"
    return f"{(run.finished_at - run.started_at).total_seconds():.1f} s"


def _object_counts(counts: dict[str, Any], kind: str) -> str:
    c = counts.get(kind) or {}
    return f"{c.get('pulled', 0):,} / {c.get('stored', 0):,} / {c.get('deleted', 0):,}"


def runs_table(runs: list[RunRow]) -> Table:
    """The run history, newest first."""
    table = Table(title="last runs (pulled / stored / deleted)", title_justify="left")
    for col in (
        "started (UTC)",
        "command",
        "crm",
        "status",
        "duration",
        "accounts",
        "contacts",
        "API calls",
        "error",
    ):
        table.add_column(col)
    for run in runs:
        table.add_row(
            run.started_at.strftime("%Y-%m-%d %H:%M:%S"),
            run.command + (" (dry run)" if run.dry_run else ""),
            run.crm,
            run.status,
            _duration(run),
            _object_counts(dict(run.counts or {}), "accounts"),
            _object_counts(dict(run.counts or {}), "contacts"),
            f"{run.api_calls:,}",
            (run.error_summary or "")[:80],
        )
    return table


def run_to_json(run: RunRow) -> dict[str, Any]:
    """A run as JSON-able data."""
    return {
        "id": run.id,
        "crm": run.crm,
        "command": run.command,
        "dry_run": run.dry_run,
        "started_at": run.started_at.isoformat(),
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "status": run.status,
        "counts": run.counts,
        "api_calls": run.api_calls,
        "errors": run.errors,
        "error": run.error_summary,
    }


def cycle_to_json(result: CycleResult) -> dict[str, Any]:
    """A cycle result as JSON-able data."""
    return {
        "run_id": result.run_id,
        "crm": result.crm,
        "status": result.status,
        "api_calls": result.api_calls,
        "duration_s": result.duration_s,
        "objects": {k: s.as_dict() for k, s in result.stats.items()},
        "push": result.push.as_dict() if result.push else None,
        "error": result.error,
    }


def print_json(console: Console, data: object) -> None:
    """JSON to the console without rich markup or wrapping."""
    console.print_json(json.dumps(data, default=str))


def _cell(value: object, width: int = 60) -> str:
    text = "∅" if value is None or value == "" else str(value)
    text = text.replace("\n", " ⏎ ")
    return text if len(text) <= width else text[: width - 1] + "…"


def plan_table(changes: list[FieldChange], limit: int = 200) -> Table:
    """The field-by-field plan: record, field, current value, new value (drift marked)."""
    table = Table(title="plan", title_justify="left")
    for col in ("record", "field", "current", "new"):
        table.add_column(col)
    for change in changes[:limit]:
        field = f"{change.field} ({change.crm_field})" + (" [drift]" if change.drift else "")
        table.add_row(f"{change.kind}/{change.record_id}", field, _cell(change.current), _cell(change.desired))
    if len(changes) > limit:
        table.caption = f"… and {len(changes) - limit:,} more field changes (--output json lists them all)"
    return table


def plan_totals(push: PushResult) -> str:
    """One line of totals for the plan."""
    records = ", ".join(f"{kind} {n:,}" for kind, n in sorted(push.planned.items()) if n) or "none"
    return (
        f"{len(push.changes):,} field changes on records: {records}; "
        f"drift overwritten {push.drift_overwritten:,}, kept {push.drift_kept:,}"
    )


def change_to_json(change: FieldChange) -> dict[str, Any]:
    """One planned field change as JSON-able data."""
    return {
        "kind": change.kind,
        "record_id": change.record_id,
        "field": change.field,
        "crm_field": change.crm_field,
        "current": _jsonable(change.current),
        "new": _jsonable(change.desired),
        "drift": change.drift,
    }


def _jsonable(value: object) -> object:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    return str(value)


def errors_table(groups: list[ErrorGroup]) -> Table:
    """Open record errors grouped by the CRM's code, with example records."""
    table = Table(title="record errors by CRM code", title_justify="left")
    for col in ("code", "records", "examples (record: message)"):
        table.add_column(col)
    for group in groups:
        examples = "\n".join(f"{e.kind}/{e.record_id}: {_cell(e.message, 90)}" for e in group.examples)
        table.add_row(group.code, f"{group.count:,}", examples)
    return table
