"""The sandbox's composite resources: sObject Collections and ``/composite`` with references.

``/composite/sobjects`` takes up to 200 records, answers 200 with one result per record in order,
and with ``allOrNone`` rolls all back when one fails (the good ones then report
ALL_OR_NONE_OPERATION_ROLLED_BACK). ``/composite`` runs up to 25 subrequests in one API call,
resolving ``@{ref.path}`` from earlier bodies; a subrequest whose reference failed is
PROCESSING_HALTED.
"""

from __future__ import annotations

import re
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from sync_daemon.sandbox.salesforce_schema import OBJECTS, find_object
from sync_daemon.sandbox.salesforce_values import ApiError, RecordError, normalize_id

if TYPE_CHECKING:
    from collections.abc import Callable

    from sync_daemon.sandbox.salesforce_store import Store
    from sync_daemon.sandbox.server import Response

MAX_COLLECTION = 200
MAX_SUBREQUESTS = 25
ROLLED_BACK = RecordError(
    "ALL_OR_NONE_OPERATION_ROLLED_BACK",
    "Record rolled back because not all records were valid and the request was using AllOrNone header",
)
_REF = re.compile(r"@\{([A-Za-z0-9_]+)\.([^}]+)\}")
_ROLLED_BACK_TX = "The transaction was rolled back since another operation in the same transaction failed."
_STEP = re.compile(r"([A-Za-z0-9_]+)|\[(\d+)\]")


def _write_one(store: Store, record: Any, method: str) -> str:
    """Apply one collection record; return its id or raise :class:`RecordError`."""
    if not isinstance(record, dict):
        raise RecordError("JSON_PARSER_ERROR", "each record must be a JSON object")
    fields = dict(record)
    sobject = (fields.pop("attributes", None) or {}).get("type")
    obj = find_object(sobject) if isinstance(sobject, str) else None
    if obj is None:
        raise RecordError("INVALID_TYPE", f"Must send a concrete entity type: {sobject}")
    raw_id = fields.pop("id", None) or fields.pop("Id", None)
    if method == "POST":
        if raw_id is not None:
            raise RecordError("INVALID_FIELD", "cannot specify Id in an insert call", ["Id"])
        return store.create(obj, fields)
    ident = normalize_id(raw_id)
    if raw_id is None or ident is None:
        raise RecordError(
            "MALFORMED_ID",
            f"malformed id {raw_id}" if raw_id else "Id not specified in an update call",
        )
    try:
        store.modify(obj, ident, fields)
    except RecordError as exc:
        if exc.code == "NOT_FOUND":
            raise RecordError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id") from exc
        raise
    return ident


def _delete_one(store: Store, raw_id: str) -> str:
    ident = normalize_id(raw_id)
    obj = next((o for o in OBJECTS.values() if ident and ident.startswith(o.key_prefix)), None)
    if ident is None or obj is None:
        raise RecordError("MALFORMED_ID", f"malformed id {raw_id}")
    try:
        store.remove(obj, ident)
    except RecordError as exc:
        if exc.code == "NOT_FOUND":
            raise RecordError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id") from exc
        raise
    return ident


def collection(store: Store, method: str, items: list[Any], *, all_or_none: bool) -> list[dict[str, Any]]:
    """Apply a collection request (POST create, PATCH update, DELETE ids); one result per item."""
    if len(items) > MAX_COLLECTION:
        raise ApiError(
            400,
            "EXCEEDED_ID_LIMIT",
            f"record limit reached. cannot submit more than {MAX_COLLECTION} records into this call",
        )
    mark = store.savepoint()
    outcomes: list[str | RecordError] = []
    try:
        for item in items:
            try:
                done = _delete_one(store, item) if method == "DELETE" else _write_one(store, item, method)
                outcomes.append(done)
            except RecordError as exc:
                outcomes.append(exc)
        failed = any(isinstance(o, RecordError) for o in outcomes)
        if failed and all_or_none:
            store.rollback_to(mark)
    finally:
        store.release()
    results = []
    for item, outcome in zip(items, outcomes, strict=True):
        requested = item if method == "DELETE" else (item.get("id") if isinstance(item, dict) else None)
        if isinstance(outcome, RecordError):
            results.append({"id": requested, "success": False, "errors": [outcome.result()]})
        elif all_or_none and failed:
            results.append({"id": requested, "success": False, "errors": [ROLLED_BACK.result()]})
        else:
            results.append({"id": outcome, "success": True, "errors": []})
    return results


def _lookup(bodies: dict[str, Any], ref: str, path: str) -> Any:
    """The value at ``path`` (``id``, ``records[0].Id``) in the body of subrequest ``ref``."""
    value = bodies[ref]
    for name, index in _STEP.findall(path):
        value = value[name] if name else value[int(index)]
    return value


def resolve_refs(value: Any, bodies: dict[str, Any]) -> Any:
    """Replace ``@{ref.path}`` in strings (and whole-string references by the raw value)."""
    if isinstance(value, dict):
        return {k: resolve_refs(v, bodies) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve_refs(v, bodies) for v in value]
    if not isinstance(value, str):
        return value
    whole = _REF.fullmatch(value)
    if whole:
        return _lookup(bodies, whole.group(1), whole.group(2))
    return _REF.sub(lambda m: str(_lookup(bodies, m.group(1), m.group(2))), value)


def _halted(ref: str, message: str) -> dict[str, Any]:
    return {
        "body": [{"errorCode": "PROCESSING_HALTED", "message": message}],
        "httpHeaders": {},
        "httpStatusCode": 400,
        "referenceId": ref,
    }


def composite(store: Store, body: Any, dispatch: Callable[[str, str, Any], Response]) -> dict[str, Any]:
    """Run a ``/composite`` request; ``dispatch(method, url, body)`` serves one subrequest."""
    subrequests = body.get("compositeRequest") if isinstance(body, dict) else None
    if not isinstance(subrequests, list) or not subrequests:
        raise ApiError(400, "JSON_PARSER_ERROR", "compositeRequest is required")
    if len(subrequests) > MAX_SUBREQUESTS:
        raise ApiError(400, "LIMIT_EXCEEDED", f"Maximum number of subrequests is {MAX_SUBREQUESTS}")
    all_or_none = bool(body.get("allOrNone", False))
    mark = store.savepoint()
    bodies: dict[str, Any] = {}
    out: list[dict[str, Any]] = []
    failed = False
    try:
        for sub in subrequests:
            ref = str(sub.get("referenceId", ""))
            if failed and all_or_none:
                out.append(
                    _halted(
                        ref,
                        _ROLLED_BACK_TX,
                    )
                )
                continue
            try:
                url = resolve_refs(sub.get("url", ""), bodies)
                sub_body = resolve_refs(sub.get("body"), bodies)
            except (KeyError, IndexError, TypeError) as exc:
                failed = True
                out.append(
                    _halted(
                        ref,
                        f"Invalid reference specified. No value for {exc} found.",
                    )
                )
                continue
            resp = dispatch(str(sub.get("method", "GET")).upper(), url, sub_body)
            headers = (
                {"Location": f"{url.split('?')[0]}/{resp.body['id']}"} if resp.status == HTTPStatus.CREATED else {}
            )
            out.append(
                {
                    "body": resp.body,
                    "httpHeaders": headers,
                    "httpStatusCode": resp.status,
                    "referenceId": ref,
                }
            )
            if resp.status < HTTPStatus.MULTIPLE_CHOICES:
                bodies[ref] = resp.body
            else:
                failed = True
        if failed and all_or_none:
            store.rollback_to(mark)
            for item in out:
                if item["httpStatusCode"] < HTTPStatus.MULTIPLE_CHOICES:
                    item.update(
                        _halted(
                            item["referenceId"],
                            _ROLLED_BACK_TX,
                        )
                    )
    finally:
        store.release()
    return {"compositeResponse": out}
