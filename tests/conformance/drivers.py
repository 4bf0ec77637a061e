"""Drivers: what the conformance suite needs from each sandbox, behind one small interface.

Each driver starts its CRM's sandbox, builds the real connector against it (real client library, fake
time), and translates the suite's requests ("change this account", "delete that contact") into the
sandbox's own test hooks. The suite itself never learns which CRM it talks to.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from connectors.retry import RetryPolicy, RetrySettings
from sync_daemon.config.loader import load_mapping
from sync_daemon.resources import shipped
from sync_daemon.sandbox.server import Clock, Fault, SandboxApp, SandboxServer
from tests.faketime import FakeTime

if TYPE_CHECKING:
    from collections.abc import Iterable
    from datetime import datetime

    from connectors.base import Connector, ObjectKind
    from sync_daemon.config.models import MappingFile


@dataclass
class Driver:
    """A running sandbox, a connector pointed at it, and the CRM-specific hooks."""

    crm: str
    app: Any
    server: SandboxServer
    time: FakeTime
    objects: dict[str, str] = field(default_factory=dict)

    def connector(self) -> Connector:
        """A fresh connector (fresh session, fresh counters)."""
        raise NotImplementedError

    def in_scope_ids(self, kind: ObjectKind) -> set[str]:
        """Ids a full pull must return for ``kind``."""
        raise NotImplementedError

    def rename(self, kind: ObjectKind, record_id: str, value: str, at: datetime | None = None) -> None:
        """Change the record's name (accounts) or last name (contacts), optionally backdated."""
        raise NotImplementedError

    def remove(self, kind: ObjectKind, record_id: str) -> None:
        """Delete (Salesforce) or archive (HubSpot) a record."""
        raise NotImplementedError

    def expected_account(self, contact_id: str) -> str | None:
        """The account a contact is linked to in the CRM."""
        raise NotImplementedError

    def expire_credentials(self) -> None:
        """Make the current session or token answer 401."""
        raise NotImplementedError

    def query_path(self, kind: ObjectKind) -> str:
        """A regex of the path a pull page is read from (for fault injection)."""
        raise NotImplementedError

    def inject(self, fault: Fault) -> None:
        """Queue a fault."""
        self.app.inject(fault)

    @cached_property
    def mapping(self) -> MappingFile:
        """The shipped mapping of this CRM (its push fields name the CRM fields the daemon owns)."""
        return load_mapping(shipped(f"mappings/{self.crm}.yaml"))

    def crm_field(self, kind: ObjectKind, name: str) -> str:
        """The CRM's name of the canonical field ``name`` (pulled, KPI or pushed)."""
        return self.mapping.pulled_fields(kind)[name]

    def value(self, kind: ObjectKind, record_id: str, name: str) -> object:
        """What the CRM holds in the push field ``name`` of a record (its own wire form)."""
        raise NotImplementedError

    def edit(self, kind: ObjectKind, record_id: str, name: str, value: object) -> None:
        """A person changes the push field ``name`` of a record in the CRM."""
        raise NotImplementedError

    def add_validation_rule(self, kind: ObjectKind, record_ids: Iterable[str], message: str) -> None:
        """Writes to these records are refused as the CRM's validation rules refuse them."""
        raise NotImplementedError

    def clear_validation_rules(self) -> None:
        """The records were fixed: every validation rule goes."""
        self.app.clear_validation_rules()

    def write_path(self, kind: ObjectKind) -> tuple[str, str]:
        """The method and a path regex of the CRM's batched field-update call (for counting writes)."""
        raise NotImplementedError

    def write_calls(self, kind: ObjectKind = "accounts") -> int:
        """Batched field-update calls the sandbox has served so far for ``kind``."""
        method, path = self.write_path(kind)
        return int(self.app.count(method, path))

    def retry(self) -> RetryPolicy:
        """The retry policy with fake sleeps."""
        return RetryPolicy(RetrySettings(attempts=6), sleep=self.time.sleep)


class SalesforceDriver(Driver):
    """Salesforce sandbox over TLS; client-credentials login against it."""

    def connector(self) -> Connector:
        """A SalesforceConnector with small pages so pulls span several."""
        from connectors.salesforce.auth import ClientCredentialsAuth  # noqa: PLC0415
        from connectors.salesforce.connector import SalesforceConnector  # noqa: PLC0415
        from sync_daemon.sandbox import salesforce as sf  # noqa: PLC0415

        auth = ClientCredentialsAuth(sf.CONSUMER_KEY, sf.CONSUMER_SECRET, login_url=self.server.url)
        mapping = load_mapping(shipped("mappings/salesforce.yaml"))
        return SalesforceConnector(mapping, auth, ca_bundle=self.server.ca_file, retry=self.retry(), page_size=200)

    def _sobject(self, kind: ObjectKind) -> str:
        return "Account" if kind == "accounts" else "Contact"

    def in_scope_ids(self, kind: ObjectKind) -> set[str]:
        """Customer accounts; every contact."""
        ids = self.app.ids(self._sobject(kind))
        if kind == "contacts":
            return set(ids)
        return {i for i in ids if str(self.app.record("Account", i)["Type"]).startswith("Customer")}

    def rename(self, kind: ObjectKind, record_id: str, value: str, at: datetime | None = None) -> None:
        """Update Name / LastName."""
        name = "Name" if kind == "accounts" else "LastName"
        self.app.update(self._sobject(kind), record_id, modstamp=at, **{name: value})

    def remove(self, kind: ObjectKind, record_id: str) -> None:
        """Soft-delete."""
        self.app.delete(self._sobject(kind), record_id)

    def expected_account(self, contact_id: str) -> str | None:
        """The contact's AccountId."""
        value = self.app.record("Contact", contact_id)["AccountId"]
        return str(value) if value else None

    def expire_credentials(self) -> None:
        """Every issued session answers 401 INVALID_SESSION_ID."""
        self.app.expire_sessions()

    def query_path(self, kind: ObjectKind) -> str:
        """The query endpoint (queryAll and its next-records locators), the same for every object."""
        del kind
        return r"/services/data/v[\d.]+/query"

    def value(self, kind: ObjectKind, record_id: str, name: str) -> object:
        """The field as the REST API returns it."""
        return self.app.record(self._sobject(kind), record_id)[self.crm_field(kind, name)]

    def edit(self, kind: ObjectKind, record_id: str, name: str, value: object) -> None:
        """An update by a person (it bumps SystemModstamp)."""
        self.app.update(self._sobject(kind), record_id, **{self.crm_field(kind, name): value})

    def add_validation_rule(self, kind: ObjectKind, record_ids: Iterable[str], message: str) -> None:
        """FIELD_CUSTOM_VALIDATION_EXCEPTION per record; the rest of a collection lands."""
        self.app.add_validation_rule(self._sobject(kind), record_ids, message)

    def write_path(self, kind: ObjectKind) -> tuple[str, str]:
        """``PATCH composite/sobjects`` (one endpoint for every object)."""
        del kind
        return "PATCH", r"/services/data/v[\d.]+/composite/sobjects$"


class HubSpotDriver(Driver):
    """HubSpot sandbox over plain HTTP; the rate limiter runs on the fake clock."""

    def connector(self) -> Connector:
        """A HubSpotConnector sized to the professional tier, on fake time."""
        from connectors.hubspot import HubSpotConnector, RateLimiter  # noqa: PLC0415
        from sync_daemon.sandbox import hubspot as hs  # noqa: PLC0415

        limiter = RateLimiter(180, clock=self.time.monotonic, sleep=self.time.sleep)
        mapping = load_mapping(shipped("mappings/hubspot.yaml"))
        return HubSpotConnector(
            mapping,
            hs.ACCESS_TOKEN,
            base_url=self.server.url,
            retry=self.retry(),
            limiter=limiter,
            clock=self.time.now,
            timezone="America/New_York",
        )

    def _type(self, kind: ObjectKind) -> str:
        return "companies" if kind == "accounts" else "contacts"

    def in_scope_ids(self, kind: ObjectKind) -> set[str]:
        """Companies in the customer lifecycle stage; every contact."""
        ids = self.app.ids(self._type(kind))
        if kind == "contacts":
            return set(ids)
        return {i for i in ids if self.app.get("companies", i).get("lifecyclestage") == "customer"}

    def rename(self, kind: ObjectKind, record_id: str, value: str, at: datetime | None = None) -> None:
        """Update name / lastname."""
        prop = "name" if kind == "accounts" else "lastname"
        self.app.update(self._type(kind), record_id, modified_at=at, **{prop: value})

    def remove(self, kind: ObjectKind, record_id: str) -> None:
        """Archive."""
        self.app.archive(self._type(kind), record_id)

    def expected_account(self, contact_id: str) -> str | None:
        """The contact's primary company."""
        value = self.app.get("contacts", contact_id).get("associatedcompanyid")
        return str(value) if value else None

    def expire_credentials(self) -> None:
        """The private-app token answers 401 EXPIRED_AUTHENTICATION."""
        self.app.expire_token()

    def query_path(self, kind: ObjectKind) -> str:
        """The search endpoint of the object."""
        return rf"/crm/v3/objects/{self._type(kind)}/search"

    def value(self, kind: ObjectKind, record_id: str, name: str) -> object:
        """The property's stored string (``None`` when unset)."""
        return self.app.get(self._type(kind), record_id)[self.crm_field(kind, name)]

    def edit(self, kind: ObjectKind, record_id: str, name: str, value: object) -> None:
        """An update by a person (it bumps the last-modified date)."""
        self.app.update(self._type(kind), record_id, **{self.crm_field(kind, name): value})

    def add_validation_rule(self, kind: ObjectKind, record_ids: Iterable[str], message: str) -> None:
        """A property validation rule: any batch touching these records is refused whole with 400."""
        self.app.add_validation_rule(self._type(kind), record_ids, message)

    def write_path(self, kind: ObjectKind) -> tuple[str, str]:
        """``POST /crm/v3/objects/{type}/batch/update``."""
        return "POST", rf"/crm/v3/objects/{self._type(kind)}/batch/update$"


def start_driver(crm: str, accounts: int, contacts: int) -> Driver:
    """Start a sandbox for ``crm`` on fake time; the caller stops ``driver.server``."""
    fake = FakeTime()
    app: SandboxApp
    if crm == "salesforce":
        from sync_daemon.sandbox.salesforce import SalesforceSandbox  # noqa: PLC0415

        app = SalesforceSandbox(accounts=accounts, contacts=contacts, clock=Clock(fake.now))
        server = SandboxServer(app, tls=True).start()
        app.base_url = server.url  # type: ignore[attr-defined]
        return SalesforceDriver(crm, app, server, fake)
    from sync_daemon.sandbox.hubspot import HubSpotSandbox  # noqa: PLC0415

    app = HubSpotSandbox(accounts=accounts, contacts=contacts, clock=Clock(fake.now))
    server = SandboxServer(app, tls=False).start()
    return HubSpotDriver(crm, app, server, fake)
