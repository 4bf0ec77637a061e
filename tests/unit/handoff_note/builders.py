"""Handoff contexts for the note tests: one with everything, one with as little as an account can have."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

from sync_daemon.config.note_template import load_note_template
from sync_daemon.domain import handoff_note as hn

ROOT = Path(__file__).resolve().parents[3]
DEFAULT = ROOT / "config" / "handoff_note.txt.j2"
HANDOFF = date(2026, 4, 1)
LATE = hn.OpenTask("Connect SSO", "customer", "IT admin", date(2026, 3, 10), overdue=True)


def default_template() -> hn.NoteTemplate:
    return load_note_template(DEFAULT)


def full() -> hn.HandoffContext:
    return hn.HandoffContext(
        account=hn.Account("001A000001", "Acme Rockets"),
        csm=hn.Csm("Jane Doe", "jane.doe@vendor.example", "+1 555 0100"),
        goals="Two teams live on the product.\nHalve the time to first reply.",
        done=(
            hn.DoneTask("Kickoff call", "vendor", "Onboarding lead", date(2026, 1, 12)),
            hn.DoneTask("Sign the DPA", "customer", "Legal", date(2026, 1, 20)),
        ),
        open=(LATE, hn.OpenTask("Train the admins", "vendor", "Trainer", date(2026, 4, 15), overdue=False)),
        adoption=hn.Adoption(
            "full_utilization",
            date(2026, 3, 20),
            adopted=True,
            kpis=(hn.Kpi("active_users", 42), hn.Kpi("mrr", 2150.5), hn.Kpi("daily_active_pct", None)),
        ),
        risks=hn.Risks((LATE,), 9, ("decision_maker", "end_user"), hn.AssessmentScore(3, 10, date(2026, 3, 30))),
        timing=hn.Timing(date(2026, 1, 5), HANDOFF, 76),
        committee=(
            hn.PersonaGroup("decision_maker", (hn.Member("Ravi Patel", "CFO"),)),
            hn.PersonaGroup("champion", (hn.Member("Ann Lee", "Head of Ops"), hn.Member("Bo Chu"))),
            hn.PersonaGroup("unknown", (hn.Member("Kim Poe", "Analyst"),)),
        ),
    )


def sparse() -> hn.HandoffContext:
    return hn.HandoffContext(
        account=hn.Account("001A000002", "Tiny Co"),
        csm=hn.Csm("Sam Roe"),
        goals="",
        done=(),
        open=(),
        adoption=hn.Adoption("implementing", None, adopted=False),
        risks=hn.Risks(),
        timing=hn.Timing(date(2026, 2, 1), HANDOFF, 90),
        committee=(),
    )


def named(name: str) -> hn.HandoffContext:
    return replace(full(), account=hn.Account("001A000003", name))


# The default template's section headings, in the order the note shows them.
HEADINGS = (
    "Your CSM",
    "Goals agreed",
    "What was done",
    "Still open",
    "Adoption",
    "Risks",
    "Support or your CSM?",
    "Days to onboard",
    "Buying committee",
)
