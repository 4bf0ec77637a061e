"""Reading stored records back: counts, single records, streams, personas."""

from __future__ import annotations

import pytest

from sync_daemon.store import CursorState, Store
from tests.integration.store.store_builders import rec

CRM = "hubspot"


def _seed(store: Store) -> None:
    contacts = [
        rec("c1", account_id="a1"),
        rec("c2", account_id="a1"),
        rec("c3", account_id="a1"),
        rec("c4", account_id="a2"),
        rec("c5", account_id="a1", deleted=True),
        rec("c6", account_id="a1"),
    ]
    personas = {"c1": "champion", "c2": "champion", "c3": "admin", "c4": "admin", "c5": "exec"}
    store.apply_page(CRM, "contacts", contacts, personas, CursorState())
    store.apply_page(CRM, "accounts", [rec("a1"), rec("a2")], None, CursorState())


def test_count_filters_by_crm_and_deletion(store: Store) -> None:
    """Count excludes deleted rows unless asked, and narrows to one CRM when given."""
    _seed(store)
    store.apply_page("salesforce", "contacts", [rec("x")], None, CursorState())
    assert store.count("contacts", CRM) == 5
    assert store.count("contacts", CRM, include_deleted=True) == 6
    assert store.count("contacts") == 6
    assert store.count("accounts", "salesforce") == 0


def test_get_record_of_an_unknown_id_is_none(store: Store) -> None:
    """An id never stored reads as None."""
    assert store.get_record("contacts", CRM, "missing") is None


def test_personas_by_account_counts_live_contacts_with_a_persona(store: Store) -> None:
    """Deleted contacts, other accounts and contacts without a persona are left out."""
    _seed(store)
    assert store.personas_by_account(CRM, "a1") == {"admin": 1, "champion": 2}
    assert store.personas_by_account(CRM, "nobody") == {}


@pytest.mark.parametrize("batch", [1, 2, 1000])
def test_iter_records_streams_live_records_by_id(store: Store, batch: int) -> None:
    """iter_records yields every live record in id order, whatever the batch size."""
    _seed(store)
    ids = [record["id"] for record in store.iter_records("contacts", CRM, batch=batch)]
    assert ids == ["c1", "c2", "c3", "c4", "c6"]
    with_deleted = store.iter_records("contacts", CRM, batch=batch, include_deleted=True)
    assert len(list(with_deleted)) == 6


def test_an_abandoned_stream_releases_its_connection(store: Store) -> None:
    """Closing a half-read stream returns its connection, so the store keeps working."""
    _seed(store)
    stream = store.iter_records("contacts", CRM, batch=1)
    assert next(stream)["id"] == "c1"
    stream.close()
    store.apply_page(CRM, "accounts", [rec("a3")], None, CursorState())
    assert store.count("accounts", CRM) == 3
