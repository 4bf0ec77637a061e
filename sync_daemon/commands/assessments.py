"""``sync-daemon assessments due|history``: who the next run would ask, and one contact's assessments, from the store.

``due`` runs the planner the cycle runs (:func:`~sync_daemon.assessment_provider.send_plan`, over the store and the
policy, as of a moment) and prints its result: the sends the next run would make, and everyone due but left out,
skipped or waiting, with the reason. It writes nothing, so the preview is exactly what a cycle at that moment sends
when the CRM has not changed in between. The moment is the given day at the current time of day (UTC), because the
send window and the caps' calendar day depend on the hour. The preview reads the store as the last cycle left it:
what changed in the CRM since (a contact opting out, a new contact) and accounts the next cycle itself hands off
(they are asked in that cycle) show only after that cycle's pull.

``history`` prints every send to a contact with its intent's place in the outbox, the latest reasons its due
assessments were left out, and the answers pulled; it needs no policy (the store has it all).

Bad input (no assessment policy for ``due``, a contact the store has never seen) raises
:class:`AssessmentInputError`, which the CLI turns into exit 2; a broken policy is a ConfigError (exit 2 too).
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sync_daemon.assessment_provider import payload_of, send_plan
from sync_daemon.commands.plans import PlanInputError
from sync_daemon.config.assessment_loader import ASSESSMENTS_FILE
from sync_daemon.config.loader import load_mapping
from sync_daemon.domain.assessments import local_day
from sync_daemon.render import print_json
from sync_daemon.render_assessments import (
    DueLeft,
    DueSend,
    DueView,
    HistoryView,
    SendState,
    Who,
    due_renderable,
    due_to_json,
    history_to_json,
    history_tree,
)
from sync_daemon.store import Store
from sync_daemon.wiring import load_assessment_policy

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping
    from datetime import date

    from rich.console import Console

    from sync_daemon.config.assessment_models import AssessmentPolicy
    from sync_daemon.domain.assessments import Due
    from sync_daemon.settings import AppSettings

__all__ = [
    "AssessmentInputError",
    "AssessmentScope",
    "assessment_scope",
    "due_view",
    "history_view",
    "preview_moment",
    "show_due",
    "show_history",
]


class AssessmentInputError(PlanInputError):
    """The contact or configuration an assessment command was given does not fit the store or the policy (exit 2)."""


@dataclass(frozen=True, slots=True)
class AssessmentScope:
    """What the assessment commands read: the store, the CRM, and the policy (None without assessments.yaml)."""

    store: Store
    crm: str
    policy: AssessmentPolicy | None
    config_dir: str

    def require_policy(self) -> AssessmentPolicy:
        """The validated policy; AssessmentInputError when no assessments.yaml is configured."""
        if self.policy is None:
            raise AssessmentInputError(
                f"no assessment policy configured: {self.config_dir}/{ASSESSMENTS_FILE} is missing (the shipped "
                "config/assessments.yaml is an example to copy); without it no assessment is ever sent"
            )
        return self.policy


@contextmanager
def assessment_scope(settings: AppSettings, crm: str, environ: Mapping[str, str]) -> Iterator[AssessmentScope]:
    """Load the mapping and policy as ``sync`` does (ConfigError when broken), open the store, close it after.

    ``environ`` is where a webhook channel's secret is looked for: a preview refuses a policy the daemon would
    refuse to start with.
    """
    mapping = load_mapping(settings.mapping_path())
    policy = load_assessment_policy(settings, mapping, environ)
    store = Store.open(settings.sync.database_url)
    try:
        yield AssessmentScope(store, crm, policy, str(settings.sync.config_dir))
    finally:
        store.close()


def preview_moment(day: date | None, now: datetime) -> datetime:
    """``day`` at ``now``'s time of day (UTC), or ``now`` itself without a day."""
    return now if day is None else datetime.combine(day, now.timetz())


def _name(record: Mapping[str, object] | None, *keys: str) -> str | None:
    fields = record.get("fields") if record is not None else None
    if not isinstance(fields, dict):
        return None
    name = " ".join(str(fields.get(k) or "").strip() for k in keys).strip()
    return name or None


def _contact_name(record: Mapping[str, object] | None) -> str | None:
    return _name(record, "first_name", "last_name")


class _Names:
    """The names of the accounts and contacts a plan mentions, read in as few queries as the store allows."""

    def __init__(self, store: Store, crm: str, account_ids: Iterable[str]) -> None:
        self._store, self._crm = store, crm
        accounts = sorted(set(account_ids))
        self._accounts = {a: _name(store.get_record("accounts", crm, a), "name") for a in accounts}
        self._contacts = {str(c["id"]): _contact_name(c) for people in store.contacts_of(crm, accounts).values()
                          for c in people}  # fmt: skip

    def who(self, contact_id: str, account_id: str) -> Who:
        """The contact and its account, with their names."""
        return Who(contact_id, self._contacts.get(contact_id), account_id, self._accounts.get(account_id))


def _channel(policy: AssessmentPolicy, due: Due, now: datetime) -> tuple[str, str | None]:
    """The channel type and audience a send would carry, from the payload the cycle would store (no URL, no secret)."""
    channel = payload_of(policy, due, now)["channel"]
    spec: Mapping[str, object] = channel if isinstance(channel, dict) else {}
    audience = spec.get("audience_id")
    return str(spec.get("type")), str(audience) if audience is not None else None


def due_view(scope: AssessmentScope, now: datetime) -> DueView:
    """The plan a cycle at ``now`` would make from the store's state, with names; nothing is written."""
    policy = scope.require_policy()
    plan = send_plan(policy, scope.store, scope.crm, now)
    names = _Names(scope.store, scope.crm, [d.account_id for d in plan.sends] + [x.account_id for x in plan.left])
    sends = []
    for due in plan.sends:
        channel, audience = _channel(policy, due, now)
        sends.append(DueSend(names.who(due.contact_id, due.account_id), due.kind, policy.label(due.kind), due.cycle,
                             due.persona, due.due_on, channel, audience, due.ask_persona))  # fmt: skip
    left = [DueLeft(names.who(x.contact_id, x.account_id), x.kind, x.cycle, x.status, x.reason) for x in plan.left]
    return DueView(
        crm=scope.crm,
        now=now,
        day=local_day(now, policy.throttle.window),
        policy_revision=policy.revision,
        handed_off=len(scope.store.handed_off_accounts(scope.crm)),
        sends=sends,
        left=left,
    )


def show_due(
    settings: AppSettings, crm: str, *, now: datetime, environ: Mapping[str, str], output: str, console: Console
) -> None:
    """Print who a cycle at ``now`` would send which assessment, and why the others are left out (or JSON)."""
    with assessment_scope(settings, crm, environ) as scope:
        view = due_view(scope, now)
    if output == "json":
        print_json(console, due_to_json(view))
        return
    console.print(due_renderable(view))


def history_view(store: Store, crm: str, contact_id: str) -> HistoryView:
    """One contact's sends with their outbox state, left-out reasons and answers; AssessmentInputError if unknown."""
    record = store.get_record("contacts", crm, contact_id)
    sends = sorted(store.sends_of(crm, [contact_id]), key=lambda s: (s.requested_at, s.kind, s.cycle))
    if record is None and not sends:
        raise AssessmentInputError(
            f"contact {contact_id!r} is not in the store for {crm} (ids are the CRM's record ids; "
            "`sync-daemon assessments due` shows the contacts due)"
        )
    account_id = str(record.get("account_id") or "") if record is not None else (sends[-1].account_id if sends else "")
    account = store.get_record("accounts", crm, account_id) if account_id else None
    states = []
    for send in sends:
        intent = store.intent(send.intent_key)
        states.append(SendState(send, None) if intent is None
                      else SendState(send, intent.status, intent.attempts, intent.last_error))  # fmt: skip
    persona = record.get("persona") if record is not None else None
    return HistoryView(
        who=Who(contact_id, _contact_name(record), account_id, _name(account, "name")),
        persona=str(persona) if persona else None,
        deleted=bool(record["deleted"]) if record is not None else True,
        sends=states,
        left=store.left_of(crm, contact_id),
        responses=store.responses_of_contact(crm, contact_id),
    )


def show_history(settings: AppSettings, crm: str, contact_id: str, *, output: str, console: Console) -> None:
    """Print one contact's assessments as a tree (or JSON); reads the store only."""
    store = Store.open(settings.sync.database_url)
    try:
        view = history_view(store, crm, contact_id)
    finally:
        store.close()
    if output == "json":
        print_json(console, history_to_json(view))
        return
    console.print(history_tree(view))
