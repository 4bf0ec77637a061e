"""Rules of ``handoff.yaml`` that the models alone cannot say, checked on the raw YAML data.

Like the plan checks (:mod:`sync_daemon.config.plan_checks`, whose condition and key checks this
reuses), they run on the data as read, so they report together with pydantic's findings: statuses
named in gates and in ``adopted`` must exist, task and phase ids must exist in the plan templates,
fields must be ones the mapping pulls. Anything of the wrong shape is skipped: the model reports it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sync_daemon.config.errors import did_you_mean, one_of
from sync_daemon.config.plan_checks import IDENTIFIER, PlanChecker, get, items
from sync_daemon.config.yaml_positions import YamlDocument, YamlPath, dotted

if TYPE_CHECKING:
    from collections.abc import Collection

_STATUSES = ("adoption", "statuses")
_GATES = ("handoff", "gates")
_FIELD_DEFAULTS = {"window_from": "close_date", "override_field": "handoff_override"}
_RESTART_DEFAULT = "retention"


class HandoffChecker(PlanChecker):
    """Collects the problems of ``handoff.yaml``; one method per rule.

    ``task_ids`` and ``phase_ids`` are those of the loaded plan templates; ``None`` skips that check
    (the handoff file is being validated without the plan folder).
    """

    def __init__(
        self,
        doc: YamlDocument,
        known_fields: Collection[str],
        task_ids: Collection[str] | None = None,
        phase_ids: Collection[str] | None = None,
        template_ids: Collection[str] | None = None,
    ) -> None:
        """Hold the document, the fields the mapping pulls and the plan ids to check against."""
        super().__init__(doc, known_fields)
        self.task_ids = None if task_ids is None else frozenset(task_ids)
        self.phase_ids = None if phase_ids is None else frozenset(phase_ids)
        self.template_ids = None if template_ids is None else frozenset(template_ids)

    def policy(self) -> None:
        """Every rule of the handoff policy file."""
        names = self._statuses()
        self._adopted(names)
        self._at_least(names)
        self._plan_gate()
        self._kpis()
        self._csm_fields()
        self._rule_fields()
        self._restart_template()

    def _statuses(self) -> list[str]:
        """Unique names; the first status has no condition (accounts start there), every other one has one."""
        statuses = items(self.data, *_STATUSES)
        named: list[tuple[object, YamlPath]] = [
            (get(s, "name"), (*_STATUSES, i, "name")) for i, s in enumerate(statuses)
        ]
        self._duplicates("status", named)
        for i, status in enumerate(statuses):
            if not isinstance(status, dict):
                continue
            path = (*_STATUSES, i)
            self.condition(status.get("when"), (*path, "when"))
            if i == 0 and status.get("when") is not None:
                hint = "remove when: the lowest status is where every account is until a higher one holds"
                self.at((*path, "when"), f"the first status {_quoted(status.get('name'))} takes no condition", hint)
            elif i > 0 and "when" not in status:
                hint = "add when: a condition on usage KPIs, e.g. {field: active_users, op: gte, value: 5}"
                self.at(path, f"status {_quoted(status.get('name'))} needs a condition (when)", hint, key=True)
        return [n for n, _ in named if isinstance(n, str)]

    def _adopted(self, names: list[str]) -> None:
        """Adopted statuses exist, once each, and are the highest ones (above an adopted one is adopted too)."""
        adopted = items(self.data, "adoption", "adopted")
        seen: set[str] = set()
        for i, name in enumerate(adopted):
            path = ("adoption", "adopted", i)
            if isinstance(name, str) and name in seen:
                self.at(path, f"status '{name}' is listed twice in adoption.adopted")
            seen.add(str(name))
            self._status_name(path, name, names)
        known = [n for n in adopted if isinstance(n, str) and n in names]
        if known and len(known) == len(adopted):
            top = names[min(names.index(n) for n in known) :]
            missing = [n for n in top if n not in known]
            if missing:
                hint = f"list every status from the lowest adopted one up: {one_of(top)}"
                self.at(("adoption", "adopted"), f"{one_of(missing)} ranks above an adopted status", hint)

    def _at_least(self, names: list[str]) -> None:
        path = (*_GATES, "adoption", "at_least")
        self._status_name(path, get(self.data, *path), names)

    def _status_name(self, path: YamlPath, name: object, names: list[str]) -> None:
        if not isinstance(name, str) or not IDENTIFIER.fullmatch(name) or not names or name in names:
            return
        hint = did_you_mean(name, names) or f"statuses: {one_of(names)}"
        self.at(path, f"unknown adoption status '{name}' in {dotted(path[:-1])}", hint)

    def _plan_gate(self) -> None:
        """Required tasks and phases exist in some plan template, and the gate requires something."""
        gate = get(self.data, *_GATES, "plan")
        if not isinstance(gate, dict):
            return
        for key, known, what in (("tasks", self.task_ids, "task"), ("phases", self.phase_ids, "phase")):
            for i, name in enumerate(items(gate, key)):
                self._plan_id((*_GATES, "plan", key, i), name, known, what)
        if not items(gate, "tasks") and not items(gate, "phases") and set(gate) <= {"tasks", "phases"}:
            hint = "list task ids (tasks: [go_live]) or phase ids (phases: [rollout]), or remove the plan gate"
            self.at((*_GATES, "plan"), "the plan gate names no task and no phase", hint, key=True)

    def _plan_id(self, path: YamlPath, name: object, known: frozenset[str] | None, what: str) -> None:
        if known is None or not isinstance(name, str) or not IDENTIFIER.fullmatch(name) or name in known:
            return
        hint = did_you_mean(name, known) or f"no plan template has a {what} of that id"
        self.at(path, f"unknown {what} '{name}' in {dotted(path[:-1])}", hint)

    def _kpis(self) -> None:
        thresholds = items(self.data, *_GATES, "kpis")
        self._duplicates(
            "KPI threshold", [(get(t, "name"), (*_GATES, "kpis", i, "name")) for i, t in enumerate(thresholds)]
        )
        for i, threshold in enumerate(thresholds):
            self.condition(get(threshold, "when"), (*_GATES, "kpis", i, "when"))

    def _csm_fields(self) -> None:
        for i, name in enumerate(items(self.data, *_GATES, "csm", "fields")):
            self.field_name((*_GATES, "csm", "fields", i), name)

    def _rule_fields(self) -> None:
        """The sale date and the override field must be pulled, or the window never runs / no one can override."""
        rules = get(self.data, "handoff")
        for key, default in _FIELD_DEFAULTS.items():
            explicit = isinstance(rules, dict) and key in rules
            name = get(rules, key) if explicit else default
            if not isinstance(name, str) or not IDENTIFIER.fullmatch(name) or name in self.known_fields:
                continue
            said = "" if explicit else " (the default)"
            hint = did_you_mean(name, self.known_fields) or "map it in accounts.pull of the mapping file"
            where = ("handoff", key) if explicit else ("handoff",) if isinstance(rules, dict) else ()
            self.at(where, f"handoff.{key} '{name}'{said} is not a field the mapping pulls", hint)

    def _restart_template(self) -> None:
        """The at-risk restart's template must be one of the plan folder's (the default too: ``retention``)."""
        path = get(self.data, "at_risk")
        explicit = isinstance(path, dict) and "restart_template" in path
        name = get(path, "restart_template") if explicit else _RESTART_DEFAULT
        if self.template_ids is None or not isinstance(name, str) or name in self.template_ids:
            return
        said = "" if explicit else " (the default)"
        hint = did_you_mean(name, self.template_ids) or (
            f"add config/plans/{name}.yaml (the shipped retention.yaml is one), or set at_risk.restart_template: null"
        )
        where = ("at_risk", "restart_template") if explicit else ("at_risk",) if isinstance(path, dict) else ()
        self.at(where, f"at_risk.restart_template '{name}'{said} is not a plan template", hint)


def _quoted(name: object) -> str:
    return f"'{name}'" if isinstance(name, str) else "(no name)"
