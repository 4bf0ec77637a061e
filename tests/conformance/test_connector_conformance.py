"""One behavioural suite, run against every connector through its sandbox with the real client library.

What a connector must do is the same whatever the CRM: stream every in-scope record once, in pages that
can be resumed; see changes from an overlapping ``since`` (including a commit backdated behind the
cursor); report deletions as tombstones; link contacts to accounts; survive transient faults with the
same result; describe its schema; count its calls.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import pytest

from connectors.base import OBJECT_KINDS, AuthError, Connector, CrmRecord, ObjectKind, Page
from sync_daemon.sandbox.server import Fault
from tests.conformance.drivers import Driver, start_driver

if TYPE_CHECKING:
    from collections.abc import Iterator
    from datetime import datetime

CRMS = ["salesforce", "hubspot"]
OVERLAP = timedelta(minutes=5)


@pytest.fixture(params=CRMS)
def driver(request: pytest.FixtureRequest) -> Iterator[Driver]:
    d = start_driver(request.param, accounts=450, contacts=900)
    yield d
    d.server.stop()


def pull_all(connector: Connector, kind: ObjectKind, since: datetime | None = None) -> list[Page]:
    return list(connector.pull(kind, since))


def records(pages: list[Page]) -> list[CrmRecord]:
    return [r for p in pages for r in p.records]


def live_ids(pages: list[Page]) -> list[str]:
    return [r.id for r in records(pages) if not r.deleted]


@pytest.mark.parametrize("kind", OBJECT_KINDS)
def test_full_pull_returns_every_in_scope_record_once(driver: Driver, kind: ObjectKind) -> None:
    """A first pull yields each in-scope record exactly once, over several pages."""
    pages = pull_all(driver.connector(), kind)
    ids = live_ids(pages)
    assert len(ids) == len(set(ids))
    assert set(ids) == driver.in_scope_ids(kind)
    assert len(pages) > 1


def test_records_carry_canonical_fields_and_aware_times(driver: Driver) -> None:
    """Records cross the seam with canonical names only and timezone-aware modification times."""
    rec = records(pull_all(driver.connector(), "accounts"))[0]
    assert "name" in rec.fields
    assert rec.modified_at.tzinfo is not None
    crm_style = {"Name", "OwnerId", "hubspot_owner_id", "NumberOfEmployees", "numberofemployees"}
    assert not crm_style & set(rec.fields)
    assert {"name", "owner_id", "employees"} <= set(rec.fields)


def test_contacts_are_linked_to_their_account(driver: Driver) -> None:
    """Every contact carries the account the CRM links it to."""
    contacts = records(pull_all(driver.connector(), "contacts"))
    for rec in contacts[:150]:
        assert rec.account_id == driver.expected_account(rec.id)


def _newest(pages: list[Page]) -> datetime:
    return max(r.modified_at for r in records(pages))


def test_incremental_pull_sees_changes_including_a_backdated_commit(driver: Driver) -> None:
    """After a full pull, a pull from the watermark minus the overlap sees a fresh and a backdated change."""
    connector = driver.connector()
    first = pull_all(connector, "accounts")
    watermark = _newest(first)
    fresh, late = sorted(driver.in_scope_ids("accounts"))[:2]
    driver.time.advance(60)
    driver.rename("accounts", fresh, "Fresh Change GmbH")
    driver.rename("accounts", late, "Late Commit Ltd", at=watermark - timedelta(minutes=2))
    changed = {r.id: r for r in records(pull_all(connector, "accounts", watermark - OVERLAP))}
    assert changed[fresh].fields["name"] == "Fresh Change GmbH"
    assert changed[late].fields["name"] == "Late Commit Ltd"
    assert len(changed) < len(driver.in_scope_ids("accounts")) / 2


def test_a_deleted_record_arrives_as_a_tombstone(driver: Driver) -> None:
    """A record deleted (or archived) after a pull comes back once as a tombstone."""
    connector = driver.connector()
    watermark = _newest(pull_all(connector, "contacts"))
    victim = sorted(driver.in_scope_ids("contacts"))[3]
    driver.time.advance(60)
    driver.remove("contacts", victim)
    later = records(pull_all(connector, "contacts", watermark - OVERLAP))
    tombstones = [r for r in later if r.deleted]
    assert [r.id for r in tombstones] == [victim]


def test_a_pull_resumes_right_after_a_page(driver: Driver) -> None:
    """Resuming from a page's token yields exactly the records after that page."""
    connector = driver.connector()
    pages = pull_all(connector, "contacts")
    cut = len(pages) // 2
    token = pages[cut - 1].resume
    assert token is not None
    rest = list(connector.pull("contacts", None, token))
    assert live_ids(rest) == live_ids(pages[cut:])


def test_describe_knows_every_mapped_field(driver: Driver) -> None:
    """The CRM schema lists each field the mapping reads or writes."""
    connector = driver.connector()
    for kind in OBJECT_KINDS:
        schema = connector.describe(kind)
        names = {n.lower() for n in schema.fields}
        assert {"name", "email"} & names or kind == "accounts"
        assert len(schema.fields) >= 10


def test_usage_counts_the_calls_the_sandbox_saw(driver: Driver) -> None:
    """The connector's call counter matches the sandbox's call log."""
    connector = driver.connector()
    driver.app.reset_calls()
    pull_all(connector, "accounts")
    assert connector.usage().calls == len(driver.app.calls)


FAULTS = {
    "429 with Retry-After": Fault("status", status=429, headers={"Retry-After": "3"}, times=2),
    "429 without Retry-After": Fault("status", status=429, times=2),
    "503": Fault("status", status=503, body={"message": "unavailable"}, times=2),
    "connection reset": Fault("reset", times=2),
}


@pytest.mark.parametrize("fault", FAULTS.values(), ids=FAULTS.keys())
def test_transient_faults_do_not_change_the_result(driver: Driver, fault: Fault) -> None:
    """Rate limits, server errors and resets mid-pull are retried to the same records."""
    clean = live_ids(pull_all(driver.connector(), "contacts"))
    body = fault.body
    if fault.status == 429 and driver.crm == "hubspot":
        body = {"status": "error", "message": "secondly limit", "policyName": "TEN_SECONDLY_ROLLING"}
    if fault.status == 429 and driver.crm == "salesforce":
        body = [{"message": "Too many requests", "errorCode": "REQUEST_LIMIT_EXCEEDED_CONCURRENT"}]
    driver.inject(
        Fault(
            fault.kind,
            path=driver.query_path("contacts"),
            status=fault.status,
            body=body,
            headers=dict(fault.headers),
            times=fault.times,
        )
    )
    slept_before = len(driver.time.sleeps)
    faulty = live_ids(pull_all(driver.connector(), "contacts"))
    assert faulty == clean
    assert len(driver.time.sleeps) - slept_before >= 2
    if "Retry-After" in fault.headers:
        assert 3.0 in driver.time.sleeps


def test_expired_credentials_mid_pull(driver: Driver) -> None:
    """Salesforce logs in again and finishes the pull; a HubSpot private-app token cannot renew: AuthError."""
    connector = driver.connector()
    clean = live_ids(pull_all(driver.connector(), "contacts"))
    pages = connector.pull("contacts", None)
    first = next(pages)
    driver.expire_credentials()
    if driver.crm == "hubspot":
        with pytest.raises(AuthError):
            list(pages)
        return
    rest = list(pages)
    assert live_ids([first, *rest]) == clean
