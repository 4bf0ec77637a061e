"""Property: a page applied twice writes nothing the second time, whatever came before."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta, timezone

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.base import CrmRecord
from sync_daemon.store import CursorState, Store
from sync_daemon.store.plan import latest_by_id, merge_losers

IDS = st.sampled_from([f"r{n}" for n in range(6)])
# NUL is excluded: PostgreSQL text and JSONB cannot hold it (no CRM sends it).
TEXT = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=8)
VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**53), max_value=2**53),
    # JSONB prints numbers >= 1e16 without an exponent, so such floats read back as ints.
    st.floats(min_value=-1e15, max_value=1e15),
    TEXT,
)
ZONES = st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-8))])
# Hypothesis takes naive bounds and attaches the zones itself.
STAMPS = st.datetimes(datetime(2000, 1, 1), datetime(2100, 1, 1), timezones=ZONES)  # noqa: DTZ001
RECORDS = st.builds(
    CrmRecord,
    id=IDS,
    modified_at=STAMPS,
    fields=st.dictionaries(st.sampled_from(["name", "title", "arr", "tier"]), VALUES, max_size=4),
    deleted=st.booleans(),
    account_id=st.none() | IDS,
    merged_ids=st.lists(IDS, max_size=2).map(tuple),
)
PERSONAS = st.none() | st.dictionaries(IDS, st.none() | st.sampled_from(["admin", "champion"]))
PAGES = st.lists(st.tuples(st.lists(RECORDS, max_size=8), PERSONAS), min_size=1, max_size=4)
KINDS = st.sampled_from(["accounts", "contacts"])

_crm_numbers = itertools.count()


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(pages=PAGES, kind=KINDS)
def test_reapplying_the_last_page_stores_nothing(
    store: Store, pages: list[tuple[list[CrmRecord], dict[str, str | None] | None]], kind: str
) -> None:
    """After any sequence of pages, applying the last one again stores and deletes nothing."""
    crm = f"p{next(_crm_numbers)}"  # a fresh CRM name isolates each example in the shared store
    for records, personas in pages:
        store.apply_page(crm, kind, records, personas, CursorState())  # type: ignore[arg-type]
    records, personas = pages[-1]
    again = store.apply_page(crm, kind, records, personas, CursorState())  # type: ignore[arg-type]
    assert (again.received, again.stored, again.deleted) == (len(records), 0, 0)
    _assert_last_copies_stored(store, crm, kind, records)


def _assert_last_copies_stored(store: Store, crm: str, kind: str, records: list[CrmRecord]) -> None:
    """Every live, unmerged record of the page is stored as its last copy."""
    latest = latest_by_id(records)
    losers = merge_losers(latest.values())
    for record in latest.values():
        stored = store.get_record(kind, crm, record.id)
        assert stored is not None
        retired = record.deleted or record.id in losers
        assert stored["deleted"] is retired
        if not retired:
            assert stored["fields"] == dict(record.fields)
