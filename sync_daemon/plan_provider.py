"""The onboarding plan as a desired-state provider of the push (issue 4).

For a chunk of stored accounts it chooses each account's template (segment rules, first match wins), starts or
keeps its plan in the store (a new template revision keeps the plan's history and picks up added tasks),
records the tasks the CRM shows done (first seen wins, with its source), evaluates the plan as of ``today`` and
returns the daemon-owned plan fields the mapping declares. An account without a start date has no plan yet.

It is the one place that joins the pure plan domain to the store; the evaluation itself is pure.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sync_daemon.domain.calendar import WorkCalendar
from sync_daemon.domain.completion import CompletionRules, seen_rows
from sync_daemon.domain.diff import DesiredRecord
from sync_daemon.domain.plan_fields import declared, plan_start, plan_values
from sync_daemon.domain.plans import PlanEvaluation, PlanEvaluator
from sync_daemon.store.plan_tasks import done_dates
from sync_daemon.store.plans import EvaluationRow, NewPlan, PlanRow

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence
    from datetime import date, datetime

    from connectors.base import ObjectKind
    from sync_daemon.config.models import MappingFile
    from sync_daemon.config.plan_loader import PlanSet
    from sync_daemon.config.plan_models import PlanTemplate
    from sync_daemon.store import Store


@dataclass(frozen=True, slots=True)
class EvaluatedPlan:
    """A stored plan and its evaluation as of the cycle's day."""

    plan: PlanRow
    evaluation: PlanEvaluation


class PlanProvider:
    """Plans for every account in onboarding, evaluated as of ``today``."""

    def __init__(
        self, plans: PlanSet, mapping: MappingFile, store: Store, *, crm: str, today: date, now: datetime
    ) -> None:
        calendar = WorkCalendar.from_config(plans.config.calendar)
        self._plans = plans
        self._store = store
        self._crm = crm
        self._today = today
        self._now = now
        self._push = frozenset(mapping.push_fields("accounts"))
        self._evaluators = {tid: PlanEvaluator(t, calendar, plans.config.health) for tid, t in plans.templates.items()}
        self._rules = {tid: CompletionRules(t) for tid, t in plans.templates.items()}

    def _choose(self, rows: Sequence[Mapping[str, object]]) -> dict[str, tuple[PlanTemplate, date]]:
        chosen: dict[str, tuple[PlanTemplate, date]] = {}
        for row in rows:
            fields = row["fields"]
            assert isinstance(fields, dict)  # noqa: S101 - the store's row shape
            start = plan_start(fields, self._plans.config)
            if start is not None:
                chosen[str(row["id"])] = (self._plans.choose(fields)[0], start)
        return chosen

    def _sticky(
        self, chosen: dict[str, tuple[PlanTemplate, date]], running: Mapping[str, PlanRow]
    ) -> dict[str, tuple[PlanTemplate, date]]:
        """A running plan keeps its template, picking up its new revisions.

        The segment rules may change their mind mid-onboarding (a contract grows); choosing again is a restart's
        business. A plan whose template was since removed gets the chosen one.
        A restarted plan (cycle 2 on, from the at-risk path) also keeps its own start: the restart's day.
        """
        out = {}
        for aid, (template, start) in chosen.items():
            plan = running.get(aid)
            kept = self._plans.templates.get(plan.template_id) if plan is not None else None
            restarted = plan is not None and plan.cycle > 1
            out[aid] = (kept or template, plan.start_date if restarted and plan is not None else start)
        return out

    def desired(self, kind: ObjectKind, rows: Sequence[Mapping[str, object]]) -> Iterable[DesiredRecord]:
        """The plan fields of each account of the chunk that has a plan."""
        if kind != "accounts":
            return []
        return [
            DesiredRecord("accounts", aid, declared(plan_values(ev.evaluation), self._push))
            for aid, ev in self.evaluate(rows).items()
        ]

    def evaluate(self, rows: Sequence[Mapping[str, object]]) -> dict[str, EvaluatedPlan]:
        """Start, record and evaluate the plans of a chunk of account rows; by account id (those with a plan)."""
        chosen = self._choose(rows)
        if not chosen:
            return {}
        crm, store = self._crm, self._store
        running = store.plans_for(crm, chosen)
        new = [NewPlan(aid, t.id, t.revision, start) for aid, (t, start) in self._sticky(chosen, running).items()]
        store.start_plans(crm, new, self._now)
        stored = store.plans_for(crm, chosen)
        fields = {str(r["id"]): r["fields"] for r in rows}
        seen = [
            s
            for aid, plan in stored.items()
            for s in seen_rows(aid, plan.cycle, self._rules[plan.template_id].seen_done(fields[aid]))  # type: ignore[arg-type]
        ]
        store.record_completions(crm, seen, self._today, self._now, accounts=list(stored))
        completions = store.completions_for(crm, stored)
        out: dict[str, EvaluatedPlan] = {}
        for aid, plan in stored.items():
            done = done_dates(completions.get(aid, {}))
            evaluation = self._evaluators[plan.template_id].evaluate(plan.start_date, done, self._today)
            out[aid] = EvaluatedPlan(plan, evaluation)
        store.save_evaluations(crm, [EvaluationRow.of(aid, ev.evaluation) for aid, ev in out.items()], self._now)
        return out
