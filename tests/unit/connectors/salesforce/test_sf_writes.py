"""The Salesforce write side at the transport seam: wire values, collection bodies, result mapping, notes."""

from __future__ import annotations

import base64
import json
from datetime import UTC, date, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

import pytest
from responses import matchers

from connectors.base import Note, NoteRef, ProtocolError, RecordError, RecordUpdate, RetriableError, Writer
from connectors.salesforce.notes import composite_request, note_html, note_ref, note_title
from connectors.salesforce.wire import to_wire
from tests.unit.connectors.salesforce.sf_helpers import DATA, sf_error

if TYPE_CHECKING:
    import responses

    from connectors.salesforce import SalesforceConnector
    from tests.unit.connectors.salesforce.sf_helpers import Sleeps

COLLECTION = f"{DATA}/composite/sobjects"
COMPOSITE = f"{DATA}/composite"
QUERY = f"{DATA}/query/"


def ok(record_id: str) -> dict[str, Any]:
    return {"id": record_id, "success": True, "errors": []}


def failed(code: str, message: str, fields: list[str], record_id: str | None = None) -> dict[str, Any]:
    return {"id": record_id, "success": False, "errors": [{"statusCode": code, "message": message, "fields": fields}]}


def sent(call: responses.Call) -> dict[str, Any]:
    return json.loads(call.request.body or b"{}")  # type: ignore[no-any-return]


# -- wire values ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "wire"),
    [
        (date(2026, 3, 9), "2026-03-09"),
        (datetime(2026, 3, 9, 1, 30, 5, 123456, tzinfo=timezone(timedelta(hours=2))), "2026-03-08T23:30:05.123+0000"),
        (datetime(2026, 3, 9, 12, 0, tzinfo=UTC), "2026-03-09T12:00:00.000+0000"),
        (["Kickoff", "Data import"], "Kickoff;Data import"),
        ([], ""),
        (True, True),
        (False, False),
        (7, 7),
        (42.5, 42.5),
        ("At Risk", "At Risk"),
        (None, None),
    ],
)
def test_canonical_values_take_salesforces_json_form(value: object, wire: object) -> None:
    """Dates ISO, aware datetimes UTC with milliseconds, lists joined by ';', scalars and null as is."""
    assert to_wire(value) == wire
    assert type(to_wire(value)) is type(wire)


@pytest.mark.parametrize(
    ("value", "error"),
    [
        (datetime(2026, 3, 9, 12, 0), ValueError),  # noqa: DTZ001 - the naive datetime is the point
        (float("nan"), ValueError),
        (["a;b"], ValueError),
        ([1, 2], TypeError),
        ({"a": 1}, TypeError),
    ],
)
def test_values_without_a_safe_salesforce_form_are_refused(value: object, error: type[Exception]) -> None:
    """A naive datetime, NaN, a ';' inside an option, or an unknown type never reaches the CRM."""
    with pytest.raises(error):
        to_wire(value)


# -- write ----------------------------------------------------------------------------------------


def test_the_connector_implements_the_writer_protocol(connector: SalesforceConnector) -> None:
    """The connector satisfies the seam's Writer protocol."""
    assert isinstance(connector, Writer)


def test_a_batch_is_one_patch_with_crm_names_and_wire_values(
    rsps: responses.RequestsMock, connector: SalesforceConnector
) -> None:
    """Updates become one PATCH composite/sobjects with allOrNone false, typed records and CRM names."""
    expected = {
        "allOrNone": False,
        "records": [
            {"attributes": {"type": "Account"}, "id": "001A", "Onboarding_Health__c": "At Risk"},
            {"attributes": {"type": "Account"}, "id": "001B", "Onboarding_Health__c": None, "Plan_Tier__c": "Gold"},
        ],
    }
    rsps.patch(COLLECTION, json=[ok("001A"), ok("001B")], match=[matchers.json_params_matcher(expected)])
    updates = [
        RecordUpdate("001A", {"health": "At Risk"}),
        RecordUpdate("001B", {"health": None, "tier_copy": "Gold"}),
    ]
    (results,) = connector.write("accounts", updates)
    assert [(r.id, r.ok) for r in results] == [("001A", True), ("001B", True)]


def test_failed_records_keep_the_crms_code_message_and_canonical_fields(
    rsps: responses.RequestsMock, connector: SalesforceConnector
) -> None:
    """A refused record is a failed result: the CRM's code, its messages, the fields by canonical name."""
    two_errors = {
        "id": None,
        "success": False,
        "errors": [
            {
                "statusCode": "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                "message": "bad value: X",
                "fields": ["plan_tier__c"],
            },
            {"statusCode": "FIELD_CUSTOM_VALIDATION_EXCEPTION", "message": "Health  needs a\nreason", "fields": []},
        ],
    }
    rsps.patch(COLLECTION, json=[ok("001A"), two_errors, failed("ENTITY_IS_DELETED", "entity is deleted", [])])
    updates = [RecordUpdate(i, {"tier_copy": "X"}) for i in ("001A", "001B", "001C")]
    (results,) = connector.write("accounts", updates)
    assert results[0].ok
    assert results[1].id == "001B"  # the CRM sent no id for the failure: the request's id is kept
    assert (results[1].code, results[1].message, results[1].fields) == (
        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
        "bad value: X; Health needs a reason",
        ("tier_copy",),
    )
    assert (results[2].ok, results[2].code) == (False, "ENTITY_IS_DELETED")


def test_201_updates_make_two_calls_of_200_and_1(rsps: responses.RequestsMock, connector: SalesforceConnector) -> None:
    """Batches hold at most 200 records, and each batch's results come as it lands."""
    rsps.patch(COLLECTION, json=[ok(f"001{i:04d}") for i in range(200)])
    rsps.patch(COLLECTION, json=[ok("0010200")])
    batches = list(
        connector.write("accounts", [RecordUpdate(f"001{i:04d}", {"health": "On Track"}) for i in range(201)])
    )
    assert [len(b) for b in batches] == [200, 1]
    assert [len(sent(c)["records"]) for c in rsps.calls] == [200, 1]


def test_an_undeclared_field_stops_the_write_before_any_call(connector: SalesforceConnector) -> None:
    """A canonical name that is not a push field is a ValueError, raised before anything is sent."""
    with pytest.raises(ValueError, match="'name' is not a push field"):
        connector.write("accounts", [RecordUpdate("001A", {"name": "Renamed"})])
    with pytest.raises(ValueError, match="twice"):
        connector.write("accounts", [RecordUpdate("001A", {"health": "x"}), RecordUpdate("001A", {"health": "y"})])


def test_locked_records_alone_go_again_after_a_backoff(
    rsps: responses.RequestsMock, connector: SalesforceConnector, sleeps: Sleeps
) -> None:
    """UNABLE_TO_LOCK_ROW records are resent together in one follow-up call after a policy wait."""
    lock = failed("UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access to this record", [])
    rsps.patch(COLLECTION, json=[ok("001A"), lock, lock])
    rsps.patch(COLLECTION, json=[ok("001B"), ok("001C")])
    (results,) = connector.write("accounts", [RecordUpdate(i, {"health": "At Risk"}) for i in ("001A", "001B", "001C")])
    assert all(r.ok for r in results)
    assert [r["id"] for r in sent(rsps.calls[1])["records"]] == ["001B", "001C"]
    assert len(sleeps) == 1


def test_records_still_locked_after_three_rounds_are_reported_failed(
    rsps: responses.RequestsMock, connector: SalesforceConnector, sleeps: Sleeps
) -> None:
    """After three follow-up rounds a locked record is a failed result, not an exception."""
    lock = failed("UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access to this record", [])
    rsps.patch(COLLECTION, json=[ok("001A"), lock])
    for _ in range(3):
        rsps.patch(COLLECTION, json=[lock])
    (results,) = connector.write("accounts", [RecordUpdate(i, {"health": "x"}) for i in ("001A", "001B")])
    assert results[0].ok
    assert (results[1].ok, results[1].code) == (False, "UNABLE_TO_LOCK_ROW")
    assert len(rsps.calls) == 4
    assert len(sleeps) == 3


def test_a_transient_whole_call_failure_is_retried(
    rsps: responses.RequestsMock, connector: SalesforceConnector, sleeps: Sleeps
) -> None:
    """A 503 on the batch call is retried under the policy; the batch then lands."""
    rsps.patch(COLLECTION, status=503, json=sf_error("SERVER_UNAVAILABLE", "down"))
    rsps.patch(COLLECTION, json=[ok("001A")])
    (results,) = connector.write("accounts", [RecordUpdate("001A", {"health": "x"})])
    assert results[0].ok
    assert len(sleeps) == 1


def test_a_whole_call_failure_that_persists_raises(
    rsps: responses.RequestsMock, connector: SalesforceConnector
) -> None:
    """When every try fails the write raises the retriable error (the engine fails the cycle)."""
    for _ in range(4):
        rsps.patch(COLLECTION, status=503, json=sf_error("SERVER_UNAVAILABLE", "down"))
    with pytest.raises(RetriableError):
        list(connector.write("accounts", [RecordUpdate("001A", {"health": "x"})]))


@pytest.mark.parametrize(
    "answer",
    [{"results": []}, [ok("001A")], [ok("001A"), ok("001B"), ok("001C")], [ok("001A"), {"id": "001B"}], []],
)
def test_an_unreadable_batch_answer_is_a_protocol_error(
    rsps: responses.RequestsMock, connector: SalesforceConnector, answer: object
) -> None:
    """A 200 whose body is not one result per record (with 'success') is a ProtocolError, not retried."""
    rsps.patch(COLLECTION, json=answer)
    with pytest.raises(ProtocolError, match="Salesforce answered"):
        list(
            connector.write("accounts", [RecordUpdate("001A", {"health": "x"}), RecordUpdate("001B", {"health": "x"})])
        )


# -- notes ----------------------------------------------------------------------------------------

NOTE = Note("handoff:001A:v1", "001A", "Handoff to Customer Success", "Ready.\n\n- Goals met\n- Users trained")


def test_note_html_escapes_everything_typed_and_keeps_structure() -> None:
    """Paragraphs become <p>, '- ' lines <ul><li>, and '<', '>', '&', quotes are escaped; é stays."""
    text = 'Café & co <script>alert("x")</script>\nsecond line\n\n  \n- one <b>\n- two & three\nafter'
    assert note_html(text) == (
        "<p>Café &amp; co &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;<br>second line</p>"
        "<ul><li>one &lt;b&gt;</li><li>two &amp; three</li></ul><p>after</p>"
    )
    assert note_html(" \r\n ") == ""


def test_the_title_carries_the_keys_reference_within_255_characters() -> None:
    """The title ends in 'ref' + 12 hex digits of the key's SHA-256, cut to Salesforce's limit."""
    ref = note_ref("k")
    assert len(ref) == 12
    assert int(ref, 16) >= 0
    assert note_title("Handoff", "k") == f"Handoff · ref {ref}"
    long = note_title("x" * 400, "k")
    assert len(long) == 255
    assert long.endswith(f" · ref {ref}")


def test_the_note_and_its_link_go_in_one_all_or_none_composite_call() -> None:
    """ContentNote then ContentDocumentLink referencing @{note.id}, shared with all users."""
    body = composite_request(NOTE, "62.0")
    note, link = body["compositeRequest"]
    assert body["allOrNone"] is True
    assert note["url"] == "/services/data/v62.0/sobjects/ContentNote"
    assert base64.b64decode(note["body"]["Content"]).decode() == note_html(NOTE.body)
    assert link["body"] == {
        "ContentDocumentId": "@{note.id}",
        "LinkedEntityId": "001A",
        "ShareType": "V",
        "Visibility": "AllUsers",
    }


def sub(ref: str, status: int, body: object) -> dict[str, Any]:
    return {"referenceId": ref, "httpStatusCode": status, "httpHeaders": {}, "body": body}


def test_create_note_answers_the_new_notes_id(rsps: responses.RequestsMock, connector: SalesforceConnector) -> None:
    """A /composite answer with two 201s gives the ContentNote's id."""
    answer = {"compositeResponse": [sub("note", 201, ok("069A")), sub("link", 201, ok("06AA"))]}
    rsps.post(COMPOSITE, json=answer, match=[matchers.json_params_matcher(composite_request(NOTE, "62.0"))])
    assert connector.create_note(NOTE) == NoteRef("069A", NOTE.key)


def test_a_refused_note_is_a_record_error_with_the_crms_code(
    rsps: responses.RequestsMock, connector: SalesforceConnector
) -> None:
    """The failing subrequest's code wins over PROCESSING_HALTED; the account is named."""
    halted = [{"errorCode": "PROCESSING_HALTED", "message": "rolled back"}]
    bad = [{"errorCode": "INVALID_CROSS_REFERENCE_KEY", "message": "no such record: 001A"}]
    rsps.post(COMPOSITE, json={"compositeResponse": [sub("note", 400, halted), sub("link", 400, bad)]})
    with pytest.raises(RecordError) as caught:
        connector.create_note(NOTE)
    assert (caught.value.record_id, caught.value.code) == ("001A", "INVALID_CROSS_REFERENCE_KEY")


def test_a_retry_of_create_note_looks_the_note_up_first(
    rsps: responses.RequestsMock, connector: SalesforceConnector
) -> None:
    """After a failed try, the note is searched by key before posting again, and a hit is returned."""
    rsps.post(COMPOSITE, status=503, json=sf_error("SERVER_UNAVAILABLE", "down"))
    rsps.get(QUERY, json={"totalSize": 1, "done": True, "records": [{"ContentDocumentId": "069A"}]})
    title = note_title(NOTE.title, NOTE.key)
    rsps.get(QUERY, json={"totalSize": 1, "done": True, "records": [{"Id": "069A", "Title": title}]})
    assert connector.create_note(NOTE) == NoteRef("069A", NOTE.key)
    soqls = [c.request.params["q"] for c in rsps.calls[1:]]  # type: ignore[attr-defined]
    assert soqls[0] == "SELECT ContentDocumentId FROM ContentDocumentLink WHERE LinkedEntityId = '001A'"
    expected = (
        "SELECT Id, Title, CreatedDate FROM ContentNote WHERE Id IN ('069A')"
        " AND Title LIKE '%ref <REF>' ORDER BY CreatedDate ASC, Id ASC"
    )
    assert soqls[1] == expected.replace("<REF>", note_ref(NOTE.key))


def test_find_note_ignores_notes_without_the_reference(
    rsps: responses.RequestsMock, connector: SalesforceConnector
) -> None:
    """An account without linked documents costs one query and finds nothing."""
    rsps.get(QUERY, json={"totalSize": 0, "done": True, "records": []})
    assert connector.find_note("001A", NOTE.key) is None


# -- audience -------------------------------------------------------------------------------------


def test_a_duplicate_campaign_member_answers_the_existing_one(
    rsps: responses.RequestsMock, connector: SalesforceConnector
) -> None:
    """DUPLICATE_VALUE on create means it exists: it is looked up and its id returned."""
    rsps.post(
        f"{DATA}/sobjects/CampaignMember",
        status=400,
        json=sf_error("DUPLICATE_VALUE", "Already a campaign member."),
        match=[matchers.json_params_matcher({"CampaignId": "701A", "ContactId": "003A", "Status": "Sent"})],
    )
    rsps.get(QUERY, json={"totalSize": 1, "done": True, "records": [{"Id": "00vA"}]})
    assert connector.add_audience_member("701A", "003A", "Sent") == "00vA"
    assert rsps.calls[1].request.params["q"] == (  # type: ignore[attr-defined]
        "SELECT Id FROM CampaignMember WHERE CampaignId = '701A' AND ContactId = '003A' LIMIT 1"
    )


def test_other_refusals_of_a_campaign_member_are_not_hidden(
    rsps: responses.RequestsMock, connector: SalesforceConnector
) -> None:
    """A 400 other than DUPLICATE_VALUE propagates as the connector's error."""
    rsps.post(f"{DATA}/sobjects/CampaignMember", status=400, json=sf_error("INVALID_CROSS_REFERENCE_KEY", "bad id"))
    with pytest.raises(ProtocolError, match="INVALID_CROSS_REFERENCE_KEY"):
        connector.add_audience_member("701A", "003A")
