"""The sandbox's ``query`` and ``queryAll`` resources: SOQL over the store, paged by query locators.

A query is filtered and sorted once; its locator keeps a snapshot of the matching ids, and each page
reads the current values of its slice (later edits change values, never page membership). Pages hold
``batchSize`` records (from ``Sforce-Query-Options``, clamped to 200..2000 as Salesforce does);
``nextRecordsUrl`` is ``/services/data/vXX.X/query/01g...-2000``. Locators can be expired by a test.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sync_daemon.sandbox.salesforce_schema import NUMBER_TYPES, find_object
from sync_daemon.sandbox.salesforce_values import ApiError, make_id, to_json
from sync_daemon.sandbox.soql import Compare as SoqlCompare
from sync_daemon.sandbox.soql import InList, Query, SoqlError, parse
from sync_daemon.sandbox.soql_eval import CompiledQuery, Kind, compile_query

if TYPE_CHECKING:
    from sync_daemon.sandbox.salesforce_schema import FieldDef, ObjectDef
    from sync_daemon.sandbox.salesforce_store import Row, Store

MIN_BATCH, MAX_BATCH = 200, 2000
_KINDS: dict[str, Kind] = {
    "id": "id",
    "reference": "id",
    "multipicklist": "multipicklist",
    "boolean": "boolean",
}
_KINDS.update({"date": "date", "datetime": "datetime", **dict.fromkeys(NUMBER_TYPES, "number")})


def soql_kind(fdef: FieldDef) -> Kind:
    """How SOQL compares a field of this describe type."""
    return _KINDS.get(fdef.type, "string")


@dataclass
class _Locator:
    obj: ObjectDef
    ids: list[str]
    fields: tuple[str, ...]
    batch: int


def batch_size(header: str | None, default: int) -> int:
    """The page size from a ``Sforce-Query-Options: batchSize=N`` header, clamped to 200..2000."""
    for part in (header or "").split(","):
        name, _, value = part.strip().partition("=")
        if name.strip().lower() == "batchsize" and value.strip().isdigit():
            return max(MIN_BATCH, min(MAX_BATCH, int(value)))
    return default


def _check_link_filter(query: Query) -> None:
    """ContentDocumentLink answers only when filtered on ContentDocumentId or LinkedEntityId."""
    keys = ("contentdocumentid", "linkedentityid")
    where = query.where
    parts = where.operands if where is not None and hasattr(where, "operands") else (where,)
    for part in parts:
        if isinstance(part, InList) and part.field.lower() in keys and not part.negated:
            return
        if isinstance(part, SoqlCompare) and part.field.lower() in keys and part.op == "=":
            return
    raise SoqlError(
        "MALFORMED_QUERY",
        "Implementation restriction: ContentDocumentLink requires a filter by a single Id on "
        "ContentDocumentId or LinkedEntityId using the equals operator or multiple Id's using "
        "the IN operator.",
    )


class QueryService:
    """Runs SOQL against a store and serves the pages of open query locators."""

    def __init__(self, store: Store, default_batch: int) -> None:
        """No locators yet; ``default_batch`` applies when the client sends no batchSize."""
        self.store = store
        self.default_batch = max(MIN_BATCH, min(MAX_BATCH, default_batch))
        self._locators: dict[str, _Locator] = {}
        self._counter = 0

    def expire(self) -> None:
        """Forget every locator: an old ``nextRecordsUrl`` now answers INVALID_QUERY_LOCATOR."""
        self._locators.clear()

    def run(self, soql: str, version: str, *, include_deleted: bool, batch: int | None = None) -> dict[str, Any]:
        """Answer ``GET query?q=`` (or ``queryAll``): the first page and a locator for the rest."""
        try:
            obj, compiled = self._compile(soql)
        except SoqlError as exc:
            raise ApiError(400, exc.code, exc.message) from exc
        rows = self.store.tables[obj.name].values()
        if not include_deleted:
            rows = [r for r in rows if not r["IsDeleted"]]  # type: ignore[assignment]
        matched = compiled.run(rows)
        if compiled.count:
            return {"totalSize": len(matched), "done": True, "records": []}
        locator = _Locator(obj, [r["Id"] for r in matched], compiled.fields, batch or self.default_batch)
        self._counter += 1
        locator_id = make_id("01g", self._counter)
        self._locators[locator_id] = locator
        return self._page(locator_id, locator, 0, version)

    def _compile(self, soql: str) -> tuple[ObjectDef, CompiledQuery]:
        query = parse(soql)
        obj = find_object(query.sobject)
        if obj is None:
            raise SoqlError("INVALID_TYPE", f"sObject type '{query.sobject}' is not supported.")
        if obj.name == "ContentDocumentLink":
            _check_link_filter(query)
        return obj, compile_query(query, lambda name: self._resolve(obj, name))

    def more(self, locator_id: str, offset: int, version: str) -> dict[str, Any]:
        """Answer ``GET query/{locator}-{offset}``: the next slice of the snapshot."""
        locator = self._locators.get(locator_id)
        if locator is None or offset < 0 or offset > len(locator.ids):
            raise ApiError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        return self._page(locator_id, locator, offset, version)

    def _resolve(self, obj: ObjectDef, name: str) -> tuple[str, Kind]:
        fdef = obj.field(name)
        if fdef is None:
            raise SoqlError(
                "INVALID_FIELD",
                f"No such column '{name}' on entity '{obj.name}'. If you are attempting to use a "
                "custom field, be sure to append the '__c' after the custom field name. Please "
                "reference your WSDL or the describe call for the appropriate names.",
            )
        return fdef.name, soql_kind(fdef)

    def _page(self, locator_id: str, locator: _Locator, offset: int, version: str) -> dict[str, Any]:
        end = offset + locator.batch
        table = self.store.tables[locator.obj.name]
        records = [serialize(locator.obj, table[i], locator.fields, version) for i in locator.ids[offset:end]]
        result: dict[str, Any] = {"totalSize": len(locator.ids), "done": end >= len(locator.ids)}
        if end < len(locator.ids):
            result["nextRecordsUrl"] = f"/services/data/v{version}/query/{locator_id}-{end}"
        else:
            self._locators.pop(locator_id, None)
        result["records"] = records
        return result


def serialize(
    obj: ObjectDef, row: Row, fields: tuple[str, ...], version: str, *, blob_urls: bool = True
) -> dict[str, Any]:
    """One record as the REST API returns it: ``attributes`` then the asked fields in JSON shape.

    Base64 fields come as the URL of their blob, as Salesforce sends them (unless ``blob_urls`` is
    false: then as the base64 text, for test assertions).
    """
    url = f"/services/data/v{version}/sobjects/{obj.name}/{row['Id']}"
    record: dict[str, Any] = {"attributes": {"type": obj.name, "url": url}}
    for name in fields:
        fdef = obj.field(name)
        if fdef is None:
            continue
        value = row.get(name)
        if fdef.type == "base64" and blob_urls:
            record[name] = f"{url}/{name}" if value is not None else None
        else:
            record[name] = to_json(fdef, value)
    return record
