"""What the handoff note says about one account, gathered from the pieces a cycle already holds.

Pure: the account's pulled fields, its evaluated plan, its adoption status and first-reached dates, its contacts
(as the store keeps them: fields plus the persona classified at pull time) and the day of the handoff go in; a
frozen :class:`~sync_daemon.domain.handoff_note.HandoffContext` comes out. The cycle, ``handoff preview`` and the
tests build the note through this one function, so the preview is exactly what a handoff would write.

Choices a CSM would expect:

- *What was done*: every done task of the plan, oldest first, with the side and owner role that did it.
- *Still open*: every task not done, in plan order, with its planned due date; an overdue one is also a risk.
- *Buying committee*: the expected personas always appear (empty ones say "nobody identified", which is the
  point), then any other persona with contacts, then the contacts nobody could place (``unknown``).
- *Days to onboard* count from the sale, even for a restarted onboarding: the customer has waited since then.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from sync_daemon.domain import handoff_note as hn
from sync_daemon.domain.assessments import assessment_contact, coverage_gaps
from sync_daemon.domain.handoff import sale_date
from sync_daemon.domain.personas import UNKNOWN
from sync_daemon.domain.values import normalize

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from sync_daemon.config.handoff_models import HandoffPolicy
    from sync_daemon.domain.adoption import AdoptionResult
    from sync_daemon.domain.plans import PlanEvaluation, TaskEvaluation

__all__ = ["AccountFacts", "build_context", "words"]


@dataclass(frozen=True, slots=True)
class AccountFacts:
    """One account as the cycle holds it: pulled fields, evaluated plan, adoption, first-reached dates, contacts."""

    account_id: str
    fields: Mapping[str, object]
    plan: PlanEvaluation | None
    adoption: AdoptionResult
    reached: Mapping[str, date]
    contacts: Sequence[Mapping[str, object]] = ()


def build_context(
    policy: HandoffPolicy,
    facts: AccountFacts,
    *,
    kpis: Sequence[str],
    personas: Sequence[str],
    handoff_date: date,
) -> hn.HandoffContext:
    """The note's context for ``facts`` handed off on ``handoff_date``.

    ``kpis``: the mapping's KPI names, in its order (the adoption section lists each with its value);
    ``personas``: the mapping's persona names, in its order (the committee is grouped by them).
    """
    fields = facts.fields
    tasks = facts.plan.tasks if facts.plan is not None else ()
    open_tasks = tuple(_open(t, handoff_date) for t in tasks if t.status != "done")
    committee = _committee(facts.contacts, personas, policy.note.expected_personas)
    assessable = [assessment_contact(c) for c in facts.contacts]
    missing = tuple(coverage_gaps(policy.note.expected_personas, assessable))
    return hn.HandoffContext(
        account=hn.Account(facts.account_id, _text(fields.get("name")) or facts.account_id),
        csm=_csm(fields),
        goals=_text(fields.get("goals")),
        done=tuple(sorted((_done(t) for t in tasks if t.status == "done"), key=lambda d: d.done_on)),
        open=open_tasks,
        adoption=hn.Adoption(
            status=facts.adoption.status,
            since=facts.reached.get(facts.adoption.status),
            adopted=facts.adoption.adopted,
            kpis=tuple(hn.Kpi(name, _kpi_value(fields.get(name))) for name in kpis),
        ),
        risks=hn.Risks(
            overdue=tuple(t for t in open_tasks if t.overdue),
            slip_days=max(facts.plan.slip_days, 0) if facts.plan is not None else 0,
            missing_personas=missing,
        ),
        timing=hn.Timing(
            sale_date(fields.get(policy.handoff.window_from), facts.plan), handoff_date, policy.handoff.window_days
        ),
        committee=committee,
    )


def words(identifier: str) -> str:
    """``onboarding_specialist`` -> ``Onboarding specialist``: roles and ids as a reader says them."""
    return identifier.replace("_", " ").strip().capitalize()


def _text(value: object) -> str:
    return "" if value is None else str(value).strip()


def _csm(fields: Mapping[str, object]) -> hn.Csm | None:
    name, email, phone = (_text(fields.get(k)) for k in ("csm_name", "csm_email", "csm_phone"))
    if not (name or email):
        return None
    return hn.Csm(name or email, email or None, phone or None)


def _done(task: TaskEvaluation) -> hn.DoneTask:
    assert task.done_on is not None  # noqa: S101 - a done task has its day
    return hn.DoneTask(task.title, task.side, words(task.owner), task.done_on)


def _open(task: TaskEvaluation, today: date) -> hn.OpenTask:
    return hn.OpenTask(task.title, task.side, words(task.owner), task.planned_due, overdue=task.planned_due < today)


def _kpi_value(value: object) -> str | int | float | date | datetime | None:
    """A KPI as a reader wants it: ``1327`` not ``1327.0``, ``yes`` not ``True``, a timestamp in UTC minutes.

    CRMs send KPIs as they store them (HubSpot as text); numbers, days and ISO timestamps in text are read as such.
    A timestamp without a zone is taken as UTC, as the diff does.
    """
    if isinstance(value, datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return aware.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    if value is None or isinstance(value, date):
        return value
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str):
        return _kpi_text(value.strip())
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value if isinstance(value, int | float) else str(value)


def _kpi_text(text: str) -> str | int | float | date | datetime | None:
    if not text:
        return None
    if text.casefold() in {"true", "false"}:
        return _kpi_value(text.casefold() == "true")
    if _DAY_TEXT.fullmatch(text):
        try:
            return date.fromisoformat(text)
        except ValueError:
            return text
    number = normalize(text, "number")
    if isinstance(number, Decimal):
        return _kpi_value(float(number))
    moment = normalize(text, "datetime")
    return _kpi_value(moment) if isinstance(moment, datetime) else text


_DAY_TEXT = re.compile(r"\d{4}-\d{2}-\d{2}")


def _member(contact: Mapping[str, object]) -> hn.Member:
    fields = contact.get("fields")
    data: Mapping[str, object] = fields if isinstance(fields, dict) else {}
    name = " ".join(p for p in (_text(data.get("first_name")), _text(data.get("last_name"))) if p)
    return hn.Member(name or _text(data.get("email")) or str(contact.get("id")), _text(data.get("title")) or None)


def _committee(
    contacts: Sequence[Mapping[str, object]], personas: Sequence[str], expected: Sequence[str]
) -> tuple[hn.PersonaGroup, ...]:
    by_persona: dict[str, list[hn.Member]] = {}
    for contact in contacts:
        persona = _text(contact.get("persona")) or UNKNOWN
        by_persona.setdefault(persona, []).append(_member(contact))
    order = [*expected, *(p for p in personas if p not in expected)]
    order += sorted(p for p in by_persona if p not in order and p != UNKNOWN)
    order.append(UNKNOWN)
    return tuple(
        hn.PersonaGroup(p, tuple(sorted(by_persona.get(p, ()), key=lambda m: m.name.casefold())))
        for p in order
        if p in expected or by_persona.get(p)
    )
