"""Each assessment channel against the sandbox CRMs, and the sentiment rollup end to end (issue 6, acceptance 2).

Every test runs real daemon cycles (the real connector, the handoff and assessment providers, the outbox drain)
on the sandbox's fake clock, with the shipped assessment policy or a copy of it whose channel was changed (the
way an admin edits ``config/assessments.yaml``). An account is handed off the way a person does it: the CRM
override set to ``force``. Its contacts are added in the CRM with titles that place their personas (a chief
executive, a director, a specialist, and a gardener whom no rule places: ``unknown``).

What a channel did is read from the sandbox's own state, never through a connector: the contact's request fields,
the CampaignMember rows, the list memberships; the webhook's deliveries as a loopback survey tool received them
(it checks every signature and keeps each idempotency key once).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from dateutil.relativedelta import relativedelta
from ruamel.yaml import YAML

from connectors.webhook import verify
from sync_daemon.commands.sync import push_setup
from sync_daemon.config.assessment_loader import ASSESSMENTS_FILE, load_assessments
from sync_daemon.config.errors import ConfigError
from sync_daemon.domain.personas import PersonaClassifier
from sync_daemon.domain.values import normalize
from sync_daemon.engine import CycleOptions, run_cycle
from sync_daemon.resources import shipped
from sync_daemon.sandbox.hubspot_data import format_datetime
from sync_daemon.sandbox.server import SandboxServer
from sync_daemon.settings import load_settings
from sync_daemon.wiring import load_assessment_policy, load_handoff_setup, load_plan_set, webhook_senders
from tests.conformance.drivers import Driver, start_driver
from tests.conftest import KNOWN_TOKEN
from tests.integration.outbox_support.census import audience_of
from tests.integration.webhook_receiver import PATH, WebhookReceiver

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping
    from pathlib import Path

    from sync_daemon.config.assessment_models import AssessmentPolicy
    from sync_daemon.engine import CycleResult
    from sync_daemon.intents import WebhookSenders
    from sync_daemon.settings import AppSettings
    from sync_daemon.store import Store
    from sync_daemon.store.assessments import SendRow

CRMS = ["salesforce", "hubspot"]
HOUR = 3600
# Titles the shipped persona rules place (the gardener matches none: persona unknown).
TITLES = {
    "decision_maker": "Chief Executive Officer",
    "champion": "Director of Operations",
    "end_user": "Support Specialist",
    "unknown": "Gardener",
}
SECRET_ENV = "SYNC_TEST_SURVEY_SECRET"
SECRET = KNOWN_TOKEN  # the suite's guard fails any test whose output carries it


# -- the daemon, as the CLI wires it ---------------------------------------------------------------


def start(crm: str) -> Driver:
    """A small sandbox (20 accounts, 20 contacts) on fake time."""
    return start_driver(crm, accounts=20, contacts=20)


def daemon_settings(driver: Driver, tmp_path: Path, config_dir: Path | None = None) -> AppSettings:
    """The settings a daemon for the driver's CRM reads (the shipped configuration unless ``config_dir``)."""
    env = {"SYNC_CRM": driver.crm, "SYNC_SECRETS_DIR": str(tmp_path / "no-secrets")}
    if config_dir is not None:
        env["SYNC_CONFIG_DIR"] = str(config_dir)
    return load_settings(env, default_secrets_dir=None)


def shipped_policy(driver: Driver) -> AssessmentPolicy:
    """``config/assessments.yaml`` as shipped, validated against the driver's mapping."""
    return load_assessments(shipped(f"config/{ASSESSMENTS_FILE}"), driver.mapping)


def with_channel(policy: AssessmentPolicy, channel: Mapping[str, object]) -> AssessmentPolicy:
    """A copy of the policy whose every kind sends through ``channel`` (revision 2, as an admin's edit)."""
    data = policy.model_dump(mode="json", exclude_none=True)
    data["revision"] = policy.revision + 1
    for kind in data["kinds"].values():
        kind["channel"] = dict(channel)
    return type(policy).model_validate(data)


def assessment_cycle(
    driver: Driver,
    store: Store,
    settings: AppSettings,
    policy: AssessmentPolicy | None,
    webhooks: WebhookSenders | None = None,
) -> CycleResult:
    """One `sync --force` cycle with plans, the handoff and (when given) the assessment policy, on fake time."""
    plans = load_plan_set(settings, driver.mapping)
    setup = load_handoff_setup(settings, driver.mapping, plans)
    now = driver.time.now()
    push = push_setup(settings, driver.mapping, force=True, plans=plans, store=store, crm=driver.crm, now=now,
                      handoff=setup, assessments=policy, webhooks=webhooks)  # fmt: skip
    connector = driver.connector()
    try:
        result = run_cycle(connector, store, options=CycleOptions(overlap=timedelta(minutes=5)),
                           clock=driver.time.now, classifier=PersonaClassifier.from_rules(driver.mapping.personas),
                           push_setup=push)  # fmt: skip
    finally:
        connector.close()
    assert result.ok, result.error
    return result


# -- staging in the CRM ----------------------------------------------------------------------------


def _sobject(driver: Driver, kind: str) -> str:
    if driver.crm == "salesforce":
        return "Account" if kind == "accounts" else "Contact"
    return "companies" if kind == "accounts" else "contacts"


def add_contact(
    driver: Driver, account_id: str, name: str, title: str, email: str | None, *, opted_out: bool = False
) -> str:
    """A person adds a contact to the account in the CRM: a title, an email (or none), the email opt-out."""
    first, _, last = name.partition(" ")
    if driver.crm == "salesforce":
        fields = {"AccountId": account_id, "FirstName": first, "LastName": last, "Title": title, "Email": email,
                  "HasOptedOutOfEmail": opted_out}  # fmt: skip
        return str(driver.app.insert("Contact", fields))
    props = {"firstname": first, "lastname": last, "jobtitle": title, "email": email,
             "hs_email_optout": "true" if opted_out else "false"}  # fmt: skip
    contact = str(driver.app.create("contacts", props))
    driver.app.associate(contact, account_id)
    return contact


@dataclass(frozen=True)
class Staged:
    """An account in the daemon's scope and the contacts a test added to it, by label."""

    account_id: str
    contacts: dict[str, str]


def stage_account(driver: Driver, labels: Mapping[str, str], *, index: int = 0) -> Staged:
    """The ``index``-th account in scope, with one contact per label (label -> title), each with an email."""
    account = sorted(driver.in_scope_ids("accounts"))[index]
    contacts = {label: add_contact(driver, account, f"{label.title().replace('_', '')} Tester{index}", title,
                                   f"{label}.{index}@customer.example")
                for label, title in labels.items()}  # fmt: skip
    return Staged(account, contacts)


def force_override(driver: Driver, account_id: str) -> None:
    """A person sets the account's handoff override to ``force`` in the CRM; an hour passes."""
    driver.app.update(_sobject(driver, "accounts"), account_id,
                      **{driver.mapping.accounts.pull["handoff_override"]: "force"})  # fmt: skip
    driver.time.advance(HOUR)


def contact_value(driver: Driver, contact_id: str, name: str) -> object:
    """A contact's field as the sandbox holds it (canonical name, the CRM's own form)."""
    return driver.value("contacts", contact_id, name)


def account_value(driver: Driver, account_id: str, name: str) -> object:
    """An account's field as the sandbox holds it (canonical name, the CRM's own form)."""
    return driver.value("accounts", account_id, name)


def account_sends(store: Store, crm: str, account_id: str) -> list[SendRow]:
    """Every send recorded for the account's contacts."""
    contacts = store.contacts_of(crm, [account_id]).get(account_id, [])
    return [s for s in store.sends_of(crm, [str(c["id"]) for c in contacts]) if s.account_id == account_id]


def handed_off(
    driver: Driver,
    store: Store,
    settings: AppSettings,
    policy: AssessmentPolicy | None,
    labels: Mapping[str, str],
    *,
    webhooks: WebhookSenders | None = None,
) -> Staged:
    """A backfill, then contacts added and the override forced: the next cycle hands the account off and sends."""
    assessment_cycle(driver, store, settings, policy, webhooks)
    staged = stage_account(driver, labels)
    force_override(driver, staged.account_id)
    assessment_cycle(driver, store, settings, policy, webhooks)
    assert store.handed_off_accounts(driver.crm).get(staged.account_id) == driver.time.now().date()
    return staged


# -- crm_fields --------------------------------------------------------------------------------------


@pytest.mark.parametrize("crm", CRMS)
def test_crm_fields_channel_writes_the_request_fields(crm: str, store: Store, tmp_path: Path) -> None:
    """After the handoff cycle each contact sent holds kind, persona, cycle and requested-at in the CRM.

    The contact whose title places no persona is sent ``unknown``; six months later the relationship assessment
    overwrites the same fields with cycle 1.
    """
    driver = start(crm)
    try:
        settings = daemon_settings(driver, tmp_path)
        policy = shipped_policy(driver)
        staged = handed_off(driver, store, settings, policy, TITLES)
        requested = driver.time.now()
        sends = account_sends(store, crm, staged.account_id)
        assert {s.contact_id for s in sends} >= set(staged.contacts.values())
        for send in sends:
            assert (send.kind, send.cycle, send.channel, send.requested_at) == ("onboarding", 0, "crm_fields",
                                                                                requested)  # fmt: skip
            assert_request_fields(driver, send.contact_id, kind="onboarding", persona=send.persona, cycle=0,
                                  requested=requested)  # fmt: skip
        for label, contact in staged.contacts.items():
            assert contact_value(driver, contact, "assessment_persona") == label
        assert store.intent(sends[0].intent_key).status == "done"  # type: ignore[union-attr]

        later = handoff_plus_months(driver, 6)
        assessment_cycle(driver, store, settings, policy)
        for contact in staged.contacts.values():
            [send] = [s for s in store.sends_of(crm, [contact]) if s.kind == "relationship"]
            assert (send.cycle, send.due_on) == (1, later)
            assert_request_fields(driver, contact, kind="relationship", persona=send.persona, cycle=1,
                                  requested=driver.time.now())  # fmt: skip
    finally:
        driver.server.stop()


def handoff_plus_months(driver: Driver, months: int) -> date:
    """Move the clock to the day ``months`` after today (the handoff day): a relationship cycle's due day."""
    today = driver.time.now().date()
    due = today + relativedelta(months=months)
    driver.time.advance((due - today).days * 86_400)
    return due


def assert_request_fields(
    driver: Driver, contact: str, *, kind: str, persona: str, cycle: int, requested: datetime
) -> None:
    """The contact's request fields in the CRM hold the send's values."""
    assert contact_value(driver, contact, "assessment_kind") == kind
    assert contact_value(driver, contact, "assessment_persona") == persona
    assert normalize(contact_value(driver, contact, "assessment_cycle"), "number") == cycle
    assert normalize(contact_value(driver, contact, "assessment_requested_at"), "datetime") == requested


# -- audiences: a Salesforce campaign, HubSpot lists ---------------------------------------------------


def campaign_members(driver: Driver) -> list[dict[str, Any]]:
    """Every CampaignMember row the Salesforce sandbox holds."""
    return [driver.app.record("CampaignMember", i) for i in driver.app.ids("CampaignMember")]


def test_salesforce_campaign_channel_adds_one_member_per_send(store: Store, tmp_path: Path) -> None:
    """Each contact sent is one CampaignMember of the configured campaign with the configured status, once.

    The contact opted out of email gets none, the request fields stay empty (this channel does not write them),
    and later cycles add no second member.
    """
    driver = start("salesforce")
    try:
        settings = daemon_settings(driver, tmp_path)
        campaign = audience_of(driver)
        # a status other than the sandbox's default ("Sent"), so the member shows the configured one
        channel = {"type": "salesforce_campaign", "campaign_id": campaign, "status": "Responded"}
        policy = with_channel(shipped_policy(driver), channel)
        labels = {**TITLES, "opted_out": "Support Specialist"}
        assessment_cycle(driver, store, settings, policy)
        staged = stage_account(driver, labels)
        driver.app.update("Contact", staged.contacts["opted_out"], HasOptedOutOfEmail=True)
        force_override(driver, staged.account_id)
        assessment_cycle(driver, store, settings, policy)

        sends = account_sends(store, "salesforce", staged.account_id)
        sent = {s.contact_id for s in sends}
        assert sent >= {staged.contacts[p] for p in TITLES}
        assert staged.contacts["opted_out"] not in sent
        assert {s.channel for s in sends} == {"salesforce_campaign"}
        members = [(m["CampaignId"], m["ContactId"], m["Status"]) for m in campaign_members(driver)]
        assert sorted(m for m in members if m[1] in sent) == sorted((campaign, c, "Responded") for c in sent)
        assert not [m for m in members if m[1] == staged.contacts["opted_out"]]
        for contact in sent:
            assert contact_value(driver, contact, "assessment_kind") is None
            intent = store.intent(send_key_of(sends, contact))
            assert intent is not None
            assert intent.status == "done"
            assert intent.result is not None
            assert str(intent.result["member_id"]).startswith("00v")

        driver.time.advance(86_400)
        assessment_cycle(driver, store, settings, policy)
        assert len(campaign_members(driver)) == len(members)
    finally:
        driver.server.stop()


def send_key_of(sends: list[SendRow], contact: str) -> str:
    """The outbox key of the one send to ``contact``."""
    [send] = [s for s in sends if s.contact_id == contact]
    return send.intent_key


def test_hubspot_list_channel_adds_each_contact_to_its_personas_list(store: Store, tmp_path: Path) -> None:
    """Decision makers go to their list, everyone else (unknown included) to the default list, each once."""
    driver = start("hubspot")
    try:
        settings = daemon_settings(driver, tmp_path)
        lists = {"decision_maker": "101", "default": "102"}
        policy = with_channel(shipped_policy(driver), {"type": "hubspot_list", "lists": lists})
        staged = handed_off(driver, store, settings, policy, TITLES)

        sends = account_sends(store, "hubspot", staged.account_id)
        assert {s.contact_id for s in sends} >= set(staged.contacts.values())
        members = {list_id: driver.app.list_members(list_id) for list_id in ("101", "102")}
        for send in sends:
            wanted = "101" if send.persona == "decision_maker" else "102"
            other = "102" if wanted == "101" else "101"
            assert members[wanted].count(send.contact_id) == 1, send
            assert send.contact_id not in members[other]
        assert staged.contacts["decision_maker"] in members["101"]
        assert {staged.contacts[p] for p in ("champion", "end_user", "unknown")} <= set(members["102"])

        driver.time.advance(86_400)
        assessment_cycle(driver, store, settings, policy)
        assert {k: driver.app.list_members(k) for k in ("101", "102")} == members
    finally:
        driver.server.stop()


# -- webhook ---------------------------------------------------------------------------------------


def write_policy(config_dir: Path, policy: AssessmentPolicy) -> Path:
    """The policy as an admin's assessments.yaml in ``config_dir`` (the shipped plans and handoff beside it)."""
    config_dir.mkdir(parents=True, exist_ok=True)
    for name in ("handoff.yaml", "handoff_note.txt.j2"):
        (config_dir / name).write_text(shipped(f"config/{name}").read_text(encoding="utf-8"), encoding="utf-8")
    plans = config_dir / "plans"
    plans.mkdir(exist_ok=True)
    for template in shipped("config/plans").glob("*.yaml"):
        (plans / template.name).write_text(template.read_text(encoding="utf-8"), encoding="utf-8")
    path = config_dir / ASSESSMENTS_FILE
    writer = YAML(typ="safe")
    writer.default_flow_style = False
    with path.open("w", encoding="utf-8") as stream:
        writer.dump(policy.model_dump(mode="json", exclude_none=True), stream)
    return path


@pytest.fixture
def receiver() -> Iterator[tuple[WebhookReceiver, str]]:
    """A loopback survey tool checking signatures against the wall clock (the sender signs with it)."""
    tool = WebhookReceiver(SECRET, now=lambda: datetime.now(UTC))
    with SandboxServer(tool, tls=False) as server:
        try:
            yield tool, f"{server.url}{PATH}"
        finally:
            tool.release_all()


@pytest.mark.parametrize("crm", CRMS)
def test_webhook_channel_delivers_each_send_once_signed(
    crm: str, store: Store, tmp_path: Path, receiver: tuple[WebhookReceiver, str]
) -> None:
    """Every send is one signed POST whose key is the send's; the body names contact, kind, cycle, persona, questions.

    The policy and the senders get the secret from the environment mapping they are given; the contact with an
    unknown persona is also asked which sentence describes them. A later cycle delivers nothing again.
    """
    tool, url = receiver
    driver = start(crm)
    try:
        hook = {"type": "webhook", "url": url, "secret_env": SECRET_ENV, "timeout_seconds": 5}
        config = tmp_path / "config"
        write_policy(config, with_channel(shipped_policy(driver), hook))
        settings = daemon_settings(driver, tmp_path, config)
        environ = {SECRET_ENV: SECRET}
        policy = load_assessment_policy(settings, driver.mapping, environ)
        assert policy is not None
        senders = webhook_senders(settings, environ)
        try:
            staged = handed_off(driver, store, settings, policy, TITLES, webhooks=senders)
            sends = account_sends(store, crm, staged.account_id)
            assert_delivered_once(tool, sends)
            check_bodies(tool, policy, sends, staged)

            driver.time.advance(86_400)
            assessment_cycle(driver, store, settings, policy, senders)
            assert len(tool.deliveries) == len({a.key for a in tool.arrivals})
            assert all(tool.delivered(s.intent_key) == 1 for s in sends)
            assert {s.intent_key for s in sends} <= {a.key for a in tool.arrivals}
        finally:
            senders.close()
    finally:
        driver.server.stop()


def assert_delivered_once(tool: WebhookReceiver, sends: list[SendRow]) -> None:
    """Every arrival carried a signature the secret made at its timestamp; each send's key arrived exactly once."""
    assert sends
    keys = [a.key for a in tool.arrivals]
    assert len(keys) == len(set(keys)), "an idempotency key arrived twice"
    assert {s.intent_key for s in sends} <= set(keys)
    for arrival in tool.arrivals:
        assert arrival.status == 200
        assert verify(SECRET, arrival.timestamp, arrival.body, arrival.signature, now=datetime.now(UTC))
    assert all(tool.delivered(s.intent_key) == 1 for s in sends)


def check_bodies(tool: WebhookReceiver, policy: AssessmentPolicy, sends: list[SendRow], staged: Staged) -> None:
    """Each delivery's body: the send's contact, kind, cycle, persona and key, the kind's questions, no secret."""
    bodies = {d.key: d.payload for d in tool.deliveries}
    questions = [q["id"] for q in policy.model_dump(mode="json")["kinds"]["onboarding"]["questions"]]
    for send in sends:
        body = bodies[send.intent_key]
        assert (body["contact_id"], body["account_id"], body["kind"], body["cycle"], body["persona"]) == (
            send.contact_id, staged.account_id, "onboarding", 0, send.persona)  # fmt: skip
        assert body["key"] == send.intent_key
        assert [q["id"] for q in body["questions"]] == questions
        assert body["questions"][0]["text"] == policy.kinds["onboarding"].questions[0].text
        assert "channel" not in body
        assert SECRET not in json.dumps(body)
        if send.persona == "unknown":
            assert body["ask_persona"] == {"text": policy.unknown_persona.text,
                                           "choices": dict(policy.unknown_persona.choices)}  # fmt: skip
        else:
            assert "ask_persona" not in body
    unknown = bodies[send_key_of(sends, staged.contacts["unknown"])]
    assert unknown["persona"] == "unknown"


def test_a_missing_webhook_secret_is_a_configuration_error_naming_it(tmp_path: Path) -> None:
    """Without the secret in the environment mapping, loading the policy fails before any send, naming the variable."""
    driver = start("hubspot")
    try:
        config = tmp_path / "config"
        hook = {"type": "webhook", "url": "https://surveys.example/hooks", "secret_env": SECRET_ENV}
        path = write_policy(config, with_channel(shipped_policy(driver), hook))
        settings = daemon_settings(driver, tmp_path, config)
        with pytest.raises(ConfigError) as info:
            load_assessment_policy(settings, driver.mapping, {"SYNC_WEBHOOK_SECRET": SECRET})
        text = info.value.render()
        assert f"{path}: the webhook channel's secret {SECRET_ENV} is not set" in text
        assert SECRET not in text
        secret_file = tmp_path / "survey-secret"
        secret_file.write_text(SECRET, encoding="utf-8")
        assert load_assessment_policy(settings, driver.mapping, {f"{SECRET_ENV}_FILE": str(secret_file)})
    finally:
        driver.server.stop()


# -- the rollup by persona ---------------------------------------------------------------------------


def write_answer(driver: Driver, contact: str, score: int, change: str, at: datetime) -> None:
    """The survey tool writes the answer to the contact's response fields in the CRM."""
    mapping = driver.mapping.contacts.pull
    if driver.crm == "salesforce":
        label = {"better": "Better", "same": "The same", "worse": "Worse"}[change]
        values: dict[str, object] = {mapping["assessment_score"]: float(score),
                                     mapping["assessment_recommend_change"]: label,
                                     mapping["assessment_answered_at"]: at}  # fmt: skip
    else:
        values = {mapping["assessment_score"]: str(score), mapping["assessment_recommend_change"]: change,
                  mapping["assessment_answered_at"]: format_datetime(at)}  # fmt: skip
    driver.app.update(_sobject(driver, "contacts"), contact, **values)


@pytest.mark.parametrize("crm", CRMS)
def test_answers_roll_up_by_persona_into_the_account(crm: str, store: Store, tmp_path: Path) -> None:
    """Decision maker 9 (better), champion 3 (worse), end user 8 (same) to relationship cycle 1: one line each.

    The account's sentiment field carries each persona's hand-computed line and the detractor alert is set (a
    champion scored 3); the store's responses carry the kind and cycle of the send each one answers.
    """
    driver = start(crm)
    try:
        settings = daemon_settings(driver, tmp_path)
        policy = shipped_policy(driver)
        labels = {p: TITLES[p] for p in ("decision_maker", "champion", "end_user")}
        staged = handed_off(driver, store, settings, policy, labels)
        handoff_plus_months(driver, 6)
        assessment_cycle(driver, store, settings, policy)
        asked = driver.time.now()
        for contact in staged.contacts.values():
            assert [s.cycle for s in store.sends_of(crm, [contact]) if s.kind == "relationship"] == [1]

        answered = asked + timedelta(hours=2)
        answers = {"decision_maker": (9, "better"), "champion": (3, "worse"), "end_user": (8, "same")}
        for persona, (score, change) in answers.items():
            write_answer(driver, staged.contacts[persona], score, change, answered)
        driver.time.advance(3 * HOUR)
        assessment_cycle(driver, store, settings, policy)

        text = str(account_value(driver, staged.account_id, "sentiment_by_persona"))
        lines = text.splitlines()
        assert lines[0] == "Cycle 1"
        last = f" · last {answered.date().isoformat()}"
        expected = [
            "decision_maker: NPS +100 (1 promoter, 0 passives, 0 detractors) · better 100% / same 0% / worse 0%" + last,
            "champion: NPS -100 (0 promoters, 0 passives, 1 detractor) · better 0% / same 0% / worse 100%" + last,
            "end_user: NPS 0 (0 promoters, 1 passive, 0 detractors) · better 0% / same 100% / worse 0%" + last,
        ]
        assert lines[1:4] == expected
        assert "business_influencer: no responses" in lines
        assert normalize(account_value(driver, staged.account_id, "detractor_alert"), "boolean") is True

        responses = store.responses_of(crm, [staged.account_id])[staged.account_id]
        got = {(r.contact_id, r.kind, r.cycle, r.persona, r.score, r.change, r.answered_at) for r in responses}
        assert got == {(staged.contacts[p], "relationship", 1, p, score, change, answered)
                       for p, (score, change) in answers.items()}  # fmt: skip
    finally:
        driver.server.stop()
