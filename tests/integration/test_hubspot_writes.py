"""The HubSpot write side with the real hubspot-api-client against the loopback HubSpot sandbox.

Batched updates (call counts by the sandbox's counter, 207 item errors, whole-batch 400s bisected
until the bad records stand alone), keyed notes found through associations even while search lags,
a note whose reply is lost found afterwards, and list memberships. Time is fake: nothing sleeps.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

import pytest

from connectors.base import Note, RecordError, RecordUpdate, RetriableError, Writer, WriteResult
from sync_daemon.sandbox.server import Fault
from tests.conformance.drivers import start_driver

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from connectors.hubspot import HubSpotConnector
    from tests.conformance.drivers import Driver

UPDATE_PATH = r"/crm/v3/objects/companies/batch/update$"
NOTES_PATH = r"/crm/v3/objects/notes$"
BATCH = 100


@pytest.fixture(scope="module")
def big() -> Iterator[Driver]:
    """One sandbox with 10,000 companies, shared by the call-count tests."""
    driver = start_driver("hubspot", 10_000, 10)
    yield driver
    driver.server.stop()


@pytest.fixture
def small() -> Iterator[Driver]:
    """A fresh sandbox with 250 companies and 40 contacts."""
    driver = start_driver("hubspot", 250, 40)
    yield driver
    driver.server.stop()


def connect(driver: Driver) -> Iterator[HubSpotConnector]:
    conn: Any = driver.connector()
    try:
        yield conn
    finally:
        conn.close()


@pytest.fixture
def conn(small: Driver) -> Iterator[HubSpotConnector]:
    """A connector against the small sandbox."""
    yield from connect(small)


def run(conn: HubSpotConnector, updates: Sequence[RecordUpdate]) -> list[list[WriteResult]]:
    return list(conn.write("accounts", updates))


def flat(batches: list[list[WriteResult]]) -> dict[str, WriteResult]:
    return {r.id: r for batch in batches for r in batch}


def progress_updates(ids: Sequence[str], value: object = 55) -> list[RecordUpdate]:
    return [RecordUpdate(i, {"onboarding_progress": value, "onboarding_phase": "Kickoff"}) for i in ids]


def bisection_calls(size: int, bad: set[int], offset: int = 0) -> int:
    """Calls a batch costs under the spec: one, plus both halves again while it holds a bad record."""
    if not any(offset <= b < offset + size for b in bad) or size == 1:
        return 1
    middle = (size + 1) // 2
    return 1 + bisection_calls(middle, bad, offset) + bisection_calls(size - middle, bad, offset + middle)


def test_the_connector_is_a_writer(conn: HubSpotConnector) -> None:
    """The HubSpot connector satisfies the Writer protocol."""
    assert isinstance(conn, Writer)


@pytest.mark.parametrize("n", [1, 99, 100, 101, 10_000])
def test_n_changed_records_cost_exactly_ceil_n_over_100_calls(big: Driver, n: int) -> None:
    """N good updates cost ceil(N/100) batch/update calls and every record lands."""
    for c in connect(big):
        ids = big.app.ids("companies")[:n]
        big.app.reset_calls()
        batches = run(c, progress_updates(ids, n))
        assert big.app.count("POST", UPDATE_PATH) == math.ceil(n / BATCH)
        assert big.app.count() == math.ceil(n / BATCH)
        assert [len(b) for b in batches] == [min(BATCH, n - s) for s in range(0, n, BATCH)]
        assert all(r.ok for b in batches for r in b)
        assert {big.app.get("companies", i)["onboarding_progress"] for i in (ids[0], ids[-1])} == {str(n)}


def test_no_update_makes_no_call(big: Driver) -> None:
    """An empty write makes no call at all."""
    for c in connect(big):
        big.app.reset_calls()
        assert run(c, []) == []
        assert big.app.count() == 0


def test_one_bad_value_in_100_is_isolated_by_bisection(small: Driver, conn: HubSpotConnector) -> None:
    """A bad option-free number rejects the batch whole; bisection lands the other 99 in 1 + 2*ceil(log2 100) calls."""
    ids = small.app.ids("companies")[:BATCH]
    updates = progress_updates(ids)
    updates[0] = RecordUpdate(ids[0], {"onboarding_progress": "nearly done"})
    before = small.app.get("companies", ids[0])["onboarding_progress"]
    small.app.reset_calls()
    results = flat(run(conn, updates))
    levels = math.ceil(math.log2(BATCH))
    assert small.app.count("POST", UPDATE_PATH) == 1 + 2 * levels == bisection_calls(BATCH, {0})
    bad = results[ids[0]]
    assert not bad.ok
    assert bad.code == "VALIDATION_ERROR"
    assert bad.message is not None
    assert "nearly done was not a valid number" in bad.message
    assert bad.fields == ("onboarding_progress",)
    assert sum(r.ok for r in results.values()) == 99
    assert small.app.get("companies", ids[0])["onboarding_progress"] == before
    assert all(small.app.get("companies", i)["onboarding_progress"] == "55" for i in ids[1:])


def test_three_bad_records_of_200_keep_the_crm_message_and_the_197_land(small: Driver, conn: HubSpotConnector) -> None:
    """3 invalid records of 200: 197 land, the 3 fail with HubSpot's message, splits only where they are."""
    ids = small.app.ids("companies")[:200]
    bad = {7, 120, 199}
    updates = progress_updates(ids)
    for b in bad:
        updates[b] = RecordUpdate(ids[b], {"onboarding_progress": f"{b} percent"})
    small.app.reset_calls()
    batches = run(conn, updates)
    results = flat(batches)
    expected = bisection_calls(BATCH, {7}) + bisection_calls(BATCH, {20, 99})
    assert small.app.count("POST", UPDATE_PATH) == expected
    assert [len(b) for b in batches] == [BATCH, BATCH]
    failed = {i for i, r in results.items() if not r.ok}
    assert failed == {ids[b] for b in bad}
    assert all("was not a valid number" in (results[ids[b]].message or "") for b in bad)
    assert sum(r.ok for r in results.values()) == 197
    small.app.reset_calls()
    fixed = flat(run(conn, progress_updates([ids[b] for b in sorted(bad)])))
    assert all(r.ok for r in fixed.values())
    assert small.app.count("POST", UPDATE_PATH) == 1


def test_a_missing_record_is_a_207_item_error_and_the_rest_land(small: Driver, conn: HubSpotConnector) -> None:
    """A 207 names the id that does not exist; it fails with HubSpot's category, the rest land in one call."""
    ids = small.app.ids("companies")[:3]
    small.app.reset_calls()
    results = flat(run(conn, progress_updates([*ids, "9999999999"])))
    assert small.app.count("POST", UPDATE_PATH) == 1
    missing = results["9999999999"]
    assert (missing.ok, missing.code) == (False, "OBJECT_NOT_FOUND")
    assert "Could not get some COMPANY objects" in (missing.message or "")
    assert all(results[i].ok for i in ids)


def test_values_are_written_in_hubspot_formats_and_none_clears(small: Driver, conn: HubSpotConnector) -> None:
    """Numbers, dates and text arrive as HubSpot stores them; None clears a property."""
    target = small.app.ids("companies")[0]
    small.app.update("companies", target, onboarding_health="on track")
    fields = {"onboarding_progress": 42.5, "next_task_due": date(2026, 3, 1), "slip_days": 3, "health": None}
    assert all(r.ok for r in flat(run(conn, [RecordUpdate(target, fields)])).values())
    stored = small.app.get("companies", target)
    assert stored["onboarding_progress"] == "42.5"
    assert stored["onboarding_next_task_due"] == "2026-03-01"
    assert stored["onboarding_slip_days"] == "3"
    assert stored["onboarding_health"] is None


def test_a_field_the_mapping_does_not_push_is_refused_before_any_call(small: Driver, conn: HubSpotConnector) -> None:
    """Writing a pulled-only canonical field raises ValueError and makes no call."""
    ids = small.app.ids("companies")[:2]
    small.app.reset_calls()
    with pytest.raises(ValueError, match="'name' is not a push field"):
        conn.write("accounts", [*progress_updates(ids[:1]), RecordUpdate(ids[1], {"name": "Renamed"})])
    assert small.app.count() == 0


def test_a_rate_limited_batch_is_retried(small: Driver, conn: HubSpotConnector) -> None:
    """A 429 on a batch update is waited out and the batch lands once retried."""
    ids = small.app.ids("companies")[:5]
    body = {"status": "error", "policyName": "TEN_SECONDLY_ROLLING", "message": "slow down"}
    small.inject(Fault("status", method="POST", path=UPDATE_PATH, status=429, body=body))
    small.app.reset_calls()
    assert all(r.ok for r in flat(run(conn, progress_updates(ids))).values())
    assert small.app.count("POST", UPDATE_PATH) == 2
    assert small.time.sleeps


def test_contacts_are_written_through_the_contacts_batch_api(small: Driver, conn: HubSpotConnector) -> None:
    """Contact push fields go through contacts/batch/update."""
    ids = small.app.ids("contacts")[:3]
    small.app.reset_calls()
    results = [r for b in conn.write("contacts", [RecordUpdate(i, {"persona": "champion"}) for i in ids]) for r in b]
    assert all(r.ok for r in results)
    assert small.app.count("POST", r"/crm/v3/objects/contacts/batch/update$") == 1
    assert small.app.get("contacts", ids[0])["persona"] == "champion"


# -- notes ---------------------------------------------------------------------------------------


def note_for(account_id: str, key: str = "handoff:acct:1") -> Note:
    return Note(key=key, account_id=account_id, title="Handoff", body="Ready for CS.\n\n- kickoff done\n- users live")


def test_a_note_is_created_and_found_through_associations_while_search_lags(
    small: Driver, conn: HubSpotConnector
) -> None:
    """A fresh note is found at once by key via associations, never search, even with search an hour behind."""
    small.app.search_lag_seconds = 3600
    account = small.app.ids("companies")[0]
    assert conn.find_note(account, "handoff:acct:1") is None
    ref = conn.create_note(note_for(account))
    assert conn.find_note(account, "handoff:acct:1") == ref
    assert conn.find_note(account, "another-key") is None
    assert conn.find_note(small.app.ids("companies")[1], "handoff:acct:1") is None
    assert small.app.count(path=r"/search$") == 0
    stored = small.app.get("notes", ref.id)
    assert stored["sync_daemon_key"] == "handoff:acct:1"
    assert stored["hs_timestamp"] == "2026-02-02T15:00:00.000Z"
    assert stored["hs_note_body"] == (
        "<p><strong>Handoff</strong></p><p>Ready for CS.</p><ul><li>kickoff done</li><li>users live</li></ul>"
    )


def test_a_note_whose_reply_is_lost_is_found_and_exists_once(small: Driver, conn: HubSpotConnector) -> None:
    """HubSpot commits the note and the reply is dropped: no blind retry, and find_note resolves it."""
    account = small.app.ids("companies")[2]
    conn.ensure_note_key_property()
    small.inject(Fault("drop_reply", method="POST", path=NOTES_PATH))
    with pytest.raises(RetriableError):
        conn.create_note(note_for(account))
    assert small.app.count("POST", NOTES_PATH) == 1
    found = conn.find_note(account, "handoff:acct:1")
    assert found is not None
    assert small.app.ids("notes") == [found.id]


def test_a_server_error_on_create_is_not_retried_but_a_429_is(small: Driver, conn: HubSpotConnector) -> None:
    """After a 502 the note may exist, so the create surfaces at once; a 429 did nothing, so it is retried."""
    account = small.app.ids("companies")[3]
    conn.ensure_note_key_property()
    small.inject(Fault("status", method="POST", path=NOTES_PATH, status=502, body={"message": "bad gateway"}))
    with pytest.raises(RetriableError):
        conn.create_note(note_for(account))
    assert small.app.count("POST", NOTES_PATH) == 1
    body = {"status": "error", "policyName": "TEN_SECONDLY_ROLLING"}
    small.inject(Fault("status", method="POST", path=NOTES_PATH, status=429, body=body))
    conn.create_note(note_for(account))
    assert small.app.count("POST", NOTES_PATH) == 3
    assert len(small.app.ids("notes")) == 1


def test_note_text_is_escaped_never_markup(small: Driver, conn: HubSpotConnector) -> None:
    """Whatever a user typed (tags, entities, quotes) is stored escaped in the note body."""
    account = small.app.ids("companies")[4]
    typed = Note("k-esc", account, 'Ops <b>"urgent"</b>', "<script>alert('x')</script> & co\n- <img src=x onerror=y>")
    ref = conn.create_note(typed)
    body = small.app.get("notes", ref.id)["hs_note_body"] or ""
    assert "<script" not in body
    assert "<img" not in body
    assert "<b>" not in body
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; co" in body
    assert "<li>&lt;img src=x onerror=y&gt;</li>" in body


def test_the_key_property_is_created_once_per_connector(small: Driver, conn: HubSpotConnector) -> None:
    """The first note creates sync_daemon_key; later notes and other connectors do not touch properties again."""
    accounts = small.app.ids("companies")[:2]
    conn.create_note(note_for(accounts[0], "a"))
    assert small.app.count("POST", r"/crm/v3/properties/notes$") == 1
    conn.create_note(note_for(accounts[1], "b"))
    assert small.app.count(path=r"/crm/v3/properties/") == 3  # GET key (404), GET body group, POST
    for other in connect(small):
        other.ensure_note_key_property()
        other.ensure_note_key_property()
    assert small.app.count(path=r"/crm/v3/properties/") == 4
    assert small.app.count("POST", r"/crm/v3/properties/notes$") == 1


def test_a_key_property_created_by_someone_else_meanwhile_is_fine(small: Driver, conn: HubSpotConnector) -> None:
    """A 409 'already exists' from creating the key property (another process won) is tolerated."""
    for other in connect(small):
        other.ensure_note_key_property()
    not_found = {"status": "error", "category": "OBJECT_NOT_FOUND", "message": "no such property"}
    small.inject(Fault("status", method="GET", path=r"/properties/notes/sync_daemon_key$", status=404, body=not_found))
    conn.ensure_note_key_property()
    assert small.app.count("POST", r"/crm/v3/properties/notes$") == 2  # the other's 201, then our 409


# -- list memberships ----------------------------------------------------------------------------


def test_list_membership_add_find_and_idempotent_add(small: Driver, conn: HubSpotConnector) -> None:
    """A contact is not a member, is added, is found, and adding again changes nothing."""
    contact = small.app.ids("contacts")[5]
    assert conn.find_audience_member("101", contact) is None
    assert conn.add_audience_member("101", contact) == contact
    assert conn.find_audience_member("101", contact) == contact
    assert conn.add_audience_member("101", contact, status="Sent") == contact
    assert small.app.list_members("101") == [contact]
    assert conn.find_audience_member("102", contact) is None


def test_finding_a_member_pages_through_the_list(small: Driver, conn: HubSpotConnector) -> None:
    """With more members than a page, the last contact is still found (and an absent one is not)."""
    contacts = small.app.ids("contacts")
    for c in contacts[:-1]:
        conn.add_audience_member("102", c)
    with small.app.lock:
        for n in range(300):  # members beyond one page of 250, ids below every real contact
            small.app.lists["102"]["members"][str(1000 + n)] = "2026-01-01T00:00:00.000Z"
    small.app.reset_calls()
    assert conn.find_audience_member("102", contacts[-2]) == contacts[-2]
    assert small.app.count("GET", r"/memberships$") == 2
    assert conn.find_audience_member("102", contacts[-1]) is None


def test_adding_a_contact_that_does_not_exist_is_a_record_error(conn: HubSpotConnector) -> None:
    """HubSpot ignores a missing record id; the connector says so as a RecordError."""
    with pytest.raises(RecordError) as caught:
        conn.add_audience_member("101", "51999999999")
    assert caught.value.code == "OBJECT_NOT_FOUND"


def test_note_timestamps_come_from_the_injected_clock(small: Driver, conn: HubSpotConnector) -> None:
    """hs_timestamp is the connector's clock, not the machine's."""
    small.time.advance(86_400)
    ref = conn.create_note(note_for(small.app.ids("companies")[0], "clocked"))
    stamp = small.app.get("notes", ref.id)["hs_timestamp"]
    assert stamp == datetime(2026, 2, 3, 15, 0, tzinfo=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
