"""Pulling accounts and contacts: queryAll, paging, tombstones, keyset resume, bad records."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest
from responses import matchers
from structlog.testing import capture_logs

from connectors.base import ProtocolError
from tests.unit.connectors.salesforce.sf_helpers import (
    INSTANCE,
    QUERY_ALL,
    account,
    query_answer,
    sf_error,
)

if TYPE_CHECKING:
    import responses

    from connectors.salesforce import SalesforceConnector

NEXT = "/services/data/v62.0/queryAll/01gD0000002HU6KIAW-200"
T1 = "2026-03-01T12:00:00.000+0000"
T2 = "2026-03-01T12:00:01.000+0000"


def soql_of(call: responses.Call) -> str:
    return call.request.params["q"]  # type: ignore[attr-defined,no-any-return]


def test_a_page_arrives_with_canonical_fields_and_a_resume_token(
    rsps: responses.RequestsMock, connector: SalesforceConnector
) -> None:
    """Records carry canonical names, values as sent, aware UTC times and a (time, id) token."""
    rsps.get(
        QUERY_ALL,
        json=query_answer([account("001A", T1), account("001B", T2, MRR__c=None)]),
        match=[matchers.header_matcher({"Sforce-Query-Options": "batchSize=200"})],
    )
    pages = list(connector.pull("accounts", None))
    assert len(pages) == 1
    page = pages[0]
    assert [r.id for r in page.records] == ["001A", "001B"]
    first = page.records[0]
    assert first.modified_at == datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    assert dict(first.fields) == {
        "name": "Account 001A",
        "tier": "Gold",
        "owner_name": "Olive Owner",
        "mrr": 1200.5,
        "health": None,
        "tier_copy": "Gold",
    }
    assert page.records[1].fields["mrr"] is None
    assert not first.deleted
    assert first.account_id is None
    assert json.loads(page.resume or "") == ["2026-03-01T12:00:01+00:00", "001B"]
    assert page.api_calls == 1


def test_the_query_reads_mapped_fields_through_query_all(
    rsps: responses.RequestsMock, connector: SalesforceConnector
) -> None:
    """The SOQL selects mapped fields once, filters by scope and since, and orders for keysets."""
    rsps.get(QUERY_ALL, json=query_answer([]))
    list(connector.pull("accounts", datetime(2026, 3, 1, tzinfo=UTC)))
    assert soql_of(rsps.calls[0]) == (
        "SELECT Id, SystemModstamp, IsDeleted, Name, Plan_Tier__c, Owner.Name, MRR__c,"
        " Onboarding_Health__c FROM Account"
        " WHERE Type IN ('Customer','O\\'Brien & Co')"
        " AND SystemModstamp >= 2026-03-01T00:00:00+00:00"
        " ORDER BY SystemModstamp ASC, Id ASC"
    )


def test_contacts_carry_their_account_link(rsps: responses.RequestsMock, connector: SalesforceConnector) -> None:
    """The mapping's link field is selected and lands in ``account_id``."""
    contact = {
        "Id": "003A",
        "SystemModstamp": T1,
        "IsDeleted": False,
        "Email": "a@x.io",
        "AccountId": "001A",
    }
    orphan = {
        "Id": "003B",
        "SystemModstamp": T2,
        "IsDeleted": False,
        "Email": None,
        "AccountId": None,
    }
    rsps.get(QUERY_ALL, json=query_answer([contact, orphan]))
    (page,) = connector.pull("contacts", None)
    assert "SELECT Id, SystemModstamp, IsDeleted, Email, AccountId FROM Contact" in soql_of(rsps.calls[0])
    assert [(r.id, r.account_id, dict(r.fields)) for r in page.records] == [
        ("003A", "001A", {"email": "a@x.io"}),
        ("003B", None, {"email": None}),
    ]


def test_deleted_records_arrive_as_tombstones(rsps: responses.RequestsMock, connector: SalesforceConnector) -> None:
    """A record queryAll reports with IsDeleted=true is a tombstone."""
    rsps.get(QUERY_ALL, json=query_answer([account("001A", T1, IsDeleted=True)]))
    (page,) = connector.pull("accounts", None)
    assert page.records[0].deleted


def test_pages_follow_next_records_url(rsps: responses.RequestsMock, connector: SalesforceConnector) -> None:
    """A query that is not done continues at nextRecordsUrl, with the batch size header again."""
    rsps.get(QUERY_ALL, json=query_answer([account("001A", T1)], NEXT))
    rsps.get(
        INSTANCE + NEXT,
        json=query_answer([account("001B", T2)]),
        match=[matchers.header_matcher({"Sforce-Query-Options": "batchSize=200"})],
    )
    pages = list(connector.pull("accounts", None))
    assert [[r.id for r in p.records] for p in pages] == [["001A"], ["001B"]]
    assert [p.api_calls for p in pages] == [1, 1]
    assert json.loads(pages[0].resume or "")[1] == "001A"


def test_resume_continues_right_after_the_token(rsps: responses.RequestsMock, connector: SalesforceConnector) -> None:
    """A resume token adds the keyset to the query; the record at the token is not repeated."""
    token = json.dumps(["2026-03-01T12:00:00+00:00", "001A"])
    rsps.get(QUERY_ALL, json=query_answer([account("001A", T1), account("001B", T1)]))
    (page,) = connector.pull("accounts", None, resume=token)
    assert (
        "(SystemModstamp > 2026-03-01T12:00:00+00:00 OR (SystemModstamp = 2026-03-01T12:00:00+00:00 AND Id > '001A'))"
    ) in soql_of(rsps.calls[0])
    assert [r.id for r in page.records] == ["001B"]


def test_ties_after_the_cursor_follow_salesforces_id_order(
    rsps: responses.RequestsMock, connector: SalesforceConnector
) -> None:
    """Only records the cursor covers are dropped; a tie on the timestamp is trusted to the CRM."""
    token = json.dumps(["2026-03-01T12:00:01+00:00", "001m"])
    older = account("001z", T1)
    rsps.get(QUERY_ALL, json=query_answer([older, account("001m", T2), account("001B", T2)]))
    (page,) = connector.pull("accounts", None, resume=token)
    assert [r.id for r in page.records] == ["001B"]


def test_an_empty_result_is_one_empty_page_keeping_the_token(
    rsps: responses.RequestsMock, connector: SalesforceConnector
) -> None:
    """Nothing changed: one empty page whose token is the one passed in (or none)."""
    token = json.dumps(["2026-03-01T12:00:00+00:00", "001A"])
    rsps.get(QUERY_ALL, json=query_answer([]))
    (page,) = connector.pull("accounts", None, resume=token)
    assert page.records == []
    assert page.resume == token


def test_malformed_records_are_skipped_logged_and_counted(
    rsps: responses.RequestsMock, connector: SalesforceConnector
) -> None:
    """A record without Id or with an unreadable SystemModstamp is skipped; the pull goes on."""
    bad = [
        account("001X", "yesterday"),
        {"Name": "no id"},
        account("001Y", T1, SystemModstamp=None),
    ]
    rsps.get(QUERY_ALL, json=query_answer([*bad, account("001A", T2)]))
    with capture_logs() as logs:
        (page,) = connector.pull("accounts", None)
    assert [r.id for r in page.records] == ["001A"]
    assert connector.skipped == 3
    skipped = [e for e in logs if e["event"] == "crm.record_skipped"]
    assert [(e["record_id"], e["reason"]) for e in skipped] == [
        ("001X", "SystemModstamp missing or unreadable"),
        (None, "record has no Id"),
        ("001Y", "SystemModstamp missing or unreadable"),
    ]


def test_an_expired_query_locator_restarts_after_the_last_record(
    rsps: responses.RequestsMock, connector: SalesforceConnector
) -> None:
    """INVALID_QUERY_LOCATOR restarts the query by keyset: nothing is lost or delivered twice."""
    rsps.get(QUERY_ALL, json=query_answer([account("001A", T1)], NEXT))
    rsps.get(INSTANCE + NEXT, status=400, json=sf_error("INVALID_QUERY_LOCATOR", "invalid query locator"))
    rsps.get(QUERY_ALL, json=query_answer([account("001A", T1), account("001B", T2)]))
    pages = list(connector.pull("accounts", None))
    assert [r.id for p in pages for r in p.records] == ["001A", "001B"]
    assert "Id > '001A'" in soql_of(rsps.calls[2])
    assert pages[-1].api_calls == 1


def test_locators_that_keep_expiring_without_progress_stop_the_pull(
    rsps: responses.RequestsMock, connector: SalesforceConnector
) -> None:
    """Restarts that deliver nothing new end in a ProtocolError instead of looping forever."""
    expired = sf_error("INVALID_QUERY_LOCATOR", "invalid query locator")
    for _ in range(3):
        rsps.get(QUERY_ALL, json=query_answer([], NEXT))
        rsps.get(INSTANCE + NEXT, status=400, json=expired)
    with pytest.raises(ProtocolError, match="keep expiring"):
        list(connector.pull("accounts", None))


@pytest.mark.parametrize(
    "body",
    [b"<html>gateway</html>", b'{"totalSize": 1}', b'{"done": false, "records": []}', b"[]"],
)
def test_a_200_that_is_not_a_query_answer_is_a_protocol_error(
    rsps: responses.RequestsMock, connector: SalesforceConnector, body: bytes
) -> None:
    """Garbage, a missing record list or a missing nextRecordsUrl is a ProtocolError."""
    rsps.get(QUERY_ALL, body=body, content_type="application/json")
    with pytest.raises(ProtocolError):
        list(connector.pull("accounts", None))


def test_a_naive_since_is_refused(connector: SalesforceConnector) -> None:
    """A cursor without a time zone is a programming error, refused before any call."""
    with pytest.raises(ValueError, match="timezone-aware"):
        list(connector.pull("accounts", datetime(2026, 3, 1)))  # noqa: DTZ001 - the point of the test
