"""The ``sync-daemon`` command line (also ``python -m sync_daemon``).

Exit codes are a contract (DESIGN.md): 0 ok, 2 bad configuration or input (every problem listed, no CRM
call made), 1 a runtime failure. Output for people goes through rich; ``--output json`` for machines.
Nothing a command prints can carry a secret: errors pass through the same redaction as the logs.
"""

from __future__ import annotations

import os
import sys
import time
from datetime import UTC, datetime
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Literal, ParamSpec, TypeVar, cast

import click
from rich.console import Console

from connectors.base import ConnectorError
from sync_daemon.config.errors import ConfigError
from sync_daemon.errors import SchemaTooNewError
from sync_daemon.logs import configure_logging, redact_text
from sync_daemon.settings import AppSettings, SettingsError, load_settings

if TYPE_CHECKING:
    from collections.abc import Callable

P = ParamSpec("P")
R = TypeVar("R")
EXIT_RUNTIME, EXIT_CONFIG = 1, 2
OUTPUT = click.Choice(["table", "json"])
CRM = click.Choice(["salesforce", "hubspot"])


def _out() -> Console:
    # Off a terminal rich assumes 80 columns and folds tables; logs and CI captures are wider.
    return Console(soft_wrap=False, width=None if sys.stdout.isatty() else 160)


def _err() -> Console:
    return Console(stderr=True, soft_wrap=True)


_SECRETS: list[str] = []


def _fail(message: str, code: int) -> None:
    _err().print(redact_text(message, _SECRETS), markup=False, highlight=False)
    sys.exit(code)


def handle_errors(fn: Callable[P, R]) -> Callable[P, R]:
    """Turn configuration problems into exit 2 and CRM failures into exit 1, with redacted messages."""

    @wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except SettingsError as exc:
            _fail(f"Settings are not usable:\n{exc}", EXIT_CONFIG)
        except ConfigError as exc:
            _fail(exc.render(), EXIT_CONFIG)
        except SchemaTooNewError as exc:
            _fail(f"Store: {exc}", EXIT_CONFIG)
        except ConnectorError as exc:
            _fail(f"CRM error: {type(exc).__name__}: {exc}", EXIT_RUNTIME)
        raise AssertionError("unreachable")  # pragma: no cover - _fail exits

    return wrapper


def _settings(*, require_crm: bool = False, quiet: bool = False) -> AppSettings:
    """Load settings and configure logging once; ``quiet`` logs warnings only unless SYNC_LOG_LEVEL is set."""
    environ = dict(os.environ)
    if quiet:
        environ.setdefault("SYNC_LOG_LEVEL", "WARNING")
    settings = load_settings(environ, require_crm=require_crm)
    _SECRETS[:] = settings.secret_values()
    configure_logging(
        settings.sync.log_format,
        settings.sync.log_level,
        secrets=_SECRETS,
        redact_emails=not settings.sync.log_emails,
    )
    return settings


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="crm-onboarding-sync", prog_name="sync-daemon")
def main() -> None:
    """Keep Salesforce or HubSpot the single source of customer context through onboarding."""


@main.command()
@click.option("--crm", type=CRM, default="salesforce", show_default=True, help="Which sandbox CRM to emulate.")
@click.option("--accounts", type=click.IntRange(1, 200_000), default=1_000, show_default=True)
@click.option("--contacts", type=click.IntRange(1, 1_000_000), default=5_000, show_default=True)
@click.option(
    "--database",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="SQLite file for the demo's state [default: data/demo-<crm>.db].",
)
@handle_errors
def demo(crm: str, accounts: int, contacts: int, database: Path | None) -> None:
    """Run a first backfill and an incremental cycle against an embedded sandbox CRM (no credentials)."""
    from sync_daemon.commands.demo import run_demo  # noqa: PLC0415 - keeps start-up light

    settings = _settings(quiet=True)
    run_demo(
        cast("Literal['salesforce', 'hubspot']", crm),
        accounts=accounts,
        contacts=contacts,
        database=database,
        settings=settings,
        console=_out(),
    )


@main.command()
@click.option("--dry-run", is_flag=True, help="Pull and show the plan; write nothing to the CRM.")
@click.option("--force", is_flag=True, help="Write even when the safety valve would stop (check --dry-run first).")
@click.option("--output", type=OUTPUT, default="table", show_default=True)
@handle_errors
def sync(dry_run: bool, force: bool, output: str) -> None:  # noqa: FBT001 - click flags
    """Run one cycle now against the configured CRM."""
    from sync_daemon.commands.sync import run_sync  # noqa: PLC0415
    from sync_daemon.leadership import AnotherInstanceError  # noqa: PLC0415

    settings = _settings(require_crm=True)
    try:
        ok = run_sync(settings, dry_run=dry_run, force=force, output=output, console=_out())
    except AnotherInstanceError as exc:
        _fail(str(exc), EXIT_CONFIG)
    sys.exit(0 if ok else EXIT_RUNTIME)


@main.command()
@handle_errors
def run() -> None:
    """Run the daemon: cycles on the schedule, one active replica, /healthz /readyz /metrics; stop with SIGTERM."""
    from sync_daemon.commands.run import run_daemon  # noqa: PLC0415
    from sync_daemon.leadership import AnotherInstanceError  # noqa: PLC0415

    settings = _settings(require_crm=True)
    try:
        code = run_daemon(settings, dict(os.environ))
    except AnotherInstanceError as exc:
        _fail(str(exc), EXIT_CONFIG)
    sys.exit(code)


@main.command()
@click.option("--remote", is_flag=True, help="Also check the mapping against the live CRM schema.")
@handle_errors
def validate(remote: bool) -> None:  # noqa: FBT001 - click flag
    """Check every configuration file (and, with --remote, the CRM's schema); exit 2 on any problem."""
    from sync_daemon.commands.validate import run_validate  # noqa: PLC0415

    settings = _settings(require_crm=remote)
    run_validate(settings, remote=remote, console=_out())


@main.command()
@click.option("--output", type=OUTPUT, default="table", show_default=True)
@click.option("--limit", type=click.IntRange(1, 1000), default=10, show_default=True)
@click.option("--database", type=str, default=None, help="Store URL [default: SYNC_DATABASE_URL].")
@handle_errors
def status(output: str, limit: int, database: str | None) -> None:
    """Show the last runs, rejected records by code, the outbox backlog, and safety or budget warnings."""
    from sync_daemon.commands.status import run_status  # noqa: PLC0415

    settings = _settings()
    run_status(database or settings.sync.database_url, output=output, limit=limit, console=_out())


@main.group(invoke_without_command=True)
@click.option("--output", type=OUTPUT, default="table", show_default=True)
@click.option("--database", type=str, default=None, help="Store URL [default: SYNC_DATABASE_URL].")
@click.pass_context
@handle_errors
def errors(ctx: click.Context, output: str, database: str | None) -> None:
    """Records the CRM rejected, grouped by its error code (retried every cycle)."""
    settings = _settings()
    ctx.obj = {"database": database or settings.sync.database_url, "crm": settings.sync.crm}
    if ctx.invoked_subcommand is None:
        from sync_daemon.commands.errors import list_errors  # noqa: PLC0415

        list_errors(ctx.obj["database"], crm=settings.sync.crm, output=output, console=_out())


def _change_errors(ctx: click.Context, action: str, crm: str | None, record: str | None, code: str | None) -> None:
    from sync_daemon.commands.errors import change_errors  # noqa: PLC0415

    crm = crm or ctx.obj["crm"]
    if crm is None:
        _fail("Name the CRM: --crm salesforce|hubspot (or set SYNC_CRM).", EXIT_CONFIG)
    if record is None and code is None and action == "dismiss":
        _fail("Say what to dismiss: --record ID or --code CODE.", EXIT_CONFIG)
    change_errors(ctx.obj["database"], action=action, crm=str(crm), record_id=record, code=code, console=_out())


@errors.command("dismiss")
@click.option("--crm", type=CRM, default=None)
@click.option("--record", default=None, help="The CRM record id.")
@click.option("--code", default=None, help="Every open error with this CRM code.")
@click.pass_context
def errors_dismiss(ctx: click.Context, crm: str | None, record: str | None, code: str | None) -> None:
    """Stop retrying records (they leave the plan until retried)."""
    _change_errors(ctx, "dismiss", crm, record, code)


@errors.command("retry")
@click.option("--crm", type=CRM, default=None)
@click.option("--record", default=None, help="The CRM record id.")
@click.option("--code", default=None, help="Every error with this CRM code.")
@click.pass_context
def errors_retry(ctx: click.Context, crm: str | None, record: str | None, code: str | None) -> None:
    """Put dismissed records back in the plan (the next cycle retries them)."""
    _change_errors(ctx, "retry", crm, record, code)


HEALTH = click.Choice(["on_track", "at_risk", "off_track"])


def _plan_crm() -> tuple[AppSettings, str]:
    """Settings for the plan, task and handoff commands: they read the store only, so no CRM credentials needed."""
    settings = _settings(quiet=True)
    if settings.sync.crm is None:
        _fail(
            "Set SYNC_CRM (salesforce or hubspot): plans and handoffs are kept per CRM, and these commands read them.",
            EXIT_CONFIG,
        )
    return settings, str(settings.sync.crm)


def _plan_input(run: Callable[[], None]) -> None:
    """Run a plan or task command; an unknown account, task or date exits 2 with its message."""
    from sync_daemon.commands.plans import PlanInputError  # noqa: PLC0415

    try:
        run()
    except PlanInputError as exc:
        _fail(str(exc), EXIT_CONFIG)


@main.group()
def plan() -> None:
    """Onboarding plans as the store holds them, evaluated as of today (no CRM call)."""


@plan.command("show")
@click.argument("account")
@click.option("--output", type=OUTPUT, default="table", show_default=True)
@handle_errors
def plan_show(account: str, output: str) -> None:
    """Show ACCOUNT's plan: phases, tasks, due dates, the critical path and the evidence of each completion."""
    from sync_daemon.commands.plans import show_plan  # noqa: PLC0415

    settings, crm = _plan_crm()
    _plan_input(lambda: show_plan(settings, crm, account, today=now_utc().date(), output=output, console=_out()))


@plan.command("list")
@click.option("--health", type=HEALTH, default=None, help="Only plans of this health.")
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True)
@click.option("--output", type=OUTPUT, default="table", show_default=True)
@handle_errors
def plan_list(health: str | None, limit: int, output: str) -> None:
    """List plans by their last evaluation, the largest slip first."""
    from sync_daemon.commands.plans import list_plans  # noqa: PLC0415

    settings, crm = _plan_crm()
    _plan_input(lambda: list_plans(settings, crm, health=health, limit=limit, output=output, console=_out()))


@main.group()
def task() -> None:
    """Mark onboarding tasks done by hand, or reopen them; the next cycle pushes the change to the CRM."""


@task.command("done")
@click.argument("account")
@click.argument("task_id", metavar="TASK")
@click.option(
    "--at",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    metavar="YYYY-MM-DD",
    default=None,
    help="The day it was done [default: today].",
)
@click.option("--note", default=None, help="Why, or who confirmed it (shown by `plan show`).")
@handle_errors
def task_done(account: str, task_id: str, at: datetime | None, note: str | None) -> None:
    """Mark TASK of ACCOUNT's plan done by hand (a person's word beats what the CRM shows)."""
    from sync_daemon.commands.plans import mark_done  # noqa: PLC0415

    settings, crm = _plan_crm()
    day = at.date() if at is not None else None
    _plan_input(lambda: mark_done(settings, crm, account, task_id, at=day, note=note, now=now_utc(), console=_out()))


@task.command("reopen")
@click.argument("account")
@click.argument("task_id", metavar="TASK")
@handle_errors
def task_reopen(account: str, task_id: str) -> None:
    """Reopen TASK of ACCOUNT's plan (it counts as open again)."""
    from sync_daemon.commands.plans import reopen_task  # noqa: PLC0415

    settings, crm = _plan_crm()
    _plan_input(lambda: reopen_task(settings, crm, account, task_id, now=now_utc(), console=_out()))


HANDOFF_STATUS = click.Choice(["onboarding", "ready", "handed_off", "at_risk"])


@main.group()
def handoff() -> None:
    """Handoff decisions and notes as the store holds them (no CRM call); restart an at-risk account."""


@handoff.command("show")
@click.argument("account")
@click.option("--output", type=OUTPUT, default="table", show_default=True)
@handle_errors
def handoff_show(account: str, output: str) -> None:
    """Show ACCOUNT's handoff decision with each gate's evidence, its adoption status and earlier cycles."""
    from sync_daemon.commands.handoffs import show_handoff  # noqa: PLC0415

    settings, crm = _plan_crm()
    _plan_input(lambda: show_handoff(settings, crm, account, output=output, console=_out()))


@handoff.command("list")
@click.option("--status", type=HANDOFF_STATUS, default=None, help="Only decisions with this outcome.")
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True)
@click.option("--output", type=OUTPUT, default="table", show_default=True)
@handle_errors
def handoff_list(status: str | None, limit: int, output: str) -> None:
    """List the current onboarding cycle's handoff decisions, by account id."""
    from sync_daemon.commands.handoffs import list_handoffs  # noqa: PLC0415

    settings, crm = _plan_crm()
    _plan_input(lambda: list_handoffs(settings, crm, status=status, limit=limit, output=output, console=_out()))


@handoff.command("preview")
@click.argument("account")
@click.option("--output", type=OUTPUT, default="table", show_default=True)
@handle_errors
def handoff_preview(account: str, output: str) -> None:
    """Render ACCOUNT's handoff note as a handoff today would write it; nothing is stored or sent."""
    from sync_daemon.commands.handoffs import preview_note  # noqa: PLC0415

    settings, crm = _plan_crm()
    _plan_input(lambda: preview_note(settings, crm, account, today=now_utc().date(), output=output, console=_out()))


@handoff.command("restart")
@click.argument("account")
@click.option("--template", "template_id", default=None, help="The plan template [default: the policy's].")
@handle_errors
def handoff_restart(account: str, template_id: str | None) -> None:
    """Restart an at-risk ACCOUNT's onboarding from the retention template, today (the next cycle shows it)."""
    from sync_daemon.commands.handoffs import restart_handoff  # noqa: PLC0415

    settings, crm = _plan_crm()
    _plan_input(lambda: restart_handoff(settings, crm, account, template_id=template_id, now=now_utc(), console=_out()))


@main.group()
def assessments() -> None:
    """Assessment sends as the store and the policy make them (no CRM call): who is due, and a contact's history."""


@assessments.command("due")
@click.option(
    "--date",
    "day",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    metavar="YYYY-MM-DD",
    default=None,
    help="Preview a run on this day, at the current time of day (UTC) [default: now].",
)
@click.option("--output", type=OUTPUT, default="table", show_default=True)
@handle_errors
def assessments_due(day: datetime | None, output: str) -> None:
    """Who the next run would send which assessment, and why the others are skipped or wait; nothing is written."""
    from sync_daemon.commands.assessments import preview_moment, show_due  # noqa: PLC0415

    settings, crm = _plan_crm()
    now = preview_moment(day.date() if day is not None else None, now_utc())
    _plan_input(lambda: show_due(settings, crm, now=now, environ=os.environ, output=output, console=_out()))


@assessments.command("history")
@click.argument("contact")
@click.option("--output", type=OUTPUT, default="table", show_default=True)
@handle_errors
def assessments_history(contact: str, output: str) -> None:
    """Every assessment sent to CONTACT with its outbox status, why due ones were left out, and its answers."""
    from sync_daemon.commands.assessments import show_history  # noqa: PLC0415

    settings, crm = _plan_crm()
    _plan_input(lambda: show_history(settings, crm, contact, output=output, console=_out()))


@main.command()
@click.option("--database", type=str, default=None, help="Store URL [default: SYNC_DATABASE_URL].")
@handle_errors
def metrics(database: str | None) -> None:
    """Print the Prometheus metrics read from the store (the daemon serves the same on /metrics)."""
    from sync_daemon.metrics import exposition  # noqa: PLC0415
    from sync_daemon.store import Store  # noqa: PLC0415

    settings = _settings()
    store = Store.open(database or settings.sync.database_url)
    try:
        click.echo(exposition(store), nl=False)
    finally:
        store.close()


@main.command()
@click.option("--check", is_flag=True, help="Exit 2 if the shipped schema differs from the models.")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path), required=False)
@handle_errors
def schema(check: bool, path: Path | None) -> None:  # noqa: FBT001 - click flag
    """Write the mapping files' JSON Schema (for editors) from the models."""
    from sync_daemon.config.schema import mapping_schema_text  # noqa: PLC0415
    from sync_daemon.resources import shipped  # noqa: PLC0415

    target = path or shipped("mappings/mapping.schema.json")
    text = mapping_schema_text()
    if check:
        current = target.read_text(encoding="utf-8") if target.exists() else ""
        if current != text:
            _fail(f"{target}: out of date; run `sync-daemon schema {target}`", EXIT_CONFIG)
        return
    target.write_text(text, encoding="utf-8")
    _out().print(f"wrote {target}")


@main.command()
@click.option("--crm", type=CRM, default="salesforce", show_default=True)
@click.option("--accounts", type=click.IntRange(1, 200_000), default=1_000, show_default=True)
@click.option("--contacts", type=click.IntRange(1, 1_000_000), default=5_000, show_default=True)
@click.option(
    "--env-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also write the settings that point `sync` at this sandbox to this file.",
)
@click.option("--for-seconds", type=float, default=None, help="Stop after this long (default: until Ctrl-C).")
def sandbox(crm: str, accounts: int, contacts: int, env_file: Path | None, for_seconds: float | None) -> None:
    """Serve a sandbox CRM on a loopback port and print the settings that point `sync` at it."""
    from sync_daemon.demo import running_sandbox  # noqa: PLC0415

    with running_sandbox(cast("Literal['salesforce', 'hubspot']", crm), accounts, contacts) as handle:
        lines = [f"export {k}={v}" for k, v in handle.env().items()]
        if env_file is not None:
            env_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
        click.echo("\n".join(lines), err=False)
        click.echo(
            f"# {crm} sandbox with {accounts:,} accounts and {contacts:,} contacts; Ctrl-C stops it",
            err=True,
        )
        deadline = time.monotonic() + for_seconds if for_seconds else None
        try:
            while deadline is None or time.monotonic() < deadline:
                time.sleep(0.2)
        except KeyboardInterrupt:
            pass


def now_utc() -> datetime:
    """The wall clock, in one place so commands share it."""
    return datetime.now(UTC)
