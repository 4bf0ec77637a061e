"""`assessments due` and `assessments history` against a store filled by real cycles on both sandbox CRMs.

The store is filled the way the daemon fills it: real cycles (real connector, handoff and assessment providers,
outbox drain) on the sandbox's fake clock, with the shipped configuration. An account is handed off by a person
setting the CRM override to ``force``; its contacts are added in the CRM: one per persona (placed by title), a
gardener whom no rule places (``unknown``), more than the account cap of five, one opted out of email and one
without an email address. The CLI runs with CliRunner on the same SQLite store, its clock
(``sync_daemon.cli.now_utc``) being the sandbox's fake time.

The preview's promise is checked literally: what ``due --output json`` lists at a moment is compared with the
send rows the next cycle at that moment creates, and every table of the store is unchanged by the preview.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest
from dateutil.relativedelta import relativedelta
from sqlalchemy import select

from sync_daemon import cli
from sync_daemon.store.models import ASSESSMENT_SENDS, Base
from tests.conformance.drivers import Driver, start_driver
from tests.integration.cli_support import invoke
from tests.integration.test_assessment_channels import (
    HOUR,
    TITLES,
    add_contact,
    assessment_cycle,
    daemon_settings,
    force_override,
    shipped_policy,
    stage_account,
    with_channel,
    write_answer,
    write_policy,
)

if TYPE_CHECKING:
    from collections.abc import Iterator
    from datetime import date
    from pathlib import Path

    from sync_daemon.config.assessment_models import AssessmentPolicy
    from sync_daemon.settings import AppSettings
    from sync_daemon.store import Store

DAY = 86_400
# With the four persona contacts and the seeded one, nine assessable contacts: over the account cap of five a day.
EXTRA = {"vp": "VP Sales", "manager": "Account Manager", "engineer": "Engineer", "analyst": "Analyst"}
Key = tuple[str, str, int]


@pytest.fixture(params=["salesforce", "hubspot"])
def driver(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[Driver]:
    d = start_driver(request.param, accounts=20, contacts=20)
    monkeypatch.setattr(cli, "now_utc", d.time.now)
    yield d
    d.server.stop()


@pytest.fixture
def settings(driver: Driver, tmp_path: Path) -> AppSettings:
    return daemon_settings(driver, tmp_path)


@pytest.fixture
def policy(driver: Driver) -> AssessmentPolicy:
    return shipped_policy(driver)


class Account:
    """The staged account: its id and its contacts by label (personas, extras, opted out, no email)."""

    def __init__(self, driver: Driver) -> None:
        staged = stage_account(driver, {**TITLES, **EXTRA})
        self.id = staged.account_id
        self.contacts = dict(staged.contacts)
        self.contacts["opted_out"] = add_contact(driver, self.id, "Otto Optout", "Engineer", "otto@customer.example",
                                                 opted_out=True)  # fmt: skip
        self.contacts["no_email"] = add_contact(driver, self.id, "Nia Nomail", "Engineer", None)


def due(driver: Driver, tmp_path: Path, day: date | None = None) -> dict[str, Any]:
    """`assessments due --output json` (at ``day``, the clock's time of day), parsed."""
    args = ["assessments", "due", "--output", "json"] + (["--date", day.isoformat()] if day is not None else [])
    code, out, printed = invoke(driver, tmp_path, *args)
    assert code == 0, printed
    data: dict[str, Any] = json.loads(out)
    return data


def snapshot(store: Store) -> dict[str, list[str]]:
    """Every row of every table of the store."""
    with store.engine.connect() as conn:
        return {t.name: sorted(repr(tuple(r)) for r in conn.execute(select(t))) for t in Base.metadata.sorted_tables}


def sent_keys(store: Store, crm: str) -> set[Key]:
    """Every (contact, kind, cycle) the store records as sent."""
    with store.engine.connect() as conn:
        rows = conn.execute(select(ASSESSMENT_SENDS.c.contact_id, ASSESSMENT_SENDS.c.kind, ASSESSMENT_SENDS.c.cycle)
                            .where(ASSESSMENT_SENDS.c.crm == crm))  # fmt: skip
        return {(str(c), str(k), int(n)) for c, k, n in rows}


def preview_keys(data: dict[str, Any]) -> set[Key]:
    """The (contact, kind, cycle) of every send a preview lists (each listed once)."""
    keys = [(s["contact_id"], s["kind"], s["cycle"]) for s in data["sends"]]
    assert len(keys) == len(set(keys))
    return set(keys)


def reasons(data: dict[str, Any], status: str) -> dict[str, set[str]]:
    """The contacts a preview left out with ``status``, by reason group."""
    return {group["reason"]: {c["contact_id"] for c in group["contacts"]} for group in data["left"][status]["reasons"]}


def preview_then_run(
    driver: Driver, store: Store, settings: AppSettings, policy: AssessmentPolicy, tmp_path: Path, *, day: date
) -> dict[str, Any]:
    """Preview ``day`` (writing nothing), move the clock there, run a cycle; its new sends are the preview's."""
    before = snapshot(store)
    data = due(driver, tmp_path, day)
    assert snapshot(store) == before, "the preview wrote to the store"
    assert data["counts"] == {"sends": len(data["sends"]), "skipped": data["left"]["skipped"]["count"],
                              "waiting": data["left"]["waiting"]["count"]}  # fmt: skip
    already = sent_keys(store, driver.crm)
    driver.time.advance((day - driver.time.now().date()).days * DAY + 600)
    assessment_cycle(driver, store, settings, policy)
    assert sent_keys(store, driver.crm) - already == preview_keys(data)
    return data


def test_due_lists_exactly_what_the_next_run_sends(
    driver: Driver, store: Store, settings: AppSettings, policy: AssessmentPolicy, tmp_path: Path
) -> None:
    """At the handoff, the next day and six months on, the preview's sends are the next cycle's new sends.

    The account was handed off before the assessment policy was deployed (the first run with it sends the
    onboarding assessment): five are sent (the account cap), four wait for the next day, the opted-out contact
    and the one without an email are skipped, and the unknown persona is asked who they are. The next day the
    four are sent; six months after the handoff the relationship assessment goes to five again.
    """
    assessment_cycle(driver, store, settings, None)
    account = Account(driver)
    force_override(driver, account.id)
    assessment_cycle(driver, store, settings, None)  # handed off; no policy yet, so nothing is sent
    handoff = driver.time.now().date()
    assert store.handed_off_accounts(driver.crm)[account.id] == handoff
    assert sent_keys(store, driver.crm) == set()

    first = preview_then_run(driver, store, settings, policy, tmp_path, day=handoff)
    assert len(first["sends"]) == 5
    mine = {s["contact_id"]: s for s in first["sends"]}
    assert all(s["account_id"] == account.id and s["kind"] == "onboarding" and s["cycle"] == 0 for s in mine.values())
    assert all(s["due_on"] == handoff.isoformat() and s["channel"] == "crm_fields" for s in mine.values())
    assert reasons(first, "skipped") == {"opted out of email": {account.contacts["opted_out"]},
                                         "no email address": {account.contacts["no_email"]}}  # fmt: skip
    waiting = reasons(first, "waiting")
    assert list(waiting) == ["account cap"]
    assert len(waiting["account cap"]) == 4
    everyone = {str(c["id"]) for c in store.contacts_of(driver.crm, [account.id])[account.id]}
    assessable = everyone - {account.contacts["opted_out"], account.contacts["no_email"]}
    assert len(assessable) == 9
    assert set(mine) | waiting["account cap"] == assessable
    assert not set(mine) & waiting["account cap"]
    unknown = account.contacts["unknown"]
    assert (mine[unknown]["persona"], mine[unknown]["ask_persona"]) == ("unknown", True)
    assert all(s["ask_persona"] is (s["persona"] == "unknown") for s in mine.values())
    assert mine[unknown]["contact_name"] == "Unknown Tester0"
    record = store.get_record("accounts", driver.crm, account.id)
    assert record is not None
    assert {s["account_name"] for s in first["sends"]} == {record["fields"]["name"]}

    second = preview_then_run(driver, store, settings, policy, tmp_path, day=handoff + timedelta(days=1))
    assert preview_keys(second) == {(c, "onboarding", 0) for c in waiting["account cap"]}
    assert reasons(second, "waiting") == {}
    assert set(reasons(second, "skipped")) == {"opted out of email", "no email address"}

    later = handoff + relativedelta(months=6)
    third = preview_then_run(driver, store, settings, policy, tmp_path, day=later)
    assert len(third["sends"]) == 5
    assert {(s["kind"], s["cycle"], s["due_on"]) for s in third["sends"]} == {("relationship", 1, later.isoformat())}
    assert len(reasons(third, "waiting")["account cap"]) == 4


def test_due_table_groups_the_left_out_by_status_and_reason(
    driver: Driver, store: Store, settings: AppSettings, tmp_path: Path
) -> None:
    """The table form: a heading with the counts, one row per send, the left-out grouped with their counts."""
    assessment_cycle(driver, store, settings, None)
    account = Account(driver)
    force_override(driver, account.id)
    assessment_cycle(driver, store, settings, None)
    code, out, printed = invoke(driver, tmp_path, "assessments", "due")
    assert code == 0, printed
    now = driver.time.now()
    lines = [line.strip(" │├└─") for line in out.splitlines()]
    heading = f"Assessments due as of {now:%Y-%m-%d %H:%M} UTC ({driver.crm}, caps counted on {now.date()}"
    assert lines[:2] == [
        f"{heading}, policy revision 1)",
        "1 account handed off; 5 to send, 2 skipped, 4 waiting. Nothing was stored or sent.",
    ]
    for heading in ("skipped: 2", "opted out of email: 1", "no email address: 1", "waiting: 4", "account cap: 4"):
        assert heading in lines, heading
    assert any(line.startswith(f"{account.contacts['no_email']} Nia Nomail · account {account.id}") for line in lines)
    assert sum(1 for line in out.splitlines() if "│ onboarding │ 0 " in line) == 5


def test_history_shows_sends_outbox_reasons_and_responses(
    driver: Driver, store: Store, settings: AppSettings, policy: AssessmentPolicy, tmp_path: Path
) -> None:
    """A contact's sends with their outbox status, why due ones wait or are skipped, and the answers pulled."""
    assessment_cycle(driver, store, settings, policy)
    account = Account(driver)
    force_override(driver, account.id)
    assessment_cycle(driver, store, settings, policy)
    handoff = driver.time.now()
    sent = {s.contact_id for s in store.sends_of(driver.crm, list(account.contacts.values()))}
    left_out = {account.contacts["opted_out"], account.contacts["no_email"]}
    capped = sorted(c for c in account.contacts.values() if c not in sent and c not in left_out)
    answered_by = account.contacts["decision_maker"]
    assert answered_by in sent
    assert len(capped) == 4

    data = history(driver, tmp_path, account.contacts["opted_out"])
    assert (data["contact"]["contact_name"], data["contact"]["account_id"]) == ("Otto Optout", account.id)
    assert data["sends"] == []
    assert [(r["kind"], r["cycle"], r["status"], r["reason"]) for r in data["left"]] == [
        ("onboarding", 0, "skipped", "opted out of email")]  # fmt: skip
    data = history(driver, tmp_path, capped[0])
    assert [(r["status"], r["reason"].split(":")[0]) for r in data["left"]] == [("waiting", "account cap")]

    write_answer(driver, answered_by, 9, "better", handoff + timedelta(hours=1))
    driver.time.advance(2 * HOUR)
    assessment_cycle(driver, store, settings, policy)
    data = history(driver, tmp_path, answered_by)
    assert data["contact"]["account_id"] == account.id
    [send] = data["sends"]
    key = f"assessment:{driver.crm}:{answered_by}:onboarding:0"
    assert (send["kind"], send["cycle"], send["key"], send["channel"]) == ("onboarding", 0, key, "crm_fields")
    assert (send["due_on"], send["requested_at"]) == (handoff.date().isoformat(), handoff.isoformat())
    assert send["outbox"] == {"status": "done", "attempts": 1, "last_error": None}
    assert [(r["kind"], r["cycle"], r["score"], r["change"], r["answered_at"]) for r in data["responses"]] == [
        ("onboarding", 0, 9, "better", (handoff + timedelta(hours=1)).isoformat())]  # fmt: skip
    assert data["left"] == []

    code, out, printed = invoke(driver, tmp_path, "assessments", "history", answered_by)
    assert code == 0, printed
    lines = [line.strip(" │├└─") for line in out.splitlines()]
    assert "sends: 1" in lines
    assert any(line.startswith("onboarding cycle 0 · persona ") and line.endswith("· outbox: done") for line in lines)
    assert "responses: 1" in lines
    assert any("answers onboarding cycle 0" in line and "score 9 · change better" in line for line in lines)

    driver.time.advance(DAY)
    assessment_cycle(driver, store, settings, policy)
    data = history(driver, tmp_path, capped[0])
    assert [(s["kind"], s["cycle"], s["outbox"]["status"]) for s in data["sends"]] == [("onboarding", 0, "done")]
    assert data["left"] == [], "a send clears the reason it waited"


def history(driver: Driver, tmp_path: Path, contact: str) -> dict[str, Any]:
    """`assessments history CONTACT --output json`, parsed."""
    code, out, printed = invoke(driver, tmp_path, "assessments", "history", contact, "--output", "json")
    assert code == 0, printed
    data: dict[str, Any] = json.loads(out)
    return data


def test_bad_input_exits_2(
    driver: Driver, store: Store, settings: AppSettings, policy: AssessmentPolicy, tmp_path: Path
) -> None:
    """No policy file, a broken one, a missing webhook secret, a bad date or an unknown contact: exit 2, why."""
    assessment_cycle(driver, store, settings, policy)
    empty = tmp_path / "empty-config"
    empty.mkdir()
    code, _, printed = invoke(driver, tmp_path, "assessments", "due", config=empty)
    assert code == 2, printed
    assert f"no assessment policy configured: {empty}/assessments.yaml is missing" in printed

    broken = tmp_path / "broken"
    path = write_policy(broken, policy)
    path.write_text(path.read_text(encoding="utf-8").replace("min_gap_days:", "min_gap_dayz:"), encoding="utf-8")
    code, _, printed = invoke(driver, tmp_path, "assessments", "due", config=broken)
    assert code == 2, printed
    assert str(path) in printed
    assert "min_gap_dayz" in printed

    hooked = tmp_path / "hooked"
    hook = {"type": "webhook", "url": "https://surveys.example/hooks", "secret_env": "SYNC_TEST_NEVER_SET_SECRET"}
    write_policy(hooked, with_channel(policy, hook))
    code, _, printed = invoke(driver, tmp_path, "assessments", "due", config=hooked)
    assert code == 2, printed
    assert "the webhook channel's secret SYNC_TEST_NEVER_SET_SECRET is not set" in printed

    code, _, printed = invoke(driver, tmp_path, "assessments", "due", "--date", "2026-02-31")
    assert code == 2, printed
    assert "--date" in printed

    code, _, printed = invoke(driver, tmp_path, "assessments", "history", "no-such-contact")
    assert code == 2, printed
    assert f"contact 'no-such-contact' is not in the store for {driver.crm}" in printed
