"""Counting what a sandbox holds, read from the sandbox's own state, never through a connector.

A duplicate that the connector's lookup could not see (a second note with the same key, a second
campaign member) is still counted here, so "exactly one" is checked against the CRM itself.
Salesforce keeps no key on a ContentNote, only the reference its title ends with; the tag of a note
is that reference on Salesforce and the ``sync_daemon_key`` property on HubSpot.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import TYPE_CHECKING, Any

from connectors.salesforce.notes import note_ref
from tests.integration.outbox_support.sandboxes import HUBSPOT_LIST

if TYPE_CHECKING:
    from tests.conformance.drivers import Driver

SF_REF = " · ref "
HS_KEY = "sync_daemon_key"


def note_tag(crm: str, key: str) -> str:
    """What a note made for ``key`` carries in the sandbox (see the module docstring)."""
    return note_ref(key) if crm == "salesforce" else key


def notes_by_account(driver: Driver) -> dict[str, Counter[str]]:
    """For every account holding notes: how many notes carry each tag."""
    if driver.crm == "salesforce":
        return _salesforce_notes(driver.app)
    return _hubspot_notes(driver.app)


def _salesforce_notes(app: Any) -> dict[str, Counter[str]]:
    """ContentNotes through their ContentDocumentLinks (a note also links to its owner: skipped)."""
    accounts = set(app.ids("Account"))
    found: dict[str, Counter[str]] = defaultdict(Counter)
    for link_id in app.ids("ContentDocumentLink"):
        link = app.record("ContentDocumentLink", link_id)
        if link["LinkedEntityId"] in accounts:
            title = str(app.record("ContentNote", link["ContentDocumentId"])["Title"])
            found[link["LinkedEntityId"]][title.rpartition(SF_REF)[2]] += 1
    return dict(found)


def _hubspot_notes(app: Any) -> dict[str, Counter[str]]:
    """Notes through their note-to-company associations."""
    found: dict[str, Counter[str]] = defaultdict(Counter)
    for note_id in app.ids("notes"):
        key = str(app.get("notes", note_id).get(HS_KEY))
        with app.lock:
            companies = list(app.edges[("notes", "companies")].get(int(note_id), {}))
        for company in companies:
            found[str(company)][key] += 1
    return dict(found)


def notes_with_key(driver: Driver, account_id: str, key: str) -> int:
    """How many notes on the account carry ``key``."""
    return notes_by_account(driver).get(account_id, Counter())[note_tag(driver.crm, key)]


def audience_of(driver: Driver) -> str:
    """A survey audience the sandbox was seeded with: a Campaign on Salesforce, list 101 on HubSpot."""
    return str(driver.app.ids("Campaign")[0]) if driver.crm == "salesforce" else HUBSPOT_LIST


def a_contact(driver: Driver) -> str:
    """The first seeded contact."""
    return str(driver.app.ids("Contact" if driver.crm == "salesforce" else "contacts")[0])


def memberships(driver: Driver, audience_id: str, contact_id: str) -> int:
    """How many times the contact is in the audience."""
    app = driver.app
    if driver.crm == "hubspot":
        return [str(m) for m in app.list_members(audience_id)].count(contact_id)
    rows = (app.record("CampaignMember", i) for i in app.ids("CampaignMember"))
    return sum(1 for r in rows if (r["CampaignId"], r["ContactId"]) == (audience_id, contact_id))


def note_ids(driver: Driver) -> list[str]:
    """Every note in the sandbox, on any record."""
    return [str(i) for i in driver.app.ids("ContentNote" if driver.crm == "salesforce" else "notes")]


def account_ids(driver: Driver, n: int) -> list[str]:
    """The first ``n`` seeded accounts (companies on HubSpot)."""
    ids = [str(i) for i in driver.app.ids("Account" if driver.crm == "salesforce" else "companies")[:n]]
    assert len(ids) == n, f"the sandbox holds fewer than {n} accounts"
    return ids
