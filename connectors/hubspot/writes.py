"""Batched field writes through ``POST /crm/v3/objects/{type}/batch/update``, 100 records a call.

HubSpot answers a batch update in one of three ways, and each record gets the CRM's own verdict:

* **200**: every record landed;
* **207**: some failed; each ``errors[]`` entry names its records in ``context.ids`` with a
  ``category`` and ``message`` (a record that does not exist, say), and the rest landed;
* **400**: one invalid value anywhere (a bad option, text in a number, an unknown or read-only
  property) rejects the *whole* batch and nothing is written. We split the batch in halves and send
  each again, recursively, until the bad records stand alone: a single record rejected with 400 is
  that record's failure, with HubSpot's category and message, and everything else lands. Calls are
  ``ceil(N/100)`` plus only the splits the bad records cause.

Everything transient (429, 5xx, resets) is the transport's business: a batch update sets values,
so sending it twice is harmless and the retry policy may repeat it.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import structlog

from connectors.base import RecordUpdate, WriteResult
from connectors.hubspot.errors import RejectedError, redact
from connectors.hubspot.wire import to_properties

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping, Sequence

    from connectors.base import ObjectKind
    from connectors.hubspot.client import HubSpotApis, Transport
    from sync_daemon.config.models import MappingFile

log = structlog.get_logger(__name__)

BATCH_LIMIT = 100
HTTP_BAD_REQUEST = 400


def check_unique(updates: Sequence[RecordUpdate]) -> None:
    """Refuse two updates of one record in a call: HubSpot rejects duplicate ids whole."""
    seen: set[str] = set()
    for update in updates:
        if update.id in seen:
            raise ValueError(f"record {update.id} appears twice in one write; merge its fields first")
        seen.add(update.id)


def item_errors(data: Mapping[str, Any]) -> tuple[dict[str, tuple[str, str]], tuple[str, str] | None]:
    """A 207's errors by record id (category, message), and any error that names no record."""
    by_id: dict[str, tuple[str, str]] = {}
    unnamed: tuple[str, str] | None = None
    for error in data.get("errors") or []:
        if not isinstance(error, dict):
            continue
        verdict = (redact(str(error.get("category") or "UNKNOWN")), redact(str(error.get("message") or "no message")))
        context = error.get("context")
        ids = context.get("ids") if isinstance(context, dict) else None
        if not ids:
            unnamed = unnamed or verdict
        for ident in ids or []:
            by_id.setdefault(str(ident), verdict)
    return by_id, unnamed


def answered_ids(data: Mapping[str, Any]) -> set[str]:
    """Ids HubSpot reported as written."""
    return {str(r.get("id")) for r in data.get("results") or [] if isinstance(r, dict) and r.get("id") is not None}


def verdicts(data: Mapping[str, Any], ids: Sequence[str]) -> list[WriteResult]:
    """One result per id of a 200/207 answer.

    A record named in ``errors[]`` failed; one neither written nor named fails with an error that
    named no record, if there was one; every other record landed (a merged record answers under its
    survivor's id, so "not in results" alone proves nothing).
    """
    by_id, unnamed = item_errors(data)
    written = answered_ids(data)
    out: list[WriteResult] = []
    for ident in ids:
        verdict = by_id.get(ident) or (unnamed if unnamed and ident not in written else None)
        if verdict is None:
            out.append(WriteResult(id=ident, ok=True))
        else:
            out.append(WriteResult(id=ident, ok=False, code=verdict[0], message=verdict[1]))
    return out


def rejected_properties(body: Mapping[str, Any]) -> list[str]:
    """The property names a 400 ``Property values were not valid: [...]`` message lists, if any."""
    message = str(body.get("message") or "")
    start = message.find("[")
    if start < 0:
        return []
    try:
        details = json.loads(message[start:])
    except ValueError:
        return []
    if not isinstance(details, list):
        return []
    return [str(d["name"]) for d in details if isinstance(d, dict) and d.get("name")]


class BatchWriter:
    """Writes canonical field updates of one object kind, a batch of 100 per call."""

    def __init__(self, apis: HubSpotApis, transport: Transport, mapping: MappingFile) -> None:
        """Write through ``apis``' batch APIs under ``transport``; ``mapping`` says what may be written."""
        self._apis = apis
        self._transport = transport
        self._mapping = mapping

    def write(self, kind: ObjectKind, updates: Sequence[RecordUpdate]) -> Iterator[list[WriteResult]]:
        """Validate every update now (``ValueError`` before any call), then yield each batch's results."""
        check_unique(updates)
        push = self._mapping.push_fields(kind)
        inputs = [{"id": u.id, "properties": to_properties(u.fields, push, kind)} for u in updates]
        names = {spec.field: canonical for canonical, spec in push.items()}
        return self._batches(kind, inputs, names)

    def _batches(
        self, kind: ObjectKind, inputs: list[dict[str, Any]], names: Mapping[str, str]
    ) -> Iterator[list[WriteResult]]:
        for start in range(0, len(inputs), BATCH_LIMIT):
            batch = inputs[start : start + BATCH_LIMIT]
            results = self._send(kind, batch, names)
            failed = sum(not r.ok for r in results)
            log.info("crm.batch_written", crm="hubspot", kind=kind, records=len(batch), failed=failed)
            yield results

    def _send(self, kind: ObjectKind, batch: list[dict[str, Any]], names: Mapping[str, str]) -> list[WriteResult]:
        """One batch; a whole-batch 400 is bisected until each bad record stands alone."""
        api = self._apis.batch[kind]
        body = {"inputs": batch}
        try:
            data = self._transport.call(lambda **kw: api.update(body, **kw))
        except RejectedError as exc:
            if exc.status != HTTP_BAD_REQUEST:
                raise
            return self._split(kind, batch, names, exc)
        return verdicts(data, [str(item["id"]) for item in batch])

    def _split(
        self, kind: ObjectKind, batch: list[dict[str, Any]], names: Mapping[str, str], exc: RejectedError
    ) -> list[WriteResult]:
        if len(batch) == 1:
            return [self._rejected(kind, batch[0], names, exc)]
        middle = (len(batch) + 1) // 2
        log.info("crm.batch_split", crm="hubspot", kind=kind, records=len(batch), reason=exc.category)
        return self._send(kind, batch[:middle], names) + self._send(kind, batch[middle:], names)

    @staticmethod
    def _rejected(
        kind: ObjectKind, item: Mapping[str, Any], names: Mapping[str, str], exc: RejectedError
    ) -> WriteResult:
        fields = tuple(names.get(p, p) for p in rejected_properties(exc.body))
        log.warning("crm.record_rejected", crm="hubspot", kind=kind, record_id=item["id"], code=exc.category)
        return WriteResult(id=str(item["id"]), ok=False, code=exc.category, message=exc.detail, fields=fields)
