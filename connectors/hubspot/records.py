"""HubSpot result objects into :class:`~connectors.base.CrmRecord`: pure, and forgiving per record.

A malformed result (no id, an unparsable last-modified date) is skipped with a warning naming the
record and the reason; it never fails the page, let alone the pull.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import structlog

from connectors.base import CrmRecord
from connectors.hubspot.search import MERGED_IDS

if TYPE_CHECKING:
    from collections.abc import Mapping

log = structlog.get_logger(__name__)


class MalformedResultError(ValueError):
    """A result we cannot turn into a record; the message says why."""


def parse_timestamp(raw: object) -> datetime:
    """HubSpot's ISO-8601 (``...Z``) or epoch-milliseconds timestamp as an aware UTC datetime."""
    if raw is None or raw == "":
        raise MalformedResultError("no timestamp")
    text = str(raw).strip()
    try:
        if text.isdigit():
            return datetime.fromtimestamp(int(text) / 1000, tz=UTC)
        parsed = datetime.fromisoformat(text)
    except (ValueError, OverflowError, OSError) as exc:
        raise MalformedResultError(f"unparsable timestamp {text[:40]!r}") from exc
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def merged_ids(raw: object) -> tuple[str, ...]:
    """``hs_merged_object_ids`` (``;``-separated ids) as a tuple of ids."""
    if raw is None:
        return ()
    return tuple(part.strip() for part in str(raw).split(";") if part.strip())


def _as_object(result: object) -> Mapping[str, Any]:
    if not isinstance(result, dict):
        raise MalformedResultError("not an object")
    return result


def _record_id(result: Mapping[str, Any]) -> str:
    raw = result.get("id")
    if raw is None or not str(raw).strip():
        raise MalformedResultError("no id")
    return str(raw).strip()


def _properties(result: Mapping[str, Any]) -> Mapping[str, Any]:
    props = result.get("properties")
    if not isinstance(props, dict):
        raise MalformedResultError("no properties object")
    return props


def build_record(result: object, *, fields: Mapping[str, str], modified: str) -> CrmRecord:
    """One search result as a record (``fields``: canonical name to CRM property).

    Raises:
        MalformedResultError: the result has no id, properties or readable timestamp.
    """
    obj = _as_object(result)
    record_id = _record_id(obj)
    props = _properties(obj)
    stamp = props.get(modified) or obj.get("updatedAt")
    return CrmRecord(
        id=record_id,
        modified_at=parse_timestamp(stamp),
        fields={canonical: props.get(crm) for canonical, crm in fields.items()},
        merged_ids=tuple(i for i in merged_ids(props.get(MERGED_IDS)) if i != record_id),
    )


def build_tombstone(result: object) -> CrmRecord:
    """One archived record (list API) as a tombstone dated when it was archived."""
    obj = _as_object(result)
    archived_at = parse_timestamp(obj.get("archivedAt") or obj.get("updatedAt"))
    return CrmRecord(id=_record_id(obj), modified_at=archived_at, deleted=True)


def _skip(result: object, object_name: str, exc: Exception) -> None:
    ident = result.get("id") if isinstance(result, dict) else None
    log.warning("crm.record_skipped", crm="hubspot", object=object_name, record_id=ident, reason=str(exc))


def to_records(results: list[Any], *, fields: Mapping[str, str], modified: str, object_name: str) -> list[CrmRecord]:
    """Every well-formed result of a page as a record; the malformed ones are logged and skipped."""
    records: list[CrmRecord] = []
    for result in results:
        try:
            records.append(build_record(result, fields=fields, modified=modified))
        except MalformedResultError as exc:
            _skip(result, object_name, exc)
    return records


def to_tombstones(results: list[Any], *, since: datetime | None, object_name: str) -> list[CrmRecord]:
    """Archived records as tombstones, keeping those archived at or after ``since``."""
    out: list[CrmRecord] = []
    for result in results:
        try:
            tombstone = build_tombstone(result)
        except MalformedResultError as exc:
            _skip(result, object_name, exc)
            continue
        if since is None or tombstone.modified_at >= _aware(since):
            out.append(tombstone)
    return out


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
