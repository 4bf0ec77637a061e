"""How ``assessments due`` and ``assessments history`` look: rich tables and trees, and their JSON forms.

The data comes from :mod:`sync_daemon.commands.assessments`, which reads the store and the policy (never the CRM);
this module only decides what each line says. Names, reasons and outbox errors come from people, the CRM or the
store, so they go into :class:`rich.text.Text` pieces, never into markup strings: a name such as ``"[VIP] Ann"``
prints as written. Neither form prints an email address or a webhook URL (some tools put a token in it).

Left-out contacts are grouped by status (``skipped``: not to be asked this cycle; ``waiting``: asked later) and
then by the reason's head, the words before its first colon (``account cap``, ``minimum gap``...), the same key
the cycle's log counts them by; each contact's line keeps the full reason (the dates, the cap).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rich.console import Group
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import date, datetime

    from rich.console import RenderableType

    from sync_daemon.store.assessments import LeftRow, ResponseRow, SendRow

STATUSES = ("skipped", "waiting")
STATUS_STYLE = {"skipped": "red", "waiting": "yellow"}
OUTBOX_STYLE = {"done": "green", "dead": "red"}


def reason_head(reason: str) -> str:
    """The reason's group: its words before the first colon (the whole reason without one)."""
    return reason.split(":", 1)[0].strip()


@dataclass(frozen=True, slots=True)
class Who:
    """A contact and its account, with the names the store last pulled (None when it has none)."""

    contact_id: str
    contact_name: str | None
    account_id: str
    account_name: str | None


@dataclass(frozen=True, slots=True)
class DueSend:
    """One send the next run would make, and the channel it would go through."""

    who: Who
    kind: str
    kind_label: str
    cycle: int
    persona: str
    due_on: date
    channel: str
    audience_id: str | None  # the campaign or list (None for crm_fields and webhook)
    ask_persona: bool


@dataclass(frozen=True, slots=True)
class DueLeft:
    """A due (contact, kind, cycle) the next run would not send, and why."""

    who: Who
    kind: str
    cycle: int
    status: str
    reason: str


@dataclass(frozen=True, slots=True)
class DueView:
    """The preview: when it is as of, the policy's revision, how many accounts are handed off, and the plan."""

    crm: str
    now: datetime
    day: date  # the calendar day the caps count on (the window's time zone, or UTC)
    policy_revision: int
    handed_off: int
    sends: Sequence[DueSend]
    left: Sequence[DueLeft]

    def groups(self, status: str) -> list[tuple[str, list[DueLeft]]]:
        """The left-out ones of one status by reason head, the largest group first (then by name)."""
        found: dict[str, list[DueLeft]] = {}
        for item in self.left:
            if item.status == status:
                found.setdefault(reason_head(item.reason), []).append(item)
        return sorted(found.items(), key=lambda pair: (-len(pair[1]), pair[0]))

    def count(self, status: str) -> int:
        """How many were left out with this status."""
        return sum(1 for item in self.left if item.status == status)


def _moment(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC")


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _name(name: str | None) -> Text:
    return Text(name or "—")


def _channel(channel: str, audience_id: str | None) -> str:
    return f"{channel} {audience_id}" if audience_id else channel


def _who(who: Who) -> Text:
    text = Text(who.contact_id, style="bold")
    if who.contact_name:
        text.append(" ").append(who.contact_name)
    text.append(" · account ").append(who.account_id)
    if who.account_name:
        text.append(" ").append(who.account_name)
    return text


def _sends_table(view: DueView) -> Table:
    table = Table(title=f"would be sent: {len(view.sends)}", title_justify="left")
    for col in ("contact", "name", "account", "account name", "kind", "cycle", "persona", "due on", "channel",
                "asks persona"):  # fmt: skip
        table.add_column(col, overflow="fold")
    for send in view.sends:
        who = send.who
        table.add_row(
            who.contact_id, _name(who.contact_name), who.account_id, _name(who.account_name), Text(send.kind_label),
            str(send.cycle), Text(send.persona), send.due_on.isoformat(), Text(_channel(send.channel,
            send.audience_id)), "yes" if send.ask_persona else "no",
        )  # fmt: skip
    return table


def _left_tree(view: DueView) -> Tree:
    tree = Tree(Text(f"left out: {len(view.left)}", style="bold"))
    for status in STATUSES:
        branch = tree.add(Text(f"{status}: {view.count(status)}", style=f"bold {STATUS_STYLE[status]}"))
        for head, items in view.groups(status):
            group = branch.add(Text(f"{head}: {len(items)}"))
            for item in items:
                line = _who(item.who).append(f" · {item.kind} cycle {item.cycle} · ").append(item.reason)
                group.add(line)
    return tree


def due_renderable(view: DueView) -> RenderableType:
    """The heading, the table of sends and the tree of left-out contacts grouped by status and reason."""
    head = Text(
        f"Assessments due as of {_moment(view.now)} ({view.crm}, caps counted on {view.day.isoformat()}, "
        f"policy revision {view.policy_revision})",
        style="bold",
    )
    counts = Text(
        f"{_count(view.handed_off, 'account')} handed off; {len(view.sends)} to send, "
        f"{view.count('skipped')} skipped, {view.count('waiting')} waiting. Nothing was stored or sent."
    )
    parts: list[RenderableType] = [head, counts]
    parts.append(_sends_table(view) if view.sends else Text("Nothing would be sent.", style="dim"))
    if view.left:
        parts.append(_left_tree(view))
    return Group(*parts)


def _who_json(who: Who) -> dict[str, Any]:
    return {"contact_id": who.contact_id, "contact_name": who.contact_name, "account_id": who.account_id,
            "account_name": who.account_name}  # fmt: skip


def due_to_json(view: DueView) -> dict[str, Any]:
    """``assessments due --output json``: the sends, and the left-out ones by status and reason with counts."""
    left: dict[str, Any] = {}
    for status in STATUSES:
        left[status] = {
            "count": view.count(status),
            "reasons": [
                {"reason": head, "count": len(items),
                 "contacts": [{**_who_json(i.who), "kind": i.kind, "cycle": i.cycle, "reason": i.reason}
                              for i in items]}
                for head, items in view.groups(status)
            ],
        }  # fmt: skip
    return {
        "crm": view.crm,
        "now": view.now.isoformat(),
        "day": view.day.isoformat(),
        "policy_revision": view.policy_revision,
        "handed_off_accounts": view.handed_off,
        "counts": {"sends": len(view.sends), "skipped": view.count("skipped"), "waiting": view.count("waiting")},
        "sends": [
            {**_who_json(s.who), "kind": s.kind, "kind_label": s.kind_label, "cycle": s.cycle, "persona": s.persona,
             "due_on": s.due_on.isoformat(), "channel": s.channel, "audience_id": s.audience_id,
             "ask_persona": s.ask_persona}
            for s in view.sends
        ],
        "left": left,
    }  # fmt: skip


@dataclass(frozen=True, slots=True)
class SendState:
    """A send as stored, and its intent's place in the outbox (``status`` None: no intent has its key)."""

    row: SendRow
    status: str | None
    attempts: int = 0
    last_error: str | None = None


@dataclass(frozen=True, slots=True)
class HistoryView:
    """One contact's assessments: every send with its outbox state, the latest left-out reasons, the answers."""

    who: Who
    persona: str | None  # the contact's persona now (as last classified)
    deleted: bool
    sends: Sequence[SendState]
    left: Sequence[LeftRow]
    responses: Sequence[ResponseRow]


def _outbox(state: SendState) -> Text:
    text = Text("outbox: ")
    if state.status is None:
        return text.append("no intent with this key", style="yellow")
    text.append(state.status, style=OUTBOX_STYLE.get(state.status, "yellow"))
    if state.attempts > 1:
        text.append(f" ({state.attempts} attempts)")
    if state.last_error:
        text.append(" · last error: ").append(state.last_error)
    return text


def _send_line(state: SendState) -> Text:
    row = state.row
    text = Text(f"{row.kind} cycle {row.cycle}", style="bold").append(f" · persona {row.persona}")
    text.append(f" · due {row.due_on.isoformat()} · requested {_moment(row.requested_at)} · channel {row.channel}")
    text.append(f" · policy revision {row.policy_revision} · ").append_text(_outbox(state))
    return text


def _response_line(row: ResponseRow) -> Text:
    answers = f"{row.kind} cycle {row.cycle}" if row.kind is not None else "no send before it"
    text = Text(f"answered {_moment(row.answered_at)} · answers {answers} · persona ").append(row.persona)
    text.append(f" · score {row.score if row.score is not None else '—'} · change {row.change or '—'}")
    return text


def history_tree(view: HistoryView) -> Tree:
    """The contact, then its sends (oldest first), why due ones were left out, and its answers."""
    root = _who(view.who).append(f" · persona {view.persona or 'unknown'}")
    if view.deleted:
        root.append(" (deleted in the CRM)", style="yellow")
    tree = Tree(root)
    sends = tree.add(Text(f"sends: {len(view.sends)}", style="bold cyan"))
    for state in view.sends:
        sends.add(_send_line(state))
    if not view.sends:
        sends.add(Text("no assessment sent yet", style="dim"))
    left = tree.add(Text(f"left out at the latest look: {len(view.left)}", style="bold cyan"))
    for row in view.left:
        line = Text(f"{row.kind} cycle {row.cycle} · ").append(row.status, style=STATUS_STYLE.get(row.status, ""))
        left.add(line.append(" · ").append(row.reason).append(f" · seen {_moment(row.seen_at)}", style="dim"))
    if not view.left:
        left.add(Text("nothing due is waiting or skipped", style="dim"))
    answers = tree.add(Text(f"responses: {len(view.responses)}", style="bold cyan"))
    for response in view.responses:
        answers.add(_response_line(response))
    if not view.responses:
        answers.add(Text("no answer pulled yet", style="dim"))
    return tree


def _iso(value: date | datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def history_to_json(view: HistoryView) -> dict[str, Any]:
    """``assessments history --output json``."""
    return {
        "contact": {**_who_json(view.who), "persona": view.persona, "deleted": view.deleted},
        "sends": [
            {"kind": s.row.kind, "cycle": s.row.cycle, "persona": s.row.persona, "due_on": _iso(s.row.due_on),
             "sent_on": _iso(s.row.sent_on), "requested_at": _iso(s.row.requested_at), "channel": s.row.channel,
             "policy_revision": s.row.policy_revision, "key": s.row.intent_key,
             "outbox": {"status": s.status, "attempts": s.attempts, "last_error": s.last_error}}
            for s in view.sends
        ],
        "left": [{"kind": r.kind, "cycle": r.cycle, "status": r.status, "reason": r.reason,
                  "seen_at": _iso(r.seen_at)} for r in view.left],
        "responses": [{"answered_at": _iso(r.answered_at), "kind": r.kind, "cycle": r.cycle, "persona": r.persona,
                       "score": r.score, "change": r.change} for r in view.responses],
    }  # fmt: skip
