"""Is an account ready for its CSM? A decision with its evidence, from the handoff policy.

Pure: a function of the policy, the account's fields, its evaluated plan, its adoption status, the day
it was handed off (if it was) and ``today`` (passed in; no clock reads).

The outcomes, in the order they are decided:

1. ``handed_off``: the account was handed off this onboarding cycle. It stays so whatever the policy
   now says: a handoff is a fact, not an opinion, and re-running must never send a second note.
2. ``ready`` by a person: the CRM override is ``force`` (any case). It wins over every gate.
3. ``at_risk``: more than ``window_days`` since the sale (day 91 of a 90-day window, not day 90) and not
   adopted. The account goes to a retention / restart path, never silently to CS; this comes before
   the gates because the window is the deadline for adoption: past it, only adoption or a person's
   ``force`` lets an account through, even if the admin's adoption gate asks for less.
4. ``ready``: every gate passes. A ``hold`` override keeps such an account in ``onboarding`` and says so.
5. ``onboarding`` otherwise, naming the gates it waits on.

Gates: the plan (required tasks and phases done; an id the account's plan does not have is shown as
such and skipped, but at least one required id must be in the plan; waived once the optional time box
is over), adoption (status at least X in the policy's order), each KPI threshold, and a CSM assigned.
Every gate's evidence carries the values it saw; ``short`` is the one-line form for a CRM field.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Literal

from sync_daemon.config.handoff_models import OVERRIDES, Override
from sync_daemon.domain.conditions import evaluate, explain
from sync_daemon.domain.values import normalize

if TYPE_CHECKING:
    from collections.abc import Mapping

    from sync_daemon.config.handoff_models import AdoptionGate, CsmGate, HandoffPolicy, KpiThreshold, PlanGate
    from sync_daemon.domain.adoption import AdoptionResult
    from sync_daemon.domain.plans import PlanEvaluation, TaskEvaluation

__all__ = ["SHORT_MAX", "GateResult", "HandoffDecision", "Outcome", "decide", "read_override", "sale_date"]

Outcome = Literal["onboarding", "ready", "handed_off", "at_risk"]
SHORT_MAX = 255


@dataclass(frozen=True, slots=True)
class GateResult:
    """One gate: whether it passed, the evidence with the actual values, and its compact CRM form."""

    name: str
    passed: bool
    evidence: str
    short: str = ""


@dataclass(frozen=True, slots=True)
class HandoffDecision:
    """The outcome, every gate with its evidence, the override seen, the window, why, and the CRM line."""

    outcome: Outcome
    gates: tuple[GateResult, ...]
    override: Override | None
    window_ends: date | None  # the last day of the window; None when the account has no sale date
    days_since_sale: int | None
    reason: str
    short: str
    revision: int  # of the policy that decided

    @property
    def gates_pass(self) -> bool:
        """Whether every gate passed (an override aside)."""
        return all(g.passed for g in self.gates)

    def evidence(self) -> str:
        """The full record, one line per gate, then the outcome and why: stored and shown by ``handoff show``."""
        lines = [f"{g.name}: {'✓' if g.passed else '✗'} {g.evidence}" for g in self.gates]
        return "\n".join([*lines, f"{self.outcome}: {self.reason} (policy revision {self.revision})"])


def decide(
    policy: HandoffPolicy,
    *,
    fields: Mapping[str, object],
    plan: PlanEvaluation | None,
    adoption: AdoptionResult,
    handed_off_on: date | None,
    today: date,
    restarted_on: date | None = None,
) -> HandoffDecision:
    """Decide the account's handoff outcome as of ``today``, with the evidence of every gate.

    ``restarted_on``: the day a restarted onboarding cycle began; its window runs from then, not from the sale
    (else a restart from the retention path would be at risk again on its first day).
    """
    rules = policy.handoff
    sale = restarted_on or sale_date(fields.get(rules.window_from), plan)
    days = None if sale is None else (today - sale).days
    window_ends = None if sale is None else sale + timedelta(days=rules.window_days)
    override, override_note = read_override(fields.get(rules.override_field))
    gates = _gates(policy, fields, plan, adoption, days)
    outcome, reason, head = _outcome(
        policy, gates, adoption=adoption, override=override, days=days, handed_off_on=handed_off_on
    )
    if outcome == "at_risk" and window_ends is not None:
        since = f" from the restart on {restarted_on.isoformat()}" if restarted_on else ""
        reason = f"{reason} (the window{since} ended {window_ends.isoformat()})"
    if override_note:
        reason = f"{reason}; {override_note}"
    day = "" if days is None else f" · day {days}/{rules.window_days}"
    short = _clip(f"{head}{day}: " + " · ".join(g.short for g in gates) if gates else f"{head}{day}")
    return HandoffDecision(outcome, gates, override, window_ends, days, reason, short, policy.revision)


def read_override(raw: object) -> tuple[Override | None, str | None]:
    """The override a person set (``force``/``hold``, any case), and a note when the value is not one of them."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None, None
    text = str(raw).strip().casefold()
    for value in OVERRIDES:
        if text == value:
            return value, None
    return None, f"override '{str(raw).strip()}' ignored: it must be force or hold"


def sale_date(raw: object, plan: PlanEvaluation | None) -> date | None:
    """The sale date from the account field; the plan's start when the field is empty or unreadable."""
    try:
        value = normalize(raw, "date")
    except ValueError:  # a naive datetime: unreadable
        value = None
    if isinstance(value, date):
        return value
    return None if plan is None else plan.start


def _outcome(
    policy: HandoffPolicy,
    gates: tuple[GateResult, ...],
    *,
    adoption: AdoptionResult,
    override: Override | None,
    days: int | None,
    handed_off_on: date | None,
) -> tuple[Outcome, str, str]:
    """The outcome, the reason in words, and the head of the short line."""
    failing = [g.name for g in gates if not g.passed]
    gates_said = "every gate passes" if not failing else f"failing: {', '.join(failing)}"
    field = policy.handoff.override_field
    if handed_off_on is not None:
        return "handed_off", f"handed off on {handed_off_on.isoformat()}; {gates_said} now", "handed_off"
    if override == "force":
        return "ready", f"forced by the CRM override ({field} = force); {gates_said}", "ready (forced)"
    window = policy.handoff.window_days
    if days is not None and days > window and not adoption.adopted:
        adopted = ", ".join(policy.adoption.adopted)
        reason = f"day {days} of a {window}-day window without adoption: status {adoption.status}, adopted is {adopted}"
        held = f"; {field} = hold (no handoff either way)" if override == "hold" else ""
        return "at_risk", reason + held, "at_risk"
    if not failing and override == "hold":
        return "onboarding", f"on hold by the CRM override ({field} = hold); every gate passes", "onboarding (hold)"
    if not failing:
        return "ready", gates_said, "ready"
    held = f"; {field} = hold" if override == "hold" else ""
    return "onboarding", f"waiting on {', '.join(failing)}{held}", "onboarding"


def _gates(
    policy: HandoffPolicy,
    fields: Mapping[str, object],
    plan: PlanEvaluation | None,
    adoption: AdoptionResult,
    days: int | None,
) -> tuple[GateResult, ...]:
    rules = policy.handoff
    gates: list[GateResult] = []
    if rules.gates.plan is not None:
        box = rules.time_box_days
        gates.append(
            _plan_gate(rules.gates.plan, plan, box if days is not None and box and days >= box else None, days)
        )
    if rules.gates.adoption is not None:
        gates.append(_adoption_gate(rules.gates.adoption, policy, adoption))
    gates.extend(_kpi_gate(threshold, fields) for threshold in rules.gates.kpis)
    if rules.gates.csm is not None:
        gates.append(_csm_gate(rules.gates.csm, fields))
    return tuple(gates)


def _plan_gate(gate: PlanGate, plan: PlanEvaluation | None, box_over: int | None, days: int | None) -> GateResult:
    """Required tasks and phases done; ids the plan lacks are shown and skipped, but one must be present."""
    if plan is None:
        long, short, passed = "no onboarding plan for this account", "no plan", False
    else:
        tasks = {t.id: t for t in plan.tasks}
        found = [_task_part(tid, tasks.get(tid), plan) for tid in gate.tasks]
        found += [_phase_part(pid, [t for t in tasks.values() if t.phase == pid], plan) for pid in gate.phases]
        present = [f for f in found if f[2] is not None]
        passed = bool(present) and all(f[2] for f in present)
        long, short = "; ".join(f[0] for f in found), ", ".join(f[1] for f in found)
        if not present:
            long += f"; plan '{plan.template_id}' has none of the required tasks or phases"
    if not passed and box_over is not None:
        return GateResult(
            "plan",
            passed=True,
            evidence=f"waived: the {box_over}-day time box is over (day {days}); {long}",
            short="plan ✓ (time box)",
        )
    return GateResult("plan", passed, long, f"plan {'✓' if passed else '✗'} ({short})")


def _task_part(tid: str, task: TaskEvaluation | None, plan: PlanEvaluation) -> tuple[str, str, bool | None]:
    """(evidence, short, done or None when the plan has no such task)."""
    if task is None:
        return f"{tid} not in plan '{plan.template_id}'", f"{tid} n/a", None
    if task.status == "done" and task.done_on is not None:
        return f"{tid} done {task.done_on.isoformat()}", f"{tid} done", True
    return f"{tid} {task.status} (due {task.planned_due.isoformat()})", f"{tid} {task.status}", False


def _phase_part(pid: str, tasks: list[TaskEvaluation], plan: PlanEvaluation) -> tuple[str, str, bool | None]:
    if not tasks:
        return f"phase {pid} not in plan '{plan.template_id}'", f"{pid} n/a", None
    open_ = [t.id for t in tasks if t.status != "done"]
    if not open_:
        return f"phase {pid} done ({len(tasks)} tasks)", f"{pid} done", True
    done = len(tasks) - len(open_)
    return f"phase {pid}: {done}/{len(tasks)} tasks done, open: {', '.join(open_)}", f"{pid} {done}/{len(tasks)}", False


def _adoption_gate(gate: AdoptionGate, policy: HandoffPolicy, adoption: AdoptionResult) -> GateResult:
    """The status reached is at least the gate's, in the policy's order; the evidence says why."""
    names = policy.adoption.names()
    rank = names.index(adoption.status) if adoption.status in names else -1
    passed = rank >= names.index(gate.at_least)
    relation = f"{adoption.status} {'≥' if passed else '<'} {gate.at_least}"
    shown = adoption.status if passed else gate.at_least  # why it is there, or why it is not higher
    why = adoption.check(shown).explain() if shown in {c.name for c in adoption.verdicts} else ""
    evidence = f"{relation} ({why})" if why else relation
    return GateResult("adoption", passed, evidence, f"adoption {'✓' if passed else '✗'} ({relation})")


def _kpi_gate(threshold: KpiThreshold, fields: Mapping[str, object]) -> GateResult:
    verdict = evaluate(threshold.when, fields)
    text = explain(verdict)
    return GateResult(threshold.name, verdict.holds, text, text)


def _csm_gate(gate: CsmGate, fields: Mapping[str, object]) -> GateResult:
    """A CSM is assigned when any of the gate's fields is set; the evidence names who."""
    for name in gate.fields:
        value = fields.get(name)
        if value is not None and str(value).strip():
            shown = str(value).strip()
            return GateResult("csm", passed=True, evidence=f"{name} '{shown}'", short=f"CSM ✓ {shown}")
    return GateResult("csm", passed=False, evidence=f"{', '.join(gate.fields)} not set", short="CSM ✗ (none assigned)")


def _clip(text: str) -> str:
    return text if len(text) <= SHORT_MAX else text[: SHORT_MAX - 1] + "…"
