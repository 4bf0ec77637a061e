"""The Salesforce sandbox driven by the real simple-salesforce client over loopback TLS.

Each test gets a fresh seeded org (200 accounts, 1,000 contacts) behind its own throwaway CA, and a
fake clock so modstamps are exact and no test waits.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from ruamel.yaml import YAML
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (
    SalesforceAuthenticationFailed,
    SalesforceExpiredSession,
    SalesforceMalformedRequest,
    SalesforceRefusedRequest,
    SalesforceResourceNotFound,
)
from simple_salesforce.format import format_soql
from simple_salesforce.login import soap_login, token_login

from sync_daemon.sandbox.salesforce import (
    CONSUMER_KEY,
    CONSUMER_SECRET,
    PASSWORD,
    SECURITY_TOKEN,
    USERNAME,
    SalesforceSandbox,
)
from sync_daemon.sandbox.server import (
    Call,
    Clock,
    Fault,
    Request,
    Response,
    SandboxApp,
    SandboxServer,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

NOW = datetime(2026, 1, 6, 12, 0, tzinfo=UTC)
VERSION = "62.0"
MAPPING = Path(__file__).resolve().parents[2] / "mappings" / "salesforce.yaml"


@dataclass
class Org:
    """A running sandbox, its server, a client session and a movable clock."""

    app: SalesforceSandbox
    server: SandboxServer
    session: requests.Session
    clock: list[datetime]

    def client(self, token: str | None = None) -> Salesforce:
        """A simple-salesforce client holding a ready token."""
        return Salesforce(
            instance_url=self.server.url,
            session_id=token or self.app.issue_token(),
            session=self.session,
            version=VERSION,
        )

    def tick(self, seconds: int = 60) -> datetime:
        """Move the org's clock on."""
        self.clock[0] += timedelta(seconds=seconds)
        return self.clock[0]


class _Relay(SandboxApp):
    """Serves the current test's sandbox, so one TLS server (and CA) serves the whole module."""

    def __init__(self) -> None:
        super().__init__()
        self.current = SalesforceSandbox(accounts=0, contacts=0)

    def take_fault(self, method: str, path: str) -> Fault | None:
        return self.current.take_fault(method, path)

    def record(self, call: Call) -> None:
        self.current.record(call)

    def handle(self, request: Request) -> Response:
        return self.current.handle(request)


@pytest.fixture(scope="module")
def relay() -> Iterator[tuple[_Relay, SandboxServer]]:
    """One loopback TLS server for the module (stopping a server costs half a second)."""
    app = _Relay()
    with SandboxServer(app, tls=True) as server:
        yield app, server


@pytest.fixture
def org(relay: tuple[_Relay, SandboxServer], monkeypatch: pytest.MonkeyPatch) -> Iterator[Org]:
    """A fresh org; the environment's CA bundle variables would override Session.verify."""
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    switch, server = relay
    clock = [NOW]
    app = SalesforceSandbox(accounts=200, contacts=1000, clock=Clock(lambda: clock[0]))
    app.base_url = server.url
    switch.current = app
    with requests.Session() as session:
        session.verify = str(server.ca_file)
        yield Org(app, server, session, clock)


def all_pages(sf: Salesforce, soql: str, *, deleted: bool = False, batch: int = 200) -> list[dict[str, Any]]:
    """Every page of a query, followed through ``nextRecordsUrl``."""
    headers = {"Sforce-Query-Options": f"batchSize={batch}"}
    pages = [sf.query(soql, include_deleted=deleted, headers=headers)]
    while not pages[-1]["done"]:
        pages.append(sf.query_more(pages[-1]["nextRecordsUrl"], identifier_is_url=True, headers=headers))
    return pages


def error_code(exc: pytest.ExceptionInfo[Any]) -> str:
    return str(exc.value.content[0]["errorCode"])


# -- query ---------------------------------------------------------------------------------------------


def test_query_pages_by_batch_size_until_done(org: Org) -> None:
    """A batchSize of 200 gives five pages of 1,000 contacts, each id once, the last page done."""
    pages = all_pages(org.client(), "SELECT Id FROM Contact ORDER BY SystemModstamp, Id")
    assert [len(p["records"]) for p in pages] == [200] * 5
    assert [p["done"] for p in pages] == [False] * 4 + [True]
    assert {p["totalSize"] for p in pages} == {1000}
    assert pages[0]["nextRecordsUrl"].startswith(f"/services/data/v{VERSION}/query/01g")
    assert pages[0]["nextRecordsUrl"].endswith("-200")
    ids = [r["Id"] for p in pages for r in p["records"]]
    assert sorted(ids) == sorted(org.app.ids("Contact"))


def test_batch_size_is_clamped_and_defaults_to_2000(org: Org) -> None:
    """A batchSize below 200 serves 200; without the header one page holds up to 2,000."""
    sf = org.client()
    small = sf.query("SELECT Id FROM Contact", headers={"Sforce-Query-Options": "batchSize=50"})
    assert len(small["records"]) == 200
    whole = sf.query("SELECT Id FROM Contact")
    assert (len(whole["records"]), whole["done"], "nextRecordsUrl" in whole) == (1000, True, False)


def test_a_locator_is_a_snapshot_with_current_values(org: Org) -> None:
    """A record edited after the query stays on its page and shows its new value."""
    sf = org.client()
    first = sf.query(
        "SELECT Id, Title FROM Contact ORDER BY SystemModstamp",
        headers={"Sforce-Query-Options": "batchSize=500"},
    )
    later = org.app.ids("Contact")
    served = {r["Id"] for r in first["records"]}
    target = next(i for i in later if i not in served)
    org.tick()
    org.app.update("Contact", target, Title="Chief Snapshot Officer")
    rest = sf.query_more(first["nextRecordsUrl"], identifier_is_url=True)
    assert [r["Title"] for r in rest["records"] if r["Id"] == target] == ["Chief Snapshot Officer"]
    assert len(served) + len(rest["records"]) == 1000


def test_expired_query_locators_are_refused(org: Org) -> None:
    """After ``expire_query_locators`` the next page is 400 INVALID_QUERY_LOCATOR."""
    sf = org.client()
    first = sf.query("SELECT Id FROM Contact", headers={"Sforce-Query-Options": "batchSize=200"})
    org.app.expire_query_locators()
    with pytest.raises(SalesforceMalformedRequest) as info:
        sf.query_more(first["nextRecordsUrl"], identifier_is_url=True)
    assert error_code(info) == "INVALID_QUERY_LOCATOR"


def test_query_all_sees_deleted_records_and_query_does_not(org: Org) -> None:
    """A soft-deleted contact is gone from ``query`` and present in ``queryAll`` with IsDeleted."""
    gone = org.app.ids("Contact")[3]
    org.tick()
    org.app.delete("Contact", gone)
    sf = org.client()
    soql = format_soql("SELECT Id, IsDeleted, SystemModstamp FROM Contact WHERE Id = {}", gone)
    assert sf.query(soql)["records"] == []
    [record] = sf.query_all(soql, include_deleted=True)["records"]
    assert (record["IsDeleted"], record["SystemModstamp"]) == (True, "2026-01-06T12:01:00.000+0000")
    assert gone not in org.app.ids("Contact")


def test_records_carry_salesforce_json_types(org: Org) -> None:
    """Numbers, booleans, dates, datetimes, multi-picklists and nulls arrive as Salesforce sends them."""
    fields = (
        "Id, Name, NumberOfEmployees, Active_Users__c, Contract_Value__c, Integration_Connected__c, "
        "Close_Date__c, SystemModstamp, Onboarding_Steps__c, Onboarding_Progress__c"
    )
    record = org.client().query(f"SELECT {fields} FROM Account LIMIT 1")["records"][0]  # noqa: S608
    assert record["attributes"] == {
        "type": "Account",
        "url": f"/services/data/v{VERSION}/sobjects/Account/{record['Id']}",
    }
    assert isinstance(record["NumberOfEmployees"], int)
    assert isinstance(record["Active_Users__c"], float)
    assert isinstance(record["Integration_Connected__c"], bool)
    assert date.fromisoformat(record["Close_Date__c"])
    assert datetime.strptime(record["SystemModstamp"], "%Y-%m-%dT%H:%M:%S.000%z").tzinfo == UTC
    assert record["Onboarding_Progress__c"] is None
    assert list(record)[1:] == [f.strip() for f in fields.split(",")]


def test_incremental_filter_with_a_format_soql_cursor(org: Org) -> None:
    """``SystemModstamp >= cursor`` with a (SystemModstamp, Id) order returns the changed tail."""
    changed = org.app.ids("Account")[10:13]
    for ident in changed:
        org.tick()
        org.app.update("Account", ident, Customer_Goals__c="Go live")
    soql = format_soql("SELECT Id FROM Account WHERE SystemModstamp >= {} ORDER BY SystemModstamp, Id", NOW)
    assert [r["Id"] for r in org.client().query(soql)["records"]] == changed


def test_bad_soql_answers_salesforce_error_codes(org: Org) -> None:
    """An unknown column is INVALID_FIELD, broken syntax MALFORMED_QUERY, an unknown object INVALID_TYPE."""
    sf = org.client()
    codes = {}
    for soql in (
        "SELECT Id, Nope__c FROM Account",
        "SELECT Id FROM Account WHERE",
        "SELECT Id FROM Opportunity",
    ):
        with pytest.raises(SalesforceMalformedRequest) as info:
            sf.query(soql)
        codes[soql.split()[-1]] = (error_code(info), info.value.content[0]["message"])
    assert codes["Account"][0] == "INVALID_FIELD"
    assert "No such column 'Nope__c' on entity 'Account'" in codes["Account"][1]
    assert codes["WHERE"][0] == "MALFORMED_QUERY"
    assert codes["Opportunity"][0] == "INVALID_TYPE"


def test_count_query(org: Org) -> None:
    """``SELECT COUNT()`` answers totalSize with no records."""
    result = org.client().query("SELECT COUNT() FROM Account WHERE Type = 'Customer'")
    assert result["records"] == []
    assert result["totalSize"] == sum(
        org.app.record("Account", i)["Type"] == "Customer" for i in org.app.ids("Account")
    )


# -- seed and describe ---------------------------------------------------------------------------------


def test_seed_uses_the_mapping_vocabulary(org: Org) -> None:
    """Seeded accounts and contacts carry the mapping's field names and Salesforce's value vocabularies."""
    accounts = [org.app.record("Account", i) for i in org.app.ids("Account")]
    contacts = [org.app.record("Contact", i) for i in org.app.ids("Contact")]
    assert {a["Type"] for a in accounts} == {"Customer", "Prospect"}
    assert {a["Plan_Tier__c"] for a in accounts} <= {"SMB", "Mid-Market", "Enterprise"}
    assert any(";" in (a["Onboarding_Steps__c"] or "") for a in accounts)
    assert {c["Buying_Role__c"] for c in contacts} == {
        "Decision Maker",
        "Champion",
        "End User",
        "Influencer",
        None,
    }
    assert {c["AccountId"] for c in contacts} == set(org.app.ids("Account"))
    assert all(a["Onboarding_Plan__c"] is None and a["Handoff_Status__c"] is None for a in accounts)
    assert all(c["Persona__c"] is None for c in contacts)
    assert len(org.app.ids("Campaign")) == 2
    assert [i[:3] for i in (org.app.ids("Account")[0], org.app.ids("Contact")[0], org.app.ids("Campaign")[0])] == [
        "001", "003", "701",
    ]  # fmt: skip


def test_seed_is_deterministic(org: Org) -> None:
    """The same seed gives the same ids and values."""
    again = SalesforceSandbox(accounts=200, contacts=1000)
    ident = org.app.ids("Contact")[42]
    assert again.ids("Contact")[42] == ident
    assert again.record("Contact", ident)["Email"] == org.app.record("Contact", ident)["Email"]


def _mapped_fields() -> dict[str, set[str]]:
    doc = YAML(typ="safe").load(MAPPING.read_text(encoding="utf-8"))
    out: dict[str, set[str]] = {}
    for section in ("accounts", "contacts"):
        mapping = doc[section]
        names = out.setdefault(mapping["object"], set())
        for group in ("pull", "kpis", "push"):
            for value in (mapping.get(group) or {}).values():
                names.add(value["field"] if isinstance(value, dict) else value)
        names.update(clause["field"] for clause in mapping.get("scope") or [])
        if "link" in mapping:
            names.add(mapping["link"]["field"])
    return out


def test_every_field_of_the_shipped_mapping_is_described(org: Org) -> None:
    """Each CRM field named in mappings/salesforce.yaml exists in the sandbox's describe."""
    sf = org.client()
    for sobject, names in _mapped_fields().items():
        described = {f["name"] for f in getattr(sf, sobject).describe()["fields"]}
        assert names - described == set()


def test_describe_reports_types_flags_and_picklists(org: Org) -> None:
    """Describe gives each field's type and flags; system fields are read-only."""
    fields = {f["name"]: f for f in org.client().Account.describe()["fields"]}
    assert fields["Onboarding_Steps__c"]["type"] == "multipicklist"
    assert [v["value"] for v in fields["Plan_Tier__c"]["picklistValues"]] == [
        "SMB",
        "Mid-Market",
        "Enterprise",
    ]
    assert fields["Plan_Tier__c"]["restrictedPicklist"] is True
    assert fields["OwnerId"]["referenceTo"] == ["User"]
    assert (fields["Contract_Value__c"]["type"], fields["Last_Login__c"]["type"]) == (
        "currency",
        "datetime",
    )
    for name in ("Id", "IsDeleted", "SystemModstamp", "LastModifiedDate", "CreatedDate"):
        assert (fields[name]["updateable"], fields[name]["createable"]) == (False, False)
    assert fields["Onboarding_Progress__c"]["custom"] is True
    assert fields["Name"]["custom"] is False


def test_describe_covers_notes_links_and_campaigns(org: Org) -> None:
    """The note, link and campaign objects describe; an unknown object is 404 NOT_FOUND."""
    sf = org.client()
    for sobject in ("Contact", "ContentNote", "ContentDocumentLink", "Campaign", "CampaignMember"):
        assert getattr(sf, sobject).describe()["name"] == sobject
    with pytest.raises(SalesforceResourceNotFound) as info:
        sf.Opportunity.describe()
    assert error_code(info) == "NOT_FOUND"


# -- single-record writes ------------------------------------------------------------------------------


def test_create_read_update_delete(org: Org) -> None:
    """POST answers 201 with an id, PATCH 204 and a new SystemModstamp, DELETE leaves a tombstone."""
    sf = org.client()
    account = org.app.ids("Account")[0]
    created = sf.Contact.create({"LastName": "Ng", "FirstName": "Mai", "AccountId": account})
    assert created["success"] is True
    assert created["id"].startswith("003")
    assert sf.Contact.get(created["id"])["Name"] == "Mai Ng"
    stamp = org.tick()
    assert sf.Contact.update(created["id"], {"Title": "CTO", "Persona__c": "decision_maker"}) == 204
    record = org.app.record("Contact", created["id"])
    assert (record["Title"], record["SystemModstamp"]) == (
        "CTO",
        stamp.strftime("%Y-%m-%dT%H:%M:%S.000+0000"),
    )
    assert sf.Contact.delete(created["id"]) == 204
    with pytest.raises(SalesforceResourceNotFound) as info:
        sf.Contact.get(created["id"])
    assert error_code(info) == "ENTITY_IS_DELETED"


def test_a_write_that_changes_nothing_still_bumps_the_modstamp(org: Org) -> None:
    """An org bumps SystemModstamp on every write, even one that changes no value."""
    ident = org.app.ids("Account")[5]
    name = org.app.record("Account", ident)["Name"]
    stamp = org.tick()
    org.client().Account.update(ident, {"Name": name})
    assert org.app.record("Account", ident)["SystemModstamp"] == stamp.strftime("%Y-%m-%dT%H:%M:%S.000+0000")


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"Nope__c": 1}, "INVALID_FIELD"),
        ({"SystemModstamp": "2026-01-01T00:00:00Z"}, "INVALID_FIELD_FOR_INSERT_UPDATE"),
        ({"Plan_Tier__c": "Gold"}, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"),
        ({"Onboarding_Steps__c": "kickoff;bogus"}, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"),
        ({"Onboarding_Progress__c": "lots"}, "JSON_PARSER_ERROR"),
        ({"Next_Task_Due__c": "next week"}, "JSON_PARSER_ERROR"),
        ({"CSM_Email__c": "not-an-email"}, "INVALID_EMAIL_ADDRESS"),
        ({"Name": None}, "REQUIRED_FIELD_MISSING"),
        ({"Next_Task__c": "x" * 256}, "STRING_TOO_LONG"),
    ],
)
def test_writes_are_validated_against_describe(org: Org, body: dict[str, Any], code: str) -> None:
    """A write an org would refuse is 400 with its errorCode, and changes nothing."""
    ident = org.app.ids("Account")[0]
    before = org.app.record("Account", ident)
    with pytest.raises(SalesforceMalformedRequest) as info:
        org.client().Account.update(ident, body)
    assert error_code(info) == code
    assert org.app.record("Account", ident) == before


def test_a_dropped_reply_still_commits_the_write(org: Org) -> None:
    """With the reply to a PATCH dropped, the client sees an error but the org has the change."""
    ident = org.app.ids("Account")[1]
    org.app.inject(Fault("drop_reply", "PATCH", "/sobjects/Account/"))
    with pytest.raises(requests.ConnectionError):
        org.client().Account.update(ident, {"Onboarding_Phase__c": "Kickoff"})
    assert org.app.record("Account", ident)["Onboarding_Phase__c"] == "Kickoff"
    assert org.app.count("PATCH", "/sobjects/Account/") == 1


def test_a_backdated_commit_keeps_the_given_modstamp(org: Org) -> None:
    """The ``update`` hook's ``modstamp`` sets SystemModstamp behind the clock."""
    ident = org.app.ids("Contact")[0]
    org.app.update("Contact", ident, modstamp=NOW - timedelta(minutes=3), title="Late")
    record = org.app.record("Contact", ident)
    assert (record["Title"], record["SystemModstamp"]) == ("Late", "2026-01-06T11:57:00.000+0000")


# -- collections and composite -------------------------------------------------------------------------


def _records(ids: list[str], **fields: Any) -> list[dict[str, Any]]:
    return [{"attributes": {"type": "Account"}, "id": i, **fields} for i in ids]


def test_collection_update_reports_each_record_in_order(org: Org) -> None:
    """allOrNone=false: good records are written, bad ones fail alone with their own error."""
    ids = org.app.ids("Account")[:4]
    records = _records(ids, Onboarding_Health__c="At Risk")
    records[1]["Plan_Tier__c"] = "Gold"
    records[2]["id"] = "001000000000000"
    result = org.client().restful("composite/sobjects", method="PATCH", json={"allOrNone": False, "records": records})
    assert [r["success"] for r in result] == [True, False, False, True]
    assert result[1]["errors"][0]["statusCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    assert result[1]["errors"][0]["fields"] == ["Plan_Tier__c"]
    assert result[1]["id"] == ids[1]
    assert result[2]["errors"][0]["statusCode"] == "INVALID_CROSS_REFERENCE_KEY"
    assert [org.app.record("Account", i)["Onboarding_Health__c"] for i in ids] == [
        "At Risk",
        None,
        None,
        "At Risk",
    ]


def test_all_or_none_rolls_everything_back(org: Org) -> None:
    """allOrNone=true: one bad record fails the lot; the good ones say ALL_OR_NONE_OPERATION_ROLLED_BACK."""
    ids = org.app.ids("Account")[:3]
    records = _records(ids, Slip_Days__c=4)
    records[2]["Handoff_Date__c"] = "soon"
    result = org.client().restful("composite/sobjects", method="PATCH", json={"allOrNone": True, "records": records})
    assert [r["success"] for r in result] == [False, False, False]
    assert [r["errors"][0]["statusCode"] for r in result] == [
        "ALL_OR_NONE_OPERATION_ROLLED_BACK", "ALL_OR_NONE_OPERATION_ROLLED_BACK", "INVALID_TYPE_ON_FIELD_IN_RECORD",
    ]  # fmt: skip
    assert [org.app.record("Account", i)["Slip_Days__c"] for i in ids] == [None, None, None]


def test_more_than_200_records_are_refused(org: Org) -> None:
    """A collection of 201 records is 400 EXCEEDED_ID_LIMIT and writes nothing."""
    ids = org.app.ids("Contact")[:201]
    records = [{"attributes": {"type": "Contact"}, "id": i, "Title": "X"} for i in ids]
    with pytest.raises(SalesforceMalformedRequest) as info:
        org.client().restful("composite/sobjects", method="PATCH", json={"allOrNone": False, "records": records})
    assert error_code(info) == "EXCEEDED_ID_LIMIT"
    assert org.app.record("Contact", ids[0])["Title"] != "X"


def test_locked_rows_fail_with_unable_to_lock_row_then_succeed(org: Org) -> None:
    """``lock_rows`` makes the next update of those ids fail per record; a retry goes through."""
    ids = org.app.ids("Account")[:2]
    org.app.lock_rows([ids[0]])
    sf = org.client()
    body = {"allOrNone": False, "records": _records(ids, Overdue_Tasks__c=2)}
    first = sf.restful("composite/sobjects", method="PATCH", json=body)
    assert [(r["success"], r["errors"][:1]) for r in first][1] == (True, [])
    assert first[0]["errors"][0]["statusCode"] == "UNABLE_TO_LOCK_ROW"
    second = sf.restful("composite/sobjects", method="PATCH", json=body)
    assert [r["success"] for r in second] == [True, True]
    assert org.app.record("Account", ids[0])["Overdue_Tasks__c"] == 2.0


def test_composite_creates_a_note_and_links_it_by_reference(org: Org) -> None:
    """A ContentNote and its ContentDocumentLink in one call; the link is queryable by LinkedEntityId."""
    account = org.app.ids("Account")[7]
    content = base64.b64encode(b"<p>Handoff: ready &amp; waiting</p>").decode()
    body = {
        "allOrNone": True,
        "compositeRequest": [
            {"method": "POST", "url": f"/services/data/v{VERSION}/sobjects/ContentNote", "referenceId": "note",
             "body": {"Title": "Handoff note", "Content": content}},
            {"method": "POST", "url": f"/services/data/v{VERSION}/sobjects/ContentDocumentLink", "referenceId": "link",
             "body": {"ContentDocumentId": "@{note.id}", "LinkedEntityId": account, "ShareType": "V",
                      "Visibility": "AllUsers"}},
        ],
    }  # fmt: skip
    sf = org.client()
    result = sf.restful("composite", method="POST", json=body)["compositeResponse"]
    assert [(r["referenceId"], r["httpStatusCode"]) for r in result] == [
        ("note", 201),
        ("link", 201),
    ]
    note_id = result[0]["body"]["id"]
    assert note_id.startswith("069")
    assert result[0]["httpHeaders"]["Location"].endswith(note_id)
    soql = format_soql(
        "SELECT Id, ContentDocumentId, ShareType FROM ContentDocumentLink WHERE LinkedEntityId = {}",
        account,
    )
    links = sf.query(soql)["records"]
    assert [(lnk["ContentDocumentId"], lnk["ShareType"]) for lnk in links] == [(note_id, "V")]
    note = sf.ContentNote.get(note_id)
    assert (note["Title"], note["TextPreview"]) == ("Handoff note", "Handoff: ready & waiting")
    blob = org.session.get(f"{org.server.url}{note['Content']}", headers={"Authorization": f"Bearer {sf.session_id}"})
    assert blob.content == b"<p>Handoff: ready &amp; waiting</p>"
    assert org.app.record("ContentNote", note_id)["Content"] == content
    assert org.app.count("POST", "/composite$") == 1


def test_a_failed_composite_subrequest_halts_its_dependants(org: Org) -> None:
    """A bad note halts the link that references it; allOrNone rolls back the rest."""
    body = {
        "allOrNone": True,
        "compositeRequest": [
            {"method": "POST", "url": f"/services/data/v{VERSION}/sobjects/Campaign", "referenceId": "c",
             "body": {"Name": "Extra"}},
            {"method": "POST", "url": f"/services/data/v{VERSION}/sobjects/ContentNote", "referenceId": "note",
             "body": {"Content": "bm90ZQ=="}},
            {"method": "POST", "url": f"/services/data/v{VERSION}/sobjects/ContentDocumentLink", "referenceId": "link",
             "body": {"ContentDocumentId": "@{note.id}", "LinkedEntityId": org.app.ids("Account")[0]}},
        ],
    }  # fmt: skip
    result = org.client().restful("composite", method="POST", json=body)["compositeResponse"]
    assert [r["httpStatusCode"] for r in result] == [400, 400, 400]
    assert result[1]["body"][0]["errorCode"] == "REQUIRED_FIELD_MISSING"
    assert {result[0]["body"][0]["errorCode"], result[2]["body"][0]["errorCode"]} == {"PROCESSING_HALTED"}
    assert len(org.app.ids("Campaign")) == 2


def test_links_need_a_filter_and_duplicates_are_refused(org: Org) -> None:
    """ContentDocumentLink needs an Id filter; linking a document twice is DUPLICATE_VALUE."""
    sf = org.client()
    with pytest.raises(SalesforceMalformedRequest) as info:
        sf.query("SELECT Id FROM ContentDocumentLink")
    assert error_code(info) == "MALFORMED_QUERY"
    note = sf.ContentNote.create({"Title": "T", "Content": "aGk="})["id"]
    link = {"ContentDocumentId": note, "LinkedEntityId": org.app.ids("Account")[0]}
    sf.ContentDocumentLink.create(link)
    with pytest.raises(SalesforceMalformedRequest) as info:
        sf.ContentDocumentLink.create(link)
    assert error_code(info) == "DUPLICATE_VALUE"


# -- sessions, budget, login -----------------------------------------------------------------------------


def test_an_expired_session_raises_salesforce_expired_session(org: Org) -> None:
    """After ``expire_sessions`` every call is 401 INVALID_SESSION_ID."""
    sf = org.client()
    org.app.expire_sessions()
    with pytest.raises(SalesforceExpiredSession) as info:
        sf.query("SELECT Id FROM Account LIMIT 1")
    assert error_code(info) == "INVALID_SESSION_ID"
    with pytest.raises(SalesforceExpiredSession):
        org.client(token="00D000000000001!not-a-session").query("SELECT Id FROM Account")


def test_a_spent_budget_is_403_request_limit_exceeded(org: Org) -> None:
    """At the daily limit every REST call is 403 REQUEST_LIMIT_EXCEEDED, still with Sforce-Limit-Info."""
    org.app.set_api_usage(500, limit=500)
    sf = org.client()
    with pytest.raises(SalesforceRefusedRequest) as info:
        sf.query("SELECT Id FROM Account")
    assert error_code(info) == "REQUEST_LIMIT_EXCEEDED"
    response = org.session.get(
        f"{org.server.url}/services/data/v{VERSION}/limits",
        headers={"Authorization": f"Bearer {org.app.issue_token()}"},
    )
    assert (response.status_code, response.headers["Sforce-Limit-Info"]) == (
        403,
        "api-usage=500/500",
    )


def test_each_call_counts_and_updates_api_usage(org: Org) -> None:
    """Every REST call counts one; simple-salesforce reads the header into ``api_usage``."""
    org.app.set_api_usage(10, limit=1000)
    sf = org.client()
    sf.query("SELECT Id FROM Account LIMIT 1")
    assert sf.api_usage["api-usage"] == (11, 1000)
    limits = sf.limits()
    assert limits["DailyApiRequests"] == {"Max": 1000, "Remaining": 988}
    assert sf.api_usage["api-usage"] == (12, 1000)


def test_versions_list_needs_no_session(org: Org) -> None:
    """``GET /services/data/`` lists versions up to 62.0 without a token."""
    versions = org.session.get(f"{org.server.url}/services/data/").json()
    assert versions[-1] == {"label": "Winter '25", "url": "/services/data/v62.0", "version": "62.0"}


def _token_url(org: Org) -> str:
    return f"{org.server.url}/services/oauth2/token"


def test_token_login_with_client_credentials(org: Org) -> None:
    """simple-salesforce's token_login accepts the client-credentials answer; the token queries."""
    auth = base64.b64encode(f"{CONSUMER_KEY}:{CONSUMER_SECRET}".encode()).decode()
    token, instance = token_login(
        _token_url(org), {"grant_type": "client_credentials"}, "login", CONSUMER_KEY,
        {"Authorization": f"Basic {auth}"}, None, org.session,
    )  # fmt: skip
    assert instance == org.server.url.removeprefix("https://")
    assert (
        Salesforce(instance=instance, session_id=token, session=org.session, version=VERSION).query(
            "SELECT Id FROM Account LIMIT 1"
        )["totalSize"]
        == 1
    )


def test_token_login_with_password_and_jwt(org: Org) -> None:
    """The password grant (password + security token) and a signed JWT both get a token."""
    password = {"grant_type": "password", "client_id": CONSUMER_KEY, "client_secret": CONSUMER_SECRET,
                "username": USERNAME, "password": PASSWORD + SECURITY_TOKEN}  # fmt: skip
    assert token_login(_token_url(org), password, "login", CONSUMER_KEY, None, None, org.session)[0]
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    org.app.jwt_public_key = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    claims = {"iss": CONSUMER_KEY, "sub": USERNAME, "aud": "https://login.salesforce.com",
              "exp": int(datetime.now(UTC).timestamp()) + 180}  # fmt: skip
    assertion = jwt.encode(claims, key, algorithm="RS256")
    grant = {"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": assertion}
    token, _ = token_login(_token_url(org), grant, "login", CONSUMER_KEY, None, None, org.session)
    assert org.client(token=token).query("SELECT COUNT() FROM Contact")["totalSize"] == 1000


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"grant_type": "client_credentials", "client_id": CONSUMER_KEY, "client_secret": "wrong"}, "invalid_client"),
        ({"grant_type": "password", "client_id": CONSUMER_KEY, "client_secret": CONSUMER_SECRET,
          "username": USERNAME, "password": PASSWORD}, "invalid_grant"),
        ({"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": "e30.e30.c2ln"}, "invalid_grant"),
        ({"grant_type": "authorization_code"}, "unsupported_grant_type"),
    ],
)  # fmt: skip
def test_token_login_refusals(org: Org, data: dict[str, str], error: str) -> None:
    """Bad credentials are 400 with Salesforce's OAuth error, raised by token_login."""
    with pytest.raises(SalesforceAuthenticationFailed) as info:
        token_login(_token_url(org), data, "login", CONSUMER_KEY, None, None, org.session)
    assert info.value.code == error


def _soap_body(password: str) -> str:
    return (
        '<?xml version="1.0" encoding="utf-8" ?><env:Envelope xmlns:env="http://schemas.xmlsoap.org/soap/envelope/">'
        '<env:Body><n1:login xmlns:n1="urn:partner.soap.sforce.com">'
        f"<n1:username>{USERNAME}</n1:username><n1:password>{password}</n1:password>"
        "</n1:login></env:Body></env:Envelope>"
    )


def test_soap_login_answers_a_session_and_server_url(org: Org) -> None:
    """simple-salesforce's soap_login reads the session id and the instance from loginResponse."""
    headers = {"content-type": "text/xml", "charset": "UTF-8", "SOAPAction": "login"}
    url = f"{org.server.url}/services/Soap/u/{VERSION}"
    session_id, instance = soap_login(url, _soap_body(PASSWORD + SECURITY_TOKEN), headers, None, org.session)
    assert instance == org.server.url.removeprefix("https://")
    sf = Salesforce(instance=instance, session_id=session_id, session=org.session, version=VERSION)
    assert sf.query("SELECT COUNT() FROM Account")["totalSize"] == 200
    with pytest.raises(SalesforceAuthenticationFailed) as info:
        soap_login(url, _soap_body(PASSWORD), headers, None, org.session)
    assert info.value.code == "INVALID_LOGIN"


@pytest.mark.slow
def test_a_hundred_thousand_contacts_page_in_seconds(monkeypatch: pytest.MonkeyPatch) -> None:
    """100,000 contacts pulled 2,000 a page through queryAll in well under a minute."""
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    app = SalesforceSandbox(accounts=5000, contacts=100_000)
    with SandboxServer(app, tls=True) as server, requests.Session() as session:
        session.verify = str(server.ca_file)
        sf = Salesforce(instance_url=server.url, session_id=app.issue_token(), session=session, version=VERSION)
        pages = all_pages(
            sf,
            "SELECT Id, SystemModstamp FROM Contact ORDER BY SystemModstamp, Id",
            deleted=True,
            batch=2000,
        )
    assert len(pages) == 50
    assert len({r["Id"] for p in pages for r in p["records"]}) == 100_000


def test_without_a_base_url_logins_answer_the_host_the_client_used(org: Org) -> None:
    """Before ``base_url`` is set, ``instance_url`` is https:// plus the request's Host."""
    org.app.base_url = None
    data = {"grant_type": "client_credentials", "client_id": CONSUMER_KEY, "client_secret": CONSUMER_SECRET}
    _, instance = token_login(_token_url(org), data, "login", CONSUMER_KEY, None, None, org.session)
    assert instance == org.server.url.removeprefix("https://")


def test_collection_create_and_delete(org: Org) -> None:
    """POST composite/sobjects creates campaign members; DELETE ?ids= soft-deletes them, in order."""
    campaign, contacts = org.app.ids("Campaign")[0], org.app.ids("Contact")[:2]
    members = [{"attributes": {"type": "CampaignMember"}, "CampaignId": campaign, "ContactId": c} for c in contacts]
    sf = org.client()
    created = sf.restful(
        "composite/sobjects", method="POST", json={"allOrNone": False, "records": [*members, members[0]]}
    )
    assert [r["success"] for r in created] == [True, True, False]
    assert created[2]["errors"][0]["statusCode"] == "DUPLICATE_VALUE"
    ids = [r["id"] for r in created[:2]]
    deleted = sf.restful("composite/sobjects", method="DELETE", params={"ids": ",".join([*ids, "00v000000000000"])})
    assert [(r["id"], r["success"]) for r in deleted] == [(ids[0], True), (ids[1], True), ("00v000000000000", False)]
    assert org.app.ids("CampaignMember") == []
    assert len(org.app.ids("CampaignMember", include_deleted=True)) == 2
