"""Bulk writes: a page costs a bounded number of statements, not one per record."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import event

from connectors.base import CrmRecord
from sync_daemon.store import CursorState, Store
from tests.integration.store.store_builders import T0

if TYPE_CHECKING:
    from collections.abc import Iterator

PAGE_SIZE = 2_000
PAGES = 10
# BEGIN, 4 chunked SELECTs, up to 2 upserts (PostgreSQL batches them by 1,000), the cursor.
MAX_STATEMENTS_PER_PAGE = 10


def _pages(version: int) -> Iterator[list[CrmRecord]]:
    for page in range(PAGES):
        yield [
            CrmRecord(
                id=f"003{page:03d}{n:06d}",
                modified_at=T0 + timedelta(seconds=n),
                fields={"email": f"p{page}n{n}@example.com", "title": "CTO", "v": version},
                account_id=f"001{n % 97:06d}",
            )
            for n in range(PAGE_SIZE)
        ]


def _apply_all(store: Store, version: int) -> tuple[list[int], list[int]]:
    """Apply every page, returning the statements and stored rows of each."""
    statements: list[int] = []
    stored: list[int] = []
    counter = [0]

    def count(*_: object) -> None:
        counter[0] += 1

    event.listen(store.engine, "before_cursor_execute", count)
    try:
        for page in _pages(version):
            counter[0] = 0
            personas = {record.id: "admin" for record in page}
            result = store.apply_page("salesforce", "contacts", page, personas, CursorState())
            statements.append(counter[0])
            stored.append(result.stored)
    finally:
        event.remove(store.engine, "before_cursor_execute", count)
    return statements, stored


def test_twenty_thousand_records_cost_o_pages_statements(store: Store) -> None:
    """20,000 contacts in pages of 2,000: any page costs a few statements."""
    for version, expected_stored in ((1, PAGE_SIZE), (1, 0), (2, PAGE_SIZE)):
        statements, stored = _apply_all(store, version)
        assert stored == [expected_stored] * PAGES
        assert max(statements) <= MAX_STATEMENTS_PER_PAGE, statements
    assert store.count("contacts", "salesforce") == PAGE_SIZE * PAGES
