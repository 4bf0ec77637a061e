"""`handoff show`, `handoff list`, `handoff preview` and `handoff restart` against a store filled by real cycles.

Each test runs the real connector, the plan and handoff providers and the outbox drain against a sandbox CRM on
fake time (the shipped policy, note template and plan templates), then drives the CLI with CliRunner on the same
SQLite store; the CLI's clock (``sync_daemon.cli.now_utc``) is the sandbox's fake time, so "today" is the cycle's day.
A handoff is made the way a person makes one: the CRM override set to ``force``, then a cycle.
"""

from __future__ import annotations

import json
import shutil
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import select

from sync_daemon import cli
from sync_daemon.commands.sync import push_setup
from sync_daemon.domain.values import normalize
from sync_daemon.engine import CycleOptions, run_cycle
from sync_daemon.render_handoffs import gate_lines
from sync_daemon.resources import shipped
from sync_daemon.settings import load_settings
from sync_daemon.store.models import ADOPTION_REACHED, HANDOFFS, OUTBOX, PLAN_TASKS, PLANS
from sync_daemon.wiring import load_handoff_setup, load_plan_set
from tests.conformance.drivers import Driver, start_driver
from tests.integration.cli_support import invoke

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from sync_daemon.settings import AppSettings
    from sync_daemon.store import Store
    from sync_daemon.store.handoffs import HandoffRow

HEADINGS = ("Your CSM", "Goals agreed", "What was done", "Still open", "Adoption", "Risks", "Support or your CSM?",
            "Days to onboard", "Buying committee")  # fmt: skip


@pytest.fixture(params=["salesforce", "hubspot"])
def driver(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[Driver]:
    d = start_driver(request.param, accounts=60, contacts=60)
    monkeypatch.setattr(cli, "now_utc", d.time.now)
    yield d
    d.server.stop()


@pytest.fixture
def settings(driver: Driver, tmp_path: Path) -> AppSettings:
    """The settings the CLI sees (shipped config), for the cycles the tests run themselves."""
    return load_settings({"SYNC_CRM": driver.crm, "SYNC_SECRETS_DIR": str(tmp_path / "no-secrets")},
                         default_secrets_dir=None)  # fmt: skip


def cycle(driver: Driver, store: Store, settings: AppSettings) -> None:
    """One real cycle with plans and the handoff phase, as `sync-daemon sync --force` runs it."""
    plans = load_plan_set(settings, driver.mapping)
    setup = load_handoff_setup(settings, driver.mapping, plans)
    assert setup is not None
    now = driver.time.now()
    push = push_setup(settings, driver.mapping, force=True, plans=plans, store=store, crm=driver.crm, handoff=setup,
                      now=now)  # fmt: skip
    connector = driver.connector()
    try:
        result = run_cycle(connector, store, options=CycleOptions(overlap=timedelta(minutes=5)),
                           clock=driver.time.now, push_setup=push)  # fmt: skip
    finally:
        connector.close()
    assert result.ok, result.error


def today(driver: Driver) -> date:
    return driver.time.now().date()


def fields(store: Store, crm: str, account_id: str) -> dict[str, Any]:
    record = store.get_record("accounts", crm, account_id)
    assert record is not None
    return dict(record["fields"])


def sale(store: Store, crm: str, account_id: str) -> date:
    value = normalize(fields(store, crm, account_id)["close_date"], "date")
    assert isinstance(value, date)
    return value


def decided(store: Store, crm: str, outcome: str) -> list[HandoffRow]:
    rows = store.list_handoffs(crm, outcome, limit=1000)
    assert rows, f"the seed has {outcome} accounts"
    return rows


def done_titles(store: Store, settings: AppSettings, driver: Driver, account_id: str) -> list[str]:
    """Titles of the tasks the store holds done for the account's plan."""
    plan = store.plans_for(driver.crm, [account_id])[account_id]
    plans = load_plan_set(settings, driver.mapping)
    assert plans is not None
    titles = {t.id: t.title for p in plans.templates[plan.template_id].phases for t in p.tasks}
    done = store.completions_for(driver.crm, [account_id]).get(account_id, {})
    return [titles[tid] for tid, c in done.items() if c.done and tid in titles]


def briefed_account(store: Store, settings: AppSettings, driver: Driver) -> str:
    """An onboarding account, not overridden, with a CSM, goals, a done task and contacts: a full note."""
    contacts = store.contacts_of(driver.crm, [r.account_id for r in decided(store, driver.crm, "onboarding")])
    for row in decided(store, driver.crm, "onboarding"):
        f = fields(store, driver.crm, row.account_id)
        if (f.get("csm_name") and f.get("goals") and not f.get("handoff_override") and contacts.get(row.account_id)
                and done_titles(store, settings, driver, row.account_id)):  # fmt: skip
            return row.account_id
    pytest.fail("the seed has no onboarding account with a CSM, goals, a done task and contacts")


def force_handoff(driver: Driver, store: Store, settings: AppSettings, account_id: str) -> HandoffRow:
    """A person sets the override to force in the CRM; an hour later (same day) a cycle hands the account off."""
    sobject = "Account" if driver.crm == "salesforce" else "companies"
    driver.app.update(sobject, account_id, **{driver.mapping.accounts.pull["handoff_override"]: "force"})
    driver.time.advance(3600)
    cycle(driver, store, settings)
    row = store.handoffs_for(driver.crm, [account_id])[account_id]
    assert row.handed_off_on == today(driver)
    return row


def snapshot(store: Store) -> dict[str, list[str]]:
    """Every row of the tables a handoff writes (outbox, decisions, adoption dates, plans, tasks)."""
    with store.engine.connect() as conn:
        return {t.name: sorted(repr(tuple(r)) for r in conn.execute(select(t)))
                for t in (OUTBOX, HANDOFFS, ADOPTION_REACHED, PLANS, PLAN_TASKS)}  # fmt: skip


def test_show_an_at_risk_account(driver: Driver, store: Store, settings: AppSettings, tmp_path: Path) -> None:
    """`handoff show` of an at-risk account: each gate with its values, the reason, the sale date, adoption dates."""
    cycle(driver, store, settings)
    row = decided(store, driver.crm, "at_risk")[0]
    code, out, _ = invoke(driver, tmp_path, "handoff", "show", row.account_id)
    assert code == 0, out
    lines = [line.strip(" │├└─") for line in out.splitlines()]
    assert f"decision: at_risk · CRM status At risk · cycle 1 · decided {today(driver).isoformat()} 15:00 UTC" in out
    assert "policy revision 1 · override none" in out
    gates, verdict = gate_lines(row.evidence)
    assert [g.name for g in gates] == ["plan", "adoption", "revenue", "csm"]
    assert not all(g.passed for g in gates)
    for gate in gates:
        assert f"{'✓' if gate.passed else '✗'} {gate.name}: {gate.evidence}" in lines
    f = fields(store, driver.crm, row.account_id)
    csm = next(g for g in gates if g.name == "csm")
    assert csm.passed == bool(f.get("csm_name") or f.get("csm_email"))
    assert str(f.get("csm_name") or f.get("csm_email") or "not set") in csm.evidence
    assert verdict.startswith("at_risk: day ")
    assert row.at_risk_reason is not None
    assert f"at-risk reason: {row.at_risk_reason}" in lines
    days = (today(driver) - sale(store, driver.crm, row.account_id)).days
    assert f"day {days} of a 90-day window without adoption" in row.at_risk_reason
    assert f"not handed off · sale {sale(store, driver.crm, row.account_id).isoformat()}" in lines
    assert "note handoff-note" not in out
    reached = store.adoption_reached_for(driver.crm, [row.account_id])[row.account_id]
    assert reached
    for status, on in reached.items():
        assert f"✓ {status} · first reached {on.isoformat()}" in lines
    assert "earlier cycles" not in out


def test_show_a_handed_off_account(driver: Driver, store: Store, settings: AppSettings, tmp_path: Path) -> None:
    """A forced handoff shows as handed off with the override, the days from sale and its note done in the outbox."""
    cycle(driver, store, settings)
    account = briefed_account(store, settings, driver)
    row = force_handoff(driver, store, settings, account)
    code, out, _ = invoke(driver, tmp_path, "handoff", "show", account)
    assert code == 0, out
    lines = [line.strip(" │├└─") for line in out.splitlines()]
    assert "decision: handed_off · CRM status Handed off · cycle 1" in out
    assert "override force" in out
    sold = sale(store, driver.crm, account)
    days = (today(driver) - sold).days
    assert f"handed off on {today(driver).isoformat()}, {days} days from the sale ({sold.isoformat()})" in lines
    key = f"handoff-note:{driver.crm}:{account}:1"
    assert f"note {key} · outbox: done" in lines
    gates, verdict = gate_lines(row.evidence)
    for gate in gates:
        assert f"{'✓' if gate.passed else '✗'} {gate.name}: {gate.evidence}" in lines
    assert "forced by the CRM override (handoff_override = force)" in verdict
    assert f"verdict: {verdict}" in lines

    code, out, _ = invoke(driver, tmp_path, "handoff", "show", account, "--output", "json")
    assert code == 0, out
    data = json.loads(out)
    assert data["account"]["id"] == account
    assert data["outcome"] == "handed_off"
    assert data["status_label"] == "Handed off"
    assert data["override"] == "force"
    assert data["handed_off_on"] == today(driver).isoformat()
    assert data["days_from_sale"] == days
    assert data["note"] == {"key": key, "status": "done", "attempts": 1, "last_error": None}
    assert [g["name"] for g in data["gates"]] == ["plan", "adoption", "revenue", "csm"]
    assert data["gates"][3] == {"name": "csm", "passed": True,
                                "evidence": f"csm_name '{fields(store, driver.crm, account)['csm_name']}'"}  # fmt: skip
    assert data["history"] == []


def test_show_an_onboarding_account(driver: Driver, store: Store, settings: AppSettings, tmp_path: Path) -> None:
    """An onboarding account shows what it waits on, no note, and its adoption status now."""
    cycle(driver, store, settings)
    row = decided(store, driver.crm, "onboarding")[0]
    code, out, _ = invoke(driver, tmp_path, "handoff", "show", row.account_id)
    assert code == 0, out
    lines = [line.strip(" │├└─") for line in out.splitlines()]
    assert "decision: onboarding · CRM status Not ready" in out
    gates, verdict = gate_lines(row.evidence)
    failing = [g.name for g in gates if not g.passed]
    assert failing
    assert verdict == f"onboarding: waiting on {', '.join(failing)} (policy revision 1)"
    assert f"verdict: {verdict}" in lines
    assert "at-risk reason" not in out
    assert "note handoff-note" not in out
    assert any(line.startswith("not handed off · sale ") for line in lines)
    label = next(line for line in lines if line.startswith("adoption now: "))
    status = store.adoption_reached_for(driver.crm, [row.account_id])[row.account_id]
    highest = max(status, key=["inactive", "implementing", "partial_utilization", "full_utilization"].index)
    assert f"({highest})" in label


def test_list_filters_by_status(driver: Driver, store: Store, settings: AppSettings, tmp_path: Path) -> None:
    """`handoff list --status` shows only decisions of that outcome, by account id, with names and short evidence."""
    cycle(driver, store, settings)
    for status in ("onboarding", "at_risk", "handed_off", "ready"):
        code, out, _ = invoke(driver, tmp_path, "handoff", "list", "--status", status, "--limit", "500", "--output",
                              "json")  # fmt: skip
        assert code == 0, out
        rows = json.loads(out)
        stored = store.list_handoffs(driver.crm, status, limit=500)
        assert [r["account_id"] for r in rows] == [r.account_id for r in stored]
        assert all(r["outcome"] == status for r in rows)
        assert [r["short"] for r in rows] == [r.short for r in stored]
    code, out, _ = invoke(driver, tmp_path, "handoff", "list", "--status", "at_risk", "--limit", "500")
    assert code == 0, out
    at_risk = decided(store, driver.crm, "at_risk")
    assert all(r.account_id in out for r in at_risk)
    assert not any(r.account_id in out for r in decided(store, driver.crm, "onboarding"))
    assert fields(store, driver.crm, at_risk[0].account_id)["name"] in out
    code, out, _ = invoke(driver, tmp_path, "handoff", "list", "--limit", "3", "--output", "json")
    assert code == 0, out
    assert len(json.loads(out)) == 3


def test_preview_writes_nothing_and_is_the_note_a_handoff_sends(
    driver: Driver, store: Store, settings: AppSettings, tmp_path: Path
) -> None:
    """`handoff preview` prints every section with the account's values, stores nothing, and is the note sent later."""
    cycle(driver, store, settings)
    account = briefed_account(store, settings, driver)
    f = fields(store, driver.crm, account)
    before = snapshot(store)
    code, out, _ = invoke(driver, tmp_path, "handoff", "preview", account)
    assert code == 0, out
    assert snapshot(store) == before
    title, text = out.split("\n", 1)
    assert title == f"Handoff to Customer Success: {f['name']}"
    lines = text.splitlines()
    for heading in HEADINGS:
        assert heading in lines, heading
    assert f"- {f['csm_name']}" in text
    assert lines[lines.index("Goals agreed") + 1] == f["goals"]
    for done in done_titles(store, settings, driver, account):
        assert f": {done} (" in text
    assert f"Account {account}, handed off on {today(driver).isoformat()}." in lines

    code, out, _ = invoke(driver, tmp_path, "handoff", "preview", account, "--output", "json")
    assert code == 0, out
    assert json.loads(out) == {"account_id": account, "title": title, "text": text, "handed_off_on": None}
    assert snapshot(store) == before

    sent = force_handoff(driver, store, settings, account)
    assert sent.note_text == text


def test_preview_of_a_handed_off_account_prints_the_note_as_sent(
    driver: Driver, store: Store, settings: AppSettings, tmp_path: Path
) -> None:
    """Once handed off, `handoff preview` prints the stored note (as sent) and says when, even days later."""
    cycle(driver, store, settings)
    account = briefed_account(store, settings, driver)
    row = force_handoff(driver, store, settings, account)
    driver.time.advance(3 * 86_400)
    code, out, _ = invoke(driver, tmp_path, "handoff", "preview", account)
    assert code == 0, out
    said, title, text = out.split("\n", 2)
    assert said == f"Handed off on {row.handed_off_on}: this is the note as sent."
    assert title == f"Handoff to Customer Success: {fields(store, driver.crm, account)['name']}"
    assert text == row.note_text
    code, out, _ = invoke(driver, tmp_path, "handoff", "preview", account, "--output", "json")
    assert code == 0, out
    assert json.loads(out) == {"account_id": account, "title": title, "text": row.note_text,
                               "handed_off_on": str(row.handed_off_on)}  # fmt: skip


def test_restart_an_at_risk_account(driver: Driver, store: Store, settings: AppSettings, tmp_path: Path) -> None:
    """`handoff restart` starts cycle 2 on the retention template today, once; the next cycle decides cycle 2."""
    cycle(driver, store, settings)
    row = decided(store, driver.crm, "at_risk")[0]
    account = row.account_id
    driver.time.advance(86_400)
    day = today(driver).isoformat()
    code, _, printed = invoke(driver, tmp_path, "handoff", "restart", account)
    assert code == 0, printed
    assert f"cycle 1 was at risk: {row.at_risk_reason}" in printed
    assert f"Restarted on {day}: cycle 2 runs Retention restart (retention, revision 1, target 45 days)" in printed
    assert "next cycle" in printed
    plan = store.plans_for(driver.crm, [account])[account]
    assert (plan.template_id, plan.cycle, plan.start_date.isoformat()) == ("retention", 2, day)
    assert store.handoff_history(driver.crm, account)[0].restarted_on == today(driver)

    code, _, printed = invoke(driver, tmp_path, "handoff", "restart", account)
    assert code == 2, printed
    assert f"account {account!r} was already restarted on {day}" in printed
    code, _, printed = invoke(driver, tmp_path, "handoff", "show", account)
    assert code == 2, printed
    assert "the next cycle does" in printed

    driver.time.advance(3600)
    cycle(driver, store, settings)
    code, out, _ = invoke(driver, tmp_path, "handoff", "show", account, "--output", "json")
    assert code == 0, out
    data = json.loads(out)
    assert data["cycle"] == 2
    assert data["outcome"] == "onboarding"
    assert [(h["cycle"], h["outcome"], h["restarted_on"]) for h in data["history"]] == [(1, "at_risk", day)]
    code, out, _ = invoke(driver, tmp_path, "handoff", "show", account)
    assert code == 0, out
    assert f"cycle 1: at_risk, restarted on {day}" in out
    assert store.plans_for(driver.crm, [account])[account].template_id == "retention"


def test_restart_refuses_what_it_cannot_restart(
    driver: Driver, store: Store, settings: AppSettings, tmp_path: Path
) -> None:
    """An onboarding account or an unknown template exits 2 with the reason, and nothing changes."""
    cycle(driver, store, settings)
    onboarding = decided(store, driver.crm, "onboarding")[0].account_id
    at_risk = decided(store, driver.crm, "at_risk")[0].account_id
    before = snapshot(store)
    code, _, printed = invoke(driver, tmp_path, "handoff", "restart", onboarding)
    assert code == 2, printed
    assert f"account {onboarding!r} is onboarding, not at_risk" in printed
    code, _, printed = invoke(driver, tmp_path, "handoff", "restart", at_risk, "--template", "retentoin")
    assert code == 2, printed
    assert "no plan template 'retentoin'; did you mean 'retention'?" in printed
    assert "enterprise, mid_market, retention, smb" in printed
    assert snapshot(store) == before


def test_unknown_or_undecided_accounts_exit_2(
    driver: Driver, store: Store, settings: AppSettings, tmp_path: Path
) -> None:
    """An unknown account exits 2 for every command; an account no cycle decided says a cycle decides it."""
    account = min(driver.in_scope_ids("accounts"))
    pull = driver.mapping.accounts.pull
    sobject = "Account" if driver.crm == "salesforce" else "companies"
    empty = None if driver.crm == "salesforce" else ""
    driver.app.update(sobject, account, **{pull["onboarding_start"]: empty, pull["close_date"]: empty})
    cycle(driver, store, settings)
    for command in ("show", "preview", "restart"):
        code, _, printed = invoke(driver, tmp_path, "handoff", command, "no-such-account")
        assert code == 2, printed
        assert f"account 'no-such-account' is not in the store for {driver.crm}" in printed
    for command in ("show", "restart"):
        code, _, printed = invoke(driver, tmp_path, "handoff", command, account)
        assert code == 2, printed
        assert f"account {account!r} has no handoff decision yet: a cycle decides it" in printed


def test_without_a_policy_preview_exits_2(driver: Driver, store: Store, settings: AppSettings,
                                          tmp_path: Path) -> None:  # fmt: skip
    """A config folder without handoff.yaml: preview and show exit 2 saying no policy is configured."""
    cycle(driver, store, settings)
    config = tmp_path / "config"
    shutil.copytree(shipped("config/plans"), config / "plans")
    account = decided(store, driver.crm, "onboarding")[0].account_id
    for command in ("preview", "show"):
        code, _, printed = invoke(driver, tmp_path, "handoff", command, account, config=config)
        assert code == 2, printed
        assert f"no handoff policy configured: {config}/handoff.yaml is missing" in printed
