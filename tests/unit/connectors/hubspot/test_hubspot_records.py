"""HubSpot results into CrmRecords: timestamps, merged ids, tombstones, malformed results (pure)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from structlog.testing import capture_logs

from connectors.hubspot.records import (
    MalformedResultError,
    merged_ids,
    parse_timestamp,
    to_records,
    to_tombstones,
)

FIELDS = {"name": "name", "tier": "plan_tier"}


def _result(rid: object = "101", modified: object = "2024-05-01T10:00:00.123Z", **props: object) -> dict[str, object]:
    return {"id": rid, "properties": {"hs_lastmodifieddate": modified, "name": "Acme", **props}}


def test_record_has_canonical_fields_and_aware_utc_time() -> None:
    """Fields are renamed to canonical names with values as sent; missing ones are None."""
    [record] = to_records([_result()], fields=FIELDS, modified="hs_lastmodifieddate", object_name="companies")
    assert record.id == "101"
    assert record.modified_at == datetime(2024, 5, 1, 10, 0, 0, 123000, tzinfo=UTC)
    assert record.fields == {"name": "Acme", "tier": None}
    assert record.merged_ids == ()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2024-05-01T10:00:00Z", datetime(2024, 5, 1, 10, tzinfo=UTC)),
        ("2024-05-01T12:00:00+02:00", datetime(2024, 5, 1, 10, tzinfo=UTC)),
        ("1714557600000", datetime(2024, 5, 1, 10, tzinfo=UTC)),
    ],
)
def test_timestamps_parse_to_aware_utc(raw: str, expected: datetime) -> None:
    """ISO with Z or an offset, and epoch milliseconds, all parse to the same UTC instant."""
    assert parse_timestamp(raw) == expected


def test_unparsable_timestamp_raises() -> None:
    """Garbage is a malformed result, not a crash elsewhere."""
    with pytest.raises(MalformedResultError, match="unparsable"):
        parse_timestamp("last tuesday")


def test_merged_ids_are_listed_without_the_survivor() -> None:
    """``hs_merged_object_ids`` is split on ';' and the survivor's own id is dropped."""
    assert merged_ids("11;12; ;13") == ("11", "12", "13")
    [record] = to_records(
        [_result("101", hs_merged_object_ids="55;101")],
        fields=FIELDS,
        modified="hs_lastmodifieddate",
        object_name="companies",
    )
    assert record.merged_ids == ("55",)


def test_malformed_results_are_skipped_with_a_warning() -> None:
    """No id, a bad date or no properties skip that record only, warning with its id and why."""
    results = [_result(None), _result("102", "yesterday"), {"id": "103"}, "junk", _result("104")]
    with capture_logs() as logs:
        records = to_records(results, fields=FIELDS, modified="hs_lastmodifieddate", object_name="companies")
    assert [r.id for r in records] == ["104"]
    skipped = [e for e in logs if e["event"] == "crm.record_skipped"]
    assert [(e["record_id"], e["reason"]) for e in skipped] == [
        (None, "no id"),
        ("102", "unparsable timestamp 'yesterday'"),
        ("103", "no properties object"),
        (None, "not an object"),
    ]


def test_missing_last_modified_falls_back_to_updated_at() -> None:
    """A result without the last-modified property is dated by its ``updatedAt``."""
    result = {"id": "7", "updatedAt": "2024-01-02T00:00:00Z", "properties": {}}
    [record] = to_records([result], fields={}, modified="lastmodifieddate", object_name="contacts")
    assert record.modified_at == datetime(2024, 1, 2, tzinfo=UTC)


def test_tombstones_keep_only_records_archived_since() -> None:
    """Archived records come back deleted, dated by archivedAt, if archived at or after since."""
    results = [
        {"id": "1", "archivedAt": "2024-01-01T00:00:00Z", "archived": True},
        {"id": "2", "archivedAt": "2024-02-01T00:00:00Z", "archived": True},
        {"id": "3", "archivedAt": "garbage"},
    ]
    since = datetime(2024, 2, 1, tzinfo=UTC)
    tombstones = to_tombstones(results, since=since, object_name="companies")
    assert [(t.id, t.deleted, t.modified_at) for t in tombstones] == [("2", True, since)]
    assert [t.id for t in to_tombstones(results, since=None, object_name="companies")] == ["1", "2"]
