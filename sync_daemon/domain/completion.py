"""Which tasks of a plan the CRM shows done, and by which kind of evidence.

Pure: a function of the template and one account's canonical fields (as the CRM sends them: HubSpot text such
as ``"kickoff;data_imported"`` or ``"true"``, Salesforce typed values). Each task's ``done_when`` says how:

- ``step``: the onboarding-steps multi-select contains the step → source ``crm_step``;
- ``field``: the field is set and not false (an unticked checkbox is not a "done") → source ``crm_field``;
- ``when``: the condition holds → source ``condition``.

Tasks without ``done_when`` are done by hand only. The result goes to ``Store.record_completions``, which keeps
the day each task was *first* seen done (see :mod:`sync_daemon.store.plan_tasks`); this module says nothing
about dates. :meth:`CompletionRules.evidence` gives the explained verdicts behind the answer, for ``plan show``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from sync_daemon.domain.conditions import completion_condition, evaluate

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping

    from sync_daemon.config.plan_models import Completion, Condition, PlanTemplate
    from sync_daemon.domain.conditions import Verdict

__all__ = ["CompletionRules", "EvidenceSource", "seen_rows", "source_of", "task_ids", "tasks_seen_done"]

EvidenceSource = Literal["crm_step", "crm_field", "condition"]


def source_of(completion: Completion) -> EvidenceSource:
    """The kind of evidence a ``done_when`` stands for (what the store records as the source)."""
    if completion.step is not None:
        return "crm_step"
    if completion.field is not None:
        return "crm_field"
    return "condition"


@dataclass(frozen=True, slots=True)
class _Rule:
    task_id: str
    source: EvidenceSource
    condition: Condition


class CompletionRules:
    """A template's completion rules, compiled once: build one per template per cycle, apply per account."""

    def __init__(self, template: PlanTemplate) -> None:
        """Turn every task's ``done_when`` into a condition, in template order (tasks without one are skipped)."""
        self._rules = tuple(
            _Rule(task.id, source_of(task.done_when), completion_condition(task.done_when))
            for phase in template.phases
            for task in phase.tasks
            if task.done_when is not None
        )

    def seen_done(self, fields: Mapping[str, object]) -> dict[str, EvidenceSource]:
        """The tasks whose evidence holds in ``fields``, by task id, with the kind of evidence."""
        return {rule.task_id: rule.source for rule in self._rules if evaluate(rule.condition, fields).holds}

    def evidence(self, fields: Mapping[str, object]) -> dict[str, Verdict]:
        """Every rule's verdict with the values that decided it (done or not), by task id."""
        return {rule.task_id: evaluate(rule.condition, fields) for rule in self._rules}


def tasks_seen_done(template: PlanTemplate, fields: Mapping[str, object]) -> dict[str, EvidenceSource]:
    """One-off form of :meth:`CompletionRules.seen_done` (the cycle builds the rules once per template)."""
    return CompletionRules(template).seen_done(fields)


def seen_rows(account_id: str, cycle: int, done: Mapping[str, EvidenceSource]) -> Iterator[tuple[str, int, str, str]]:
    """The ``(account_id, cycle, task_id, source)`` tuples ``Store.record_completions`` takes."""
    for task_id, source in done.items():
        yield account_id, cycle, task_id, source


def task_ids(template: PlanTemplate) -> Iterable[str]:
    """Every task id of a template, in order (to check a ``task done`` argument against it)."""
    return (task.id for phase in template.phases for task in phase.tasks)
