"""Pure planning of one page write: which rows to insert, update or retire, and the counts.

Kept free of SQL so the rules (last duplicate wins, merges beat live copies, tombstones count
once, unchanged rows are not written) are plain functions over the page and what is stored.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from connectors.base import CrmRecord
from sync_daemon.store.types import to_utc
from sync_daemon.store.values import PageResult, UnstorableRecordError

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence
    from datetime import datetime

Row = dict[str, Any]


def canonical_json(value: object) -> str:
    """Serialise deterministically; raise ``TypeError``/``ValueError`` for what JSON cannot hold."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _number_text(value: float) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return repr(value) if isinstance(value, float) else str(value)


def _text_form(text: str) -> object:
    """Numeric text is its number ("3" and "3.0" are 3); any other text stays as it is."""
    try:
        number = float(text)
    except ValueError:
        return text
    return _number_text(number) if math.isfinite(number) else text


def _scalar_form(value: object) -> object:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return _number_text(value)
    if isinstance(value, str):
        return _text_form(value.strip())
    return value


def _hash_form(value: object) -> object:
    """One form per meaning, so a CRM's representation of a value is not a change of it.

    Salesforce answers ``3.0`` for a number the daemon wrote as ``3``; HubSpot answers every value as text
    (``"3"``, ``"true"``) and ``""`` for an empty one. Only change detection uses this; values are stored as
    the CRM sent them.
    """
    if isinstance(value, list | tuple):
        return [_hash_form(v) for v in value]
    if isinstance(value, dict):
        return {k: _hash_form(v) for k, v in value.items()}
    return _scalar_form(value)


def content_hash(fields: Mapping[str, object], account_id: str | None, *, deleted: bool) -> str:
    """Hash what makes a record different to the daemon: fields, account link, deletion.

    ``modified_at`` is left out on purpose: CRMs bump it for system updates that change nothing. Values are
    hashed in a representation-free form (:func:`_hash_form`).
    """
    canonical_json(dict(fields))  # refuse what JSON cannot hold, as the stored document will
    payload = canonical_json({"fields": _hash_form(dict(fields)), "account_id": account_id, "deleted": deleted})
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


# A deleted row's content is its deletion: the fields it last had are kept for history, but a
# tombstone (often fieldless) must not look like a change of them.
TOMBSTONE_HASH = content_hash({}, None, deleted=True)


@dataclass(frozen=True, slots=True)
class Existing:
    """What the store already holds for one id, as far as change detection needs."""

    content_hash: str
    deleted: bool
    merged_into: str | None
    persona: str | None


@dataclass(frozen=True, slots=True)
class PagePlan:
    """Rows to upsert as live, rows to retire, and what the page did."""

    live: list[Row]
    retired: list[Row]
    result: PageResult


def latest_by_id(records: Iterable[CrmRecord]) -> dict[str, CrmRecord]:
    """Collapse duplicates of one id within a page: the last one wins."""
    latest: dict[str, CrmRecord] = {}
    for record in records:
        latest[record.id] = record
    return latest


def merge_losers(records: Iterable[CrmRecord]) -> dict[str, CrmRecord]:
    """Map each id merged into another record of the page to that survivor (last merge wins)."""
    losers: dict[str, CrmRecord] = {}
    for survivor in records:
        for loser in survivor.merged_ids:
            if loser != survivor.id:
                losers[loser] = survivor
    return losers


class _Planner:
    """Builds the plan for one page; a class only to share the page's context between steps."""

    def __init__(
        self,
        kind: str,
        crm: str,
        existing: Mapping[str, Existing],
        personas: Mapping[str, str | None] | None,
        now: datetime,
    ) -> None:
        self.kind = kind
        self.crm = crm
        self.existing = existing
        self.personas = personas
        self.now = now
        self.live: list[Row] = []
        self.retired: list[Row] = []
        self.deleted = 0

    def persona(self, record_id: str) -> str | None:
        """The persona to store: the caller's if it gave one for this id, else what is stored."""
        current = self.existing.get(record_id)
        stored = current.persona if current else None
        return stored if self.personas is None else self.personas.get(record_id, stored)

    def row(self, record: CrmRecord, digest: str, merged_into: str | None) -> Row:
        """The full column set of a record, as both insert values and update source."""
        row: Row = {
            "crm": self.crm,
            "id": record.id,
            "fields": dict(record.fields),
            "content_hash": digest,
            "modified_at": to_utc(record.modified_at),
            "deleted": record.deleted or merged_into is not None,
            "merged_into": merged_into,
            "first_seen_at": self.now,
            "changed_at": self.now,
        }
        if self.kind == "contacts":
            row["account_id"] = record.account_id
            row["persona"] = self.persona(record.id)
        return row

    def add_live(self, record: CrmRecord) -> None:
        """Queue a live record if it is new, or its content or persona changed."""
        account_id = record.account_id if self.kind == "contacts" else None
        try:
            digest = content_hash(record.fields, account_id, deleted=False)
        except (TypeError, ValueError) as exc:
            raise UnstorableRecordError(self.kind, record.id, str(exc)) from exc
        row = self.row(record, digest, None)
        current = self.existing.get(record.id)
        if (
            current is None
            or current.content_hash != digest
            or (self.kind == "contacts" and current.persona != row["persona"])
        ):
            self.live.append(row)

    def add_retired(self, record: CrmRecord, merged_into: str | None) -> None:
        """Queue a tombstone or merge unless the row is already retired the same way."""
        try:
            canonical_json(dict(record.fields))
        except (TypeError, ValueError) as exc:
            raise UnstorableRecordError(self.kind, record.id, str(exc)) from exc
        current = self.existing.get(record.id)
        already_retired = (
            current is not None
            and current.deleted
            and current.content_hash == TOMBSTONE_HASH
            and merged_into in (None, current.merged_into)
        )
        if already_retired:
            return
        if current is None or not current.deleted:
            self.deleted += 1
        self.retired.append(self.row(record, TOMBSTONE_HASH, merged_into))


def plan_page(
    kind: str,
    crm: str,
    records: Sequence[CrmRecord],
    existing: Mapping[str, Existing],
    *,
    personas: Mapping[str, str | None] | None,
    now: datetime,
) -> PagePlan:
    """Decide what one page writes, given what is stored for its ids and its merge losers.

    A loser merged into a survivor of the same page is retired even if the page also carries it
    live (the merge is the later truth); losers the store never saw are ignored.
    """
    planner = _Planner(kind, crm, existing, personas, now)
    latest = latest_by_id(records)
    losers = merge_losers(latest.values())
    for record in latest.values():
        survivor = losers.get(record.id)
        if survivor is not None:
            planner.add_retired(record, survivor.id)
        elif record.deleted:
            planner.add_retired(record, None)
        else:
            planner.add_live(record)
    for loser_id, survivor in losers.items():
        if loser_id not in latest and loser_id in existing:
            stub = _loser_stub(loser_id, survivor)
            planner.add_retired(stub, survivor.id)
    planner.live.sort(key=lambda row: row["id"])
    planner.retired.sort(key=lambda row: row["id"])
    result = PageResult(len(records), len(planner.live), planner.deleted)
    return PagePlan(planner.live, planner.retired, result)


def _loser_stub(loser_id: str, survivor: CrmRecord) -> CrmRecord:
    """A fieldless stand-in for a merged-away row; only its retirement columns are written."""
    return CrmRecord(id=loser_id, modified_at=survivor.modified_at, deleted=True)
