"""Audience channels re-enroll: every assessment send is a fresh "member added" in the campaign or list.

A survey audience (a Salesforce Campaign, a HubSpot list) fires its workflow when a contact is *added*; the
relationship assessment reuses the same campaign or list every six months, so on cycle 2 the contact is still a
member from cycle 1 and a plain add would be a no-op that asks no one. The assessment handler therefore removes
the contact's membership, if any, and adds it again.

Whole daemon cycles (the production wiring, the real connectors, the outbox drain) run against both sandboxes on
their fake clock; what the CRM did is read from the sandbox's own call log and state, never through a connector.
Proven here:

- cycle 2 removes the membership of cycle 1 and then adds a new one (one remove and one add per contact, in that
  order): a new CampaignMember id on Salesforce, a new membership timestamp on HubSpot; one membership at the end;
- a lost reply on cycle 2's add: the retry finds the membership and neither removes nor adds again;
- the documented imperfect case: a remove refused before it acted, then a retry that finds the old membership,
  loses that cycle's re-enrollment and never sends twice;
- each connector's ``remove_audience_member``: True when it removed a membership, False when there was none,
  False on Salesforce's 404 for a member already gone, and a 404 that is not Salesforce's own is not hidden;
  HubSpot's remove answers as the real API does and is safe to retry.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import pytest
from hubspot import HubSpot

from connectors.base import ProtocolError, Writer
from sync_daemon import engine
from sync_daemon.outbox import backoff
from sync_daemon.sandbox import hubspot as hs
from sync_daemon.sandbox.server import Fault
from sync_daemon.store import Store
from tests.conformance.drivers import start_driver
from tests.integration.assessment_support import (
    DroppedReplies,
    Key,
    assessment_intents,
    cycle,
    daemon_env,
    intent_send,
    policy_copy,
    send_rows,
)
from tests.integration.outbox_support.census import a_contact, audience_of, memberships
from tests.integration.outbox_support.sandboxes import AUDIENCE_ADD, CRMS
from tests.integration.test_assessment_acceptance import (
    ACCOUNTS,
    ONBOARDING,
    RELATIONSHIP,
    audience_policy,
    hand_off_two,
    ran,
    relationship_due,
    today,
    travel_to,
)

if TYPE_CHECKING:
    from collections.abc import Iterator
    from datetime import date
    from pathlib import Path

    from sync_daemon.store import Intent
    from tests.conformance.drivers import Driver

# The request that removes an audience member, as (method, path regex).
AUDIENCE_REMOVE = {
    "salesforce": ("DELETE", r"/services/data/v[\d.]+/sobjects/CampaignMember/[^/]+$"),
    "hubspot": ("PUT", r"/crm/v3/lists/[^/]+/memberships/remove$"),
}
# A 503 in each CRM's own words: the CRM did nothing.
UNAVAILABLE = {
    "salesforce": [{"errorCode": "SERVER_UNAVAILABLE", "message": "Server temporarily unavailable."}],
    "hubspot": {"status": "error", "message": "Service Unavailable", "category": "INTERNAL_ERROR"},
}
MISSING_CONTACT = "51999999999"


@pytest.fixture(params=CRMS)
def sandbox(request: pytest.FixtureRequest) -> Iterator[Driver]:
    """A fresh sandbox of each CRM on fake time, without contacts (a test adds those it needs)."""
    driver = start_driver(request.param, ACCOUNTS, 0)
    yield driver
    driver.server.stop()


@pytest.fixture
def store(sandbox: Driver, tmp_path: Path) -> Iterator[Store]:
    """A migrated SQLite store on the sandbox's clock."""
    opened = Store.open(f"sqlite:///{tmp_path / 'state.db'}", clock=sandbox.time.now)
    try:
        yield opened
    finally:
        opened.close()


# -- reading the sandbox ---------------------------------------------------------------------------------


def membership(driver: Driver, audience: str, contact: str) -> str:
    """The identity of the contact's one membership: the CampaignMember id, or HubSpot's membership timestamp."""
    assert memberships(driver, audience, contact) == 1
    app = driver.app
    if driver.crm == "hubspot":
        with app.lock:
            return str(app.lists[audience]["members"][contact])
    rows = (app.record("CampaignMember", i) for i in app.ids("CampaignMember"))
    (member,) = [r["Id"] for r in rows if (r["CampaignId"], r["ContactId"]) == (audience, contact)]
    return str(member)


def audience_calls(driver: Driver) -> list[str]:
    """The audience removes and adds in the call log, in the order the sandbox served them."""
    patterns = {"remove": AUDIENCE_REMOVE[driver.crm], "add": AUDIENCE_ADD[driver.crm]}
    return [
        name
        for call in list(driver.app.calls)
        for name, (method, path) in patterns.items()
        if call.method == method and re.search(path, call.path)
    ]


def removed_members(driver: Driver) -> list[str]:
    """The CampaignMember ids the Salesforce sandbox was asked to delete, in order."""
    return [c.path.rsplit("/", 1)[1] for c in driver.app.calls if c.method == "DELETE" and "CampaignMember" in c.path]


# -- the daemon: handed off, then relationship cycles through the audience -------------------------------


def audience_env(driver: Driver, tmp_path: Path) -> tuple[str, dict[str, str]]:
    """The sandbox's survey audience and a daemon environment whose every kind sends through it."""
    audience = audience_of(driver)
    return audience, daemon_env(driver.crm, policy_copy(tmp_path, audience_policy(driver.crm, audience)))


def through_cycle_1(driver: Driver, store: Store, env: dict[str, str]) -> tuple[list[str], date]:
    """Two contacts handed off today (onboarding) and sent relationship cycle 1 six months on; ids, handoff day."""
    contacts = hand_off_two(driver)
    handoff = today(driver)
    ran(cycle(driver, store, env))
    travel_to(driver, relationship_due(handoff, 1))
    ran(cycle(driver, store, env))
    sent = set(send_rows(store, driver.crm, contacts))
    assert sent == {(c, k, n) for c in contacts for k, n in ((ONBOARDING, 0), (RELATIONSHIP, 1))}
    return contacts, handoff


def cycle_2_intents(store: Store, crm: str, contacts: list[str]) -> dict[Key, Intent]:
    """The outbox intents of relationship cycle 2, by (contact, kind, cycle)."""
    found = {intent_send(i): i for i in assessment_intents(store, crm).values()}
    return {key: found[key] for key in [(c, RELATIONSHIP, 2) for c in contacts]}


def test_relationship_cycle_2_removes_the_old_membership_and_adds_a_new_one(
    sandbox: Driver, store: Store, tmp_path: Path
) -> None:
    """Cycle 2 is one remove then one add per contact: a new membership (new id / timestamp), one in the end."""
    audience, env = audience_env(sandbox, tmp_path)
    contacts, handoff = through_cycle_1(sandbox, store, env)
    before = {c: membership(sandbox, audience, c) for c in contacts}

    travel_to(sandbox, relationship_due(handoff, 2))
    sandbox.app.reset_calls()
    ran(cycle(sandbox, store, env))

    assert audience_calls(sandbox) == ["remove", "add"] * len(contacts)
    after = {c: membership(sandbox, audience, c) for c in contacts}
    for contact in contacts:
        assert memberships(sandbox, audience, contact) == 1
        assert after[contact] != before[contact]
    if sandbox.crm == "salesforce":
        assert sorted(removed_members(sandbox)) == sorted(before.values())
        assert all(sandbox.app.record("CampaignMember", before[c])["IsDeleted"] for c in contacts)
    else:
        assert all(after[c] > before[c] for c in contacts)  # ISO timestamps: added later than cycle 1's
    intents = cycle_2_intents(store, sandbox.crm, contacts)
    assert {(i.status, i.attempts) for i in intents.values()} == {("done", 1)}
    for (contact, _, _), intent in intents.items():
        member = after[contact] if sandbox.crm == "salesforce" else contact
        assert intent.result == {"member_id": member, "reenrolled": True}


def test_a_lost_reply_on_the_cycle_2_add_is_found_by_the_retry_which_adds_nothing(
    sandbox: Driver, store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The CRM commits cycle 2's add and drops the reply: the retry finds the new membership; no remove, no add."""
    audience, env = audience_env(sandbox, tmp_path)
    contacts, handoff = through_cycle_1(sandbox, store, env)
    before = {c: membership(sandbox, audience, c) for c in contacts}
    dropped = DroppedReplies(sandbox, AUDIENCE_ADD[sandbox.crm])
    monkeypatch.setattr(engine, "handlers", dropped.handlers)

    travel_to(sandbox, relationship_due(handoff, 2))
    sandbox.app.reset_calls()
    first = ran(cycle(sandbox, store, env))
    assert first.outbox is not None
    assert first.outbox.retried == len(contacts)
    assert audience_calls(sandbox) == ["remove", "add"] * len(contacts)
    landed = {c: membership(sandbox, audience, c) for c in contacts}  # added, though no reply came
    assert all(landed[c] != before[c] for c in contacts)

    sandbox.time.advance(backoff(1).total_seconds())
    second = ran(cycle(sandbox, store, env))
    assert second.outbox is not None
    n = len(contacts)
    assert (second.outbox.done, second.outbox.found_existing, second.outbox.performed) == (n, n, 0)
    assert audience_calls(sandbox) == ["remove", "add"] * len(contacts)  # the retry removed and added nothing
    assert {c: membership(sandbox, audience, c) for c in contacts} == landed
    assert sorted(dropped.dropped) == sorted(i.key for i in cycle_2_intents(store, sandbox.crm, contacts).values())
    intents = cycle_2_intents(store, sandbox.crm, contacts)
    assert {(i.status, i.attempts) for i in intents.values()} == {("done", 2)}
    for (contact, _, _), intent in intents.items():
        assert intent.result == {"member_id": landed[contact] if sandbox.crm == "salesforce" else contact}


def test_a_remove_refused_before_acting_loses_that_re_enrollment_and_never_sends_twice(
    sandbox: Driver, store: Store, tmp_path: Path
) -> None:
    """The documented imperfect case: a 503 on cycle 2's remove, then the retry finds the old membership: done.

    No add is made for cycle 2 (the contact keeps cycle 1's membership), rather than risking a second send.
    """
    audience, env = audience_env(sandbox, tmp_path)
    contacts, handoff = through_cycle_1(sandbox, store, env)
    before = {c: membership(sandbox, audience, c) for c in contacts}
    method, path = AUDIENCE_REMOVE[sandbox.crm]
    sandbox.inject(Fault("status", method=method, path=path, times=len(contacts), status=503,
                         body=UNAVAILABLE[sandbox.crm]))  # fmt: skip

    travel_to(sandbox, relationship_due(handoff, 2))
    sandbox.app.reset_calls()
    first = ran(cycle(sandbox, store, env))
    assert first.outbox is not None
    assert first.outbox.retried == len(contacts)
    sandbox.time.advance(backoff(1).total_seconds())
    second = ran(cycle(sandbox, store, env))
    assert second.outbox is not None
    assert (second.outbox.done, second.outbox.found_existing) == (len(contacts), len(contacts))

    assert audience_calls(sandbox) == ["remove"] * len(contacts)  # refused, and never an add
    assert {c: membership(sandbox, audience, c) for c in contacts} == before
    assert {(i.status, i.attempts) for i in cycle_2_intents(store, sandbox.crm, contacts).values()} == {("done", 2)}


# -- the connectors' remove, against the sandboxes --------------------------------------------------------


@pytest.fixture
def small(request: pytest.FixtureRequest) -> Iterator[Driver]:
    """A sandbox of the CRM the test names, with a few contacts."""
    driver = start_driver(request.param, 5, 5)
    yield driver
    driver.server.stop()


@pytest.fixture
def writer(small: Driver) -> Iterator[Writer]:
    """The real connector to ``small`` (retries on, sleeping on fake time), closed afterwards."""
    conn = small.connector()
    assert isinstance(conn, Writer)
    try:
        yield conn
    finally:
        conn.close()


SALESFORCE = pytest.mark.parametrize("small", ["salesforce"], indirect=True)
HUBSPOT = pytest.mark.parametrize("small", ["hubspot"], indirect=True)


@pytest.mark.parametrize("small", CRMS, indirect=True)
def test_remove_is_true_for_a_member_and_false_when_there_is_none(small: Driver, writer: Writer) -> None:
    """Not a member: False. Added, then removed: True, and no membership is left. Removed again: False."""
    audience, contact = audience_of(small), a_contact(small)
    assert writer.remove_audience_member(audience, contact) is False
    member = writer.add_audience_member(audience, contact)
    assert memberships(small, audience, contact) == 1
    assert writer.remove_audience_member(audience, contact) is True
    assert memberships(small, audience, contact) == 0
    assert writer.find_audience_member(audience, contact) is None
    assert writer.remove_audience_member(audience, contact) is False
    again = writer.add_audience_member(audience, contact)
    assert memberships(small, audience, contact) == 1
    if small.crm == "salesforce":
        assert again != member  # a new CampaignMember, not the old one revived
        assert removed_members(small) == [member]  # a DELETE only when the query found a member


@SALESFORCE
def test_a_salesforce_member_already_gone_at_the_delete_is_false(small: Driver, writer: Writer) -> None:
    """A person deletes the member between our query and our DELETE: the org answers 404, the remove says False."""
    campaign, contact = audience_of(small), a_contact(small)
    member = writer.add_audience_member(campaign, contact)
    real = small.app.handle

    def handle(request: Any) -> Any:
        response = real(request)
        if request.method == "GET" and "CampaignMember" in (request.arg("q") or ""):
            small.app.delete("CampaignMember", member)  # right after the query found it
        return response

    small.app.handle = handle
    assert writer.remove_audience_member(campaign, contact) is False
    assert [(c.method, c.status) for c in small.app.calls if c.method == "DELETE"] == [("DELETE", 404)]
    assert memberships(small, campaign, contact) == 0


@SALESFORCE
def test_a_salesforce_404_that_is_not_the_org_s_own_is_not_hidden(small: Driver, writer: Writer) -> None:
    """A 404 without Salesforce's error body (a proxy, a wrong URL) is an error, and the member stays."""
    campaign, contact = audience_of(small), a_contact(small)
    writer.add_audience_member(campaign, contact)
    method, path = AUDIENCE_REMOVE["salesforce"]
    small.inject(Fault("status", method=method, path=path, status=404, body=b"<html>Not Found</html>"))
    with pytest.raises(ProtocolError, match="HTTP 404"):
        writer.remove_audience_member(campaign, contact)
    assert memberships(small, campaign, contact) == 1


@HUBSPOT
def test_hubspot_remove_answers_removed_and_missing_ids_as_the_api_does(small: Driver) -> None:
    """200 with recordIdsRemoved (members taken out) and recordIdsMissing (no such record); non-members ignored."""
    member, bystander = small.app.ids("contacts")[:2]
    client = HubSpot(access_token=hs.ACCESS_TOKEN, host=small.server.url)
    api = client.crm.lists.memberships_api
    api.add(list_id="101", request_body=[member])
    result = api.remove(list_id="101", request_body=[member, bystander, MISSING_CONTACT])
    assert (result.record_ids_removed, result.records_ids_added, result.record_ids_missing) == (
        [member], [], [MISSING_CONTACT])  # fmt: skip
    assert small.app.list_members("101") == []
    assert [(c.method, c.status) for c in small.app.calls if c.path.endswith("/remove")] == [("PUT", 200)]


@HUBSPOT
def test_a_hubspot_remove_whose_reply_is_lost_is_retried_safely(small: Driver, writer: Writer) -> None:
    """The remove lands and its reply is lost: the transport's retry finds nothing to remove (False), none left.

    A missing contact is no error either: HubSpot ignores it, and nothing was removed.
    """
    contact = a_contact(small)
    writer.add_audience_member("101", contact)
    method, path = AUDIENCE_REMOVE["hubspot"]
    small.inject(Fault("drop_reply", method=method, path=path))
    assert writer.remove_audience_member("101", contact) is False
    assert small.app.count(method, path) == 2
    assert small.app.list_members("101") == []
    assert writer.remove_audience_member("101", MISSING_CONTACT) is False
