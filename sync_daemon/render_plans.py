"""How ``plan show`` and ``plan list`` look: a rich tree of one plan, a table of many, and their JSON forms.

Everything people typed (task titles, notes, CRM values in an explanation) goes into :class:`rich.text.Text`
pieces, never into markup strings: a note such as ``"[urgent] call back"`` must print as written.
The data comes from :mod:`sync_daemon.commands.plans`, which reads the store and evaluates the plan; this
module only decides what each line says.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from sync_daemon.domain.conditions import explain

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from datetime import date

    from sync_daemon.config.plan_models import PlanTemplate, Task
    from sync_daemon.domain.conditions import Verdict
    from sync_daemon.domain.plans import PlanEvaluation, TaskEvaluation
    from sync_daemon.store.plan_tasks import Completion
    from sync_daemon.store.plans import PlanRow

HEALTH_STYLE = {"on_track": "green", "at_risk": "yellow", "off_track": "red"}
STATUS_MARK = {"done": ("✓", "green"), "open": ("○", ""), "overdue": ("!", "red")}
CRITICAL = "◆"
SOURCE_LABEL = {
    "crm_step": "ticked in the CRM",
    "crm_field": "CRM field",
    "condition": "condition",
    "manual": "by hand",
}


@dataclass(frozen=True, slots=True)
class PlanView:
    """One account's plan as ``plan show`` presents it: the stored rows and their evaluation as of today."""

    account_id: str
    account_name: str | None
    plan: PlanRow
    template: PlanTemplate
    evaluation: PlanEvaluation
    completions: Mapping[str, Completion]
    verdicts: Mapping[str, Verdict]

    def task_def(self, task_id: str) -> Task:
        """The template's definition of a task (the evaluation only carries what it computes)."""
        return next(t for phase in self.template.phases for t in phase.tasks if t.id == task_id)


@dataclass(frozen=True, slots=True)
class Evidence:
    """Why a task counts as done: the source as people say it, and the detail behind it.

    ``detail`` is the condition's explanation (CRM sources, as the stored fields read now) or the note (by
    hand); ``still_shown`` says whether the CRM still shows it done (``None`` for a task done by hand).
    """

    source: str
    label: str
    detail: str | None
    still_shown: bool | None


def evidence_of(task: Task, completion: Completion, verdict: Verdict | None) -> Evidence:
    """The evidence of one completion; a CRM source is explained with the account's stored fields."""
    label = SOURCE_LABEL.get(completion.source, completion.source)
    if completion.source == "manual":
        return Evidence(completion.source, label, completion.note, None)
    how = task.done_when
    if completion.source == "crm_step" and how is not None and how.step is not None:
        label = f"{label} (step {how.step})"
    elif completion.source == "crm_field" and how is not None and how.field is not None:
        label = f"{label} {how.field}"
    if verdict is None:  # the template no longer says how the CRM shows this task done
        return Evidence(completion.source, label, None, None)
    return Evidence(completion.source, label, explain(verdict), verdict.holds)


def _day(value: date | None) -> str:
    return value.isoformat() if value is not None else "—"


def _slip(days: int | None) -> str:
    return "—" if days is None else f"{days:+d} d"


def _health(health: str | None) -> Text:
    return Text(health or "not evaluated", style=HEALTH_STYLE.get(health or "", "dim"))


def _headline(view: PlanView) -> Text:
    ev = view.evaluation
    text = Text()
    text.append(f"start {_day(ev.start)} · target {_day(ev.target_date)} · projected go-live ")
    text.append(_day(ev.projected_go_live), style="bold")
    text.append(f" (slip {_slip(ev.slip_days)}) · progress {ev.progress:g}% · health ")
    text.append_text(_health(ev.health))
    return text


def _status_line(view: PlanView) -> Text:
    ev = view.evaluation
    text = Text(f"phase {ev.current_phase_name or 'all tasks done'}")
    if ev.next_task_title is not None:
        text.append(" · next: ").append(ev.next_task_title).append(f" (due {_day(ev.next_task_due)})")
    text.append(f" · overdue {ev.overdue_count} · waiting on customer {ev.waiting_on_customer}")
    text.append(f", on vendor {ev.waiting_on_vendor} · as of {_day(ev.today)}")
    return text


def _task_line(task: TaskEvaluation) -> Text:
    mark, style = STATUS_MARK[task.status]
    text = Text(f"{mark} ", style=style or "dim")
    text.append(task.id, style="bold").append(" · ").append(task.title)
    text.append(f"  {task.side} · {task.owner} · due {_day(task.planned_due)}", style="dim")
    if task.status == "done":
        text.append(f" · done {_day(task.done_on)}", style="green")
    else:
        text.append(f" · projected {_day(task.projected_finish)}")
    if task.status == "overdue":
        text.append(" · overdue", style="bold red")
    if task.critical:
        text.append(f" {CRITICAL} critical", style="magenta")
    return text


def _evidence_line(evidence: Evidence) -> Text:
    text = Text("evidence: ", style="dim").append(evidence.label)
    if evidence.detail is not None:
        text.append(": " if evidence.source != "manual" else " — note: ").append(evidence.detail)
    if evidence.still_shown is False:
        text.append(" (no longer shown in the CRM)", style="yellow")
    return text


def _add_task(branch: Tree, view: PlanView, task: TaskEvaluation) -> None:
    node = branch.add(_task_line(task))
    completion = view.completions.get(task.id)
    if completion is None:
        return
    evidence = evidence_of(view.task_def(task.id), completion, view.verdicts.get(task.id))
    if completion.done:
        node.add(_evidence_line(evidence))
    elif completion.reopened_at is not None:
        was = f"reopened by hand on {completion.reopened_at.date().isoformat()}; was done {_day(completion.done_on)}, "
        node.add(Text(was, style="yellow").append(evidence.label))


def plan_tree(view: PlanView) -> Tree:
    """The plan as a tree: headline, then each phase with its tasks, statuses, dates and evidence."""
    ev = view.evaluation
    root_label = Text(view.account_name or view.account_id, style="bold")
    root_label.append(f" ({view.account_id}) — ").append(ev.template_name, style="bold")
    root_label.append(f" ({ev.template_id}, revision {ev.revision})")
    if view.plan.template_revision != ev.revision:
        root_label.append(f" [plan recorded revision {view.plan.template_revision}]", style="yellow")
    tree = Tree(root_label)
    tree.add(_headline(view))
    tree.add(_status_line(view))
    by_phase: dict[str, list[TaskEvaluation]] = {}
    for task in ev.tasks:
        by_phase.setdefault(task.phase, []).append(task)
    for phase in view.template.phases:
        branch = tree.add(Text(phase.name, style="bold cyan"))
        for task in by_phase.get(phase.id, []):
            _add_task(branch, view, task)
    tree.add(Text(f"{CRITICAL} on the critical path · ✓ done · ○ open · ! overdue", style="dim"))
    return tree


def _evidence_json(view: PlanView, task_id: str) -> dict[str, Any] | None:
    completion = view.completions.get(task_id)
    if completion is None:
        return None
    evidence = evidence_of(view.task_def(task_id), completion, view.verdicts.get(task_id))
    return {
        "source": evidence.source,
        "label": evidence.label,
        "explain": evidence.detail if evidence.source != "manual" else None,
        "note": completion.note,
        "still_shown": evidence.still_shown,
        "done_on": completion.done_on.isoformat(),
        "first_seen_at": completion.first_seen_at.isoformat(),
        "reopened_at": completion.reopened_at.isoformat() if completion.reopened_at else None,
    }


def _task_json(view: PlanView, task: TaskEvaluation) -> dict[str, Any]:
    return {
        "id": task.id,
        "title": task.title,
        "status": task.status,
        "side": task.side,
        "kind": task.kind,
        "owner": task.owner,
        "weight": task.weight,
        "planned_due": task.planned_due.isoformat(),
        "projected_finish": task.projected_finish.isoformat(),
        "done_on": _day(task.done_on) if task.done_on else None,
        "ready": task.ready,
        "critical": task.critical,
        "evidence": _evidence_json(view, task.id),
    }


def plan_to_json(view: PlanView) -> dict[str, Any]:
    """``plan show --output json``: the plan-level figures, then phases with their tasks."""
    ev = view.evaluation
    tasks = ev.tasks
    return {
        "account": {"id": view.account_id, "name": view.account_name},
        "template": ev.template_id, "name": ev.template_name, "revision": ev.revision,
        "plan_revision": view.plan.template_revision, "status": view.plan.status,
        "today": ev.today.isoformat(), "start": ev.start.isoformat(), "target": ev.target_date.isoformat(),
        "projected_go_live": ev.projected_go_live.isoformat(), "slip_days": ev.slip_days,
        "progress": ev.progress, "health": ev.health, "current_phase": ev.current_phase,
        "next_task": ev.next_task, "next_task_due": _day(ev.next_task_due) if ev.next_task_due else None,
        "overdue": ev.overdue_count, "waiting_on_customer": ev.waiting_on_customer,
        "waiting_on_vendor": ev.waiting_on_vendor, "critical_path": list(ev.critical_path),
        "phases": [
            {"id": p.id, "name": p.name, "tasks": [_task_json(view, t) for t in tasks if t.phase == p.id]}
            for p in view.template.phases
        ],
    }  # fmt: skip


@dataclass(frozen=True, slots=True)
class ListedPlan:
    """One ``plan list`` row: the stored plan, the account's name and the next task's title (when known)."""

    plan: PlanRow
    account_name: str | None
    next_title: str | None


def plans_table(rows: Sequence[ListedPlan], health: str | None) -> Table:
    """Plans worst first (the largest slip first), one row each, from their last evaluation."""
    title = "onboarding plans" + (f" ({health})" if health else "") + ", largest slip first"
    table = Table(title=title, title_justify="left")
    for col in ("account", "name", "template", "progress", "health", "slip", "go-live", "next task"):
        table.add_column(col, justify="right" if col in {"progress", "slip"} else "left")
    for row in rows:
        p = row.plan
        nxt = Text(row.next_title or p.next_task or "—")
        if p.next_task_due is not None:
            nxt.append(f" (due {p.next_task_due.isoformat()})", style="dim")
        progress = "—" if p.progress is None else f"{p.progress:g}%"
        table.add_row(p.account_id, Text(row.account_name or "—"), p.template_id, progress, _health(p.health),
                      _slip(p.slip_days), _day(p.projected_go_live), nxt)  # fmt: skip
    return table


def listed_to_json(row: ListedPlan) -> dict[str, Any]:
    """One ``plan list`` row as JSON-able data."""
    p = row.plan
    return {
        "account_id": p.account_id, "name": row.account_name, "template": p.template_id,
        "revision": p.template_revision, "status": p.status, "start": p.start_date.isoformat(),
        "progress": p.progress, "health": p.health, "slip_days": p.slip_days,
        "projected_go_live": p.projected_go_live.isoformat() if p.projected_go_live else None,
        "current_phase": p.current_phase, "next_task": p.next_task, "next_task_title": row.next_title,
        "next_task_due": p.next_task_due.isoformat() if p.next_task_due else None,
        "evaluated_at": p.evaluated_at.isoformat() if p.evaluated_at else None,
    }  # fmt: skip
