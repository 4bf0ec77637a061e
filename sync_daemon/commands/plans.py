"""``sync-daemon plan show|list`` and ``task done|reopen``: onboarding plans from the store, never the CRM.

``plan show`` evaluates one account's plan as of today with the same pure evaluator the cycle uses, from what
the store holds (the plan, when each task was first seen done and by which source, the account's last pulled
fields), so it answers "why is this task done?" without an API call. ``task done`` and ``task reopen`` change
the store only: the next cycle evaluates the plan again and pushes the new figures to the CRM.

Bad input (an unknown account, an account without a plan, a task its template does not have, a date in the
future) raises :class:`PlanInputError`, which the CLI turns into exit 2.
"""

from __future__ import annotations

import difflib
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sync_daemon.config.loader import load_mapping
from sync_daemon.domain.calendar import WorkCalendar
from sync_daemon.domain.completion import CompletionRules, task_ids
from sync_daemon.domain.plans import PlanEvaluator
from sync_daemon.render import print_json
from sync_daemon.render_plans import (
    SOURCE_LABEL,
    ListedPlan,
    PlanView,
    listed_to_json,
    plan_to_json,
    plan_tree,
    plans_table,
)
from sync_daemon.store import Store
from sync_daemon.store.plan_tasks import done_dates
from sync_daemon.wiring import load_plan_set

if TYPE_CHECKING:
    from collections.abc import Iterator
    from datetime import date, datetime

    from rich.console import Console

    from sync_daemon.config.plan_loader import PlanSet
    from sync_daemon.config.plan_models import PlanTemplate
    from sync_daemon.settings import AppSettings
    from sync_daemon.store.plans import PlanRow

NEXT_CYCLE = "The CRM shows it after the next cycle (`sync-daemon sync`, or the running daemon's next run)."


class PlanInputError(ValueError):
    """The account, task or date given to a plan command does not fit the store or the template (exit 2)."""


@dataclass(frozen=True, slots=True)
class PlanContext:
    """What every plan command needs: the store, the CRM whose plans it reads, and the validated templates."""

    store: Store
    crm: str
    plans: PlanSet

    def evaluator(self, template: PlanTemplate) -> PlanEvaluator:
        """The evaluator the cycle would build for ``template`` (same calendar, same thresholds)."""
        config = self.plans.config
        return PlanEvaluator(template, WorkCalendar.from_config(config.calendar), config.health)

    def template(self, template_id: str, account_id: str) -> PlanTemplate:
        """A plan's template; a plan whose template left the folder cannot be shown."""
        template = self.plans.templates.get(template_id)
        if template is None:
            raise PlanInputError(
                f"account {account_id!r} runs template {template_id!r}, which is no longer in the "
                f"plans folder; the next cycle moves it to its segment's template"
            )
        return template


@contextmanager
def plan_context(settings: AppSettings, crm: str) -> Iterator[PlanContext]:
    """Load the mapping and templates (ConfigError when broken), open the store, and close it afterwards."""
    path = settings.mapping_path()
    if path is None:  # pragma: no cover - the CLI checks SYNC_CRM first
        raise PlanInputError("set SYNC_CRM (or SYNC_MAPPING_FILE) to say which CRM's plans to read")
    mapping = load_mapping(path)
    plans = load_plan_set(settings, mapping)
    if plans is None:
        raise PlanInputError(
            f"no onboarding plans are configured: {settings.sync.config_dir}/plans/plans.yaml is missing"
        )
    store = Store.open(settings.sync.database_url)
    try:
        yield PlanContext(store, crm, plans)
    finally:
        store.close()


def account_view(ctx: PlanContext, account_id: str, today: date) -> PlanView:
    """One account's plan evaluated as of ``today`` from the store; PlanInputError without account or plan."""
    record = ctx.store.get_record("accounts", ctx.crm, account_id)
    if record is None or record["deleted"]:
        state = "deleted" if record is not None else "not in the store"
        raise PlanInputError(
            f"account {account_id!r} is {state} for {ctx.crm} (ids are the CRM's record ids; "
            "`sync-daemon plan list` shows them)"
        )
    plan = ctx.store.plans_for(ctx.crm, [account_id]).get(account_id)
    fields = dict(record["fields"] or {})
    if plan is None:
        start = ctx.plans.config.start_field, ctx.plans.config.fallback_start_field
        named = " or ".join(f for f in start if f)
        raise PlanInputError(
            f"account {account_id!r} has no onboarding plan yet: a plan starts when {named} is set, at the next cycle"
        )
    template = ctx.template(plan.template_id, account_id)
    completions = ctx.store.completions_for(ctx.crm, [account_id]).get(account_id, {})
    evaluation = ctx.evaluator(template).evaluate(plan.start_date, done_dates(completions), today)
    name = fields.get("name")
    verdicts = CompletionRules(template).evidence(fields)
    return PlanView(account_id, str(name) if name else None, plan, template, evaluation, completions, verdicts)


def show_plan(settings: AppSettings, crm: str, account_id: str, *, today: date, output: str, console: Console) -> None:
    """Print one account's plan as a tree (or JSON)."""
    with plan_context(settings, crm) as ctx:
        view = account_view(ctx, account_id, today)
    if output == "json":
        print_json(console, plan_to_json(view))
        return
    console.print(plan_tree(view))


def list_plans(
    settings: AppSettings, crm: str, *, health: str | None, limit: int, output: str, console: Console
) -> None:
    """Print the plans' last evaluations, the largest slip first, optionally of one health."""
    with plan_context(settings, crm) as ctx:
        rows = [_listed(ctx, plan) for plan in ctx.store.list_plans(crm, health, limit)]
    if output == "json":
        print_json(console, [listed_to_json(row) for row in rows])
        return
    if not rows:
        which = f" with health {health}" if health else ""
        console.print(f"No onboarding plans{which} for {crm} yet: a cycle starts them (`sync-daemon sync`).")
        return
    console.print(plans_table(rows, health))


def _listed(ctx: PlanContext, plan: PlanRow) -> ListedPlan:
    record = ctx.store.get_record("accounts", ctx.crm, plan.account_id)
    name = (record["fields"] or {}).get("name") if record is not None else None
    template = ctx.plans.templates.get(plan.template_id)
    titles = {t.id: t.title for phase in template.phases for t in phase.tasks} if template else {}
    return ListedPlan(plan, str(name) if name else None, titles.get(plan.next_task or ""))


def checked_task(view: PlanView, task_id: str) -> str:
    """``task_id`` when the account's template has it; else PlanInputError suggesting the closest id."""
    known = list(task_ids(view.template))
    if task_id in known:
        return task_id
    close = difflib.get_close_matches(task_id, known, n=1, cutoff=0.5)
    hint = f"did you mean {close[0]!r}? " if close else ""
    raise PlanInputError(
        f"template {view.template.id!r} of account {view.account_id!r} has no task {task_id!r}; "
        f"{hint}its tasks: {', '.join(known)}"
    )


def mark_done(
    settings: AppSettings,
    crm: str,
    account_id: str,
    task_id: str,
    *,
    at: date | None,
    note: str | None,
    now: datetime,
    console: Console,
) -> None:
    """Mark a task done by hand on ``at`` (default: ``now``'s day) and print what changed for the plan."""
    today = now.date()
    day = at or today
    if day > today:
        raise PlanInputError(f"--at {day.isoformat()} is in the future (today is {today.isoformat()})")
    with plan_context(settings, crm) as ctx:
        before = account_view(ctx, account_id, today)
        task = checked_task(before, task_id)
        ctx.store.mark_done(crm, account_id, task, at=day, note=note, now=now)
        after = account_view(ctx, account_id, today)
    was = _was(before, task)
    console.print(
        f"{account_id}: task {task} ({after.evaluation.task(task).title}) {was} → done on "
        f"{day.isoformat()} by hand" + (f", note: {note}" if note else ""),
        markup=False,
        highlight=False,
    )
    _print_effect(before, after, console)


def reopen_task(
    settings: AppSettings, crm: str, account_id: str, task_id: str, *, now: datetime, console: Console
) -> None:
    """Reopen a done task and print what changed; a task that is not done is left as it is."""
    today = now.date()
    with plan_context(settings, crm) as ctx:
        before = account_view(ctx, account_id, today)
        task = checked_task(before, task_id)
        reopened = ctx.store.reopen(crm, account_id, task, now=now)
        after = account_view(ctx, account_id, today)
    if not reopened:
        console.print(f"{account_id}: task {task} is not done ({_was(before, task)}); nothing changed.", markup=False)
        return
    console.print(
        f"{account_id}: task {task} ({after.evaluation.task(task).title}) {_was(before, task)} → "
        f"{after.evaluation.task(task).status}",
        markup=False,
        highlight=False,
    )
    source = before.completions[task].source
    if source != "manual":
        console.print(
            f"While the CRM still shows it done ({SOURCE_LABEL.get(source, source)}), the daemon keeps it "
            "open; once that evidence goes and comes back, it counts as done again.",
            markup=False,
        )
    _print_effect(before, after, console)


def _was(view: PlanView, task_id: str) -> str:
    task = view.evaluation.task(task_id)
    if task.status != "done":
        return task.status
    source = SOURCE_LABEL.get(view.completions[task_id].source, "")
    return f"done on {task.done_on.isoformat() if task.done_on else '?'} ({source})"


def _print_effect(before: PlanView, after: PlanView, console: Console) -> None:
    b, a = before.evaluation, after.evaluation
    console.print(
        f"progress {b.progress:g}% → {a.progress:g}%, projected go-live {b.projected_go_live.isoformat()} → "
        f"{a.projected_go_live.isoformat()} (slip {a.slip_days:+d} d, {a.health})",
        markup=False,
    )
    console.print(NEXT_CYCLE, markup=False)
