"""The HubSpot sandbox driven by the real hubspot-api-client 12 over loopback HTTP.

Each test states one behaviour of HubSpot's API that the sandbox must reproduce (shapes, status
codes, limits). Time is a fake clock shared by the test and the sandbox: nothing sleeps.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from hubspot import HubSpot
from hubspot.crm.associations.v4 import BatchInputPublicFetchAssociationsBatchRequest
from hubspot.crm.associations.v4.exceptions import ApiException as AssocApiException
from hubspot.crm.companies.exceptions import ApiException as CompaniesApiException
from hubspot.crm.contacts import (
    BatchInputSimplePublicObjectBatchInput,
    BatchInputSimplePublicObjectBatchInputUpsert,
    PublicObjectSearchRequest,
    SimplePublicObjectBatchInput,
    SimplePublicObjectBatchInputUpsert,
)
from hubspot.crm.contacts.exceptions import ApiException
from hubspot.crm.objects.notes import SimplePublicObjectInputForCreate
from hubspot.crm.properties import PropertyCreate
from hubspot.crm.properties.exceptions import ApiException as PropertiesApiException

from sync_daemon.sandbox.hubspot import ACCESS_TOKEN, HubSpotSandbox
from sync_daemon.sandbox.server import Clock, SandboxServer

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

START = datetime(2026, 1, 6, 12, 0, tzinfo=UTC)


class FakeNow:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        """Start at a fixed moment a day after the seed's base time."""
        self.now = START

    def __call__(self) -> datetime:
        """The current fake time."""
        return self.now

    def advance(self, seconds: float) -> None:
        """Move time forward."""
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def now() -> FakeNow:
    return FakeNow()


Make = "Callable[..., tuple[HubSpotSandbox, HubSpot]]"


@pytest.fixture
def make(now: FakeNow) -> Iterator[Callable[..., tuple[HubSpotSandbox, HubSpot]]]:
    servers: list[SandboxServer] = []

    def build(
        accounts: int = 12, contacts: int = 60, *, tls: bool = False, **options: Any
    ) -> tuple[HubSpotSandbox, HubSpot]:
        app = HubSpotSandbox(accounts=accounts, contacts=contacts, clock=Clock(now), **options)
        server = SandboxServer(app, tls=tls).start()
        servers.append(server)
        extra = {"ssl_ca_cert": str(server.ca_file)} if tls else {}
        return app, HubSpot(access_token=ACCESS_TOKEN, host=server.url, **extra)

    yield build
    for server in servers:
        server.stop()


def _search(client: HubSpot, object_type: str = "contacts", **body: Any) -> Any:
    api = client.crm
    for part in object_type.split("."):
        api = getattr(api, part)
    api = api.search_api
    return api.do_search(public_object_search_request=PublicObjectSearchRequest(**body))


def _gt(prop: str, value: Any, op: str = "GT") -> dict[str, Any]:
    return {"filters": [{"propertyName": prop, "operator": op, "value": str(value)}]}


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _body(exc: Exception) -> dict[str, Any]:
    return dict(json.loads(exc.body))  # type: ignore[attr-defined]


def test_host_is_honoured_and_pages_carry_string_properties(make: Any) -> None:
    """``HubSpot(host=...)`` reaches the sandbox; pages follow ``after``; values are strings."""
    app, client = make()
    first = client.crm.companies.basic_api.get_page(limit=5, properties=["name", "numberofemployees"])
    second = client.crm.companies.basic_api.get_page(limit=5, after=first.paging.next.after)
    assert [r.id for r in first.results + second.results] == app.ids("companies")[:10]
    props = first.results[0].properties
    assert set(props) == {
        "name",
        "numberofemployees",
        "hs_object_id",
        "createdate",
        "hs_lastmodifieddate",
    }
    assert props["numberofemployees"].isdigit()
    assert props["hs_lastmodifieddate"].endswith("Z")


def test_seed_uses_the_mapping_names_and_vocabularies(make: Any) -> None:
    """Companies carry plan_tier, ``a;b`` onboarding_steps, the lifecycle; contacts the role."""
    app, _ = make(accounts=30, contacts=200)
    companies = [app.get("companies", i) for i in app.ids("companies")]
    assert {c["lifecyclestage"] for c in companies} == {"customer", "opportunity"}
    assert {c["plan_tier"] for c in companies} <= {"SMB", "Mid-Market", "Enterprise"}
    assert any(";" in (c["onboarding_steps"] or "") for c in companies)
    contacts = [app.get("contacts", i) for i in app.ids("contacts")]
    roles = {c["hs_buying_role"] for c in contacts}
    assert roles == {None, "DECISION_MAKER", "CHAMPION", "END_USER", "INFLUENCER"}
    assert {c["hs_email_optout"] for c in contacts} == {"true", "false"}


def test_list_with_associations_and_archived(make: Any) -> None:
    """``associations=`` adds the v3 block; ``archived=true`` lists only archived records."""
    app, client = make()
    contact = app.ids("contacts")[0]
    page = client.crm.contacts.basic_api.get_page(limit=1, associations=["companies"])
    kinds = {a.type for a in page.results[0].associations["companies"].results}
    assert kinds == {"contact_to_company", "contact_to_company_unlabeled"}
    app.archive("contacts", contact)
    archived = client.crm.contacts.basic_api.get_page(archived=True)
    assert [r.id for r in archived.results] == [contact]
    assert archived.results[0].archived is True
    assert archived.results[0].archived_at is not None
    with pytest.raises(ApiException) as err:
        client.crm.contacts.basic_api.get_by_id(contact)
    assert err.value.status == 404


def test_merged_record_answers_as_its_survivor(make: Any) -> None:
    """GET by a merged-away id answers the survivor, whose hs_merged_object_ids lists it."""
    app, client = make()
    gone, survivor = app.ids("contacts")[:2]
    app.merge("contacts", gone, survivor)
    got = client.crm.contacts.basic_api.get_by_id(gone, properties=["hs_merged_object_ids"])
    assert got.id == survivor
    assert got.properties["hs_merged_object_ids"] == gone
    assert gone not in app.ids("contacts")


def test_search_filters_sorts_and_returns_only_requested_properties(make: Any) -> None:
    """Filters AND within a group, groups OR; one sort; only the requested properties return."""
    app, client = make(accounts=40)
    customer_smb = {"filters": [
        {"propertyName": "lifecyclestage", "operator": "EQ", "value": "customer"},
        {"propertyName": "plan_tier", "operator": "IN", "values": ["SMB"]},
    ]}  # fmt: skip
    groups = [customer_smb, _gt("plan_tier", "Enterprise", "EQ")]
    sort = [{"propertyName": "contract_value", "direction": "DESCENDING"}]
    found = _search(client, "companies", filter_groups=groups, properties=["plan_tier"], limit=200, sorts=sort)
    stored = {i: app.get("companies", i) for i in app.ids("companies")}
    expected = {
        i
        for i, p in stored.items()
        if (p["lifecyclestage"], p["plan_tier"]) == ("customer", "SMB") or p["plan_tier"] == "Enterprise"
    }
    assert found.total == len(expected)
    assert {r.id for r in found.results} == expected
    values = [float(stored[r.id]["contract_value"]) for r in found.results]
    assert values == sorted(values, reverse=True)
    assert set(found.results[0].properties) == {
        "plan_tier",
        "hs_object_id",
        "createdate",
        "hs_lastmodifieddate",
    }


def test_search_compares_datetimes_as_epoch_milliseconds(make: Any) -> None:
    """A GTE filter on lastmodifieddate takes ms strings and compares as time, not as text."""
    app, client = make()
    cutoff = datetime(2026, 1, 1, tzinfo=UTC)
    found = _search(client, filter_groups=[_gt("lastmodifieddate", _ms(cutoff), "GTE")], limit=200)
    expected = {
        i for i in app.ids("contacts")
        if datetime.fromisoformat(app.get("contacts", i)["lastmodifieddate"] or "") >= cutoff
    }  # fmt: skip
    assert 0 < found.total < len(app.ids("contacts"))
    assert {r.id for r in found.results} == expected


def test_search_pages_by_object_id_and_skips_archived_and_merged(make: Any) -> None:
    """Paging by ``hs_object_id > last`` visits each live id once; archived and merged never do."""
    app, client = make(contacts=90)
    ids = app.ids("contacts")
    app.archive("contacts", ids[3])
    app.merge("contacts", ids[4], ids[5])
    seen, last = [], 0
    while True:
        sort = [{"propertyName": "hs_object_id", "direction": "ASCENDING"}]
        page = _search(client, filter_groups=[_gt("hs_object_id", last)], limit=25, sorts=sort)
        seen += [r.id for r in page.results]
        if not page.paging:
            break
        last = int(page.results[-1].id)
    assert seen == app.ids("contacts")
    assert ids[3] not in seen
    assert ids[4] not in seen


def test_search_cannot_page_past_ten_thousand_results(make: Any) -> None:
    """The last page offers ``after=10000``; asking for it answers 400 VALIDATION_ERROR."""
    _, client = make(accounts=10, contacts=10_050)
    page = _search(client, limit=200, after="9800")
    assert page.total == 10_050
    assert len(page.results) == 200
    assert page.paging.next.after == "10000"
    with pytest.raises(ApiException) as err:
        _search(client, limit=200, after="10000")
    assert err.value.status == 400
    assert _body(err.value)["category"] == "VALIDATION_ERROR"
    assert "10000" in _body(err.value)["message"]


def test_search_lags_recent_writes_but_get_does_not(make: Any, now: FakeNow) -> None:
    """A write is invisible to search for ``search_lag_seconds``; GET sees it at once."""
    app, client = make(search_lag_seconds=30)
    target = app.ids("contacts")[0]
    app.update("contacts", target, jobtitle="Chief Sandbox Officer")
    flt = [{"filters": [{"propertyName": "jobtitle", "operator": "EQ", "value": "chief sandbox officer"}]}]
    assert _search(client, filter_groups=flt).total == 0
    got = client.crm.contacts.basic_api.get_by_id(target, properties=["jobtitle"])
    assert got.properties["jobtitle"] == "Chief Sandbox Officer"
    now.advance(31)
    assert [r.id for r in _search(client, filter_groups=flt).results] == [target]


def test_backdated_update_keeps_its_timestamp(make: Any, now: FakeNow) -> None:
    """``update(modified_at=...)`` commits behind the clock; a plain update bumps to now."""
    app, _ = make()
    first, second = app.ids("contacts")[:2]
    app.update("contacts", first, modified_at=START - timedelta(hours=2), firstname="Late")
    app.update("contacts", second, firstname="Now")
    assert app.get("contacts", first)["lastmodifieddate"] == "2026-01-06T10:00:00.000Z"
    assert app.get("contacts", second)["lastmodifieddate"] == "2026-01-06T12:00:00.000Z"


def _batch_update(client: HubSpot, updates: dict[str, dict[str, Any]]) -> Any:
    inputs = [SimplePublicObjectBatchInput(id=i, properties=p) for i, p in updates.items()]
    batch = BatchInputSimplePublicObjectBatchInput(inputs=inputs)
    return client.crm.contacts.batch_api.update(batch_input_simple_public_object_batch_input=batch)


def test_batch_update_with_a_missing_id_is_a_207(make: Any, now: FakeNow) -> None:
    """A missing id fails alone (207, OBJECT_NOT_FOUND); the others are written and bumped."""
    app, client = make()
    target = app.ids("contacts")[0]
    now.advance(60)
    result = _batch_update(client, {target: {"persona": "champion"}, "123": {"persona": "end_user"}})
    assert result.num_errors == 1
    assert result.errors[0].category == "OBJECT_NOT_FOUND"
    assert result.errors[0].context == {"ids": ["123"]}
    assert [r.id for r in result.results] == [target]
    assert app.get("contacts", target)["persona"] == "champion"
    assert app.get("contacts", target)["lastmodifieddate"] == "2026-01-06T12:01:00.000Z"


@pytest.mark.parametrize(
    ("props", "code"),
    [
        ({"hs_buying_role": "WIZARD"}, "INVALID_OPTION"),
        ({"no_such_field": "x"}, "PROPERTY_DOESNT_EXIST"),
        ({"hs_email_optout": "true"}, "READ_ONLY_VALUE"),
    ],
)
def test_one_invalid_value_rejects_the_whole_batch(make: Any, props: dict[str, Any], code: str) -> None:
    """One bad value answers 400 VALIDATION_ERROR for the batch, and nothing is written."""
    app, client = make()
    good, bad = app.ids("contacts")[:2]
    with pytest.raises(ApiException) as err:
        _batch_update(client, {good: {"persona": "champion"}, bad: props})
    body = _body(err.value)
    assert err.value.status == 400
    assert body["category"] == "VALIDATION_ERROR"
    assert body["message"].startswith("Property values were not valid: ")
    assert code in body["message"]
    assert app.get("contacts", good)["persona"] is None


def test_text_in_a_number_property_rejects_the_batch(make: Any) -> None:
    """Text in a number property is a whole-batch 400 on companies too."""
    app, client = make()
    company = app.ids("companies")[0]
    inputs = [SimplePublicObjectBatchInput(id=company, properties={"onboarding_progress": "half"})]
    batch = BatchInputSimplePublicObjectBatchInput(inputs=inputs)
    with pytest.raises(CompaniesApiException) as err:
        client.crm.companies.batch_api.update(batch_input_simple_public_object_batch_input=batch)
    assert err.value.status == 400
    assert app.get("companies", company)["onboarding_progress"] is None


def test_batches_hold_at_most_one_hundred_inputs(make: Any) -> None:
    """101 inputs answer 400 before anything is read."""
    app, client = make(contacts=120)
    with pytest.raises(ApiException) as err:
        _batch_update(client, {i: {"persona": "x"} for i in app.ids("contacts")[:101]})
    assert err.value.status == 400


def test_upsert_by_a_unique_property(make: Any) -> None:
    """Upsert by email updates the existing contact and creates the unknown one."""
    app, client = make()
    existing = app.get("contacts", app.ids("contacts")[0])["email"]
    inputs = [
        SimplePublicObjectBatchInputUpsert(id=existing, id_property="email", properties={"persona": "a"}),
        SimplePublicObjectBatchInputUpsert(id="new@x.example", id_property="email", properties={}),
    ]
    batch = BatchInputSimplePublicObjectBatchInputUpsert(inputs=inputs)
    result = client.crm.contacts.batch_api.upsert(batch_input_simple_public_object_batch_input_upsert=batch)
    assert [r.new for r in result.results] == [False, True]
    assert len(app.ids("contacts")) == 61
    bad = BatchInputSimplePublicObjectBatchInputUpsert(
        inputs=[SimplePublicObjectBatchInputUpsert(id="x", id_property="jobtitle", properties={})]
    )
    with pytest.raises(ApiException) as err:
        client.crm.contacts.batch_api.upsert(batch_input_simple_public_object_batch_input_upsert=bad)
    assert err.value.status == 400


def _assoc_read(client: HubSpot, src: str, dst: str, inputs: list[dict[str, Any]]) -> Any:
    batch = BatchInputPublicFetchAssociationsBatchRequest(inputs=inputs)
    api = client.crm.associations.v4.batch_api
    return api.get_page(
        from_object_type=src,
        to_object_type=dst,
        batch_input_public_fetch_associations_batch_request=batch,
    )


def test_v4_association_read_types_and_missing_ids(make: Any) -> None:
    """Primary (1) and unlabeled (279) types return; an id without associations is a 207 error."""
    app, client = make()
    contact = app.ids("contacts")[0]
    result = _assoc_read(client, "contacts", "companies", [{"id": contact}, {"id": "42"}])
    (row,) = result.results
    assert row._from.id == contact
    types = [(t.type_id, t.label) for t in row.to[0].association_types]
    assert types == [(1, "Primary"), (279, None)]
    assert str(row.to[0].to_object_id) == app.get("contacts", contact)["associatedcompanyid"]
    assert result.num_errors == 1
    assert result.errors[0].sub_category == "crm.associations.NO_ASSOCIATIONS_FOUND"


def test_v4_association_read_pages_per_id_and_caps_inputs(make: Any) -> None:
    """A company with 600 contacts pages at 500 per id; more than 1,000 inputs is a 400."""
    app, client = make(accounts=1, contacts=600)
    company = app.ids("companies")[0]
    first = _assoc_read(client, "companies", "contacts", [{"id": company}]).results[0]
    assert len(first.to) == 500
    after = first.paging.next.after
    rest = _assoc_read(client, "companies", "contacts", [{"id": company, "after": after}]).results[0]
    assert len(rest.to) == 100
    assert rest.paging is None
    assert {t.type_id for t in first.to[0].association_types} == {2, 280}
    with pytest.raises(AssocApiException) as err:
        _assoc_read(client, "companies", "contacts", [{"id": str(i)} for i in range(1001)])
    assert err.value.status == 400


def test_default_association_put_links_both_ways(make: Any) -> None:
    """PUT .../associations/default/... adds an unlabeled association, read back from both sides."""
    app, client = make()
    contact, company = app.ids("contacts")[0], app.ids("companies")[-1]
    client.crm.associations.v4.basic_api.create_default(
        from_object_type="contacts",
        from_object_id=contact,
        to_object_type="companies",
        to_object_id=company,
    )
    back = _assoc_read(client, "companies", "contacts", [{"id": company}]).results[0]
    assert contact in {str(t.to_object_id) for t in back.to}


def test_notes_are_created_with_associations_and_found_by_their_own_key(make: Any) -> None:
    """A note with a custom key property is created with its company, and search finds it by key."""
    app, client = make()
    company = app.ids("companies")[0]
    prop = PropertyCreate(name="note_key", label="Note key", type="string", field_type="text",
                          group_name="engagement", has_unique_value=True)  # fmt: skip
    client.crm.properties.core_api.create(object_type="notes", property_create=prop)
    props = {"hs_timestamp": "2026-01-06T12:00:00Z", "hs_note_body": "Handoff", "note_key": "k-1"}
    kind = {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 190}
    note = SimplePublicObjectInputForCreate(properties=props, associations=[{"to": {"id": company}, "types": [kind]}])
    created = client.crm.objects.notes.basic_api.create(simple_public_object_input_for_create=note)
    found = _search(client, "objects.notes", filter_groups=[_gt("note_key", "k-1", "EQ")])
    assert [r.id for r in found.results] == [created.id]
    linked = _assoc_read(client, "notes", "companies", [{"id": created.id}]).results[0]
    assert [(str(t.to_object_id), t.association_types[0].type_id) for t in linked.to] == [(company, 190)]


def test_a_note_needs_hs_timestamp(make: Any) -> None:
    """Creating a note without hs_timestamp is a 400."""
    _, client = make()
    from hubspot.crm.objects.notes.exceptions import ApiException as NotesApiException  # noqa: PLC0415

    note = SimplePublicObjectInputForCreate(properties={"hs_note_body": "x"}, associations=[])
    with pytest.raises(NotesApiException) as err:
        client.crm.objects.notes.basic_api.create(simple_public_object_input_for_create=note)
    assert err.value.status == 400


def test_properties_describe_types_and_read_only_values(make: Any) -> None:
    """Every mapped field is described with its type; hs_email_optout is read-only."""
    _, client = make()
    contacts = {p.name: p for p in client.crm.properties.core_api.get_all(object_type="contacts").results}
    companies = {p.name: p for p in client.crm.properties.core_api.get_all(object_type="companies").results}
    assert contacts["hs_email_optout"].modification_metadata.read_only_value is True
    assert contacts["hs_buying_role"].type == "enumeration"
    assert "CHAMPION" in {o.value for o in contacts["hs_buying_role"].options}
    assert (companies["contract_value"].type, companies["closedate"].type) == ("number", "datetime")
    assert companies["onboarding_steps"].field_type == "checkbox"
    assert companies["hs_lastmodifieddate"].modification_metadata.read_only_value is True


def test_property_creation_checks_names_and_duplicates(make: Any) -> None:
    """Names must be lowercase a-z0-9_; creating one twice is a 409."""
    _, client = make()
    api = client.crm.properties.core_api
    prop = PropertyCreate(name="Bad-Name", label="x", type="string", field_type="text", group_name="g")
    with pytest.raises(PropertiesApiException) as err:
        api.create(object_type="contacts", property_create=prop)
    assert err.value.status == 400
    prop.name = "good_name"
    assert api.create(object_type="contacts", property_create=prop).name == "good_name"
    with pytest.raises(PropertiesApiException) as err:
        api.create(object_type="contacts", property_create=prop)
    assert err.value.status == 409


def test_manual_list_memberships(make: Any) -> None:
    """Adding to a manual list reports added and missing ids; the members page lists them."""
    app, client = make()
    first, second = app.ids("contacts")[:2]
    result = client.crm.lists.memberships_api.add(list_id="101", request_body=[first, second, "999"])
    assert result.records_ids_added == [first, second]
    assert result.record_ids_missing == ["999"]
    page = client.crm.lists.memberships_api.get_page(list_id="101")
    assert [m.record_id for m in page.results] == [first, second]


def test_ten_second_window_answers_429_and_reopens(make: Any, now: FakeNow) -> None:
    """Starter allows 100 requests per rolling 10 s; the 101st is a TEN_SECONDLY_ROLLING 429."""
    app, client = make(tier="starter", enforce_rate_limits=True)
    target, api = app.ids("contacts")[0], client.crm.contacts.basic_api
    for _ in range(100):
        api.get_by_id(target)
    with pytest.raises(ApiException) as err:
        api.get_by_id(target)
    assert err.value.status == 429
    assert _body(err.value)["policyName"] == "TEN_SECONDLY_ROLLING"
    assert _body(err.value)["errorType"] == "RATE_LIMIT"
    assert err.value.headers["X-HubSpot-RateLimit-Remaining"] == "0"
    now.advance(10)
    _, status, headers = api.get_by_id_with_http_info(target)
    assert status == 200
    assert headers["X-HubSpot-RateLimit-Max"] == "100"
    assert headers["X-HubSpot-RateLimit-Interval-Milliseconds"] == "10000"


def test_daily_budget_answers_429_until_midnight_in_the_portal_zone(make: Any, now: FakeNow) -> None:
    """A spent daily budget is a DAILY 429 until midnight in the portal's time zone."""
    app, client = make(enforce_rate_limits=True, timezone="America/New_York")
    target, api = app.ids("contacts")[0], client.crm.contacts.basic_api
    app.set_daily_remaining(1)
    _, _, headers = api.get_by_id_with_http_info(target)
    assert headers["X-HubSpot-RateLimit-Daily-Remaining"] == "0"
    with pytest.raises(ApiException) as err:
        api.get_by_id(target)
    assert (err.value.status, _body(err.value)["policyName"]) == (429, "DAILY")
    now.now = datetime(2026, 1, 7, 4, 59, tzinfo=UTC)  # 23:59 in New York
    with pytest.raises(ApiException):
        api.get_by_id(target)
    now.now = datetime(2026, 1, 7, 5, 0, tzinfo=UTC)  # midnight in New York
    assert api.get_by_id(target).id == target


def test_search_allows_five_requests_per_second(make: Any, now: FakeNow) -> None:
    """The sixth search within a second is a SECONDLY 429; other endpoints are unaffected."""
    app, client = make(enforce_rate_limits=True)
    for _ in range(5):
        _search(client, limit=1)
    with pytest.raises(ApiException) as err:
        _search(client, limit=1)
    assert (err.value.status, _body(err.value)["policyName"]) == (429, "SECONDLY")
    assert client.crm.contacts.basic_api.get_by_id(app.ids("contacts")[0]).id
    now.advance(1)
    assert _search(client, limit=1).total == 60


def test_wrong_and_expired_tokens_answer_401(make: Any) -> None:
    """Wrong token: INVALID_AUTHENTICATION; expired: EXPIRED_AUTHENTICATION until restored."""
    app, client = make()
    wrong = HubSpot(access_token="pat-wrong", host=client.config["host"])
    with pytest.raises(ApiException) as err:
        wrong.crm.contacts.basic_api.get_page()
    assert (err.value.status, _body(err.value)["category"]) == (401, "INVALID_AUTHENTICATION")
    app.expire_token()
    with pytest.raises(ApiException) as err:
        client.crm.contacts.basic_api.get_page()
    assert (err.value.status, _body(err.value)["category"]) == (401, "EXPIRED_AUTHENTICATION")
    app.restore_token()
    assert client.crm.contacts.basic_api.get_page().results


def test_tls_server_works_with_the_throwaway_ca(make: Any) -> None:
    """With ``tls=True`` the client trusts the sandbox through ``ssl_ca_cert``."""
    app, client = make(tls=True)
    assert client.config["host"].startswith("https://")
    assert [r.id for r in client.crm.contacts.basic_api.get_page(limit=2).results] == app.ids("contacts")[:2]
