"""The handoff note end to end against both sandbox CRMs (issue 5's second and third acceptance bullets).

Whole daemon cycles (plans, handoff, personas, push, outbox drain) with the real connectors, on the sandboxes'
fake clock; accounts are made ready by editing their fields in the CRM. Proven here:

- exactly one note per handoff when the CRM commits the note and drops the reply, and when the daemon is
  SIGKILLed (a real child process) before the note's CRM call or after it, on SQLite and PostgreSQL: counted in
  the sandbox's own state, the key found in the CRM rather than the note made again;
- the note each CRM holds says every section of the default template with the account's values, escaped
  (no markup injected) and intact once unescaped; the account's long-text field holds the same text, trimmed
  at a line with its marker when the field is short;
- a template error stops ``sync-daemon sync`` with exit 2 at its file and line before any CRM call.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, cast

import pytest
from click.testing import CliRunner

from connectors.salesforce.notes import note_ref
from sync_daemon.cli import main
from sync_daemon.demo import SandboxHandle
from sync_daemon.domain.handoff_note import TRIM_MARKER
from sync_daemon.handoff_provider import note_key
from sync_daemon.outbox import backoff
from sync_daemon.resources import shipped
from sync_daemon.sandbox.server import Fault
from sync_daemon.store import Store
from tests.conformance.drivers import start_driver
from tests.integration.handoff_support import (
    NOTE_TAGS,
    SECTIONS,
    NoteText,
    Staged,
    StoredNote,
    add_contact,
    customers,
    cycle,
    notes_on,
    ready_fields,
    sections,
    settings_env,
    stage,
    text_lines,
)
from tests.integration.outbox_support.census import note_ids, note_tag, notes_by_account
from tests.integration.outbox_support.dying import KilledCycle
from tests.integration.outbox_support.sandboxes import CRMS, NOTE_CREATE, SandboxAddress
from tests.integration.store import conftest as store_fixtures

if TYPE_CHECKING:
    from collections.abc import Iterator

    from sync_daemon.demo import CrmChoice
    from sync_daemon.engine import CycleResult
    from sync_daemon.store.handoffs import HandoffRow
    from tests.conformance.drivers import Driver

# The store suite's fixtures: the same tests on SQLite and on a throwaway PostgreSQL database.
postgres_database = store_fixtures.postgres_database
store_url = store_fixtures.store_url

ROOT = Path(__file__).resolve().parents[2]
ACCOUNTS = 24
LEASE = timedelta(minutes=5)  # the drain's default lease, which a cycle's drain holds
TITLE = "Handoff to Customer Success"
SOLD_DAYS_AGO = 30  # the staged account's sale, before the first cycle
ADOPTED_TO_HANDOFF = 6  # days between the cycle that saw it adopted and the one that handed it off
AWKWARD = 'R&D <Labs> "Q1"'
AWKWARD_HTML = "R&amp;D &lt;Labs&gt; &quot;Q1&quot;"
SQLITE_ONLY = pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)


@pytest.fixture(params=CRMS)
def sandbox(request: pytest.FixtureRequest) -> Iterator[Driver]:
    """A fresh sandbox of each CRM on fake time, without contacts (a test adds those it needs)."""
    driver = start_driver(request.param, ACCOUNTS, 0)
    yield driver
    driver.server.stop()


@pytest.fixture
def store(store_url: str, sandbox: Driver) -> Iterator[Store]:
    """A migrated store on each backend, on the sandbox's clock."""
    opened = Store.open(store_url, clock=sandbox.time.now)
    try:
        yield opened
    finally:
        opened.close()


def ran(result: CycleResult) -> CycleResult:
    assert result.ok, f"{result.status}: {result.error}"
    return result


def handoff_of(store: Store, crm: str, account_id: str) -> HandoffRow:
    row = store.handoffs_for(crm, [account_id]).get(account_id)
    assert row is not None, f"no handoff decision stored for {account_id}"
    return row


def body_lines(driver: Driver, note: StoredNote) -> list[str]:
    """The note's lines as the CRM shows them, after the title a HubSpot note opens with (checked here)."""
    lines = NoteText.of(note.html).lines
    if driver.crm == "salesforce":  # a ContentNote has a title of its own
        return lines
    assert note.html.startswith("<p><strong>"), note.html[:200]
    assert lines[0].startswith(f"{TITLE}: ")
    return lines[1:]


def stage_ready(driver: Driver, n: int) -> list[str]:
    """``n`` accounts made ready for their CSM in the CRM."""
    accounts = customers(driver, n)
    for account in accounts:
        stage(driver, account, ready_fields(driver.time.now().date()))
    return accounts


def assert_one_note_each(driver: Driver, store: Store, accounts: list[str]) -> None:
    """Each account handed off once, holding exactly one note, the one its handoff's key names; nothing else."""
    held = notes_by_account(driver)
    for account in accounts:
        row = handoff_of(store, driver.crm, account)
        key = note_key(driver.crm, account, 1)
        assert (row.outcome, row.handed_off_on, row.note_key) == ("handed_off", driver.time.now().date(), key)
        assert held.get(account) == Counter({note_tag(driver.crm, key): 1}), f"{account}: {held.get(account)}"
        intent = store.intent(key)
        assert intent is not None
        assert intent.status == "done"
        (only,) = notes_on(driver, account)
        assert intent.result == {"note_id": only.id}
    assert set(held) == set(accounts)
    assert len(note_ids(driver)) == len(accounts)


# -- exactly once: a lost reply --------------------------------------------------------------------------


def test_a_handoff_note_whose_reply_is_lost_is_created_once(sandbox: Driver, store: Store) -> None:
    """The CRM commits each note and drops the reply: the next cycle finds both by key; a third makes none."""
    accounts = stage_ready(sandbox, 2)
    method, path = NOTE_CREATE[sandbox.crm]
    sandbox.inject(Fault("drop_reply", method=method, path=path, times=2))

    first = ran(cycle(sandbox, store))
    assert first.outbox is not None
    assert (first.outbox.claimed, first.outbox.retried, first.outbox.done) == (2, 2, 0)
    for account in accounts:  # committed in the CRM, though no reply came
        assert notes_by_account(sandbox)[account] == Counter(
            {note_tag(sandbox.crm, note_key(sandbox.crm, account, 1)): 1}
        )
        assert handoff_of(store, sandbox.crm, account).outcome == "handed_off"
    assert sandbox.app.count(method, path) == 2

    sandbox.time.advance(backoff(1).total_seconds())
    second = ran(cycle(sandbox, store))
    assert second.outbox is not None
    assert (second.outbox.done, second.outbox.found_existing, second.outbox.performed) == (2, 2, 0)
    assert_one_note_each(sandbox, store, accounts)

    sandbox.time.advance(86_400)
    third = ran(cycle(sandbox, store))
    assert third.outbox is not None
    assert third.outbox.claimed == 0
    assert sandbox.app.count(method, path) == 2
    assert store.backlog(sandbox.crm) == {"pending": 0, "in_flight": 0, "done": 2, "dead": 0}
    assert len(note_ids(sandbox)) == 2


# -- exactly once: a SIGKILLed daemon --------------------------------------------------------------------


def run_killed_cycle(driver: Driver, store_url: str, mode: str) -> None:
    """A real daemon cycle in a child process, SIGKILLed in the drain (the sandbox keeps serving from here)."""
    job = KilledCycle(store_url, SandboxAddress.of(driver).to_json(), driver.time.now().isoformat(), mode)
    done = subprocess.run(  # noqa: S603 - fixed arguments, our own interpreter
        [sys.executable, "-m", "tests.integration.handoff_support", job.to_json()],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == -signal.SIGKILL, done.stderr[-3000:]


@pytest.mark.parametrize(
    "mode", [pytest.param("before_call", id="killed-before-the-crm-call"),
             pytest.param("after_effect", id="killed-after-the-crm-acted")],
)  # fmt: skip
def test_a_handoff_note_of_a_killed_daemon_is_created_once(
    sandbox: Driver, store: Store, store_url: str, mode: str
) -> None:
    """Killed with the intent stored and claimed, before or after the CRM call: the next cycle leaves one note."""
    (account,) = stage_ready(sandbox, 1)
    key = note_key(sandbox.crm, account, 1)
    acted = mode == "after_effect"
    method, path = NOTE_CREATE[sandbox.crm]

    run_killed_cycle(sandbox, store_url, mode)
    row = handoff_of(store, sandbox.crm, account)
    assert (row.outcome, row.note_key) == ("handed_off", key)  # stored with its intent, before the drain
    held = store.intent(key)
    assert held is not None
    assert (held.status, held.attempts) == ("in_flight", 1)
    assert notes_by_account(sandbox).get(account, Counter())[note_tag(sandbox.crm, key)] == int(acted)
    assert sandbox.app.count(method, path) == int(acted)

    sandbox.time.advance(LEASE.total_seconds() + 1)  # the dead daemon's lease runs out
    after = ran(cycle(sandbox, store))
    assert after.outbox is not None
    assert (after.outbox.done, after.outbox.found_existing, after.outbox.performed) == (1, int(acted), int(not acted))
    assert sandbox.app.count(method, path) == 1  # found by its key, not made again
    assert_one_note_each(sandbox, store, [account])
    done = store.intent(key)
    assert done is not None
    assert done.attempts == 2

    sandbox.time.advance(86_400)
    again = ran(cycle(sandbox, store))
    assert again.outbox is not None
    assert again.outbox.claimed == 0
    assert len(note_ids(sandbox)) == 1


# -- what the note says ----------------------------------------------------------------------------------


def staged_for_note(sandbox: Driver, store: Store) -> tuple[Staged, list[str]]:
    """An account adopted on day one, handed off when its first value is ticked later; its committee of three."""
    (account,) = customers(sandbox, 1)
    day1 = sandbox.time.now().date()
    values = ready_fields(day1, sale_days_ago=SOLD_DAYS_AGO) | {
        "name": AWKWARD,
        "goals": f"Ship {AWKWARD} & cut backlog",
    }
    values["onboarding_steps"] = ["kickoff", "data_imported", "admins_trained"]  # first value not reached yet
    staged = stage(sandbox, account, values)
    add_contact(sandbox, account, "Grace", "Hopper", "CEO")
    add_contact(sandbox, account, "Alan", "Turing", "Security Consultant")
    add_contact(sandbox, account, "Zoë", "O'Brien", "Ninja")
    ran(cycle(sandbox, store))
    assert handoff_of(store, sandbox.crm, account).outcome == "onboarding"
    assert notes_on(sandbox, account) == []

    sandbox.time.advance(ADOPTED_TO_HANDOFF * 86_400)
    stage(sandbox, account, {"onboarding_steps": ["kickoff", "data_imported", "admins_trained", "first_value"]})
    ran(cycle(sandbox, store))
    day2 = sandbox.time.now().date()
    return staged, [day1.isoformat(), day2.isoformat()]


@SQLITE_ONLY
def test_the_note_in_the_crm_says_every_section_with_the_account_s_values(sandbox: Driver, store: Store) -> None:
    """Title, CSM, goals, done and open work, adoption and KPIs, risks, support, days and committee, all right."""
    staged, (day1, day2) = staged_for_note(sandbox, store)
    account = staged.account_id
    row = handoff_of(store, sandbox.crm, account)
    assert row.note_text is not None
    (note,) = notes_on(sandbox, account)
    if sandbox.crm == "salesforce":  # a ContentNote's title ends in the key's reference
        assert note.title == f"{TITLE}: {AWKWARD} · ref {note_ref(note_key(sandbox.crm, account, 1))}"
    else:  # a HubSpot note has no title: its body opens with it in bold
        assert note.html.startswith(f"<p><strong>{TITLE}: {AWKWARD_HTML}</strong></p>")
    body = body_lines(sandbox, note)
    assert body == text_lines(row.note_text)  # the CRM shows exactly the note that was stored

    section = sections(body)
    assert list(section)[1:] == list(SECTIONS)
    assert section[""] == [f"{TITLE}: {AWKWARD}", f"Account {account}, handed off on {day2}."]
    assert section["Your CSM"] == ["- Ada Lovelace · ada.lovelace@vendor.example · +1 555 0100"]
    assert section["Goals agreed"] == [f"Ship {AWKWARD} & cut backlog"]
    assert section["What was done"] == [
        f"- {day1}: Welcome call and goals (vendor, Onboarding specialist)",
        f"- {day1}: Invite the team (customer, Customer admin)",
        f"- {day1}: Import existing data (customer, Customer admin)",
        f"- {day1}: Connect the integration (customer, Customer admin)",
        f"- {day1}: Admin training webinar (vendor, Onboarding specialist)",
        f"- {day2}: First workflow live (customer, Customer admin)",
    ]
    still_open = section["Still open"]
    assert [line.partition(", due ")[0] for line in still_open] == [
        "- Provision the workspace: owned by Support ops (vendor)",
        "- Set up billing and send the first invoice: owned by Billing ops (vendor)",
    ]
    assert section["Adoption"] == [
        f"- Status: full utilization since {day1} (adopted)",
        "- active_users: 12",
        "- licensed_seats: 20",
        "- mrr: 4500",
        "- integration_connected: yes",
        "- last_login_at: 2026-01-30 16:45 UTC",
        "- daily_active_pct: 80",
    ]
    assert list(sandbox.mapping.accounts.kpis) == [line[2:].partition(":")[0] for line in section["Adoption"][1:]]
    risks = section["Risks"]
    assert any(line.startswith("- Overdue: Provision the workspace (owned by Support ops, due ") for line in risks)
    assert "- Nobody we can ask (a contact with an email, not opted out) as: champion, end user." in risks
    support = section["Support or your CSM?"]
    assert len(support) == 2
    assert support[0].startswith("Support's job starts when the product stops working")
    assert support[1].startswith("Go to your CSM for everything else")
    sale, days = staged.fields["close_date"], SOLD_DAYS_AGO + ADOPTED_TO_HANDOFF
    assert section["Days to onboard"] == [
        f"- {days} days from sale ({sale}) to handoff ({day2}): within the target of 90 days."
    ]
    assert section["Buying committee"] == [
        "- Decision maker: Grace Hopper (CEO)",
        "- Champion: nobody identified",
        "- End user: nobody identified",
        "- Business influencer: Alan Turing (Security Consultant)",
        "- Role not known: Zoë O'Brien (Ninja)",
    ]
    assert str(sandbox.value("accounts", account, "days_to_onboard")).removesuffix(".0") == str(days)


@SQLITE_ONLY
def test_the_note_escapes_what_people_typed_and_injects_no_markup(sandbox: Driver, store: Store) -> None:
    """An account name and goals holding &, <, > and quotes are escaped in the stored HTML, intact once read."""
    staged, _ = staged_for_note(sandbox, store)
    (note,) = notes_on(sandbox, staged.account_id)
    assert AWKWARD_HTML in note.html
    assert f"Ship {AWKWARD_HTML} &amp; cut backlog" in note.html
    assert "<Labs>" not in note.html
    assert "R&D" not in note.html
    assert "O&#x27;Brien" in note.html
    text = NoteText.of(note.html)
    assert text.tags <= NOTE_TAGS, f"markup injected: {sorted(text.tags - NOTE_TAGS)}"
    assert f"Ship {AWKWARD} & cut backlog" in text.lines
    assert any(AWKWARD in line for line in text.lines[:2])


# -- the account's long-text field -----------------------------------------------------------------------


@SQLITE_ONLY
def test_the_note_field_holds_the_note_s_text(sandbox: Driver, store: Store) -> None:
    """The mapped long-text field holds the note's text as sent, the same words the CRM's note shows."""
    (account,) = stage_ready(sandbox, 1)
    ran(cycle(sandbox, store))
    row = handoff_of(store, sandbox.crm, account)
    assert row.note_text is not None
    field = sandbox.value("accounts", account, "handoff_note_text")
    assert field == row.note_text
    intent = store.intent(note_key(sandbox.crm, account, 1))
    assert intent is not None
    assert intent.payload["body"] == field
    (note,) = notes_on(sandbox, account)
    assert body_lines(sandbox, note) == text_lines(field)


def short_field_mapping(crm: str, folder: Path, length: int) -> Path:
    """A copy of the shipped mapping whose note field holds only ``length`` characters."""
    source = shipped(f"mappings/{crm}.yaml").read_text(encoding="utf-8")
    shipped_length = {"salesforce": 32768, "hubspot": 65536}[crm]
    assert source.count(f"max_length: {shipped_length}") == 1
    path = folder / f"{crm}.yaml"
    path.write_text(source.replace(f"max_length: {shipped_length}", f"max_length: {length}"), encoding="utf-8")
    return path


@SQLITE_ONLY
def test_a_note_longer_than_the_field_is_trimmed_at_a_line_with_the_marker(
    sandbox: Driver, store: Store, tmp_path: Path
) -> None:
    """With a 400-character field: the field is the note's leading lines and the marker; the note stays whole."""
    (account,) = stage_ready(sandbox, 1)
    mapping = short_field_mapping(sandbox.crm, tmp_path, 400)
    ran(cycle(sandbox, store, settings_env(sandbox, mapping_file=mapping)))
    row = handoff_of(store, sandbox.crm, account)
    assert row.note_text is not None
    assert len(row.note_text) > 400
    field = sandbox.value("accounts", account, "handoff_note_text")
    assert isinstance(field, str)
    assert len(field) <= 400
    assert field.endswith(TRIM_MARKER)
    kept = field.removesuffix(TRIM_MARKER)
    assert row.note_text.startswith(kept)
    assert kept.endswith("\n")  # cut at a line, never inside one
    assert len(kept) > 400 - len(TRIM_MARKER) - 120  # and not far short of the room there was
    (note,) = notes_on(sandbox, account)
    assert body_lines(sandbox, note) == text_lines(row.note_text)  # the note itself is whole


# -- a template error ------------------------------------------------------------------------------------


def broken_config(folder: Path) -> tuple[Path, int]:
    """A copy of the shipped config whose note template reads an unknown variable; the line it is on."""
    config = folder / "config"
    shutil.copytree(shipped("config"), config)
    template = config / "handoff_note.txt.j2"
    lines = template.read_text(encoding="utf-8").splitlines(keepends=True)
    line = next(i for i, text in enumerate(lines, start=1) if text.strip() == "{{ goals }}")
    lines[line - 1] = lines[line - 1].replace("{{ goals }}", "{{ goal }}")
    template.write_text("".join(lines), encoding="utf-8")
    return config, line


def test_a_note_template_error_stops_sync_with_exit_2_at_its_line(sandbox: Driver, tmp_path: Path) -> None:
    """`sync` with an unknown variable in the note template exits 2 naming file:line, before any CRM call."""
    config, line = broken_config(tmp_path)
    database = tmp_path / "state.db"
    handle = SandboxHandle(cast("CrmChoice", sandbox.crm), sandbox.app, sandbox.server)
    env = handle.env() | {
        "SYNC_CONFIG_DIR": str(config),
        "SYNC_DATABASE_URL": f"sqlite:///{database}",
        "SYNC_LOG_FORMAT": "json",
        "SYNC_SECRETS_DIR": str(tmp_path / "no-secrets"),
    }
    sandbox.app.reset_calls()
    result = CliRunner().invoke(main, ["sync", "--force"], env=env, catch_exceptions=False)
    assert result.exit_code == 2, result.output
    where = f"{config / 'handoff_note.txt.j2'}:{line}:"
    reported = [row for row in result.output.splitlines() if where in row]
    assert reported, result.output
    assert any("unknown variable 'goal'; did you mean 'goals'?" in row for row in reported), reported
    assert sandbox.app.calls == []
    assert not database.exists()
