"""Adoption and handoff as a desired-state provider of the push (issue 5), on top of the onboarding plans.

For a chunk of stored accounts it evaluates the plans (through :class:`~sync_daemon.plan_provider.PlanProvider`),
then for every account in onboarding: the adoption status (and the first day each status was reached, kept for
good), the handoff decision with its evidence, and the account's plan and handoff fields for the push.

An account whose decision is ``ready`` is handed off in the same cycle, exactly once, when the push calls
:meth:`HandoffProvider.commit` (after the safety valve let the writes through): the decision, the handoff (day,
note key, note text) and the note's outbox intent are stored in **one transaction**, and the handoff row's
conditional update is the guard, so a crash, a retry or a second replica can never make a second note. The note
itself is sent by the outbox drain at the end of the cycle, found by its key after a lost reply.

A dry run decides and shows the fields a real run would write (a ready account as handed off today) and stores
nothing of the handoff: no adoption date, no decision, no note.

Accounts in play: those with a plan when plans are configured (an account without a start date is not in
onboarding); without plans, those with a readable sale date.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import structlog

from sync_daemon.domain.adoption import adoption_status, first_reached
from sync_daemon.domain.diff import DesiredRecord
from sync_daemon.domain.handoff import decide, sale_date
from sync_daemon.domain.handoff_context import AccountFacts, build_context
from sync_daemon.domain.handoff_fields import DEFAULT_NOTE_FIELD_LENGTH, Handed, handoff_values
from sync_daemon.domain.handoff_note import NoteRenderError, render
from sync_daemon.domain.plan_fields import declared, plan_values
from sync_daemon.intents import HANDOFF_NOTE_PRIORITY, NOTE, note_payload
from sync_daemon.store.handoffs import DecisionRow
from sync_daemon.store.plans import NewPlan

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence
    from datetime import date, datetime

    from connectors.base import ObjectKind
    from sync_daemon.config.handoff_models import HandoffPolicy
    from sync_daemon.config.models import MappingFile
    from sync_daemon.config.plan_models import PlanTemplate
    from sync_daemon.domain.adoption import AdoptionResult
    from sync_daemon.domain.handoff import HandoffDecision
    from sync_daemon.domain.handoff_note import NoteTemplate
    from sync_daemon.plan_provider import EvaluatedPlan, PlanProvider
    from sync_daemon.store import Store
    from sync_daemon.store.handoffs import HandoffRow

log = structlog.get_logger(__name__)

__all__ = ["HandoffProvider", "HandoffSetup", "note_key", "note_title"]


@dataclass(frozen=True)
class HandoffSetup:
    """The validated handoff policy, the note template and the restart path's plan template (if any)."""

    policy: HandoffPolicy
    template: NoteTemplate
    restart_template: PlanTemplate | None = None


def note_key(crm: str, account_id: str, cycle: int) -> str:
    """The handoff note's outbox key: one note per account and onboarding cycle, found by it in the CRM."""
    return f"handoff-note:{crm}:{account_id}:{cycle}"


def note_title(policy: HandoffPolicy, account_name: str) -> str:
    """The note's title: the policy's title and the account's name."""
    return f"{policy.note.title}: {account_name}" if account_name else policy.note.title


@dataclass
class Committed:
    """What :meth:`HandoffProvider.commit` did."""

    handed_off: int = 0
    restarted: int = 0


@dataclass
class _Account:
    """One account of the chunk on its way through the handoff phase."""

    id: str
    fields: Mapping[str, object]
    evaluated: EvaluatedPlan | None
    adoption: AdoptionResult
    reached: dict[str, date]
    decision: HandoffDecision
    stored: HandoffRow | None

    @property
    def cycle(self) -> int:
        return self.evaluated.plan.cycle if self.evaluated is not None else 1

    def facts(self, contacts: Sequence[Mapping[str, object]] = ()) -> AccountFacts:
        plan = self.evaluated.evaluation if self.evaluated is not None else None
        return AccountFacts(self.id, self.fields, plan, self.adoption, self.reached, contacts)


class HandoffProvider:
    """Plan, adoption and handoff fields of every account in onboarding, decided as of ``today``."""

    def __init__(
        self,
        setup: HandoffSetup,
        plans: PlanProvider | None,
        mapping: MappingFile,
        store: Store,
        *,
        crm: str,
        today: date,
        now: datetime,
        dry_run: bool = False,
    ) -> None:
        self._setup, self._policy = setup, setup.policy
        self._plans = plans
        self._store, self._crm = store, crm
        self._today, self._now = today, now
        self._dry_run = dry_run
        self._pending: list[tuple[_Account, str]] = []
        self._restarts: list[tuple[str, int]] = []
        pushed = mapping.push_fields("accounts")
        self._push = frozenset(pushed)
        note_field = pushed.get("handoff_note_text")
        self._note_limit = (note_field.max_length if note_field else None) or DEFAULT_NOTE_FIELD_LENGTH
        self._kpis = tuple(mapping.accounts.kpis)
        self._personas = tuple(mapping.personas.names)

    def desired(self, kind: ObjectKind, rows: Sequence[Mapping[str, object]]) -> Iterable[DesiredRecord]:
        """The plan and handoff fields of each account of the chunk in onboarding."""
        if kind != "accounts":
            return []
        evaluated = self._plans.evaluate(rows) if self._plans is not None else {}
        accounts = self._decide(rows, evaluated)
        handed = self._record(accounts)
        out = []
        for row in rows:
            aid = str(row["id"])
            values = plan_values(evaluated[aid].evaluation) if aid in evaluated else {}
            account = accounts.get(aid)
            if account is not None:
                values |= self._values(account, handed.get(aid))
            if values:
                out.append(DesiredRecord("accounts", aid, declared(values, self._push)))
        return out

    # -- deciding ----------------------------------------------------------------------------------------

    def _in_play(self, fields: Mapping[str, object], evaluated: EvaluatedPlan | None) -> bool:
        """In onboarding: a plan (or, without plans, a sale date), and not sold before the policy's ``sold_from``."""
        if self._plans is not None and evaluated is None:
            return False
        sale = sale_date(fields.get(self._policy.handoff.window_from), evaluated.evaluation if evaluated else None)
        if sale is None:
            return self._plans is not None
        sold_from = self._policy.handoff.sold_from
        return sold_from is None or sale >= sold_from

    def _decide(
        self, rows: Sequence[Mapping[str, object]], evaluated: Mapping[str, EvaluatedPlan]
    ) -> dict[str, _Account]:
        fields_of: dict[str, Mapping[str, object]] = {}
        for row in rows:
            fields = row["fields"]
            if isinstance(fields, dict) and self._in_play(fields, evaluated.get(str(row["id"]))):
                fields_of[str(row["id"])] = fields
        if not fields_of:
            return {}
        before = self._store.adoption_reached_for(self._crm, fields_of)
        stored = self._store.handoffs_for(self._crm, fields_of)
        out = {}
        for aid, fields in fields_of.items():
            adoption = adoption_status(self._policy, fields)
            ev = evaluated.get(aid)
            current = stored.get(aid)
            if current is not None and ev is not None and current.cycle != ev.plan.cycle:
                current = None  # the plan moved to a new cycle since: that row is history
            restarted_on = ev.plan.start_date if ev is not None and ev.plan.cycle > 1 else None
            decision = decide(self._policy, fields=fields, plan=ev.evaluation if ev else None, adoption=adoption,
                              handed_off_on=current.handed_off_on if current else None, today=self._today,
                              restarted_on=restarted_on)  # fmt: skip
            reached = first_reached(self._policy, before.get(aid, {}), adoption.status, self._today)
            out[aid] = _Account(aid, fields, ev, adoption, reached, decision, current)
        if not self._dry_run:
            new = [(a.id, s, d) for a in out.values() for s, d in a.reached.items() if s not in before.get(a.id, {})]
            self._store.record_adoption(self._crm, new, self._now)
        return out

    # -- recording ---------------------------------------------------------------------------------------

    def _record(self, accounts: Mapping[str, _Account]) -> dict[str, Handed]:
        """Store the decisions; render the ready accounts' notes and keep them for :meth:`commit`; who is handed off.

        A ready account is shown as handed off today (what the cycle writes once :meth:`commit` ran); one whose
        note cannot be rendered stays ``ready``, with the error logged, and is tried again next cycle.
        """
        handed = {
            a.id: Handed(a.stored.handed_off_on, a.stored.note_text)
            for a in accounts.values()
            if a.stored is not None and a.stored.handed_off_on is not None
        }
        ready = [a for a in accounts.values() if a.decision.outcome == "ready"]
        contacts = self._store.contacts_of(self._crm, [a.id for a in ready]) if ready else {}
        for account in ready:
            text = self._render(account, contacts.get(account.id, []))
            if text is None:
                continue
            handed[account.id] = Handed(self._today, text)
            self._pending.append((account, text))
        if not self._dry_run:  # the ready ones are saved with their handoff, in commit()
            pending = {a.id for a, _ in self._pending}
            rows = [DecisionRow.of(a.id, a.cycle, a.decision) for a in accounts.values() if a.id not in pending]
            self._store.save_decisions(self._crm, rows, self._now)
        if self._policy.at_risk.automatic:
            self._restarts += [(a.id, a.cycle) for a in accounts.values() if a.decision.outcome == "at_risk"]
        return handed

    def handing_off(self) -> dict[str, date]:
        """The accounts this cycle hands off (on :meth:`commit`), with the day: seen by the assessment fields."""
        return {account.id: self._today for account, _ in self._pending}

    def commit(self) -> Committed:
        """Hand off the ready accounts and start the automatic restarts; the push calls it once writing may start.

        After the safety valve, so a cycle it stops hands nobody off and sends no note; never in a dry run.
        """
        done = Committed()
        for account, text in self._pending:
            done.handed_off += self._hand_off(account, text)
        for account_id, cycle in self._restarts:
            done.restarted += self.restart(account_id, cycle)
        self._pending, self._restarts = [], []
        return done

    def _render(self, account: _Account, contacts: Sequence[Mapping[str, object]]) -> str | None:
        context = build_context(self._policy, account.facts(contacts), kpis=self._kpis, personas=self._personas,
                                handoff_date=self._today)  # fmt: skip
        try:
            return render(self._setup.template, context)
        except NoteRenderError as exc:
            log.error("handoff.note_failed", account_id=account.id, error=str(exc))  # noqa: TRY400 - no traceback
            return None

    def _hand_off(self, account: _Account, text: str) -> bool:
        """Hand ``account`` off once: decision, handoff and note intent in one transaction; False if it already was."""
        key = note_key(self._crm, account.id, account.cycle)
        name = str(account.fields.get("name") or "").strip()
        with self._store.transaction() as conn:
            row = DecisionRow.of(account.id, account.cycle, account.decision)
            self._store.save_decisions(self._crm, [row], self._now, conn=conn)
            won = self._store.record_handoff(conn, self._crm, account.id, account.cycle, handed_off_on=self._today,
                                             note_key=key, now=self._now, note_text=text)  # fmt: skip
            if won:
                payload = note_payload(account.id, note_title(self._policy, name), text)
                self._store.enqueue(conn, key=key, crm=self._crm, kind=NOTE, payload=payload,
                                    priority=HANDOFF_NOTE_PRIORITY, now=self._now)  # fmt: skip
        if won:
            log.info("handoff.handed_off", account_id=account.id, cycle=account.cycle, note_key=key)
        return won

    def restart(self, account_id: str, cycle: int) -> bool:
        """Start the at-risk account's next onboarding cycle from the retention template, today."""
        template = self._setup.restart_template
        if template is None or self._dry_run:
            return False
        plan = NewPlan(account_id, template.id, template.revision, self._today)
        return self._store.restart(self._crm, plan, cycle=cycle, now=self._now)

    # -- fields ------------------------------------------------------------------------------------------

    def _values(self, account: _Account, handed: Handed | None) -> dict[str, object]:
        decision = account.decision
        if handed is not None and decision.outcome != "handed_off":  # handed off this cycle: say so
            decision = decide(self._policy, fields=account.fields, plan=account.facts().plan,
                              adoption=account.adoption, handed_off_on=handed.on, today=self._today)  # fmt: skip
        plan = account.evaluated.evaluation if account.evaluated is not None else None
        sale = sale_date(account.fields.get(self._policy.handoff.window_from), plan)
        return handoff_values(self._policy.status_labels, decision, account.adoption, handed=handed, sale=sale,
                              note_limit=self._note_limit)  # fmt: skip
