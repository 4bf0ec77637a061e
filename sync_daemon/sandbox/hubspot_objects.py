"""HTTP routes for CRM objects: list, read, create, update, archive, merge, search, batches."""

from __future__ import annotations

import bisect
from typing import TYPE_CHECKING, Any

from sync_daemon.sandbox import hubspot_data as hd
from sync_daemon.sandbox.hubspot_search import SearchError, parse_search
from sync_daemon.sandbox.hubspot_state import ASSOCIATION_TYPES, PRIMARY_TYPES, HubSpotState
from sync_daemon.sandbox.hubspot_store import HttpError, invalid_properties, millis
from sync_daemon.sandbox.server import Request, Response

if TYPE_CHECKING:
    from collections.abc import Sequence

BATCH_MAX = 100


class ObjectRoutes(HubSpotState):
    """``/crm/v3/objects/{type}`` and its search and batch endpoints."""

    def _list(self, request: Request) -> Response:
        object_type = self._type(request)
        limit = min(int(request.arg("limit") or 10), BATCH_MAX)
        archived = (request.arg("archived") or "false").lower() == "true"
        table = self.tables[object_type]
        pool = [o for o in table.objects.values() if o.archived] if archived else table.live()
        pool = sorted(pool, key=lambda o: o.id) if archived else pool
        after = int(request.arg("after") or 0)
        start = bisect.bisect_left(pool, after, key=lambda o: o.id)
        page = pool[start : start + limit]
        names, targets = _multi(request, "properties"), _multi(request, "associations")
        results = []
        for o in page:
            item = self._render(object_type, o, names)
            if targets and (block := self._associations_block(object_type, o, targets)):
                item["associations"] = block
            results.append(item)
        body: dict[str, Any] = {"results": results}
        if start + limit < len(pool):
            cursor = str(pool[start + limit].id)
            link = f"/crm/v3/objects/{object_type}?after={cursor}"
            body["paging"] = {"next": {"after": cursor, "link": link}}
        return Response(200, body)

    def _get_one(self, request: Request) -> Response:
        object_type = self._type(request)
        archived = (request.arg("archived") or "false").lower() == "true"
        obj = self.tables[object_type].find(request.params["id"], request.arg("idProperty"))
        if obj is None or obj.archived != archived:
            raise self._not_found(request.params["id"])
        item = self._render(object_type, obj, _multi(request, "properties"))
        targets = _multi(request, "associations")
        if targets and (block := self._associations_block(object_type, obj, targets)):
            item["associations"] = block
        return Response(200, item)

    def _create_one(self, request: Request) -> Response:
        object_type, body = self._type(request), request.json() or {}
        links = self._parse_links(object_type, body.get("associations") or [])
        obj = self._create(object_type, body.get("properties") or {})
        for dst, to_id, kind in links:
            self._link(object_type, obj.id, dst, to_id, primary=kind in PRIMARY_TYPES.values())
        return Response(201, self._render(object_type, obj, (body.get("properties") or {}).keys()))

    def _parse_links(self, object_type: str, associations: list[Any]) -> list[tuple[str, int, int]]:
        links = []
        by_type = {v: k[1] for k, v in ASSOCIATION_TYPES.items() if k[0] == object_type}
        by_type.update({v: k[1] for k, v in PRIMARY_TYPES.items() if k[0] == object_type})
        for assoc in associations:
            to_id = str((assoc.get("to") or {}).get("id"))
            for spec in assoc.get("types") or []:
                kind = int(spec.get("associationTypeId", -1))
                dst = by_type.get(kind)
                if dst is None or not self._alive(dst, int(to_id) if to_id.isdigit() else -1):
                    raise HttpError(
                        400,
                        "VALIDATION_ERROR",
                        f"Association type {kind} to {to_id} is not valid from {object_type}",
                    )
                links.append((dst, int(to_id), kind))
        return links

    def _update_one(self, request: Request) -> Response:
        object_type, body = self._type(request), request.json() or {}
        obj = self.tables[object_type].find(request.params["id"], request.arg("idProperty"))
        if obj is None or obj.archived:
            raise self._not_found(request.params["id"])
        props = body.get("properties") or {}
        self._check_rules(object_type, [(obj, props)])
        self._write(object_type, obj, props)
        return Response(200, self._render(object_type, obj, props.keys()))

    def _delete_one(self, request: Request) -> Response:
        object_type = self._type(request)
        obj = self.tables[object_type].find(request.params["id"])
        if obj is not None and not obj.archived:
            self._archive(object_type, obj)
        return Response(204)

    def _merge_http(self, request: Request) -> Response:
        object_type, body = self._type(request), request.json() or {}
        table = self.tables[object_type]
        survivor, gone = (
            table.find(str(body.get("primaryObjectId"))),
            table.find(str(body.get("objectIdToMerge"))),
        )
        if survivor is None or gone is None or survivor is gone:
            raise HttpError(400, "VALIDATION_ERROR", "Both objects must exist and differ to be merged")
        self._merge(object_type, gone, survivor)
        return Response(200, self._render(object_type, survivor))

    def _search(self, request: Request) -> Response:
        object_type = self._type(request)
        table = self.tables[object_type]
        try:
            query = parse_search(request.json(), table.known)
        except SearchError as exc:
            raise HttpError(400, "VALIDATION_ERROR", str(exc)) from None
        hidden_after = None
        if self.search_lag_seconds > 0:
            hidden_after = millis(self.clock.now()) - int(self.search_lag_seconds * 1000)
        total, page = table.search.run(table.live(), table.version, query, hidden_after)
        body: dict[str, Any] = {
            "total": total,
            "results": [self._render(object_type, o, query.properties or None) for o in page],
        }
        following = query.offset + len(page)
        if page and following < total:
            body["paging"] = {"next": {"after": str(following), "link": None}}
        return Response(200, body)

    # ----------------------------------------------------------------- HTTP: batches

    def _batch(self, request: Request) -> Response:
        object_type, body = self._type(request), request.json() or {}
        inputs = body.get("inputs") or []
        if len(inputs) > BATCH_MAX:
            raise HttpError(
                400,
                "VALIDATION_ERROR",
                f"Batch input exceeds the limit: {len(inputs)} inputs, at most {BATCH_MAX} allowed",
            )
        handler = {
            "read": self._batch_read,
            "create": self._batch_create,
            "update": self._batch_update,
            "upsert": self._batch_upsert,
            "archive": self._batch_archive,
        }[request.params["op"]]
        return handler(object_type, body, request)

    def _missing(self, object_type: str, ids: list[str]) -> list[dict[str, Any]]:
        if not ids:
            return []
        kind = hd.SINGULAR[object_type].upper()
        msg = f"Could not get some {kind} objects, they may be deleted or not exist. "
        msg += "Check that ids are valid."
        return [
            {
                "status": "error",
                "category": "OBJECT_NOT_FOUND",
                "message": msg,
                "context": {"ids": ids},
                "errors": [],
                "links": {},
            }
        ]

    def _batch_read(self, object_type: str, body: dict[str, Any], request: Request) -> Response:
        started, table = self.clock.now(), self.tables[object_type]
        archived = (request.arg("archived") or "false").lower() == "true"
        results, missing = [], []
        for item in body.get("inputs") or []:
            obj = table.find(str(item.get("id")), body.get("idProperty"))
            if obj is None or obj.archived != archived:
                missing.append(str(item.get("id")))
            else:
                results.append(self._render(object_type, obj, body.get("properties") or None))
        return self._batch_response(200, results, self._missing(object_type, missing), started)

    def _batch_create(self, object_type: str, body: dict[str, Any], request: Request) -> Response:  # noqa: ARG002
        started, inputs = self.clock.now(), body.get("inputs") or []
        self._reject_invalid(object_type, [i.get("properties") or {} for i in inputs])
        results = []
        for item in inputs:
            links = self._parse_links(object_type, item.get("associations") or [])
            obj = self._create(object_type, item.get("properties") or {})
            for dst, to_id, kind in links:
                self._link(object_type, obj.id, dst, to_id, primary=kind in PRIMARY_TYPES.values())
            results.append(self._render(object_type, obj, (item.get("properties") or {}).keys()))
        return self._batch_response(201, results, [], started)

    def _reject_invalid(self, object_type: str, prop_sets: Sequence[dict[str, Any]]) -> None:
        """One bad value anywhere rejects the whole batch, before anything is written."""
        problems = [p for props in prop_sets for p in self._validate(object_type, props)[1]]
        if problems:
            raise invalid_properties(problems)

    def _batch_update(self, object_type: str, body: dict[str, Any], request: Request) -> Response:  # noqa: ARG002
        started, inputs, table = (
            self.clock.now(),
            body.get("inputs") or [],
            self.tables[object_type],
        )
        keys = [str(i.get("id")) for i in inputs]
        dupes = sorted({k for k in keys if keys.count(k) > 1})
        if dupes:
            raise HttpError(
                400,
                "VALIDATION_ERROR",
                f"Duplicate IDs found in batch input: {dupes}. IDs must be unique",
            )
        self._reject_invalid(object_type, [i.get("properties") or {} for i in inputs])
        found = [(table.find(key, item.get("idProperty")), item, key) for item, key in zip(inputs, keys, strict=True)]
        self._check_rules(
            object_type, [(o, i.get("properties") or {}) for o, i, _ in found if o is not None and not o.archived]
        )
        results, missing = [], []
        for obj, item, key in found:
            if obj is None or obj.archived:
                missing.append(key)
                continue
            self._write(object_type, obj, item.get("properties") or {})
            results.append(self._render(object_type, obj, (item.get("properties") or {}).keys()))
        return self._batch_response(200, results, self._missing(object_type, missing), started)

    def _batch_upsert(self, object_type: str, body: dict[str, Any], request: Request) -> Response:  # noqa: ARG002
        started, inputs, table = (
            self.clock.now(),
            body.get("inputs") or [],
            self.tables[object_type],
        )
        for item in inputs:
            prop = self.properties[object_type].get(item.get("idProperty") or "")
            if prop is None or not prop.unique:
                raise HttpError(
                    400,
                    "VALIDATION_ERROR",
                    f"idProperty {item.get('idProperty')!r} is not a property with unique values",
                )
        self._reject_invalid(object_type, [i.get("properties") or {} for i in inputs])
        results = []
        for item in inputs:
            props, key = item.get("properties") or {}, str(item.get("id"))
            obj = table.find(key, item["idProperty"])
            new = obj is None
            if obj is None:
                obj = self._create(object_type, {**props, item["idProperty"]: key})
            else:
                self._write(object_type, obj, props)
            results.append({**self._render(object_type, obj, props.keys()), "new": new})
        return self._batch_response(200, results, [], started)

    def _batch_archive(self, object_type: str, body: dict[str, Any], request: Request) -> Response:  # noqa: ARG002
        table = self.tables[object_type]
        for item in body.get("inputs") or []:
            obj = table.find(str(item.get("id")))
            if obj is not None and not obj.archived:
                self._archive(object_type, obj)
        return Response(204)


def _multi(request: Request, name: str) -> list[str]:
    """A query parameter sent repeated or comma-separated (the client sends it repeated)."""
    return [v for raw in request.query.get(name, []) for v in raw.split(",") if v]
