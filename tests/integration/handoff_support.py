"""Helpers of the handoff acceptance tests: whole cycles against the sandboxes, staged accounts, notes read back.

A cycle here is the daemon's own: settings, plan templates, handoff policy and note template loaded by the
production wiring (``load_handoff_setup``, ``push_setup``), pushed through ``run_cycle`` with a real connector
to the sandbox, on the sandbox's fake clock. Accounts are made ready the way people would make them ready: by
editing their fields in the CRM (ticked steps, usage KPIs, revenue, a CSM, the sale date).

What the CRM holds is read from the sandbox's own state, never through a connector: the note's HTML (a
ContentNote's base64 ``Content`` on Salesforce, ``hs_note_body`` on HubSpot) is parsed back to lines of text
here, and every tag it contains is collected so a test can prove no markup was injected.

``python -m tests.integration.handoff_support JOB`` runs one real cycle in a child process that SIGKILLs itself
inside the outbox drain, before or after the note's CRM call (see :func:`main`).
"""

from __future__ import annotations

import base64
import sys
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import TYPE_CHECKING

from connectors.retry import RetryPolicy, RetrySettings
from sync_daemon.commands.sync import push_setup
from sync_daemon.config.loader import load_mapping
from sync_daemon.domain.personas import PersonaClassifier
from sync_daemon.engine import CycleOptions, CycleResult, run_cycle
from sync_daemon.intents import NOTE
from sync_daemon.sandbox.hubspot_data import format_datetime
from sync_daemon.settings import load_settings
from sync_daemon.store import Store
from sync_daemon.wiring import load_handoff_setup, load_plan_set
from tests.faketime import FakeTime
from tests.integration.outbox_support.dying import KilledCycle, die_in
from tests.integration.outbox_support.sandboxes import SandboxAddress
from tests.unit.handoff_note.builders import HEADINGS

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from connectors.base import Connector
    from sync_daemon.config.models import MappingFile
    from tests.conformance.drivers import Driver

SECTIONS = HEADINGS  # the default template's section headings, in the order the note shows them
# The tags the connectors turn plain text into; anything else in a stored note is injected markup.
NOTE_TAGS = frozenset({"p", "br", "ul", "li", "strong"})


# -- one cycle, as the daemon wires it ---------------------------------------------------------------


def settings_env(driver: Driver, config_dir: Path | None = None, mapping_file: Path | None = None) -> dict[str, str]:
    """The environment a daemon for ``driver``'s CRM reads (its own configuration folder and mapping, if given)."""
    env = {"SYNC_CRM": driver.crm}
    if config_dir is not None:
        env["SYNC_CONFIG_DIR"] = str(config_dir)
    if mapping_file is not None:
        env["SYNC_MAPPING_FILE"] = str(mapping_file)
    return env


def connector_for(address: SandboxAddress, mapping: MappingFile, time: FakeTime, *, attempts: int = 6) -> Connector:
    """A real connector to the sandbox at ``address`` with ``mapping`` (the daemon's own), on fake time."""
    retry = RetryPolicy(RetrySettings(attempts=attempts), sleep=time.sleep)
    if address.crm == "salesforce":
        from connectors.salesforce import ClientCredentialsAuth, SalesforceConnector  # noqa: PLC0415
        from sync_daemon.sandbox import salesforce as sf  # noqa: PLC0415

        auth = ClientCredentialsAuth(sf.CONSUMER_KEY, sf.CONSUMER_SECRET, login_url=address.url)
        ca_file = Path(address.ca_file) if address.ca_file else None
        return SalesforceConnector(mapping, auth, ca_bundle=ca_file, retry=retry)
    from connectors.hubspot import HubSpotConnector, RateLimiter  # noqa: PLC0415
    from sync_daemon.sandbox import hubspot as hs  # noqa: PLC0415

    limiter = RateLimiter(180, clock=time.monotonic, sleep=time.sleep)
    return HubSpotConnector(mapping, hs.ACCESS_TOKEN, base_url=address.url, retry=retry, limiter=limiter,
                            clock=time.now, timezone="America/New_York")  # fmt: skip


def daemon_mapping(env: Mapping[str, str]) -> MappingFile:
    """The mapping file the environment names (the shipped one of its CRM unless SYNC_MAPPING_FILE says)."""
    return load_mapping(load_settings(env, default_secrets_dir=None).mapping_path())


def daemon_cycle(
    env: Mapping[str, str], store: Store, connector: Connector, clock: Callable[[], datetime]
) -> CycleResult:
    """One ``sync --force`` cycle as the CLI wires it (plans, handoff, personas), on ``clock``'s day."""
    settings = load_settings(env, default_secrets_dir=None)
    mapping = daemon_mapping(env)
    plans = load_plan_set(settings, mapping)
    setup = load_handoff_setup(settings, mapping, plans)
    now = clock()
    push = push_setup(settings, mapping, force=True, plans=plans, store=store, crm=mapping.crm, now=now,
                      handoff=setup)  # fmt: skip
    return run_cycle(connector, store, options=CycleOptions(), clock=clock,
                     classifier=PersonaClassifier.from_rules(mapping.personas), push_setup=push)  # fmt: skip


def cycle(driver: Driver, store: Store, env: Mapping[str, str] | None = None, *, attempts: int = 1) -> CycleResult:
    """One daemon cycle against ``driver``'s sandbox, with the mapping the environment names.

    ``attempts=1`` (the default) leaves every recovery of a lost reply to the outbox, in a later cycle.
    """
    env = env or settings_env(driver)
    connector = connector_for(SandboxAddress.of(driver), daemon_mapping(env), driver.time, attempts=attempts)
    try:
        return daemon_cycle(env, store, connector, driver.time.now)
    finally:
        connector.close()


# -- staging accounts in the CRM ---------------------------------------------------------------------


@dataclass(frozen=True)
class Staged:
    """What a test set on an account in the CRM (canonical field names), to assert the note against."""

    account_id: str
    fields: dict[str, object] = field(default_factory=dict)


def ready_fields(today: date, *, sale_days_ago: int = 30) -> dict[str, object]:
    """Every field a ready SMB account needs: first value reached, fully adopted, 4,500 MRR, a CSM, a recent sale."""
    sale = today - timedelta(days=sale_days_ago)
    return {
        "csm_name": "Ada Lovelace",
        "csm_email": "ada.lovelace@vendor.example",
        "csm_phone": "+1 555 0100",
        "close_date": sale,
        "onboarding_start": sale,
        "contract_value": 12_000,
        "employees": 40,
        "onboarding_steps": ["kickoff", "data_imported", "admins_trained", "first_value"],
        "handoff_override": None,
        "goals": "Cut the ticket backlog by 30%",
        "active_users": 12,
        "licensed_seats": 20,
        "mrr": 4_500,
        "integration_connected": True,
        "last_login_at": datetime(2026, 1, 30, 16, 45, tzinfo=UTC),
        "daily_active_pct": 80,
    }


def _crm_name(mapping: MappingFile, name: str) -> str:
    accounts = mapping.accounts
    return accounts.pull.get(name) or accounts.kpis[name]


def _hubspot_value(name: str, value: object) -> str | None:
    """A value as HubSpot stores it: strings throughout; the sale date is a datetime at UTC midnight (as HubSpot's)."""
    if isinstance(value, date) and not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day, tzinfo=UTC) if name == "close_date" else value.isoformat()
    if isinstance(value, datetime):
        return format_datetime(value)
    if isinstance(value, list):
        return ";".join(str(v) for v in value)
    if isinstance(value, bool):
        return str(value).lower()
    return None if value is None else str(value)


def _salesforce_value(value: object) -> object:
    if isinstance(value, list):
        return ";".join(str(v) for v in value) or None
    return float(value) if isinstance(value, int) and not isinstance(value, bool) else value


def set_account(driver: Driver, account_id: str, values: Mapping[str, object]) -> None:
    """A person edits the account's fields in the CRM (canonical pull and KPI names)."""
    mapping = driver.mapping
    if driver.crm == "salesforce":
        wire = {_crm_name(mapping, k): _salesforce_value(v) for k, v in values.items()}
        driver.app.update("Account", account_id, **wire)
    else:
        wire_hs = {_crm_name(mapping, k): _hubspot_value(k, v) for k, v in values.items()}
        driver.app.update("companies", account_id, **wire_hs)


def stage(driver: Driver, account_id: str, values: Mapping[str, object]) -> Staged:
    """Set ``values`` on the account in the CRM and remember them."""
    set_account(driver, account_id, values)
    return Staged(account_id, dict(values))


def customers(driver: Driver, n: int) -> list[str]:
    """The first ``n`` accounts in the daemon's scope, in the sandbox's order."""
    sobject = "Account" if driver.crm == "salesforce" else "companies"
    scoped = driver.in_scope_ids("accounts")
    ids = [str(i) for i in driver.app.ids(sobject) if str(i) in scoped][:n]
    assert len(ids) == n, f"the sandbox holds fewer than {n} customer accounts"
    return ids


def add_contact(driver: Driver, account_id: str, first: str, last: str, title: str) -> str:
    """A person adds a contact (with an email) to the account; its title alone places its persona (no buying role)."""
    email = f"{first}.{last}@customer.example".casefold().replace(" ", "").replace("'", "")
    if driver.crm == "salesforce":
        fields = {"AccountId": account_id, "FirstName": first, "LastName": last, "Title": title, "Email": email}
        return str(driver.app.insert("Contact", fields))
    props = {"firstname": first, "lastname": last, "jobtitle": title, "email": email}
    contact = str(driver.app.create("contacts", props))
    driver.app.associate(contact, account_id)
    return contact


# -- notes read back from the sandbox ------------------------------------------------------------------


@dataclass(frozen=True)
class StoredNote:
    """A note as the sandbox holds it on an account: its title (Salesforce) and its HTML body."""

    id: str
    title: str
    html: str


def notes_on(driver: Driver, account_id: str) -> list[StoredNote]:
    """Every note linked to (Salesforce) or associated with (HubSpot) the account, in creation order."""
    app = driver.app
    if driver.crm == "salesforce":
        out = []
        for link_id in app.ids("ContentDocumentLink"):
            link = app.record("ContentDocumentLink", link_id)
            if link["LinkedEntityId"] == account_id:
                note = app.record("ContentNote", link["ContentDocumentId"])
                body = base64.b64decode(note["Content"] or "").decode("utf-8")
                out.append(StoredNote(str(note["Id"]), str(note["Title"]), body))
        return out
    found = []
    for note_id in app.ids("notes"):
        with app.lock:
            companies = set(app.edges[("notes", "companies")].get(int(note_id), {}))
        if int(account_id) in companies:
            found.append(StoredNote(note_id, "", str(app.get("notes", note_id)["hs_note_body"] or "")))
    return found


class _NoteText(HTMLParser):
    """The text of a note's HTML, one line per ``<p>`` line or ``<li>`` (``- `` prefixed), every tag seen."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self.tags: list[str] = []
        self._line: list[str] = []

    def _flush(self) -> None:
        text = "".join(self._line).strip()
        if text:
            self.lines.append(text)
        self._line = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        del attrs  # the connectors write none; a tag is injected markup whatever its attributes
        self.tags.append(tag)
        if tag in {"p", "br", "ul", "li"}:
            self._flush()
        if tag == "li":
            self._line.append("- ")

    def handle_endtag(self, tag: str) -> None:
        if tag in {"p", "li", "ul"}:
            self._flush()

    def handle_data(self, data: str) -> None:
        self._line.append(data)

    def close(self) -> None:
        super().close()
        self._flush()


@dataclass(frozen=True)
class NoteText:
    """A stored note's HTML read back as lines of text, and the tags it used."""

    lines: list[str]
    tags: frozenset[str]

    @classmethod
    def of(cls, html_text: str) -> NoteText:
        """Parse the HTML (entities unescaped)."""
        parser = _NoteText()
        parser.feed(html_text)
        parser.close()
        return cls(parser.lines, frozenset(parser.tags))


def sections(lines: list[str]) -> dict[str, list[str]]:
    """The lines under each heading of :data:`SECTIONS`, in order (the lines before the first heading under ``""``)."""
    out: dict[str, list[str]] = {"": []}
    current = ""
    for line in lines:
        if line in SECTIONS:
            current = line
            out[current] = []
        else:
            out[current].append(line)
    return out


def text_lines(text: str) -> list[str]:
    """The non-blank lines of plain note text, stripped: what the CRM's HTML of that text reads back as."""
    return [line.strip() for line in text.splitlines() if line.strip()]


# -- a daemon SIGKILLed inside the drain -----------------------------------------------------------------


def main(raw: str) -> None:
    """Run one real daemon cycle against the parent's sandbox and die in the drain's note (see :class:`KilledCycle`)."""
    job = KilledCycle.parse(raw)
    address = SandboxAddress.from_json(job.sandbox)
    now = datetime.fromisoformat(job.now)
    die_in(NOTE, job.mode)
    env = {"SYNC_CRM": address.crm}
    connector = connector_for(address, daemon_mapping(env), FakeTime(now), attempts=1)
    daemon_cycle(env, Store(job.store_url), connector, lambda: now)
    raise SystemExit("the cycle ended without reaching a note")


if __name__ == "__main__":
    main(sys.argv[1])
