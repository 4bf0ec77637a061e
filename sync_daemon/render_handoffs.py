"""How ``handoff show``, ``handoff list`` and ``handoff preview`` look: a rich tree, a table, and their JSON forms.

The data comes from :mod:`sync_daemon.commands.handoffs`, which reads the store (never the CRM); this module only
decides what each line says. Everything that came from a person or the CRM (names, evidence with CRM values, the
at-risk reason, outbox errors) goes into :class:`rich.text.Text` pieces, never into markup strings, so a value such
as ``"[VIP] Acme"`` prints as written.

The stored evidence is the decision's full record (:meth:`~sync_daemon.domain.handoff.HandoffDecision.evidence`):
one ``name: ✓|✗ evidence`` line per gate, then ``outcome: reason (policy revision N)``. :func:`gate_lines` reads
it back so the show command and its JSON can list the gates one by one without re-deciding anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rich.table import Table
from rich.text import Text
from rich.tree import Tree

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from datetime import date, datetime

    from sync_daemon.domain.adoption import AdoptionResult
    from sync_daemon.store.handoffs import HandoffRow

OUTCOME_STYLE = {"onboarding": "cyan", "ready": "green", "handed_off": "green", "at_risk": "red"}
PASSED, FAILED = "✓", "✗"


@dataclass(frozen=True, slots=True)
class GateLine:
    """One gate of a stored decision: its name, whether it passed, and the evidence with the values it saw."""

    name: str
    passed: bool
    evidence: str


def gate_lines(evidence: str) -> tuple[list[GateLine], str]:
    """The gates of a stored evidence record and its last line (the outcome and why).

    A line that does not read as ``name: ✓|✗ ...`` (a record written by another version) is kept whole as a failed
    gate named ``?`` rather than dropped: the show command must never hide evidence.
    """
    lines = [line for line in evidence.splitlines() if line.strip()]
    if not lines:
        return [], ""
    gates = []
    for line in lines[:-1]:
        name, sep, rest = line.partition(": ")
        mark = rest[:1]
        if sep and mark in {PASSED, FAILED}:
            gates.append(GateLine(name, passed=mark == PASSED, evidence=rest[1:].strip()))
        else:
            gates.append(GateLine("?", passed=False, evidence=line))
    return gates, lines[-1]


@dataclass(frozen=True, slots=True)
class NoteState:
    """The handoff note's outbox intent as the store holds it; ``status`` is None when no intent has the key."""

    key: str
    status: str | None
    attempts: int = 0
    last_error: str | None = None


@dataclass(frozen=True, slots=True)
class HandoffView:
    """One account's current handoff decision as stored, its adoption now, and its earlier cycles."""

    account_id: str
    account_name: str | None
    row: HandoffRow
    status_label: str
    policy_revision: int  # the policy's revision now; the row records the one that decided
    sale: date | None
    note: NoteState | None
    adoption: AdoptionResult
    statuses: Sequence[str]  # the policy's adoption statuses, lowest first
    reached: Mapping[str, date]
    history: Sequence[HandoffRow]

    @property
    def days_from_sale(self) -> int | None:
        """Days from the sale to the handoff (None before the handoff or without a sale date)."""
        if self.row.handed_off_on is None or self.sale is None:
            return None
        return (self.row.handed_off_on - self.sale).days


def _day(value: date | None) -> str:
    return value.isoformat() if value is not None else "—"


def _moment(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC")


def _outcome(outcome: str) -> Text:
    return Text(outcome, style=f"bold {OUTCOME_STYLE.get(outcome, '')}".strip())


def _decision_line(view: HandoffView) -> Text:
    row = view.row
    text = Text("decision: ").append_text(_outcome(row.outcome)).append(" · CRM status ").append(view.status_label)
    text.append(f" · cycle {row.cycle} · decided {_moment(row.decided_at)} · policy revision {row.policy_revision}")
    if row.policy_revision != view.policy_revision:
        text.append(f" (the policy is at revision {view.policy_revision} now)", style="yellow")
    text.append(" · override ").append(row.override or "none")
    return text


def _gate_text(gate: GateLine) -> Text:
    text = Text(f"{PASSED if gate.passed else FAILED} ", style="green" if gate.passed else "red")
    return text.append(gate.name, style="bold").append(": ").append(gate.evidence)


def _handoff_line(view: HandoffView) -> Text:
    row = view.row
    sale = f"sale {_day(view.sale)}" if view.sale else "no sale date recorded"
    if row.handed_off_on is None:
        return Text(f"not handed off · {sale}")
    days = view.days_from_sale
    text = Text("handed off on ").append(row.handed_off_on.isoformat(), style="bold")
    return text.append(f", {days} days from the sale ({_day(view.sale)})" if days is not None else f" · {sale}")


def _note_line(note: NoteState) -> Text:
    text = Text("note ").append(note.key).append(" · outbox: ")
    if note.status is None:
        return text.append("no intent with this key", style="yellow")
    text.append(note.status, style="green" if note.status == "done" else "yellow")
    if note.attempts > 1:
        text.append(f" ({note.attempts} attempts)")
    if note.last_error:
        text.append(" · last error: ").append(note.last_error)
    return text


def _adoption_branch(tree: Tree, view: HandoffView) -> None:
    adoption = view.adoption
    head = Text("adoption now: ").append(adoption.label, style="bold").append(f" ({adoption.status}) · ")
    head.append("adopted" if adoption.adopted else "not adopted", style="green" if adoption.adopted else "yellow")
    branch = tree.add(head)
    for name in [*view.statuses, *(s for s in view.reached if s not in view.statuses)]:
        on = view.reached.get(name)
        line = Text(f"{PASSED if on else '○'} {name}", style="green" if on else "dim")
        line.append(f" · first reached {on.isoformat()}" if on else " · not reached yet")
        if name not in view.statuses:
            line.append(" (no longer in the policy)", style="yellow")
        branch.add(line)
    branch.add(Text("why: ", style="dim").append(adoption.explain()))


def _history_line(row: HandoffRow) -> Text:
    text = Text(f"cycle {row.cycle}: ").append_text(_outcome(row.outcome))
    if row.handed_off_on is not None:
        text.append(f", handed off on {row.handed_off_on.isoformat()}")
    if row.restarted_on is not None:
        text.append(f", restarted on {row.restarted_on.isoformat()}")
    text.append(f" · decided {_moment(row.decided_at)} · policy revision {row.policy_revision}", style="dim")
    if row.at_risk_reason:
        text.append(" · ").append(row.at_risk_reason)
    return text


def handoff_tree(view: HandoffView) -> Tree:
    """The decision with each gate, the reason, the handoff and its note, adoption now, and earlier cycles."""
    row = view.row
    root = Text(view.account_name or view.account_id, style="bold").append(f" ({view.account_id}) — handoff")
    tree = Tree(root)
    tree.add(_decision_line(view))
    gates, verdict = gate_lines(row.evidence)
    branch = tree.add(Text("gates", style="bold cyan"))
    for gate in gates:
        branch.add(_gate_text(gate))
    if not gates:
        branch.add(Text("the policy has no gates", style="dim"))
    tree.add(Text("verdict: ").append(verdict))
    if row.at_risk_reason:
        tree.add(Text("at-risk reason: ", style="bold red").append(row.at_risk_reason))
    if row.restarted_on is not None:
        tree.add(Text(f"restarted on {row.restarted_on.isoformat()}", style="yellow"))
    tree.add(_handoff_line(view))
    if view.note is not None:
        tree.add(_note_line(view.note))
    _adoption_branch(tree, view)
    if view.history:
        past = tree.add(Text("earlier cycles", style="bold cyan"))
        for earlier in view.history:
            past.add(_history_line(earlier))
    return tree


def _row_json(row: HandoffRow) -> dict[str, Any]:
    return {
        "cycle": row.cycle, "outcome": row.outcome, "decided_at": row.decided_at.isoformat(),
        "policy_revision": row.policy_revision, "override": row.override, "short": row.short,
        "at_risk_reason": row.at_risk_reason, "handed_off_on": _iso(row.handed_off_on),
        "restarted_on": _iso(row.restarted_on),
    }  # fmt: skip


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def handoff_to_json(view: HandoffView) -> dict[str, Any]:
    """``handoff show --output json``: the stored decision, its gates, the note's state, adoption now, history."""
    gates, verdict = gate_lines(view.row.evidence)
    note = view.note
    return {
        "account": {"id": view.account_id, "name": view.account_name},
        **_row_json(view.row),
        "status_label": view.status_label,
        "current_policy_revision": view.policy_revision,
        "gates": [{"name": g.name, "passed": g.passed, "evidence": g.evidence} for g in gates],
        "verdict": verdict,
        "evidence": view.row.evidence,
        "sale_date": _iso(view.sale),
        "days_from_sale": view.days_from_sale,
        "note": None if note is None else {"key": note.key, "status": note.status, "attempts": note.attempts,
                                           "last_error": note.last_error},
        "adoption": {
            "status": view.adoption.status, "label": view.adoption.label, "adopted": view.adoption.adopted,
            "explain": view.adoption.explain(), "reached": {s: d.isoformat() for s, d in view.reached.items()},
        },
        "history": [_row_json(row) for row in view.history],
    }  # fmt: skip


@dataclass(frozen=True, slots=True)
class ListedHandoff:
    """One ``handoff list`` row: the stored current-cycle decision and the account's name (when known)."""

    row: HandoffRow
    account_name: str | None


def handoffs_table(rows: Sequence[ListedHandoff], status: str | None) -> Table:
    """Current-cycle decisions by account id, one row each, with the short evidence the CRM shows."""
    title = "handoff decisions" + (f" ({status})" if status else "") + ", current onboarding cycle"
    table = Table(title=title, title_justify="left")
    for col in ("account", "name", "outcome", "evidence", "handed off on"):
        table.add_column(col, overflow="fold" if col == "evidence" else "ellipsis")
    for listed in rows:
        row = listed.row
        table.add_row(row.account_id, Text(listed.account_name or "—"), _outcome(row.outcome), Text(row.short),
                      _day(row.handed_off_on))  # fmt: skip
    return table


def listed_to_json(listed: ListedHandoff) -> dict[str, Any]:
    """One ``handoff list`` row as JSON-able data."""
    return {"account_id": listed.row.account_id, "name": listed.account_name, **_row_json(listed.row)}


@dataclass(frozen=True, slots=True)
class NotePreview:
    """The note ``handoff preview`` shows: rendered as of today, or as sent when the account was handed off."""

    account_id: str
    title: str
    text: str | None  # None: handed off before the daemon kept the text it sent
    handed_off_on: date | None


def preview_to_json(preview: NotePreview) -> dict[str, Any]:
    """``handoff preview --output json``."""
    return {
        "account_id": preview.account_id,
        "title": preview.title,
        "text": preview.text,
        "handed_off_on": _iso(preview.handed_off_on),
    }
