"""The Salesforce connector with the real simple-salesforce against the loopback Salesforce sandbox.

The sandbox speaks TLS with a throwaway CA (simple-salesforce forces https), so every test also
proves that the connector trusts the configured CA bundle. Retries sleep through an injected no-op
and the sandbox's clock is fake, so no test waits.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pydantic import SecretStr
from ruamel.yaml import YAML

from connectors.base import AuthError, BudgetExhaustedError, Connector, CrmRecord, ObjectKind, Page
from connectors.retry import RetryPolicy, RetrySettings
from connectors.salesforce import (
    ClientCredentialsAuth,
    JwtAuth,
    PasswordAuth,
    SalesforceConnector,
    TokenAuth,
)
from sync_daemon.config.models import MappingFile
from sync_daemon.sandbox.salesforce import (
    CONSUMER_KEY,
    CONSUMER_SECRET,
    PASSWORD,
    SECURITY_TOKEN,
    USERNAME,
    SalesforceSandbox,
)
from sync_daemon.sandbox.server import Clock, Fault, SandboxServer

if TYPE_CHECKING:
    from collections.abc import Iterator

    from connectors.salesforce.auth import SalesforceAuth

MAPPING = MappingFile.model_validate(YAML(typ="safe").load(Path(__file__).parents[2] / "mappings" / "salesforce.yaml"))
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
QUERY_PATH = r"/services/data/v[\d.]+/query(All)?"


class Org:
    """A running sandbox, its server, a fake clock, and connectors built against it."""

    def __init__(self, app: SalesforceSandbox, server: SandboxServer, clock: list[datetime]) -> None:
        """Keep the pieces; connectors made here are closed by the fixture."""
        self.app = app
        self.server = server
        self.clock = clock
        self.sleeps: list[float] = []
        self._connectors: list[SalesforceConnector] = []

    def client_credentials(self) -> ClientCredentialsAuth:
        """The app's client-credentials login at the sandbox's URL."""
        return ClientCredentialsAuth(CONSUMER_KEY, SecretStr(CONSUMER_SECRET), self.server.url)

    def connector(self, auth: SalesforceAuth | None = None, **kwargs: Any) -> SalesforceConnector:
        """A connector trusting the sandbox's CA, page size 200, retries that do not wait."""
        retry = RetryPolicy(RetrySettings(attempts=5), sleep=self.sleeps.append)
        kwargs.setdefault("page_size", 200)
        conn = SalesforceConnector(
            MAPPING,
            auth or self.client_credentials(),
            ca_bundle=self.server.ca_file,
            retry=retry,
            **kwargs,
        )
        self._connectors.append(conn)
        return conn

    def tick(self, seconds: float = 1.0) -> datetime:
        """Move the sandbox's clock on."""
        self.clock[0] += timedelta(seconds=seconds)
        return self.clock[0]

    def close(self) -> None:
        """Close every connector made here so far."""
        for conn in self._connectors:
            conn.close()
        self._connectors.clear()


def make_org(accounts: int, contacts: int) -> Iterator[Org]:
    clock = [NOW]
    app = SalesforceSandbox(accounts=accounts, contacts=contacts, seed=11, clock=Clock(lambda: clock[0]))
    with SandboxServer(app, tls=True) as server:
        app.base_url = server.url
        org = Org(app, server, clock)
        yield org
        org.close()


@pytest.fixture(scope="module")
def small_org() -> Iterator[Org]:
    """60 accounts and 240 contacts; one server per module (stopping one takes half a second)."""
    yield from make_org(accounts=60, contacts=240)


@pytest.fixture
def org(small_org: Org) -> Iterator[Org]:
    """The small org with no leftover faults, budget or sleeps; tests read expectations live."""
    small_org.sleeps.clear()
    yield small_org
    small_org.close()
    small_org.app.faults.clear()
    small_org.app.set_api_usage(0)


@pytest.fixture(scope="module")
def big_org() -> Iterator[Org]:
    """500 accounts and 2,000 contacts, shared by the read-only tests."""
    yield from make_org(accounts=500, contacts=2000)


def records(pages: list[Page]) -> list[CrmRecord]:
    return [r for p in pages for r in p.records]


def ids(pages: list[Page]) -> list[str]:
    return [r.id for r in records(pages)]


def customer_ids(app: SalesforceSandbox) -> set[str]:
    scope = {"Customer", "Customer - Direct", "Customer - Channel"}
    return {i for i in app.ids("Account") if app.record("Account", i)["Type"] in scope}


def pull(conn: SalesforceConnector, kind: ObjectKind, since: datetime | None = None) -> list[Page]:
    return list(conn.pull(kind, since))


def test_the_connector_satisfies_the_seam(org: Org) -> None:
    """The Salesforce connector is a Connector as the engine types it."""
    assert isinstance(org.connector(), Connector)


def test_a_full_pull_reads_every_record_in_scope_once(big_org: Org) -> None:
    """500 accounts / 2,000 contacts at 200 a page: every in-scope record once, in keyset order."""
    conn = big_org.connector()
    accounts, contacts = pull(conn, "accounts"), pull(conn, "contacts")
    assert set(ids(accounts)) == customer_ids(big_org.app)
    assert len(ids(accounts)) == len(set(ids(accounts)))
    assert sorted(ids(contacts)) == sorted(big_org.app.ids("Contact", include_deleted=True))
    assert len(contacts) == 10
    assert all(len(p.records) == 200 for p in contacts)
    keys = [(r.modified_at, r.id) for r in records(contacts)]
    assert keys == sorted(keys)
    linked = {r.account_id for r in records(contacts)}
    assert linked <= set(big_org.app.ids("Account"))
    assert conn.skipped == 0


def test_pages_resume_where_they_left_off(big_org: Org) -> None:
    """Pulling again from any page's token yields exactly the records after it."""
    conn = big_org.connector()
    pages = pull(conn, "contacts")
    resumed = list(conn.pull("contacts", None, resume=pages[3].resume))
    assert ids(resumed) == ids(pages[4:])


def test_describe_and_usage_come_from_the_org(big_org: Org) -> None:
    """Describe lists the mapped fields with their types; usage reports the daily budget."""
    conn = big_org.connector()
    schema = conn.describe("accounts")
    assert schema.fields["Onboarding_Steps__c"].type == "multipicklist"
    assert schema.fields["Onboarding_Progress__c"].updateable
    usage = conn.usage()
    assert usage.limit == big_org.app.api_limit
    assert usage.used is not None
    assert usage.calls == 2  # the login and the describe


def test_deleted_records_arrive_as_tombstones(org: Org) -> None:
    """A contact deleted since the last pull comes back once, marked deleted."""
    conn = org.connector()
    watermark = max(r.modified_at for r in records(pull(conn, "contacts")))
    gone = org.app.ids("Contact")[5]
    org.tick()
    org.app.delete("Contact", gone)
    changed = records(pull(conn, "contacts", watermark))
    assert [(r.id, r.deleted) for r in changed if r.id == gone] == [(gone, True)]


def test_a_backdated_commit_is_caught_by_the_overlap(org: Org) -> None:
    """A record committed with a stamp behind the watermark is read by an overlapping since."""
    conn = org.connector()
    watermark = max(r.modified_at for r in records(pull(conn, "contacts")))
    late = org.app.ids("Contact")[7]
    org.app.update("Contact", late, modstamp=watermark - timedelta(seconds=90), Title="VP Sales")
    strict = records(pull(conn, "contacts", watermark))
    overlapping = records(pull(conn, "contacts", watermark - timedelta(minutes=5)))
    assert late not in {r.id for r in strict}
    assert [r.fields["title"] for r in overlapping if r.id == late] == ["VP Sales"]


def test_an_expired_session_mid_pull_is_renewed(org: Org) -> None:
    """Sessions expiring between pages cost one re-login; the pull completes without duplicates."""
    conn = org.connector()
    got: list[Page] = []
    for page in conn.pull("contacts", None):
        got.append(page)
        if len(got) == 1:
            org.app.expire_sessions()
    assert sorted(ids(got)) == sorted(org.app.ids("Contact", include_deleted=True))
    assert conn.reauths == 1


def test_a_ready_token_that_expires_is_an_auth_error(org: Org) -> None:
    """A ready token cannot be renewed: the pull stops with AuthError, naming the way out."""
    conn = org.connector(TokenAuth(org.server.url, SecretStr(org.app.issue_token())))
    assert ids(pull(conn, "accounts"))
    org.app.expire_sessions()
    with pytest.raises(AuthError, match="JWT bearer or client credentials"):
        pull(conn, "accounts")


def test_jwt_bearer_and_password_logins_work(org: Org) -> None:
    """The JWT bearer flow (key registered with the org) and the SOAP password login both pull."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    org.app.jwt_public_key = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    auths: list[SalesforceAuth] = [
        JwtAuth(USERNAME, CONSUMER_KEY, SecretStr(private), org.server.url),
        PasswordAuth(USERNAME, SecretStr(PASSWORD), SecretStr(SECURITY_TOKEN), org.server.url),
    ]
    expected = customer_ids(org.app)
    for auth in auths:
        assert set(ids(pull(org.connector(auth), "accounts"))) == expected


@pytest.mark.parametrize("flow", ["client_credentials", "soap"])
def test_wrong_credentials_are_an_auth_error(org: Org, flow: str) -> None:
    """A refused secret or password stops at once (no retries), its value nowhere in the error."""
    wrong = SecretStr("not-the-secret")
    bad: SalesforceAuth = (
        ClientCredentialsAuth(CONSUMER_KEY, wrong, org.server.url)
        if flow == "client_credentials"
        else PasswordAuth(USERNAME, wrong, SecretStr(SECURITY_TOKEN), org.server.url)
    )
    with pytest.raises(AuthError, match=r"invalid_client|INVALID_LOGIN") as info:
        pull(org.connector(bad), "accounts")
    assert "not-the-secret" not in str(info.value)
    assert org.sleeps == []


@pytest.mark.parametrize(
    "faults",
    [
        [Fault("status", "GET", QUERY_PATH, times=2, status=503, body="<html>unavailable</html>")],
        [Fault("reset", "GET", QUERY_PATH)],
        [Fault("status", "GET", QUERY_PATH, status=429, headers={"Retry-After": "3"}, body="")],
        [
            Fault("status", "GET", QUERY_PATH, status=500, body=[{"errorCode": "UNKNOWN_EXCEPTION"}]),
            Fault("reset", "POST", "/services/oauth2/token"),
        ],
    ],
    ids=["503-twice", "reset", "429-retry-after", "500-and-login-reset"],
)
def test_transient_faults_give_the_same_result(org: Org, faults: list[Fault]) -> None:
    """With 5xx, 429 and connection resets injected, the pull returns what a clean one does."""
    clean = ids(pull(org.connector(), "contacts"))
    expected_retries = sum(f.times for f in faults)  # faults count down as they fire
    for fault in faults:
        org.app.inject(fault)
    faulty = org.connector()
    assert ids(pull(faulty, "contacts")) == clean
    assert len(org.sleeps) == expected_retries
    if any(f.headers.get("Retry-After") for f in faults):
        assert 3.0 in org.sleeps


def test_expired_query_locators_restart_without_duplicates(org: Org) -> None:
    """An expired nextRecordsUrl restarts the query by keyset: nothing lost, nothing twice."""
    conn = org.connector()
    got: list[Page] = []
    for page in conn.pull("contacts", None):
        got.append(page)
        if len(got) == 1:
            org.app.expire_query_locators()
    keys = [(r.modified_at, r.id) for r in records(got)]
    assert keys == sorted(set(keys))
    assert set(ids(got)) == set(org.app.ids("Contact", include_deleted=True))


def test_a_spent_budget_parks_the_pull_and_the_token_resumes_it(org: Org) -> None:
    """REQUEST_LIMIT_EXCEEDED raises BudgetExhaustedError; the last page's token resumes later."""
    conn = org.connector()
    got: list[Page] = []

    def spend_budget_after_each_page() -> None:
        for page in conn.pull("contacts", None):
            got.append(page)
            org.app.set_api_usage(org.app.api_limit)

    with pytest.raises(BudgetExhaustedError):
        spend_budget_after_each_page()
    assert len(got) == 1
    assert conn.usage().remaining == 0
    assert org.sleeps == []
    org.app.set_api_usage(0)
    rest = list(conn.pull("contacts", None, resume=got[-1].resume))
    assert sorted(ids(got) + ids(rest)) == sorted(org.app.ids("Contact", include_deleted=True))


def test_the_environment_ca_bundle_does_not_break_the_configured_one(
    org: Org, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """REQUESTS_CA_BUNDLE pointing elsewhere does not stop the connector trusting its CA bundle."""
    other = tmp_path / "other-ca.pem"
    other.write_text(json.dumps("not a certificate"))
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(other))
    assert set(ids(pull(org.connector(), "accounts"))) == customer_ids(org.app)
