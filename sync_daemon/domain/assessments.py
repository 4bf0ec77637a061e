"""Who is due which assessment today, and why the others are not: the pure planner behind sends and ``due``.

Pure: the policy, the handed-off accounts with their handoff day, their contacts, what was already sent, and
``now`` go in; the sends to make and the reasons for everyone left out come out. The cycle records the sends
(through the outbox, keyed by contact, kind and cycle, exactly once); ``sync-daemon assessments due`` prints the
same plan without recording anything, so the preview lists exactly what the next run sends.

The rules, in the order they are applied to each contact of a handed-off account and each kind:

1. **When**: a kind ``at: handoff`` is cycle 0, due on the handoff day; a kind ``every_months: m`` has cycle n
   due at handoff + n·m months (n ≥ 1). A cycle stays due for ``valid_days`` (default: until the next cycle, or
   30 days for the handoff one): a contact opted out or over a cap on the day is still asked later that cycle,
   and a missed cycle is never sent late into the next one.
2. **Who**: the contact's persona (``unknown`` when no rule placed it; it is still asked, and the send says so,
   so the survey asks which sentence describes them) must be one the kind lists.
3. **Once**: a (contact, kind, cycle) already sent is never due again, whatever the policy says now.
4. **Respect**: never to a contact opted out of email or without an email address.
5. **Gap**: at least ``min_gap_days`` between any two assessments to one contact, across kinds.
6. **Window**: outside the send window (weekdays and hours in its time zone) nothing is sent; all wait.
7. **Caps**: per account per day and in all per day, counted on the window's calendar day (UTC without one),
   sends already made today included; the due sends are taken in order (due date, account, contact, kind) and
   the rest wait for the next day.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Literal
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta

from sync_daemon.config.assessment_models import UNKNOWN_PERSONA, WEEKDAYS
from sync_daemon.domain.values import normalize

if TYPE_CHECKING:
    from collections.abc import Collection, Iterable, Mapping, Sequence

    from sync_daemon.config.assessment_models import AssessmentPolicy, Cadence, SendWindow

__all__ = [
    "AssessmentContact",
    "Due",
    "Left",
    "SendPlan",
    "SentBefore",
    "assessment_contact",
    "coverage_gaps",
    "current_cycle",
    "local_day",
    "next_due",
    "plan_sends",
]

HANDOFF_VALID_DAYS = 30
LeftKind = Literal["skipped", "waiting"]


@dataclass(frozen=True, slots=True)
class AssessmentContact:
    """A live contact as the planner needs it."""

    id: str
    account_id: str
    persona: str | None
    email: str | None
    opted_out: bool


@dataclass(frozen=True, slots=True)
class Due:
    """A send to make: who, which kind and cycle, the persona it is tagged with, when it fell due."""

    contact_id: str
    account_id: str
    kind: str
    cycle: int
    persona: str
    due_on: date

    @property
    def ask_persona(self) -> bool:
        """Whether the survey must ask which sentence describes the respondent (their persona is unknown)."""
        return self.persona == UNKNOWN_PERSONA

    def key(self) -> tuple[str, str, int]:
        """The send's identity: one per contact, kind and cycle."""
        return (self.contact_id, self.kind, self.cycle)


@dataclass(frozen=True, slots=True)
class Left:
    """A contact not sent a due kind this run, and why: ``skipped`` (not to be asked) or ``waiting`` (later)."""

    contact_id: str
    account_id: str
    kind: str
    cycle: int
    status: LeftKind
    reason: str


@dataclass(frozen=True, slots=True)
class SentBefore:
    """What was sent already: every (contact, kind, cycle), each contact's last send, and today's counts."""

    keys: Collection[tuple[str, str, int]] = ()
    last_sent: Mapping[str, date] = field(default_factory=dict)
    today_by_account: Mapping[str, int] = field(default_factory=dict)
    today_total: int = 0


@dataclass
class SendPlan:
    """The sends to make now, in order, and everyone left out with the reason."""

    sends: list[Due] = field(default_factory=list)
    left: list[Left] = field(default_factory=list)

    def reasons(self) -> dict[str, int]:
        """How many were left out for each reason (the reason's first words, for counting)."""
        out: dict[str, int] = {}
        for item in self.left:
            head = item.reason.split(":")[0]
            out[head] = out.get(head, 0) + 1
        return out


def _valid_days(cadence: Cadence) -> int | None:
    return cadence.valid_days if cadence.valid_days is not None else (HANDOFF_VALID_DAYS if cadence.at else None)


def current_cycle(cadence: Cadence, handoff_on: date, today: date) -> tuple[int, date] | None:
    """The cycle of ``cadence`` due as of ``today`` and still valid, with its due date; None when none is."""
    if cadence.at is not None:
        if today < handoff_on:
            return None
        days = _valid_days(cadence)
        return (0, handoff_on) if days is None or today < handoff_on + timedelta(days=days) else None
    months = cadence.every_months or 0
    n = _cycles_passed(handoff_on, today, months)
    if n < 1:
        return None
    due = handoff_on + relativedelta(months=n * months)
    days = _valid_days(cadence)
    if days is not None and today >= due + timedelta(days=days):
        return None
    return n, due


def _cycles_passed(handoff_on: date, today: date, months: int) -> int:
    """The largest n with handoff + n·months ≤ today (0 when the first has not come)."""
    delta = relativedelta(today, handoff_on)
    n = (delta.years * 12 + delta.months) // months
    while n > 0 and handoff_on + relativedelta(months=n * months) > today:  # month-end clamping
        n -= 1
    while handoff_on + relativedelta(months=(n + 1) * months) <= today:
        n += 1
    return n


def next_due(policy: AssessmentPolicy, handoff_on: date, today: date) -> date | None:
    """The next day any kind falls due for an account handed off on ``handoff_on`` (after ``today``)."""
    dates = []
    for kind in policy.kinds.values():
        cadence = kind.cadence
        if cadence.at is not None:
            if handoff_on > today:
                dates.append(handoff_on)
            continue
        months = cadence.every_months or 0
        dates.append(handoff_on + relativedelta(months=(_cycles_passed(handoff_on, today, months) + 1) * months))
    return min(dates) if dates else None


def local_day(now: datetime, window: SendWindow | None) -> date:
    """The calendar day caps count on: the window's time zone, or UTC."""
    zone = ZoneInfo(window.timezone) if window is not None else UTC
    return now.astimezone(zone).date()


def _outside_window(window: SendWindow | None, now: datetime) -> str | None:
    if window is None:
        return None
    local = now.astimezone(ZoneInfo(window.timezone))
    day = WEEKDAYS[local.weekday()]
    if day not in window.days or not window.start <= local.time() < window.end:
        span = f"{', '.join(window.days)} {window.start:%H:%M}-{window.end:%H:%M} {window.timezone}"
        return f"outside the send window: {span} (now {day} {local:%H:%M})"
    return None


def _candidates(
    policy: AssessmentPolicy,
    contacts: Iterable[AssessmentContact],
    handoffs: Mapping[str, date],
    sent: SentBefore,
    today: date,
) -> tuple[list[Due], list[Left]]:
    """Rules 1 to 5: every due (contact, kind, cycle) not yet sent, or the reason it is skipped or waits."""
    due: list[Due] = []
    left: list[Left] = []
    gap = policy.throttle.min_gap_days
    for contact in contacts:
        handoff_on = handoffs.get(contact.account_id)
        if handoff_on is None:
            continue
        persona = contact.persona or UNKNOWN_PERSONA
        for kind_id, kind in policy.kinds.items():
            found = current_cycle(kind.cadence, handoff_on, today)
            if found is None or (contact.id, kind_id, found[0]) in sent.keys:
                continue
            cycle, due_on = found

            def leave(status: LeftKind, reason: str, c: AssessmentContact = contact, k: str = kind_id,
                      n: int = cycle) -> None:  # fmt: skip
                left.append(Left(c.id, c.account_id, k, n, status, reason))

            last = sent.last_sent.get(contact.id)
            if persona not in kind.personas:
                leave("skipped", f"persona {persona} does not receive {kind_id}")
            elif contact.opted_out:
                leave("skipped", "opted out of email")
            elif not (contact.email or "").strip():
                leave("skipped", "no email address")
            elif last is not None and (today - last).days < gap:
                leave("waiting", f"minimum gap: last assessment on {last}, next from {last + timedelta(days=gap)}")
            else:
                due.append(Due(contact.id, contact.account_id, kind_id, cycle, persona, due_on))
    return due, left


def plan_sends(
    policy: AssessmentPolicy,
    contacts: Iterable[AssessmentContact],
    handoffs: Mapping[str, date],
    sent: SentBefore,
    now: datetime,
) -> SendPlan:
    """The sends to make at ``now`` and the reason for every due contact left out (see the module's rules)."""
    throttle = policy.throttle
    today = local_day(now, throttle.window)
    due, left = _candidates(policy, contacts, handoffs, sent, today)
    plan = SendPlan(left=left)
    closed = _outside_window(throttle.window, now)
    by_account = dict(sent.today_by_account)
    total = sent.today_total
    taken: set[str] = set()
    for item in sorted(due, key=lambda d: (d.due_on, d.account_id, d.contact_id, d.kind)):
        reason = closed
        if reason is None and item.contact_id in taken:
            reason = "minimum gap: another assessment goes to this contact today"
        if reason is None and total >= throttle.per_day:
            reason = f"daily cap: {throttle.per_day} a day in all; it waits for the next day"
        if reason is None and by_account.get(item.account_id, 0) >= throttle.per_account_per_day:
            reason = f"account cap: {throttle.per_account_per_day} a day per account; it waits for the next day"
        if reason is not None:
            plan.left.append(Left(item.contact_id, item.account_id, item.kind, item.cycle, "waiting", reason))
            continue
        plan.sends.append(item)
        taken.add(item.contact_id)
        total += 1
        by_account[item.account_id] = by_account.get(item.account_id, 0) + 1
    return plan


def assessment_contact(record: Mapping[str, object]) -> AssessmentContact:
    """A stored contact as the planner sees it (opt-out read as the CRM sends it: a boolean or its text)."""
    fields = record.get("fields")
    data: Mapping[str, object] = fields if isinstance(fields, dict) else {}
    try:
        opted = normalize(data.get("email_opt_out"), "boolean")
    except ValueError:
        opted = None
    email = data.get("email")
    persona = record.get("persona")
    return AssessmentContact(
        id=str(record["id"]),
        account_id=str(record.get("account_id") or ""),
        persona=str(persona) if persona else None,
        email=str(email) if email else None,
        opted_out=opted is True,
    )


def coverage_gaps(expected: Sequence[str], contacts: Iterable[AssessmentContact]) -> list[str]:
    """The expected personas no assessable contact of the account covers (opted-out or email-less ones do not)."""
    covered = {c.persona for c in contacts if c.persona and not c.opted_out and (c.email or "").strip()}
    return [p for p in expected if p not in covered]
