"""Writing pulled pages: change detection, tombstones, merges, duplicates, atomicity."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import event, select

from connectors.base import CrmRecord
from sync_daemon.store import CursorState, PageResult, Store, UnstorableRecordError
from sync_daemon.store.models import record_table
from tests.integration.store.store_builders import T0, FakeClock, rec

CRM = "salesforce"
CURSOR = CursorState(watermark=T0, pull_since=T0 - timedelta(days=1), resume="page-2")


def test_new_records_are_stored(store: Store) -> None:
    """A first page stores every record and reports them as stored."""
    result = store.apply_page(CRM, "accounts", [rec("a1"), rec("a2")], None, CURSOR)
    assert result == PageResult(received=2, stored=2, deleted=0)
    assert store.get_record("accounts", CRM, "a1") == {
        "id": "a1",
        "fields": {"name": "Name a1"},
        "deleted": False,
        "account_id": None,
        "persona": None,
        "merged_into": None,
        "modified_at": T0,
    }


def test_the_same_page_again_stores_nothing(store: Store) -> None:
    """Re-applying an identical page writes no row."""
    page = [rec("a1"), rec("a2", employees=12, active=True, arr=1.5, owner=None)]
    store.apply_page(CRM, "accounts", page, None, CURSOR)
    assert store.apply_page(CRM, "accounts", page, None, CURSOR) == PageResult(2, 0, 0)


def test_only_modified_at_moving_is_not_a_change(store: Store) -> None:
    """A record whose modstamp moved but whose content did not is not rewritten."""
    store.apply_page(CRM, "accounts", [rec("a1")], None, CURSOR)
    result = store.apply_page(CRM, "accounts", [rec("a1", minutes=30)], None, CURSOR)
    assert result.stored == 0


def test_a_changed_field_stores_one(store: Store, clock: FakeClock) -> None:
    """Changing one field of one record rewrites that row only, and stamps changed_at."""
    store.apply_page(CRM, "accounts", [rec("a1"), rec("a2")], None, CURSOR)
    first_seen = clock.now
    clock.advance(60)
    page = [rec("a1"), rec("a2", minutes=5, name="Renamed")]
    assert store.apply_page(CRM, "accounts", page, None, CURSOR).stored == 1
    record = store.get_record("accounts", CRM, "a2")
    assert record is not None
    assert record["fields"] == {"name": "Renamed"}
    assert record["modified_at"] == T0 + timedelta(minutes=5)
    table = record_table("accounts")
    with store.engine.connect() as conn:
        row = conn.execute(select(table).where(table.c.id == "a2")).one()
    assert (row.first_seen_at, row.changed_at) == (first_seen, clock.now)


def test_a_changed_account_link_is_a_change(store: Store) -> None:
    """Moving a contact to another account rewrites it even when its fields are the same."""
    store.apply_page(CRM, "contacts", [rec("c1", account_id="a1")], None, CURSOR)
    result = store.apply_page(CRM, "contacts", [rec("c1", account_id="a2")], None, CURSOR)
    assert result.stored == 1
    assert store.get_record("contacts", CRM, "c1")["account_id"] == "a2"  # type: ignore[index]


def test_a_tombstone_marks_deleted_once(store: Store) -> None:
    """A tombstone retires the row and keeps its last fields; a repeat counts nothing."""
    store.apply_page(CRM, "accounts", [rec("a1", name="Acme")], None, CURSOR)
    tombstone = rec("a1", minutes=10, deleted=True, name="ignored")
    assert store.apply_page(CRM, "accounts", [tombstone], None, CURSOR) == PageResult(1, 0, 1)
    assert store.apply_page(CRM, "accounts", [tombstone], None, CURSOR) == PageResult(1, 0, 0)
    record = store.get_record("accounts", CRM, "a1")
    assert record is not None
    assert (record["deleted"], record["fields"]) == (True, {"name": "Acme"})
    assert store.count("accounts", CRM) == 0
    assert store.count("accounts", CRM, include_deleted=True) == 1


def test_a_tombstone_for_an_unknown_record_is_kept_as_deleted(store: Store) -> None:
    """A tombstone of a record never seen is stored as a deleted row, counted once."""
    result = store.apply_page(CRM, "accounts", [rec("gone", deleted=True)], None, CURSOR)
    assert result == PageResult(1, 0, 1)
    assert store.get_record("accounts", CRM, "gone")["deleted"] is True  # type: ignore[index]


def test_a_live_copy_after_a_tombstone_undeletes(store: Store) -> None:
    """A record restored in the CRM (live again after a tombstone) is stored as live."""
    store.apply_page(CRM, "accounts", [rec("a1")], None, CURSOR)
    store.apply_page(CRM, "accounts", [rec("a1", deleted=True)], None, CURSOR)
    assert store.apply_page(CRM, "accounts", [rec("a1")], None, CURSOR) == PageResult(1, 1, 0)
    assert store.get_record("accounts", CRM, "a1")["deleted"] is False  # type: ignore[index]


def test_merged_ids_are_retired_into_the_survivor(store: Store) -> None:
    """Ids merged into a record are marked deleted with merged_into; unknown ones are ignored."""
    store.apply_page(CRM, "accounts", [rec("a1"), rec("a2"), rec("a3")], None, CURSOR)
    survivor = rec("a1", minutes=3, merged=("a2", "a3", "never-seen"))
    assert store.apply_page(CRM, "accounts", [survivor], None, CURSOR) == PageResult(1, 0, 2)
    for loser in ("a2", "a3"):
        record = store.get_record("accounts", CRM, loser)
        assert record is not None
        assert (record["deleted"], record["merged_into"]) == (True, "a1")
        assert record["fields"] == {"name": f"Name {loser}"}
    assert store.get_record("accounts", CRM, "never-seen") is None
    assert store.apply_page(CRM, "accounts", [survivor], None, CURSOR) == PageResult(1, 0, 0)


def test_a_merge_beats_a_live_copy_of_the_loser_in_the_same_page(store: Store) -> None:
    """A loser carried live in the page that merges it ends up retired, and stays so on replay."""
    page = [rec("a2"), rec("a1", merged=("a2",))]
    assert store.apply_page(CRM, "accounts", page, None, CURSOR) == PageResult(2, 1, 1)
    assert store.get_record("accounts", CRM, "a2")["merged_into"] == "a1"  # type: ignore[index]
    assert store.apply_page(CRM, "accounts", page, None, CURSOR) == PageResult(2, 0, 0)


def test_a_later_tombstone_keeps_the_merge(store: Store) -> None:
    """The CRM's tombstone of a merged-away record does not erase where it was merged."""
    store.apply_page(CRM, "accounts", [rec("a1"), rec("a2")], None, CURSOR)
    store.apply_page(CRM, "accounts", [rec("a1", merged=("a2",))], None, CURSOR)
    result = store.apply_page(CRM, "accounts", [rec("a2", deleted=True)], None, CURSOR)
    assert result == PageResult(1, 0, 0)
    assert store.get_record("accounts", CRM, "a2")["merged_into"] == "a1"  # type: ignore[index]


def test_duplicates_in_a_page_last_one_wins(store: Store) -> None:
    """Of several copies of one id in a page, the last is stored."""
    page = [rec("a1", name="first"), rec("a2"), rec("a1", minutes=1, name="last")]
    assert store.apply_page(CRM, "accounts", page, None, CURSOR) == PageResult(3, 2, 0)
    assert store.get_record("accounts", CRM, "a1")["fields"] == {"name": "last"}  # type: ignore[index]


def test_datetimes_round_trip_as_aware_utc(store: Store) -> None:
    """A modstamp in any zone, with microseconds, comes back as the same instant in UTC."""
    ist = timezone(timedelta(hours=5, minutes=30))
    stamp = datetime(2024, 2, 29, 23, 59, 58, 123456, tzinfo=ist)
    record = CrmRecord(id="a1", modified_at=stamp, fields={"d": "2024-02-29"})
    cursor = CursorState(watermark=stamp, pull_since=None, resume=None)
    store.apply_page(CRM, "accounts", [record], None, cursor)
    stored = store.get_record("accounts", CRM, "a1")
    assert stored is not None
    assert stored["modified_at"] == stamp
    assert stored["modified_at"].tzinfo is UTC
    assert store.get_cursor(CRM, "accounts").watermark == stamp


def test_naive_datetimes_are_refused(store: Store) -> None:
    """A record with a naive modstamp is refused before anything is written."""
    naive = CrmRecord(id="a1", modified_at=datetime(2024, 1, 1))  # noqa: DTZ001
    with pytest.raises(ValueError, match="naive"):
        store.apply_page(CRM, "accounts", [naive], None, CURSOR)
    assert store.count("accounts", include_deleted=True) == 0


def test_unicode_round_trips(store: Store) -> None:
    """Names and ids outside ASCII are stored and read back unchanged."""
    names = {"name": "Zoë Ærøskøbing 株式会社 🚀", "title": "Директор", "note": "e\u0301"}
    store.apply_page(CRM, "contacts", [rec("ид-1", account_id="账户", **names)], None, CURSOR)
    record = store.get_record("contacts", CRM, "ид-1")
    assert record is not None
    assert (record["fields"], record["account_id"]) == (names, "账户")


def test_personas_are_stored_and_changes_rewrite(store: Store) -> None:
    """A contact's persona is stored; a new persona rewrites it; an omitted id keeps its own."""
    page = [rec("c1", account_id="a1"), rec("c2", account_id="a1")]
    store.apply_page(CRM, "contacts", page, {"c1": "champion", "c2": "admin"}, CURSOR)
    assert store.apply_page(CRM, "contacts", page, {"c1": "exec"}, CURSOR).stored == 1
    assert store.personas_by_account(CRM, "a1") == {"admin": 1, "exec": 1}
    assert store.apply_page(CRM, "contacts", page, None, CURSOR).stored == 0


def test_json_scalars_keep_their_types(store: Store) -> None:
    """Ints, floats, booleans, None and ISO date strings read back as the same values and types."""
    fields = {
        "n": 3,
        "x": 1.0,
        "y": 0.1,
        "tiny": 1e-07,
        "b": False,
        "none": None,
        "d": "2025-01-31",
    }
    store.apply_page(CRM, "accounts", [rec("a1", **fields)], None, CURSOR)
    stored = store.get_record("accounts", CRM, "a1")
    assert stored is not None
    assert stored["fields"] == fields
    assert {k: type(v) for k, v in stored["fields"].items()} == {k: type(v) for k, v in fields.items()}


def test_the_cursor_is_saved_with_the_page(store: Store) -> None:
    """The cursor passed with a page is the one read back."""
    store.apply_page(CRM, "contacts", [rec("c1")], None, CURSOR)
    assert store.get_cursor(CRM, "contacts") == CURSOR
    assert store.get_cursor(CRM, "accounts") == CursorState()


def test_unstorable_fields_change_neither_rows_nor_cursor(store: Store) -> None:
    """A record whose fields are not JSON refuses the whole page, naming the record."""
    store.apply_page(CRM, "accounts", [rec("a1")], None, CURSOR)
    bad = [rec("a1", name="changed"), rec("a2", tags={"a", "b"})]
    moved = CursorState(watermark=T0 + timedelta(days=1), pull_since=None, resume=None)
    with pytest.raises(UnstorableRecordError, match="accounts a2"):
        store.apply_page(CRM, "accounts", bad, None, moved)
    assert store.get_record("accounts", CRM, "a1")["fields"] == {"name": "Name a1"}  # type: ignore[index]
    assert store.get_record("accounts", CRM, "a2") is None
    assert store.get_cursor(CRM, "accounts") == CURSOR


def test_nan_is_refused_on_every_backend(store: Store) -> None:
    """NaN is not JSON, so it is refused the same way on SQLite and PostgreSQL."""
    with pytest.raises(UnstorableRecordError):
        store.apply_page(CRM, "accounts", [rec("a1", score=float("nan"))], None, CURSOR)


def test_a_crash_mid_page_leaves_nothing_half_written(store: Store) -> None:
    """If saving the cursor fails after the rows were written, the rows roll back too."""
    store.apply_page(CRM, "accounts", [rec("a1")], None, CURSOR)

    def fail_on_cursor(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO CURSORS"):
            raise RuntimeError("simulated crash")

    event.listen(store.engine, "before_cursor_execute", fail_on_cursor)
    moved = CursorState(watermark=T0 + timedelta(days=1), pull_since=None, resume=None)
    page = [rec("a1", name="changed"), rec("a2"), rec("a3", deleted=True)]
    try:
        with pytest.raises(RuntimeError, match="simulated crash"):
            store.apply_page(CRM, "accounts", page, None, moved)
    finally:
        event.remove(store.engine, "before_cursor_execute", fail_on_cursor)
    assert store.count("accounts", include_deleted=True) == 1
    assert store.get_record("accounts", CRM, "a1")["fields"] == {"name": "Name a1"}  # type: ignore[index]
    assert store.get_cursor(CRM, "accounts") == CURSOR


def test_crms_are_kept_apart(store: Store) -> None:
    """The same id under two CRMs is two rows."""
    store.apply_page("salesforce", "accounts", [rec("x", name="sf")], None, CURSOR)
    store.apply_page("hubspot", "accounts", [rec("x", name="hs")], None, CURSOR)
    assert store.count("accounts") == 2
    assert store.get_record("accounts", "hubspot", "x")["fields"] == {"name": "hs"}  # type: ignore[index]


def test_an_unknown_kind_is_refused(store: Store) -> None:
    """Only accounts and contacts are record kinds."""
    with pytest.raises(ValueError, match="deals"):
        store.apply_page(CRM, "deals", [rec("d1")], None, CURSOR)  # type: ignore[arg-type]


def test_an_empty_page_only_saves_the_cursor(store: Store) -> None:
    """A page with no records stores nothing but still moves the cursor."""
    assert store.apply_page(CRM, "accounts", [], None, CURSOR) == PageResult(0, 0, 0)
    assert store.get_cursor(CRM, "accounts") == CURSOR
