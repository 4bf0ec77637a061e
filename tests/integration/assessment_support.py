"""Helpers of the assessment acceptance tests: whole daemon cycles with assessments, and the CRM's own census.

A cycle here is the daemon's: settings, plan templates, handoff policy and assessment policy loaded by the
production wiring (``load_handoff_setup``, ``load_assessment_policy``, ``push_setup``), pushed through
``run_cycle`` with a real connector to the sandbox, on a fake clock. A policy copy is the shipped configuration
folder with an edited ``assessments.yaml`` (written as JSON, which YAML reads), so it is validated as an admin's
would be.

What the CRM received is read from the sandbox itself, never through a connector: :class:`RequestLog` wraps the
sandbox's request handling and keeps every contact write carrying the assessment request fields that the CRM
committed (per record, after the CRM's own answer), including the ones whose reply was then dropped.

``python -m tests.integration.assessment_support JOB`` runs one real cycle in a child process that SIGKILLs
itself inside the outbox drain, on the first assessment send, before or after its CRM call (see :func:`main`).
:func:`replica_cycle` is a pool worker running one full cycle in its own process, started at a shared barrier.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import sys
from collections import Counter
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

import structlog
from sqlalchemy import select
from structlog.testing import capture_logs

from sync_daemon.commands.sync import push_setup
from sync_daemon.config.yaml_positions import read_yaml
from sync_daemon.domain.personas import PersonaClassifier
from sync_daemon.domain.values import normalize
from sync_daemon.engine import CycleOptions, CycleResult, run_cycle
from sync_daemon.intents import ASSESSMENT, handlers
from sync_daemon.resources import shipped
from sync_daemon.sandbox.server import Fault
from sync_daemon.settings import load_settings
from sync_daemon.store import Store
from sync_daemon.store.models import OUTBOX
from sync_daemon.wiring import load_assessment_policy, load_handoff_setup, load_plan_set
from tests.faketime import FakeTime
from tests.integration.handoff_support import connector_for, daemon_mapping
from tests.integration.outbox_support.dying import KilledCycle, die_in
from tests.integration.outbox_support.sandboxes import SandboxAddress

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, MutableMapping
    from multiprocessing.synchronize import Barrier
    from pathlib import Path

    from connectors.base import Connector, Writer
    from sync_daemon.config.assessment_models import AssessmentPolicy
    from sync_daemon.config.models import MappingFile
    from sync_daemon.config.plan_loader import PlanSet
    from sync_daemon.handoff_provider import HandoffSetup
    from sync_daemon.intents import WebhookSenders
    from sync_daemon.outbox import IntentHandler
    from sync_daemon.sandbox.server import Request, Response
    from sync_daemon.settings import AppSettings
    from sync_daemon.store import Intent
    from sync_daemon.store.assessments import SendRow
    from tests.conformance.drivers import Driver

Key = tuple[str, str, int]  # (contact, kind, cycle): the identity of a send
BARRIER_TIMEOUT = 60.0
_SF_COLLECTION = re.compile(r"/services/data/v[\d.]+/composite/sobjects$")
_HS_CONTACT_BATCH = re.compile(r"/crm/v3/objects/contacts/batch/update$")


# -- one cycle, as the daemon wires it ---------------------------------------------------------------


def daemon_env(crm: str, config_dir: Path | str | None = None) -> dict[str, str]:
    """The environment a daemon for ``crm`` reads: the shipped configuration, or the folder given."""
    env = {"SYNC_CRM": crm}
    if config_dir is not None:
        env["SYNC_CONFIG_DIR"] = str(config_dir)
    return env


@dataclass(frozen=True)
class DaemonConfig:
    """What a daemon loads once at start: settings, mapping, plan templates, handoff and assessment policies."""

    settings: AppSettings
    mapping: MappingFile
    plans: PlanSet | None
    handoff: HandoffSetup | None
    policy: AssessmentPolicy


@functools.cache
def _loaded(env: frozenset[tuple[str, str]]) -> DaemonConfig:
    environ = dict(env)
    settings = load_settings(environ, default_secrets_dir=None)
    mapping = daemon_mapping(environ)
    plans = load_plan_set(settings, mapping)
    handoff = load_handoff_setup(settings, mapping, plans)
    policy = load_assessment_policy(settings, mapping, environ)
    if policy is None:
        raise AssertionError("the configuration folder has no assessments.yaml")
    return DaemonConfig(settings, mapping, plans, handoff, policy)


def daemon_config(env: Mapping[str, str]) -> DaemonConfig:
    """The configuration the environment names, loaded by the production wiring once (as a running daemon does)."""
    return _loaded(frozenset(env.items()))


def assessment_cycle(
    env: Mapping[str, str], store: Store, connector: Connector, clock: Callable[[], datetime]
) -> CycleResult:
    """One ``sync --force`` cycle as the CLI wires it: plans, handoff, assessments, personas, on ``clock``."""
    c = daemon_config(env)
    push = push_setup(c.settings, c.mapping, force=True, plans=c.plans, store=store, crm=c.mapping.crm, now=clock(),
                      handoff=c.handoff, assessments=c.policy)  # fmt: skip
    return run_cycle(connector, store, options=CycleOptions(), clock=clock,
                     classifier=PersonaClassifier.from_rules(c.mapping.personas), push_setup=push)  # fmt: skip


def cycle(driver: Driver, store: Store, env: Mapping[str, str] | None = None, *, attempts: int = 1) -> CycleResult:
    """One daemon cycle against ``driver``'s sandbox on its fake clock.

    ``attempts=1`` (the default) leaves every recovery of a lost reply to the outbox, in a later cycle.
    """
    env = env or daemon_env(driver.crm)
    connector = connector_for(SandboxAddress.of(driver), daemon_config(env).mapping, driver.time, attempts=attempts)
    try:
        return assessment_cycle(env, store, connector, driver.time.now)
    finally:
        connector.close()


def policy_copy(folder: Path, edit: Callable[[dict[str, Any]], None]) -> Path:
    """A copy of the shipped configuration folder whose assessment policy ``edit`` changed; returns the folder."""
    config = folder / "config"
    shutil.copytree(shipped("config"), config)
    path = config / "assessments.yaml"
    data: dict[str, Any] = json.loads(json.dumps(read_yaml(path).data))
    edit(data)
    data["revision"] = int(data["revision"]) + 1
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return config


# -- people in the CRM ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    """A contact a person adds to an account: the title alone places its persona (no buying role is set)."""

    first: str
    last: str
    title: str
    email: bool = True
    opted_out: bool = False

    def address(self) -> str:
        """The contact's (unique) email address."""
        return f"{self.first}.{self.last}@customer.example".lower()


def _contact_field(driver: Driver, name: str) -> str:
    return driver.mapping.pulled_fields("contacts")[name]


def _opt_out_value(driver: Driver, *, opted_out: bool) -> object:
    return opted_out if driver.crm == "salesforce" else str(opted_out).lower()


def add_person(driver: Driver, account_id: str, person: Person) -> str:
    """A person adds the contact to the account in the CRM; answers its id."""
    values: dict[str, object] = {
        _contact_field(driver, "first_name"): person.first,
        _contact_field(driver, "last_name"): person.last,
        _contact_field(driver, "title"): person.title,
        _contact_field(driver, "email_opt_out"): _opt_out_value(driver, opted_out=person.opted_out),
    }
    if person.email:
        values[_contact_field(driver, "email")] = person.address()
    if driver.crm == "salesforce":
        return str(driver.app.insert("Contact", values | {"AccountId": account_id}))
    contact = str(driver.app.create("contacts", values))
    driver.app.associate(contact, account_id)
    return contact


def set_opt_out(driver: Driver, contact_id: str, *, opted_out: bool) -> None:
    """The contact opts out of email (or back in), as the CRM records it."""
    value = _opt_out_value(driver, opted_out=opted_out)
    if driver.crm == "salesforce":
        driver.app.update("Contact", contact_id, **{_contact_field(driver, "email_opt_out"): value})
    else:
        driver.app.update("contacts", contact_id, **{_contact_field(driver, "email_opt_out"): value})


# -- what the CRM received, from the sandbox's own request handling ----------------------------------


@dataclass(frozen=True)
class FieldRequest:
    """An assessment request the CRM committed to a contact's fields (the ``crm_fields`` channel)."""

    contact_id: str
    kind: str
    cycle: int
    persona: str
    requested_at: datetime

    @property
    def key(self) -> Key:
        """The send it carries: (contact, kind, cycle)."""
        return (self.contact_id, self.kind, self.cycle)

    @property
    def day(self) -> date:
        """The UTC day the daemon decided it (its ``requested_at``): the caps' calendar without a window."""
        return self.requested_at.astimezone(UTC).date()


class RequestLog:
    """Every contact write carrying assessment request fields that the sandbox committed, in order.

    It wraps the sandbox app's request handling, so it sees each request's body and the CRM's answer per
    record, and it keeps a write whose reply the sandbox then drops (that write was committed all the same).
    """

    def __init__(self, driver: Driver) -> None:
        self._crm = driver.crm
        fields = driver.mapping.pulled_fields("contacts")
        self._names = {name: fields[name] for name in ("assessment_kind", "assessment_persona", "assessment_cycle",
                                                      "assessment_requested_at")}  # fmt: skip
        self.requests: list[FieldRequest] = []
        real = driver.app.handle

        def handle(request: Request) -> Response:
            response: Response = real(request)
            self._note(request, response)
            return response

        driver.app.handle = handle

    def _note(self, request: Request, response: Response) -> None:
        if self._crm == "salesforce" and request.method == "PATCH" and _SF_COLLECTION.search(request.path):
            records = (request.json() or {}).get("records") or []
            results = response.body if isinstance(response.body, list) else []
            done = [r for r, answer in zip(records, results, strict=False) if answer.get("success")]
            self.requests += [w for r in done if (w := self._request(str(r.get("id")), r)) is not None]
        elif self._crm == "hubspot" and request.method == "POST" and _HS_CONTACT_BATCH.search(request.path):
            body = response.body if isinstance(response.body, dict) else {}
            written = {str(r.get("id")) for r in body.get("results") or []}
            for item in (request.json() or {}).get("inputs") or []:
                contact = str(item.get("id"))
                if contact in written and (w := self._request(contact, item.get("properties") or {})) is not None:
                    self.requests.append(w)

    def _request(self, contact_id: str, values: Mapping[str, Any]) -> FieldRequest | None:
        n = self._names
        if values.get(n["assessment_kind"]) in (None, ""):
            return None  # a write of other fields (the persona, say)
        cycle = normalize(values.get(n["assessment_cycle"]), "number")
        requested = normalize(values.get(n["assessment_requested_at"]), "datetime")
        if not isinstance(requested, datetime) or cycle is None:
            raise AssertionError(f"an assessment request without its cycle or time: {dict(values)}")
        return FieldRequest(contact_id, str(values[n["assessment_kind"]]), int(str(cycle)),
                            str(values.get(n["assessment_persona"])), requested)  # fmt: skip

    def census(self) -> Counter[Key]:
        """How many committed writes carried each (contact, kind, cycle)."""
        return Counter(r.key for r in self.requests)

    def first(self) -> dict[Key, FieldRequest]:
        """The first committed write of each (contact, kind, cycle)."""
        out: dict[Key, FieldRequest] = {}
        for r in self.requests:
            out.setdefault(r.key, r)
        return out


# -- what the store holds --------------------------------------------------------------------------------


def send_rows(store: Store, crm: str, contact_ids: list[str]) -> dict[Key, SendRow]:
    """The store's send rows of these contacts, by (contact, kind, cycle); a duplicate fails the caller."""
    rows = store.sends_of(crm, contact_ids)
    found = {(r.contact_id, r.kind, r.cycle): r for r in rows}
    assert len(found) == len(rows), f"two send rows share a (contact, kind, cycle): {rows}"
    return found


def assessment_intents(store: Store, crm: str) -> dict[str, Intent]:
    """Every assessment intent in the outbox, by key."""
    with store.engine.connect() as conn:
        keys = conn.execute(select(OUTBOX.c.key).where(OUTBOX.c.kind == ASSESSMENT, OUTBOX.c.crm == crm)).scalars()
        found = list(keys)
    out: dict[str, Intent] = {}
    for key in found:
        intent = store.intent(key)
        assert intent is not None
        out[key] = intent
    return out


def intent_send(intent: Intent) -> Key:
    """The (contact, kind, cycle) an assessment intent's payload sends."""
    p = intent.payload
    return (str(p["contact_id"]), str(p["kind"]), int(p["cycle"]))


# -- a sandbox that drops the reply of each send's first CRM call ----------------------------------------


class _Arming:
    """The real assessment handler; each send's first ``perform`` first arms the sandbox to drop its reply."""

    def __init__(self, real: IntentHandler, owner: DroppedReplies) -> None:
        self._real, self._owner = real, owner

    def find(self, intent: Intent) -> dict[str, object] | None:
        return self._real.find(intent)

    def perform(self, intent: Intent) -> dict[str, object]:
        if intent.key not in self._owner.dropped:
            self._owner.dropped.append(intent.key)
            method, path = self._owner.request
            self._owner.driver.inject(Fault("drop_reply", method=method, path=path))
        return self._real.perform(intent)


class DroppedReplies:
    """The sandbox commits each assessment send's first CRM call, then drops its reply.

    The fault is armed by the drain itself, right before the send's call, so the push's own writes to the
    same endpoint (Salesforce writes accounts and contacts through one) are never the ones hit. Install
    :meth:`handlers` in place of ``sync_daemon.engine.handlers``.
    """

    def __init__(self, driver: Driver, request: tuple[str, str]) -> None:
        self.driver = driver
        self.request = request
        self.dropped: list[str] = []

    def handlers(self, writer: Writer, webhooks: WebhookSenders | None = None) -> dict[str, IntentHandler]:
        """The daemon's handlers, with the assessment one arming the fault."""
        found = handlers(writer, webhooks)
        return found | {ASSESSMENT: _Arming(found[ASSESSMENT], self)}


# -- a daemon SIGKILLed inside an assessment send ----------------------------------------------------------


def main(raw: str) -> None:
    """Run one real daemon cycle against the parent's sandbox and die in its first assessment send."""
    job = KilledCycle.parse(raw)
    address = SandboxAddress.from_json(job.sandbox)
    now = datetime.fromisoformat(job.now)
    die_in(ASSESSMENT, job.mode)
    env = daemon_env(address.crm)
    connector = connector_for(address, daemon_config(env).mapping, FakeTime(now), attempts=1)
    assessment_cycle(env, Store(job.store_url), connector, lambda: now)
    raise SystemExit("the cycle ended without reaching an assessment send")


# -- replicas: full cycles in several processes at once ----------------------------------------------------

_BARRIER: list[Barrier] = []


def _quiet(logger: object, method: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    raise structlog.DropEvent


def init_replica(barrier: Barrier) -> None:
    """Keep the round's barrier for this process's tasks; print no log line (hundreds otherwise)."""
    _BARRIER[:] = [barrier]
    structlog.configure(processors=[_quiet])


def replica_cycle(store_url: str, sandbox: str, now: str) -> dict[str, Any]:
    """One full daemon cycle at ``now`` (ISO) in this process, started with the other replicas at the barrier.

    Answers the cycle's status and outbox counts, and how many sends this replica's assessment provider
    recorded (``sent``) and found recorded by another (``already``), from its own log.
    """
    at = datetime.fromisoformat(now)
    address = SandboxAddress.from_json(sandbox)
    env = daemon_env(address.crm)
    store = Store(store_url)
    connector = connector_for(address, daemon_config(env).mapping, FakeTime(at))
    try:
        store.backlog()  # connected before the barrier: the race starts with the cycle
        _BARRIER[0].wait(BARRIER_TIMEOUT)
        with capture_logs() as events:
            result = assessment_cycle(env, store, connector, lambda: at)
        planned = [e for e in events if e.get("event") == "assessments.planned"]
        return {
            "pid": os.getpid(),
            "status": result.status,
            "error": result.error,
            "outbox": asdict(result.outbox) if result.outbox is not None else {},
            "sent": sum(int(e["sent"]) for e in planned),
            "already": sum(int(e["already"]) for e in planned),
        }
    finally:
        connector.close()
        store.close()


if __name__ == "__main__":
    main(sys.argv[1])
