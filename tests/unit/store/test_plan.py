"""The pure page planner: hashing, duplicates, merges, tombstones and counts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from connectors.base import CrmRecord
from sync_daemon.store import PageResult, UnstorableRecordError
from sync_daemon.store.plan import (
    TOMBSTONE_HASH,
    Existing,
    PagePlan,
    content_hash,
    latest_by_id,
    merge_losers,
    plan_page,
)

NOW = datetime(2025, 5, 1, tzinfo=UTC)
T0 = datetime(2025, 1, 1, tzinfo=UTC)


def rec(record_id: str, *, deleted: bool = False, merged: tuple[str, ...] = (), **fields: object) -> CrmRecord:
    return CrmRecord(record_id, T0, fields or {"name": record_id}, deleted, None, merged)


def stored(record: CrmRecord, *, persona: str | None = None) -> Existing:
    digest = content_hash(record.fields, record.account_id, deleted=False)
    return Existing(digest, deleted=False, merged_into=None, persona=persona)


def plan(records: list[CrmRecord], existing: dict[str, Existing] | None = None) -> PagePlan:
    return plan_page("accounts", "crm", records, existing or {}, personas=None, now=NOW)


def test_the_hash_ignores_key_order_and_modified_at() -> None:
    """Two records with the same content hash alike, whatever their key order or modstamp."""
    first = content_hash({"a": 1, "b": "x"}, "acc", deleted=False)
    assert first == content_hash({"b": "x", "a": 1}, "acc", deleted=False)
    assert len(first) == 64


@pytest.mark.parametrize(
    ("written", "pulled"),
    [
        ({"n": 3}, {"n": 3.0}),  # Salesforce answers floats for custom number fields
        ({"n": 3}, {"n": "3"}),  # HubSpot answers every value as text
        ({"p": 33.3}, {"p": "33.3"}),
        ({"b": True}, {"b": "true"}),
        ({"s": None}, {"s": ""}),  # HubSpot's empty value
        ({"m": ["a", 2]}, {"m": ["a", "2.0"]}),
    ],
)
def test_the_hash_ignores_how_a_crm_represents_a_value(written: dict[str, object], pulled: dict[str, object]) -> None:
    """A value re-pulled in the CRM's own form is not a change of the value the daemon wrote."""
    assert content_hash(written, None, deleted=False) == content_hash(pulled, None, deleted=False)


@pytest.mark.parametrize(
    ("fields", "account_id", "deleted"),
    [
        ({"a": 2}, "acc", False),
        ({"a": 1}, "other", False),
        ({"a": 1}, "acc", True),
        ({"a": "1x"}, "acc", False),
        ({"a": 1.5}, "acc", False),
    ],
)
def test_the_hash_sees_fields_account_and_deletion(fields: dict[str, object], account_id: str, deleted: bool) -> None:
    """A new value (or JSON type), account link or deletion flag changes the hash."""
    assert content_hash(fields, account_id, deleted=deleted) != content_hash({"a": 1}, "acc", deleted=False)


def test_latest_by_id_keeps_the_last_copy() -> None:
    """Duplicates collapse to the last copy of each id."""
    latest = latest_by_id([rec("a", name="1"), rec("b"), rec("a", name="2")])
    assert list(latest) == ["a", "b"]
    assert latest["a"].fields == {"name": "2"}


def test_merge_losers_ignore_self_merges() -> None:
    """A record listing its own id among merged ids does not retire itself."""
    losers = merge_losers([rec("a", merged=("a", "b")), rec("c", merged=("d",))])
    assert {loser: survivor.id for loser, survivor in losers.items()} == {"b": "a", "d": "c"}


def test_new_changed_and_unchanged_records_are_told_apart() -> None:
    """Only the new and the changed records are planned for writing."""
    same, old = rec("same"), rec("changed", name="old")
    result = plan(
        [same, rec("changed", name="new"), rec("new")],
        {"same": stored(same), "changed": stored(old)},
    )
    assert [row["id"] for row in result.live] == ["changed", "new"]
    assert result.result == PageResult(received=3, stored=2, deleted=0)


def test_rows_carry_every_column_with_the_given_time() -> None:
    """A planned contact row has all columns, stamped with the planning time."""
    contact = CrmRecord("c1", T0, {"name": "x"}, account_id="a1")
    result = plan_page("contacts", "hubspot", [contact], {}, personas={"c1": "admin"}, now=NOW)
    [row] = result.live
    assert row == {
        "crm": "hubspot",
        "id": "c1",
        "fields": {"name": "x"},
        "content_hash": content_hash({"name": "x"}, "a1", deleted=False),
        "modified_at": T0,
        "deleted": False,
        "merged_into": None,
        "first_seen_at": NOW,
        "changed_at": NOW,
        "account_id": "a1",
        "persona": "admin",
    }


def test_accounts_ignore_the_account_link() -> None:
    """An account's account_id (not a column of accounts) does not enter its hash."""
    account = CrmRecord("a1", T0, {"name": "x"}, account_id="parent")
    [row] = plan([account]).live
    assert row["content_hash"] == content_hash({"name": "x"}, None, deleted=False)
    assert "account_id" not in row


def test_a_tombstone_of_a_deleted_row_is_not_counted_again() -> None:
    """A row already retired is neither rewritten nor counted by another tombstone."""
    retired = Existing(TOMBSTONE_HASH, deleted=True, merged_into=None, persona=None)
    result = plan([rec("a", deleted=True)], {"a": retired})
    assert (result.retired, result.result.deleted) == ([], 0)


def test_merging_an_existing_row_outside_the_page_writes_a_stub() -> None:
    """A loser known to the store but absent from the page is retired with the survivor's time."""
    loser = rec("b")
    result = plan([rec("a", merged=("b", "unknown"))], {"b": stored(loser)})
    [row] = result.retired
    assert (row["id"], row["merged_into"], row["deleted"], row["fields"]) == ("b", "a", True, {})
    assert result.result == PageResult(received=1, stored=1, deleted=1)


def test_a_merged_loser_is_moved_to_another_survivor() -> None:
    """A row merged into one survivor and later into another is rewritten, not counted again."""
    retired = Existing(TOMBSTONE_HASH, deleted=True, merged_into="x", persona=None)
    result = plan([rec("a", merged=("b",))], {"b": retired})
    assert [row["merged_into"] for row in result.retired] == ["a"]
    assert result.result.deleted == 0


@pytest.mark.parametrize("bad", [{1, 2}, float("nan"), float("inf"), datetime(2025, 1, 1, tzinfo=UTC), b"x"])
def test_fields_json_cannot_hold_are_refused(bad: object) -> None:
    """Sets, NaN, infinities, datetimes and bytes are refused with the record's id."""
    with pytest.raises(UnstorableRecordError, match="accounts a1") as caught:
        plan([rec("a1", value=bad)])
    assert caught.value.record_id == "a1"


def test_a_tombstone_with_unstorable_fields_is_refused_too() -> None:
    """Tombstones are validated like live records, so both backends refuse the same pages."""
    with pytest.raises(UnstorableRecordError):
        plan([rec("a1", deleted=True, value={1})])


def test_a_naive_modstamp_is_refused() -> None:
    """A modstamp without a zone is refused rather than guessed."""
    naive = CrmRecord("a1", T0.replace(tzinfo=None), {"n": 1})
    with pytest.raises(ValueError, match="naive"):
        plan([naive])


def test_modstamps_are_converted_to_utc() -> None:
    """A modstamp in another zone is planned as the same instant in UTC."""
    cest = timezone(timedelta(hours=2))
    [row] = plan([CrmRecord("a1", datetime(2025, 1, 1, 14, 0, tzinfo=cest))]).live
    assert row["modified_at"] == datetime(2025, 1, 1, 12, 0, tzinfo=UTC)
    assert row["modified_at"].tzinfo is UTC
