"""The Salesforce write side with the real simple-salesforce against the loopback Salesforce sandbox.

Call counts come from the sandbox's own call log; the sandbox validates every write against its
describe (types, restricted picklists, deleted records), so per-record errors are the org's, not ours.
Time is fake: retry waits move the clock instead of sleeping.
"""

from __future__ import annotations

import base64
import math
from datetime import UTC, date, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

import pytest

from connectors.base import Note, RecordUpdate, RetriableError, WriteResult
from connectors.retry import RetryPolicy, RetrySettings
from connectors.salesforce import ClientCredentialsAuth, SalesforceConnector
from sync_daemon.config.loader import load_mapping
from sync_daemon.config.models import MappingFile
from sync_daemon.resources import shipped
from sync_daemon.sandbox import salesforce as sf
from sync_daemon.sandbox.server import Fault
from tests.conformance.drivers import start_driver

if TYPE_CHECKING:
    from collections.abc import Iterator

    from connectors.base import ObjectKind
    from tests.conformance.drivers import Driver

PATCHES = r"/composite/sobjects$"
COMPOSITE = r"/composite$"


def extended_mapping() -> MappingFile:
    """The shipped mapping plus push fields of every wire type (datetime, checkbox, multi-select, restricted)."""
    raw = load_mapping(shipped("mappings/salesforce.yaml")).model_dump()
    raw["accounts"]["push"].update(
        {
            "last_login_at": "Last_Login__c",
            "integration_connected": "Integration_Connected__c",
            "onboarding_steps": "Onboarding_Steps__c",
            "tier": "Plan_Tier__c",
        }
    )
    return MappingFile.model_validate(raw)


class Org:
    """A sandbox on fake time and the connectors built against it (closed at the end)."""

    def __init__(self, driver: Driver) -> None:
        """Keep the driver; connectors come from :meth:`connector`."""
        self.driver = driver
        self.app: sf.SalesforceSandbox = driver.app
        self._open: list[SalesforceConnector] = []

    def connector(self, mapping: MappingFile | None = None, attempts: int = 6) -> SalesforceConnector:
        """A connector logging in with client credentials, retries sleeping on the fake clock."""
        auth = ClientCredentialsAuth(sf.CONSUMER_KEY, sf.CONSUMER_SECRET, login_url=self.driver.server.url)
        conn = SalesforceConnector(
            mapping or extended_mapping(),
            auth,
            ca_bundle=self.driver.server.ca_file,
            retry=RetryPolicy(RetrySettings(attempts=attempts), sleep=self.driver.time.sleep),
        )
        self._open.append(conn)
        return conn

    def ids(self, sobject: str, n: int) -> list[str]:
        """The first ``n`` live ids of an object (at least ``n`` must exist)."""
        ids = self.app.ids(sobject)[:n]
        assert len(ids) == n
        return ids

    def close(self) -> None:
        """Close every connector, then stop the server."""
        for conn in self._open:
            conn.close()
        self.driver.server.stop()


@pytest.fixture
def org(request: pytest.FixtureRequest) -> Iterator[Org]:
    """A sandbox with 250 accounts and 300 contacts (or ``@pytest.mark.parametrize``'d ``size`` contacts)."""
    contacts = max(300, getattr(request, "param", 0))
    driver = start_driver("salesforce", 250, contacts)
    made = Org(driver)
    yield made
    made.close()


def written(conn: SalesforceConnector, kind: ObjectKind, updates: list[RecordUpdate]) -> list[WriteResult]:
    return [r for batch in conn.write(kind, updates) for r in batch]


@pytest.mark.parametrize(("org", "n"), [(0, 1), (0, 199), (0, 200), (0, 201), (10_000, 10_000)], indirect=["org"])
def test_n_changed_records_take_exactly_ceil_n_over_200_write_calls(org: Org, n: int) -> None:
    """N updates land with exactly ceil(N/200) PATCH composite/sobjects calls, for N = 1 ... 10,000."""
    conn = org.connector()
    ids = org.ids("Contact", n)
    org.app.reset_calls()
    results = written(conn, "contacts", [RecordUpdate(i, {"persona": "champion"}) for i in ids])
    assert org.app.count("PATCH", PATCHES) == math.ceil(n / 200)
    assert org.app.count() == org.app.count("PATCH", PATCHES) + 1  # plus the one login
    assert len(results) == n
    assert all(r.ok for r in results)
    assert {org.app.record("Contact", i)["Persona__c"] for i in (ids[0], ids[-1])} == {"champion"}


def test_every_canonical_type_lands_as_the_org_stores_it(org: Org) -> None:
    """Dates, UTC datetimes, numbers, checkboxes, multi-selects and null all land as intended."""
    conn = org.connector()
    (account,) = org.ids("Account", 1)
    login = datetime(2026, 3, 9, 1, 30, 5, 250000, tzinfo=timezone(timedelta(hours=2)))
    fields: dict[str, Any] = {
        "next_task_due": date(2026, 4, 1),
        "last_login_at": login,
        "onboarding_progress": 42.5,
        "overdue_tasks": 3,
        "integration_connected": True,
        "onboarding_steps": ["kickoff", "data_imported"],
        "health": "At Risk",
        "plan_summary": None,
    }
    (result,) = written(conn, "accounts", [RecordUpdate(account, fields)])
    assert result.ok, result
    stored = org.app.record("Account", account)
    assert stored["Next_Task_Due__c"] == "2026-04-01"
    assert stored["Last_Login__c"] == "2026-03-08T23:30:05.250+0000"
    assert (stored["Onboarding_Progress__c"], stored["Overdue_Tasks__c"]) == (42.5, 3.0)
    assert stored["Integration_Connected__c"] is True
    assert stored["Onboarding_Steps__c"] == "kickoff;data_imported"
    assert (stored["Onboarding_Health__c"], stored["Plan_Summary__c"]) == ("At Risk", None)


def test_three_invalid_records_fail_alone_and_the_other_197_land(org: Org) -> None:
    """A restricted picklist value, text in a number field and a deleted record fail with the org's words."""
    conn = org.connector()
    ids = org.ids("Account", 200)
    org.app.delete("Account", ids[150])
    updates = [RecordUpdate(i, {"health": "On Track", "overdue_tasks": 1}) for i in ids]
    updates[10] = RecordUpdate(ids[10], {"health": "On Track", "tier": "Platinum"})
    updates[90] = RecordUpdate(ids[90], {"health": "On Track", "overdue_tasks": "many"})
    org.app.reset_calls()
    results = written(conn, "accounts", updates)
    assert org.app.count("PATCH", PATCHES) == 1
    bad = {r.id: r for r in results if not r.ok}
    assert set(bad) == {ids[10], ids[90], ids[150]}
    assert (bad[ids[10]].code, bad[ids[10]].fields) == ("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", ("tier",))
    assert "Platinum" in (bad[ids[10]].message or "")
    assert (bad[ids[90]].code, bad[ids[90]].fields) == ("INVALID_TYPE_ON_FIELD_IN_RECORD", ("overdue_tasks",))
    assert bad[ids[150]].code == "ENTITY_IS_DELETED"
    landed = [i for i in ids if i not in bad]
    assert len(landed) == 197
    assert all(org.app.record("Account", i)["Onboarding_Health__c"] == "On Track" for i in landed)
    assert org.app.record("Account", ids[10])["Onboarding_Health__c"] != "On Track"

    fixed = [
        RecordUpdate(ids[10], {"health": "On Track", "tier": "Enterprise"}),
        RecordUpdate(ids[90], {"overdue_tasks": 4}),
    ]
    assert all(r.ok for r in written(conn, "accounts", fixed))
    assert org.app.record("Account", ids[10])["Plan_Tier__c"] == "Enterprise"


def test_locked_rows_are_retried_then_land(org: Org) -> None:
    """Rows locked twice go again in one call per round, after backoff waits, and then land."""
    conn = org.connector()
    ids = org.ids("Account", 200)
    org.app.lock_rows(ids[:3], times=2)
    org.app.reset_calls()
    waits = len(org.driver.time.sleeps)
    results = written(conn, "accounts", [RecordUpdate(i, {"health": "At Risk"}) for i in ids])
    assert all(r.ok for r in results)
    assert org.app.count("PATCH", PATCHES) == 3
    assert len(org.driver.time.sleeps) - waits == 2
    assert org.app.record("Account", ids[0])["Onboarding_Health__c"] == "At Risk"


def test_rows_locked_for_good_are_reported_failed_after_three_rounds(org: Org) -> None:
    """A row that stays locked is a failed UNABLE_TO_LOCK_ROW result after three follow-up calls."""
    conn = org.connector()
    ids = org.ids("Account", 5)
    org.app.lock_rows(ids[:1], times=10)
    org.app.reset_calls()
    results = written(conn, "accounts", [RecordUpdate(i, {"health": "At Risk"}) for i in ids])
    assert [r.ok for r in results] == [False, True, True, True, True]
    assert results[0].code == "UNABLE_TO_LOCK_ROW"
    assert org.app.count("PATCH", PATCHES) == 4


def test_a_persistent_whole_call_failure_raises(org: Org) -> None:
    """A batch call that keeps failing with 503 raises after the policy's attempts."""
    conn = org.connector(attempts=3)
    ids = org.ids("Account", 2)
    org.app.inject(Fault("status", method="PATCH", path=PATCHES, times=3, status=503))
    with pytest.raises(RetriableError):
        written(conn, "accounts", [RecordUpdate(i, {"health": "At Risk"}) for i in ids])


# -- notes ----------------------------------------------------------------------------------------


def note_for(account: str, key: str = "handoff:v1") -> Note:
    body = "Ready for CS <script>alert('x')</script> & more.\n\n- Goals met\n- Café trained"
    return Note(key, account, "Handoff to Customer Success", body)


def content_html(org: Org, note_id: str) -> str:
    return base64.b64decode(org.app.record("ContentNote", note_id)["Content"]).decode("utf-8")


def test_a_note_is_created_in_one_call_and_found_by_its_key(org: Org) -> None:
    """One /composite call creates the note and its link; find_note finds it by key, and only by key."""
    conn = org.connector()
    first, second = org.ids("Account", 2)
    org.app.reset_calls()
    ref = conn.create_note(note_for(first))
    assert org.app.count("POST", COMPOSITE) == 1
    assert org.app.count() == 2  # the login and the composite call
    assert conn.find_note(first, "handoff:v1") == ref
    assert conn.find_note(first, "handoff:v2") is None
    assert conn.find_note(second, "handoff:v1") is None
    note = org.app.record("ContentNote", ref.id)
    assert note["Title"].startswith("Handoff to Customer Success · ref ")
    links = [
        org.app.record("ContentDocumentLink", i)
        for i in org.app.ids("ContentDocumentLink")
        if org.app.record("ContentDocumentLink", i)["LinkedEntityId"] == first
    ]
    assert [(link["ContentDocumentId"], link["ShareType"], link["Visibility"]) for link in links] == [
        (ref.id, "V", "AllUsers")
    ]


def test_the_note_body_is_escaped_html(org: Org) -> None:
    """'<script>' and '&' arrive escaped, bullets as a list, non-ASCII intact."""
    conn = org.connector()
    (account,) = org.ids("Account", 1)
    ref = conn.create_note(note_for(account))
    assert content_html(org, ref.id) == (
        "<p>Ready for CS &lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; more.</p>"
        "<ul><li>Goals met</li><li>Café trained</li></ul>"
    )
    assert "<script>" not in content_html(org, ref.id)


def test_a_dropped_reply_is_resolved_by_key_and_leaves_one_note(org: Org) -> None:
    """The CRM commits, the reply is lost: the retry finds the note by key instead of posting again."""
    conn = org.connector()
    (account,) = org.ids("Account", 1)
    org.app.inject(Fault("drop_reply", method="POST", path=COMPOSITE))
    ref = conn.create_note(note_for(account))
    assert org.app.ids("ContentNote") == [ref.id]
    assert org.app.count("POST", COMPOSITE) == 1
    assert conn.find_note(account, "handoff:v1") == ref


def test_a_dropped_reply_without_retries_is_found_afterwards(org: Org) -> None:
    """With no retry left the create raises, and find_note afterwards finds the one committed note."""
    conn = org.connector(attempts=1)
    (account,) = org.ids("Account", 1)
    org.app.inject(Fault("drop_reply", method="POST", path=COMPOSITE))
    with pytest.raises(RetriableError):
        conn.create_note(note_for(account))
    (only,) = org.app.ids("ContentNote")
    found = conn.find_note(account, "handoff:v1")
    assert found is not None
    assert found.id == only


# -- campaign members -----------------------------------------------------------------------------


def test_campaign_members_are_added_found_and_never_doubled(org: Org) -> None:
    """Add returns the member id, find returns it, a second add returns the same member."""
    conn = org.connector()
    campaign = org.app.insert("Campaign", {"Name": "Onboarding survey"})
    first, second = org.ids("Contact", 2)
    assert conn.find_audience_member(campaign, first) is None
    member = conn.add_audience_member(campaign, first, "Sent")
    assert conn.find_audience_member(campaign, first) == member
    assert conn.add_audience_member(campaign, first) == member
    assert org.app.record("CampaignMember", member)["Status"] == "Sent"
    assert conn.find_audience_member(campaign, second) is None
    assert len(org.app.ids("CampaignMember")) == 1


def test_a_lost_reply_when_adding_a_member_resolves_to_the_existing_one(org: Org) -> None:
    """The retry after a dropped reply meets DUPLICATE_VALUE and answers the committed member."""
    conn = org.connector()
    campaign = org.app.insert("Campaign", {"Name": "Onboarding survey"})
    (contact,) = org.ids("Contact", 1)
    org.app.inject(Fault("drop_reply", method="POST", path=r"/sobjects/CampaignMember$"))
    member = conn.add_audience_member(campaign, contact, "Sent")
    assert org.app.ids("CampaignMember") == [member]


def test_timestamps_are_sent_in_utc(org: Org) -> None:
    """A datetime in another zone is stored as the same instant (UTC on the wire)."""
    conn = org.connector()
    (account,) = org.ids("Account", 1)
    when = datetime(2026, 1, 1, 0, 0, tzinfo=UTC)
    assert all(r.ok for r in written(conn, "accounts", [RecordUpdate(account, {"last_login_at": when})]))
    assert org.app.record("Account", account)["Last_Login__c"] == "2026-01-01T00:00:00.000+0000"
