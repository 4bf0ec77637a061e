"""``sync-daemon handoff show|list|preview|restart``: handoff decisions from the store, never the CRM.

``show`` prints the decision the last cycle stored for an account (every gate with the values it saw, the
override, the at-risk reason, the handoff and its note's place in the outbox), the account's adoption status now
with the day it first reached each status, and its earlier onboarding cycles. ``list`` prints the current cycle's
decisions. ``preview`` renders the handoff note as a handoff today would write it, through the same functions the
cycle uses, and writes nothing: no adoption date, no decision, no intent. ``restart`` starts the retention path of
an at-risk account in the store; the next cycle evaluates the new plan and shows it in the CRM.

Bad input (an unknown account, one no cycle decided yet, a restart of an account that is not at risk, an unknown
template) raises :class:`HandoffInputError`, which the CLI turns into exit 2.
"""

from __future__ import annotations

import difflib
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from sync_daemon.commands.plans import NEXT_CYCLE, PlanContext, PlanInputError, account_view
from sync_daemon.config.handoff_loader import HANDOFF_FILE
from sync_daemon.config.loader import load_mapping
from sync_daemon.domain.adoption import adoption_status, first_reached
from sync_daemon.domain.handoff import HandoffDecision, sale_date
from sync_daemon.domain.handoff_context import AccountFacts, build_context
from sync_daemon.domain.handoff_fields import status_label
from sync_daemon.domain.handoff_note import NoteRenderError, render
from sync_daemon.handoff_provider import note_title
from sync_daemon.render import print_json
from sync_daemon.render_handoffs import (
    HandoffView,
    ListedHandoff,
    NotePreview,
    NoteState,
    handoff_to_json,
    handoff_tree,
    handoffs_table,
    listed_to_json,
    preview_to_json,
)
from sync_daemon.store import Store
from sync_daemon.store.plans import NewPlan
from sync_daemon.wiring import load_handoff_setup, load_plan_set

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping
    from datetime import date, datetime

    from rich.console import Console

    from sync_daemon.config.handoff_models import HandoffPolicy, Override, StatusLabels
    from sync_daemon.config.models import MappingFile
    from sync_daemon.config.plan_loader import PlanSet
    from sync_daemon.config.plan_models import PlanTemplate
    from sync_daemon.domain.handoff import Outcome
    from sync_daemon.domain.plans import PlanEvaluation
    from sync_daemon.handoff_provider import HandoffSetup
    from sync_daemon.settings import AppSettings
    from sync_daemon.store.handoffs import HandoffRow

SYNC = "`sync-daemon sync`, or the running daemon's next run"


class HandoffInputError(PlanInputError):
    """The account or template given to a handoff command does not fit the store or the policy (exit 2)."""


@dataclass(frozen=True, slots=True)
class HandoffScope:
    """What every handoff command needs: the store, the CRM, the mapping, the plans and the handoff policy."""

    store: Store
    crm: str
    mapping: MappingFile
    plans: PlanSet | None
    setup: HandoffSetup | None
    config_dir: str

    def require_setup(self) -> HandoffSetup:
        """The policy and note template; HandoffInputError when no handoff.yaml is configured."""
        if self.setup is None:
            raise HandoffInputError(f"no handoff policy configured: {self.config_dir}/{HANDOFF_FILE} is missing")
        return self.setup

    @property
    def policy(self) -> HandoffPolicy:
        """The validated handoff policy (HandoffInputError without one)."""
        return self.require_setup().policy

    def fields(self, account_id: str) -> Mapping[str, object]:
        """The account's last pulled fields; HandoffInputError when the store does not have it (or it was deleted)."""
        record = self.store.get_record("accounts", self.crm, account_id)
        if record is None or record["deleted"]:
            state = "deleted" if record is not None else "not in the store"
            raise HandoffInputError(
                f"account {account_id!r} is {state} for {self.crm} (ids are the CRM's record ids; "
                "`sync-daemon handoff list` shows them)"
            )
        return dict(record["fields"] or {})

    def evaluation(self, account_id: str, today: date) -> PlanEvaluation | None:
        """The account's plan evaluated as of ``today`` from the store, as ``plan show`` does; None without a plan."""
        if self.plans is None or not self.store.plans_for(self.crm, [account_id]):
            return None
        return account_view(PlanContext(self.store, self.crm, self.plans), account_id, today).evaluation


@contextmanager
def handoff_scope(settings: AppSettings, crm: str) -> Iterator[HandoffScope]:
    """Load the mapping, plans and policy (ConfigError when broken), open the store, and close it afterwards."""
    mapping = load_mapping(settings.mapping_path())
    plans = load_plan_set(settings, mapping)
    setup = load_handoff_setup(settings, mapping, plans)
    store = Store.open(settings.sync.database_url)
    try:
        yield HandoffScope(store, crm, mapping, plans, setup, str(settings.sync.config_dir))
    finally:
        store.close()


def _name(fields: Mapping[str, object]) -> str | None:
    name = str(fields.get("name") or "").strip()
    return name or None


def current_decision(scope: HandoffScope, account_id: str) -> HandoffRow:
    """The decision of the account's current cycle; HandoffInputError saying why there is none yet."""
    row = scope.store.handoffs_for(scope.crm, [account_id]).get(account_id)
    if row is not None:
        return row
    last = _restarted_last(scope, account_id)
    if last is not None and last.restarted_on is not None:
        raise HandoffInputError(
            f"account {account_id!r} was restarted on {last.restarted_on.isoformat()} (cycle {last.cycle} was at "
            f"risk); no cycle has decided cycle {last.cycle + 1} yet: the next cycle does ({SYNC})"
        )
    raise HandoffInputError(
        f"account {account_id!r} has no handoff decision yet: a cycle decides it once the account is in onboarding "
        f"(it has a plan, or a sale date) ({SYNC})"
    )


def _restarted_last(scope: HandoffScope, account_id: str) -> HandoffRow | None:
    """The account's latest cycle when it was restarted (its next cycle has no decision yet), else None."""
    history = scope.store.handoff_history(scope.crm, account_id)
    last = history[-1] if history else None
    return last if last is not None and last.restarted_on is not None else None


def _label(labels: StatusLabels, row: HandoffRow) -> str:
    """The handoff status the CRM shows for a stored decision, by the rule the cycle writes it with."""
    stand_in = HandoffDecision(
        outcome=cast("Outcome", row.outcome),
        gates=(),
        override=cast("Override | None", row.override),
        window_ends=None,
        days_since_sale=None,
        reason=row.at_risk_reason or "",
        short=row.short,
        revision=row.policy_revision,
    )
    return status_label(labels, stand_in)


def _note_state(store: Store, key: str | None) -> NoteState | None:
    if key is None:
        return None
    intent = store.intent(key)
    if intent is None:
        return NoteState(key, None)
    return NoteState(key, intent.status, intent.attempts, intent.last_error)


def handoff_view(scope: HandoffScope, account_id: str) -> HandoffView:
    """One account's stored decision, adoption now and history; HandoffInputError when there is nothing to show.

    The sale date falls back to the plan's start, as the cycle's does, read from the stored plan: showing a
    decision needs no plan evaluation (nor a template still in the folder).
    """
    policy = scope.policy
    fields = scope.fields(account_id)
    row = current_decision(scope, account_id)
    plan = scope.store.plans_for(scope.crm, [account_id]).get(account_id)
    reached = scope.store.adoption_reached_for(scope.crm, [account_id]).get(account_id, {})
    history = [r for r in scope.store.handoff_history(scope.crm, account_id) if r.cycle < row.cycle]
    return HandoffView(
        account_id=account_id,
        account_name=_name(fields),
        row=row,
        status_label=_label(policy.status_labels, row),
        policy_revision=policy.revision,
        sale=sale_date(fields.get(policy.handoff.window_from), None) or (plan.start_date if plan else None),
        note=_note_state(scope.store, row.note_key),
        adoption=adoption_status(policy, fields),
        statuses=policy.adoption.names(),
        reached=dict(sorted(reached.items(), key=lambda item: item[1])),
        history=history,
    )


def show_handoff(settings: AppSettings, crm: str, account_id: str, *, output: str, console: Console) -> None:
    """Print one account's handoff decision as a tree (or JSON)."""
    with handoff_scope(settings, crm) as scope:
        view = handoff_view(scope, account_id)
    if output == "json":
        print_json(console, handoff_to_json(view))
        return
    console.print(handoff_tree(view))


def list_handoffs(
    settings: AppSettings, crm: str, *, status: str | None, limit: int, output: str, console: Console
) -> None:
    """Print the current cycle's decisions by account id, optionally of one outcome."""
    with handoff_scope(settings, crm) as scope:
        rows = [ListedHandoff(row, _listed_name(scope, row.account_id))
                for row in scope.store.list_handoffs(crm, outcome=status, limit=limit)]  # fmt: skip
    if output == "json":
        print_json(console, [listed_to_json(row) for row in rows])
        return
    if not rows:
        which = f" {status}" if status else ""
        console.print(f"No{which} handoff decisions for {crm} yet: a cycle decides them ({SYNC}).", markup=False)
        return
    console.print(handoffs_table(rows, status))


def _listed_name(scope: HandoffScope, account_id: str) -> str | None:
    record = scope.store.get_record("accounts", scope.crm, account_id)
    return _name(record["fields"] or {}) if record is not None else None


def note_preview(scope: HandoffScope, account_id: str, today: date) -> NotePreview:
    """The note a handoff today would write (nothing stored), or the note as sent for an account handed off."""
    setup = scope.require_setup()
    policy = setup.policy
    fields = scope.fields(account_id)
    title = note_title(policy, str(fields.get("name") or "").strip())
    stored = scope.store.handoffs_for(scope.crm, [account_id]).get(account_id)
    if stored is not None and stored.handed_off_on is not None:
        return NotePreview(account_id, _sent_title(scope.store, stored) or title, stored.note_text,
                           stored.handed_off_on)  # fmt: skip
    plan = scope.evaluation(account_id, today)
    adoption = adoption_status(policy, fields)
    before = scope.store.adoption_reached_for(scope.crm, [account_id]).get(account_id, {})
    reached = first_reached(policy, before, adoption.status, today)
    contacts = scope.store.contacts_of(scope.crm, [account_id]).get(account_id, [])
    facts = AccountFacts(account_id, fields, plan, adoption, reached, contacts)
    context = build_context(policy, facts, kpis=tuple(scope.mapping.accounts.kpis),
                            personas=tuple(scope.mapping.personas.names), handoff_date=today)  # fmt: skip
    try:
        text = render(setup.template, context)
    except NoteRenderError as exc:
        raise HandoffInputError(str(exc)) from exc
    return NotePreview(account_id, title, text, None)


def _sent_title(store: Store, row: HandoffRow) -> str | None:
    """The title the note intent carries (the policy's title may have changed since)."""
    intent = store.intent(row.note_key) if row.note_key else None
    title = intent.payload.get("title") if intent is not None else None
    return title if isinstance(title, str) else None


def preview_note(
    settings: AppSettings, crm: str, account_id: str, *, today: date, output: str, console: Console
) -> None:
    """Print the note's title and text, plain, exactly as the CRM gets them (or JSON)."""
    with handoff_scope(settings, crm) as scope:
        preview = note_preview(scope, account_id, today)
    if output == "json":
        print_json(console, preview_to_json(preview))
        return
    if preview.handed_off_on is not None:
        what = "this is the note as sent" if preview.text is not None else "the text sent was not kept"
        _plain(console, f"Handed off on {preview.handed_off_on.isoformat()}: {what}.")
    _plain(console, preview.title)
    if preview.text is not None:
        _plain(console, preview.text)


def _plain(console: Console, text: str) -> None:
    """Text exactly as written: no markup, highlighting, emoji codes or wrapping (the CRM gets it so).

    A text that ends its last line itself gets no second newline, so the output is the note byte for byte.
    """
    end = "" if text.endswith("\n") else "\n"
    console.print(text, markup=False, highlight=False, emoji=False, soft_wrap=True, end=end)


def restart_template(scope: HandoffScope, template_id: str | None) -> PlanTemplate:
    """The template a restart starts: ``template_id`` or the policy's; HandoffInputError naming the choices."""
    if scope.plans is None:
        raise HandoffInputError(
            f"no onboarding plans are configured ({scope.config_dir}/plans/plans.yaml is missing): a restart starts "
            "a new plan"
        )
    wanted = template_id or scope.policy.at_risk.restart_template
    known = sorted(scope.plans.templates)
    if wanted is None:
        raise HandoffInputError(
            f"the handoff policy has no restart path (at_risk.restart_template is null); name a template with "
            f"--template: {', '.join(known)}"
        )
    template = scope.plans.templates.get(wanted)
    if template is None:
        close = difflib.get_close_matches(wanted, known, n=1, cutoff=0.5)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise HandoffInputError(f"no plan template {wanted!r}; {hint}the templates: {', '.join(known)}")
    return template


def _restartable(scope: HandoffScope, account_id: str) -> HandoffRow:
    """The account's at-risk decision; HandoffInputError saying why it cannot be restarted."""
    if account_id not in scope.store.handoffs_for(scope.crm, [account_id]):
        last = _restarted_last(scope, account_id)
        if last is not None and last.restarted_on is not None:
            raise HandoffInputError(
                f"account {account_id!r} was already restarted on {last.restarted_on.isoformat()}: cycle "
                f"{last.cycle} was at risk, cycle {last.cycle + 1} runs now"
            )
    row = current_decision(scope, account_id)
    if row.outcome != "at_risk":
        raise HandoffInputError(
            f"account {account_id!r} is {row.outcome}, not at_risk: only an account past its adoption window "
            f"without adoption is restarted ({row.short})"
        )
    if row.restarted_on is not None:
        raise HandoffInputError(f"account {account_id!r} was already restarted on {row.restarted_on.isoformat()}")
    if not scope.store.plans_for(scope.crm, [account_id]):
        raise HandoffInputError(f"account {account_id!r} has no onboarding plan to restart")
    return row


def restart_handoff(
    settings: AppSettings, crm: str, account_id: str, *, template_id: str | None, now: datetime, console: Console
) -> None:
    """Start an at-risk account's next onboarding cycle from the retention template, today, and say what changed."""
    today = now.date()
    with handoff_scope(settings, crm) as scope:
        fields = scope.fields(account_id)
        row = _restartable(scope, account_id)
        template = restart_template(scope, template_id)
        plan = NewPlan(account_id, template.id, template.revision, today)
        if not scope.store.restart(crm, plan, cycle=row.cycle, now=now):
            raise HandoffInputError(
                f"nothing changed: cycle {row.cycle} of account {account_id!r} is no longer at risk, or another "
                "process restarted it first"
            )
    who = f"{account_id} ({_name(fields)})" if _name(fields) else account_id
    _plain(console, f"{who}: cycle {row.cycle} was at risk: {row.at_risk_reason or row.short}")
    _plain(
        console,
        f"Restarted on {today.isoformat()}: cycle {row.cycle + 1} runs {template.name} ({template.id}, revision "
        f"{template.revision}, target {template.target_days} days); its adoption window runs from "
        f"{today.isoformat()}, not from the sale.",
    )
    _plain(console, NEXT_CYCLE)
