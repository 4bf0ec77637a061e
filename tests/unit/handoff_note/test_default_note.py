"""The shipped note template: every section, with the right values, for a full and a sparse account."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from sync_daemon.domain import handoff_note as hn
from sync_daemon.domain.handoff_note import render
from tests.unit.handoff_note.builders import HEADINGS, default_template, full, named, sparse


def sections(text: str) -> dict[str, list[str]]:
    """The note split into its sections: heading -> the non-empty lines under it."""
    found: dict[str, list[str]] = {}
    current = "title"
    for line in text.splitlines():
        if line in HEADINGS:
            current = line
            found[current] = []
        elif line:
            found.setdefault(current, []).append(line)
    return found


@pytest.fixture(scope="module")
def template() -> hn.NoteTemplate:
    return default_template()


def test_the_full_note_has_every_section_in_order(template: hn.NoteTemplate) -> None:
    """Each heading appears once, on a line of its own, in the documented order."""
    lines = render(template, full()).splitlines()
    assert [line for line in lines if line in HEADINGS] == list(HEADINGS)
    assert lines[0] == "Handoff to Customer Success: Acme Rockets"


def test_the_full_note_says_who_the_csm_is_and_what_was_agreed(template: hn.NoteTemplate) -> None:
    """The CSM line joins name, email and phone; goals keep their lines."""
    note = sections(render(template, full()))
    assert note["title"] == [
        "Handoff to Customer Success: Acme Rockets",
        "Account 001A000001, handed off on 2026-04-01.",
    ]
    assert note["Your CSM"] == ["- Jane Doe · jane.doe@vendor.example · +1 555 0100"]
    assert note["Goals agreed"] == ["Two teams live on the product.", "Halve the time to first reply."]


def test_the_full_note_lists_done_and_open_work_with_owners_and_dates(template: hn.NoteTemplate) -> None:
    """Done tasks carry date, side and owner; open ones owner role, side, due date and overdue flag."""
    note = sections(render(template, full()))
    assert note["What was done"] == [
        "- 2026-01-12: Kickoff call (vendor, Onboarding lead)",
        "- 2026-01-20: Sign the DPA (customer, Legal)",
    ]
    assert note["Still open"] == [
        "- Connect SSO: owned by IT admin (customer), due 2026-03-10, OVERDUE",
        "- Train the admins: owned by Trainer (vendor), due 2026-04-15",
    ]


def test_the_full_note_shows_adoption_and_risks(template: hn.NoteTemplate) -> None:
    """Status with its date and KPIs (a missing one says so); every kind of risk on its own bullet."""
    note = sections(render(template, full()))
    assert note["Adoption"] == [
        "- Status: full utilization since 2026-03-20 (adopted)",
        "- active_users: 42",
        "- mrr: 2150.5",
        "- daily_active_pct: not reported",
    ]
    assert note["Risks"] == [
        "- Overdue: Connect SSO (owned by IT admin, due 2026-03-10)",
        "- Go-live slipped by 9 days against the plan.",
        "- Nobody we can ask (a contact with an email, not opted out) as: decision maker, end user.",
        "- Low onboarding assessment: 3 out of 10 on 2026-03-30.",
    ]


def test_the_full_note_gives_support_guidance_timing_and_committee(template: hn.NoteTemplate) -> None:
    """Support-versus-CSM guidance, days against target, and contacts grouped by persona, unknown included."""
    note = sections(render(template, full()))
    assert note["Support or your CSM?"][0].startswith("Support's job starts when the product stops working")
    assert note["Days to onboard"] == [
        "- 86 days from sale (2026-01-05) to handoff (2026-04-01): 10 days over the target of 76 days."
    ]
    assert note["Buying committee"] == [
        "- Decision maker: Ravi Patel (CFO)",
        "- Champion: Ann Lee (Head of Ops); Bo Chu",
        "- Role not known: Kim Poe (Analyst)",
    ]


def test_a_sparse_account_gets_sensible_text_in_every_section(template: hn.NoteTemplate) -> None:
    """Empty lists, no phone or email, no goals: each section still says something true."""
    text = render(template, sparse())
    note = sections(text)
    assert [line for line in text.splitlines() if line in HEADINGS] == list(HEADINGS)
    assert note["Your CSM"] == ["- Sam Roe"]
    assert note["Goals agreed"] == ["No goals recorded."]
    assert note["What was done"] == ["Nothing recorded as done."]
    assert note["Still open"] == ["Nothing open."]
    assert note["Adoption"] == ["- Status: implementing (not adopted yet)"]
    assert note["Risks"] == ["No risks recorded."]
    assert note["Days to onboard"] == [
        "- 59 days from sale (2026-02-01) to handoff (2026-04-01): within the target of 90 days."
    ]
    assert note["Buying committee"] == ["No contacts recorded."]
    assert "None" not in text


def test_no_csm_and_no_sale_date_are_said_plainly(template: hn.NoteTemplate) -> None:
    """A forced handoff without a CSM or a sale date still renders, saying what is missing."""
    context = replace(sparse(), csm=None, timing=hn.Timing(None, sparse().timing.handoff_date, 90))
    note = sections(render(template, context))
    assert note["Your CSM"] == ["- No CSM assigned yet."]
    assert note["Days to onboard"] == [
        "- Sale date not recorded; handed off on 2026-04-01 (target: 90 days from sale)."
    ]


def test_the_note_is_tidy_plain_text(template: hn.NoteTemplate) -> None:
    """No template syntax, no trailing spaces, no double blank lines, one final newline."""
    text = render(template, full())
    assert not re.search(r"[{}%#]{2}|<|>", text)
    assert all(line == line.rstrip() for line in text.splitlines())
    assert "\n\n\n" not in text
    assert text.endswith("\n")
    assert not text.endswith("\n\n")


@pytest.mark.parametrize(
    "value",
    ["{{ 7*7 }}", "{% for x in range(3) %}x{% endfor %}", "<script>alert(1)</script>", "Fish & Chips", "Café 東京 🚀"],
)
def test_crm_values_are_printed_literally(template: hn.NoteTemplate, value: str) -> None:
    """A CRM value that looks like template syntax or markup is data: printed as is, never evaluated or escaped."""
    context = replace(named(value), goals=value, csm=hn.Csm(value, "a@b.example"))
    text = render(template, context)
    assert f"Handoff to Customer Success: {value}\n" in text
    assert f"\n- {value} · a@b.example\n" in text
    assert f"Goals agreed\n{value}\n" in text
    assert "49" not in text
    assert "&amp;" not in text
    assert "&lt;" not in text


def test_a_template_failing_at_run_time_raises_with_its_line() -> None:
    """A runtime error inside the template becomes a NoteRenderError naming the file and line."""
    template = hn.NoteTemplate.compile("ok\n{{ timing.days + 'x' }}\n", "notes.j2")
    with pytest.raises(hn.NoteRenderError) as caught:
        render(template, full())
    assert caught.value.line == 2
    assert str(caught.value).startswith("notes.j2:2: the handoff note cannot be rendered:")


def test_tidy_keeps_one_blank_line_between_paragraphs() -> None:
    """Runs of blank lines and trailing spaces left by an admin's edits collapse."""
    assert hn.tidy("\n\na  \n\n\n\nb\t\n\n") == "a\n\nb\n"


def test_timing_days_are_computed_from_the_dates() -> None:
    """Days and the distance to the target follow from the sale and handoff dates."""
    timing = full().timing
    assert (timing.days, timing.over_target) == (86, 10)
    assert (hn.Timing(None, timing.handoff_date, 90).days, hn.Timing(None, timing.handoff_date, 90).over_target) == (
        None,
        None,
    )
