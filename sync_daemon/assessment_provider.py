"""Assessments as a push provider (issue 6): sends at handoff and every six months, exactly once; sentiment.

Two halves, like the handoff:

- :meth:`AssessmentProvider.desired` gives the account fields: the personas nobody assessable covers
  (``persona_gaps``), and for accounts handed off the next assessment date and the sentiment rollup by persona
  (``sentiment_by_persona``, ``detractor_alert``). The answers the survey tool wrote to the chunk's contacts are
  recorded first (as first pulled), so a rollup includes the answers of the cycle that pulled them.
- :meth:`AssessmentProvider.commit`, called by the push after the safety valve (after the handoff provider's, so
  an account handed off this cycle is asked this cycle), plans the sends with the pure planner
  (:mod:`sync_daemon.domain.assessments`) and records each one with its outbox intent in one transaction; the
  send row's primary key (contact, kind, cycle) is the guard against a second send by anyone. The reasons
  everyone else was left out are kept for ``assessments due`` and ``history``.

:func:`send_plan` is the planner over the store, shared with ``sync-daemon assessments due``, so the preview
lists exactly what the next run sends.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING

import structlog

from sync_daemon.config.assessment_models import UNKNOWN_PERSONA
from sync_daemon.domain.assessments import (
    AssessmentContact,
    Due,
    SendPlan,
    SentBefore,
    assessment_contact,
    coverage_gaps,
    local_day,
    next_due,
    plan_sends,
)
from sync_daemon.domain.diff import DesiredRecord
from sync_daemon.domain.handoff_context import words
from sync_daemon.domain.plan_fields import declared
from sync_daemon.domain.sentiment import Response, rollup
from sync_daemon.domain.values import normalize
from sync_daemon.intents import ASSESSMENT, ASSESSMENT_PRIORITY
from sync_daemon.store.assessments import LeftRow, ResponseRow, SendRow
from sync_daemon.store.sql import chunks

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping, Sequence

    from connectors.base import ObjectKind
    from sync_daemon.config.assessment_models import AssessmentKind, AssessmentPolicy
    from sync_daemon.config.models import MappingFile
    from sync_daemon.store import Store

log = structlog.get_logger(__name__)

__all__ = ["AssessmentProvider", "Sent", "payload_of", "send_key", "send_plan"]

CHANGES = {"better": "better", "the same": "same", "same": "same", "worse": "worse"}


def send_key(crm: str, due: Due) -> str:
    """The send's outbox key, also the webhook's idempotency key: one per contact, kind and cycle."""
    return f"assessment:{crm}:{due.contact_id}:{due.kind}:{due.cycle}"


def _questions(kind: AssessmentKind) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    for q in kind.questions:
        item: dict[str, object] = {"id": q.id, "text": q.text}
        item.update({"scale": list(q.scale)} if hasattr(q, "scale") else {"choices": list(getattr(q, "choices", []))})
        out.append(item)
    return out


def payload_of(policy: AssessmentPolicy, due: Due, requested_at: datetime) -> dict[str, object]:
    """What the send's intent stores: who, what, and the channel to send it through (no secret, ever)."""
    kind = policy.kinds[due.kind]
    channel = kind.channel.model_dump()
    if channel["type"] == "hubspot_list":
        lists = channel.pop("lists")
        channel["audience_id"] = lists.get(due.persona) or lists.get("default")
    elif channel["type"] == "salesforce_campaign":
        channel["audience_id"] = channel.pop("campaign_id")
    payload: dict[str, object] = {
        "channel": channel,
        "contact_id": due.contact_id,
        "account_id": due.account_id,
        "kind": due.kind,
        "kind_label": policy.label(due.kind),
        "cycle": due.cycle,
        "persona": due.persona,
        "due_on": due.due_on.isoformat(),
        "requested_at": requested_at.isoformat(),
        "questions": _questions(kind),
        "policy_revision": policy.revision,
    }
    if due.ask_persona:
        ask = policy.unknown_persona
        payload["ask_persona"] = {"text": ask.text, "choices": dict(ask.choices)}
    return payload


def send_plan(policy: AssessmentPolicy, store: Store, crm: str, now: datetime) -> SendPlan:
    """The sends the store's state makes due at ``now``, and why every other due contact is left out."""
    handoffs = store.handed_off_accounts(crm)
    contacts: list[AssessmentContact] = []
    for chunk in chunks(sorted(handoffs)):
        for records in store.contacts_of(crm, chunk).values():
            contacts += [assessment_contact(r) for r in records]
    keys, last = store.sent_summary(crm, [c.id for c in contacts])
    today = local_day(now, policy.throttle.window)
    counts = store.sends_on(crm, today)
    sent = SentBefore(keys, last, counts, sum(counts.values()))
    return plan_sends(policy, contacts, handoffs, sent, now)


@dataclass
class Sent:
    """What :meth:`AssessmentProvider.commit` did."""

    sent: int = 0
    already: int = 0
    left: dict[str, int] = field(default_factory=dict)


class AssessmentProvider:
    """Account assessment fields, and the sends of the cycle (in :meth:`commit`)."""

    def __init__(
        self,
        policy: AssessmentPolicy,
        mapping: MappingFile,
        store: Store,
        *,
        crm: str,
        now: datetime,
        dry_run: bool = False,
        handing_off: Callable[[], Mapping[str, date]] | None = None,
        send: bool = True,
    ) -> None:
        """``handing_off``: the accounts the handoff provider hands off this cycle (their fields count them in).

        ``send=False`` keeps the fields and responses but sends nothing: the daemon's regular cycles, when the
        sends have their own daily run (``SYNC_ASSESSMENT_TIME``).
        """
        self._policy, self._store, self._crm = policy, store, crm
        self._sends = send
        self._handing_off = handing_off
        self._now, self._today = now, now.date()
        self._dry_run = dry_run
        self._push = frozenset(mapping.push_fields("accounts"))
        self._personas = tuple(mapping.personas.names)
        self._handed: dict[str, date] | None = None

    def _handed_off(self) -> dict[str, date]:
        if self._handed is None:
            self._handed = self._store.handed_off_accounts(self._crm)
        return self._handed

    def desired(self, kind: ObjectKind, rows: Sequence[Mapping[str, object]]) -> Iterable[DesiredRecord]:
        """Persona gaps of every account of the chunk; next date and sentiment of those handed off."""
        if kind != "accounts" or not rows:
            return []
        ids = [str(r["id"]) for r in rows]
        contacts = self._store.contacts_of(self._crm, ids)
        handed = self._handed_off() | (dict(self._handing_off()) if self._handing_off is not None else {})
        if not self._dry_run:
            self._record_responses([c for aid in ids if aid in handed for c in contacts.get(aid, [])])
        responses = self._store.responses_of(self._crm, [a for a in ids if a in handed])
        out = []
        for aid in ids:
            people = [assessment_contact(c) for c in contacts.get(aid, [])]
            gaps = coverage_gaps(self._policy.coverage.expected, people)
            values: dict[str, object] = {"persona_gaps": ", ".join(words(p) for p in gaps) or None}
            if aid in handed:
                values.update(self._handed_values(handed[aid], responses.get(aid, [])))
            out.append(DesiredRecord("accounts", aid, declared(values, self._push)))
        return out

    def _handed_values(self, handoff_on: date, answers: Sequence[ResponseRow]) -> dict[str, object]:
        sentiment = rollup([r for a in answers if (r := _response(a, self._policy)) is not None], self._personas)
        return {
            "next_assessment_date": next_due(self._policy, handoff_on, self._today),
            "sentiment_by_persona": sentiment.text(),
            "detractor_alert": sentiment.detractor_alert,
        }

    def _record_responses(self, contacts: Sequence[Mapping[str, object]]) -> None:
        answered = [(c, at) for c in contacts if (at := _answered_at(c)) is not None]
        if not answered:
            return
        sends = self._store.sends_of(self._crm, [str(c["id"]) for c, _ in answered])
        by_contact: dict[str, list[SendRow]] = {}
        for send in sorted(sends, key=lambda s: s.requested_at):
            by_contact.setdefault(send.contact_id, []).append(send)
        rows = [_response_row(c, at, by_contact.get(str(c["id"]), [])) for c, at in answered]
        self._store.record_responses(self._crm, rows, self._now)

    def commit(self) -> Sent:
        """Record this cycle's sends, each with its outbox intent, once; keep why the others were left out."""
        done = Sent()
        if self._dry_run or not self._sends:
            return done
        plan = send_plan(self._policy, self._store, self._crm, self._now)
        sent_on = local_day(self._now, self._policy.throttle.window)
        for due in plan.sends:
            done.sent += self._send(due, sent_on)
        done.already = len(plan.sends) - done.sent
        self._store.record_left(self._crm, [
            LeftRow(x.contact_id, x.kind, x.cycle, x.account_id, x.status, x.reason, self._now) for x in plan.left
        ])  # fmt: skip
        done.left = plan.reasons()
        log.info("assessments.planned", sent=done.sent, already=done.already, left=len(plan.left), **done.left)
        return done

    def _send(self, due: Due, sent_on: date) -> bool:
        key = send_key(self._crm, due)
        channel = self._policy.kinds[due.kind].channel.type
        row = SendRow(due.contact_id, due.kind, due.cycle, due.account_id, due.persona, channel, due.due_on, sent_on,
                      self._now, key, self._policy.revision)  # fmt: skip
        with self._store.transaction() as conn:
            won = self._store.record_send(conn, self._crm, row)
            if won:
                payload = payload_of(self._policy, due, self._now)
                self._store.enqueue(conn, key=key, crm=self._crm, kind=ASSESSMENT, payload=payload,
                                    priority=ASSESSMENT_PRIORITY, now=self._now)  # fmt: skip
        return won


def _answered_at(contact: Mapping[str, object]) -> datetime | None:
    fields = contact.get("fields")
    raw = fields.get("assessment_answered_at") if isinstance(fields, dict) else None
    try:
        value = normalize(raw, "datetime")
    except ValueError:
        return None
    return value if isinstance(value, datetime) else None


def _score(raw: object) -> int | None:
    try:
        value = normalize(raw, "number")
    except ValueError:
        return None
    try:
        return int(value) if value is not None and 0 <= int(value) <= 10 else None  # type: ignore[call-overload]  # noqa: PLR2004
    except (TypeError, ValueError, ArithmeticError):
        return None


def _response_row(contact: Mapping[str, object], answered_at: datetime, sends: Sequence[SendRow]) -> ResponseRow:
    """The answer, attributed to the latest send before it (the kind and cycle it answers)."""
    fields = contact.get("fields")
    data: Mapping[str, object] = fields if isinstance(fields, dict) else {}
    before = [s for s in sends if s.requested_at <= answered_at]
    answers = before[-1] if before else None
    said = str(data.get("assessment_persona_answered") or "").strip()
    persona = said or str(contact.get("persona") or "") or (answers.persona if answers else UNKNOWN_PERSONA)
    change = CHANGES.get(str(data.get("assessment_recommend_change") or "").strip().casefold())
    return ResponseRow(
        contact_id=str(contact["id"]),
        answered_at=answered_at,
        account_id=str(contact.get("account_id") or ""),
        persona=persona,
        kind=answers.kind if answers else None,
        cycle=answers.cycle if answers else None,
        score=_score(data.get("assessment_score")),
        change=change,
    )


def _response(row: ResponseRow, policy: AssessmentPolicy) -> Response | None:
    """The answer for the rollup: the handoff kind is ``onboarding``, a recurring one ``relationship``."""
    kind = policy.kinds.get(row.kind) if row.kind is not None else None
    if kind is None or row.cycle is None:
        return None  # answers no send, or a kind the policy no longer has
    return Response(
        contact_id=row.contact_id,
        account_id=row.account_id,
        persona=row.persona,
        cycle=row.cycle,
        kind="onboarding" if kind.cadence.at is not None else "relationship",
        score=row.score,
        change=row.change,
        answered_at=row.answered_at,
    )
