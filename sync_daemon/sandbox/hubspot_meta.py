"""HTTP routes around the objects: v4 associations, property definitions, lists, API usage."""

from __future__ import annotations

import re
from typing import Any

from sync_daemon.sandbox import hubspot_data as hd
from sync_daemon.sandbox.hubspot_state import ASSOCIATION_TYPES, PRIMARY_TYPES, HubSpotState
from sync_daemon.sandbox.hubspot_store import HttpError, iso
from sync_daemon.sandbox.server import Request, Response

ASSOC_BATCH_MAX, ASSOC_PAGE = 1_000, 500


class MetaRoutes(HubSpotState):
    """Associations (v4), properties, manual lists and the daily-usage endpoint."""

    # ----------------------------------------------------------------- HTTP: associations v4

    def _assoc_read(self, request: Request) -> Response:
        src, dst = self._type(request, "src"), self._type(request, "dst")
        started, inputs = self.clock.now(), (request.json() or {}).get("inputs") or []
        if len(inputs) > ASSOC_BATCH_MAX:
            raise HttpError(
                400,
                "VALIDATION_ERROR",
                f"Batch input exceeds the limit: {len(inputs)} inputs, at most {ASSOC_BATCH_MAX} allowed",
            )
        results, errors = [], []
        for item in inputs:
            found = self._assoc_result(src, dst, str(item.get("id")), int(item.get("after") or 0))
            if found is None:
                errors.append(self._no_associations(src, dst, str(item.get("id"))))
            else:
                results.append(found)
        return self._batch_response(200, results, errors, started)

    def _assoc_result(self, src: str, dst: str, key: str, offset: int) -> dict[str, Any] | None:
        """One input's page of targets (paged per id), or ``None`` when it has none."""
        if not key.isdigit() or not self._alive(src, int(key)):
            return None
        edges = self.edges.get((src, dst), {}).get(int(key), {})
        targets = sorted(t for t in edges if self._alive(dst, t))
        if not targets:
            return None
        primary = PRIMARY_TYPES.get((src, dst))
        rows = [
            {
                "toObjectId": t,
                "associationTypes": [
                    {
                        "category": "HUBSPOT_DEFINED",
                        "typeId": k,
                        "label": "Primary" if k == primary else None,
                    }
                    for k in sorted(edges[t], key=lambda k: (k != primary, k))
                ],
            }
            for t in targets[offset : offset + ASSOC_PAGE]
        ]
        result: dict[str, Any] = {"from": {"id": key}, "to": rows}
        if offset + ASSOC_PAGE < len(targets):
            result["paging"] = {"next": {"after": str(offset + ASSOC_PAGE), "link": None}}
        return result

    @staticmethod
    def _no_associations(src: str, dst: str, key: str) -> dict[str, Any]:
        s, d = hd.SINGULAR[src], hd.SINGULAR[dst]
        return {
            "status": "error",
            "category": "OBJECT_NOT_FOUND",
            "subCategory": "crm.associations.NO_ASSOCIATIONS_FOUND",
            "message": f"No {d} is associated with {s} {key}.",
            "context": {"fromObjectId": [key], "fromObjectType": [s], "toObjectType": [d]},
            "errors": [],
            "links": {},
        }

    def _assoc_put(self, request: Request) -> Response:
        src, dst = self._type(request, "src"), self._type(request, "dst")
        started, src_id, dst_id = self.clock.now(), request.params["id"], request.params["to"]
        if (src, dst) not in ASSOCIATION_TYPES:
            raise HttpError(400, "VALIDATION_ERROR", f"No default association from {src} to {dst}")
        for object_type, oid in ((src, src_id), (dst, dst_id)):
            if not oid.isdigit() or not self._alive(object_type, int(oid)):
                raise self._not_found(oid)
        self._link(src, int(src_id), dst, int(dst_id), primary=False)
        self.tables[src].changed()
        results = [
            {
                "from": {"id": a},
                "to": {"id": b},
                "associationSpec": {
                    "associationCategory": "HUBSPOT_DEFINED",
                    "associationTypeId": ASSOCIATION_TYPES[(s, d)],
                },
            }
            for s, a, d, b in ((src, src_id, dst, dst_id), (dst, dst_id, src, src_id))
        ]
        return self._batch_response(200, results, [], started)

    # ------------------------------------------------------- HTTP: properties, lists, usage

    def _properties(self, request: Request) -> Response:
        known = self.properties[self._type(request)]
        return Response(200, {"results": [p.to_json(i) for i, p in enumerate(known.values())]})

    def _property(self, request: Request) -> Response:
        known, name = self.properties[self._type(request)], request.params["name"]
        if name not in known:
            raise HttpError(404, "OBJECT_NOT_FOUND", f"Unable to find property named {name!r}")
        return Response(200, known[name].to_json(list(known).index(name)))

    def _create_property(self, request: Request) -> Response:
        known, body = self.properties[self._type(request)], request.json() or {}
        name, type_ = str(body.get("name") or ""), body.get("type")
        if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
            raise HttpError(
                400,
                "VALIDATION_ERROR",
                f"Property name {name!r} is invalid: use lowercase a-z, 0-9 and underscores, starting with a letter",
            )
        if type_ not in hd.FIELD_TYPES or not body.get("fieldType") or not body.get("groupName"):
            raise HttpError(
                400,
                "VALIDATION_ERROR",
                f"type (one of {sorted(hd.FIELD_TYPES)}), fieldType and groupName are required",
            )
        if name in known:
            raise HttpError(409, "OBJECT_ALREADY_EXISTS", f"Property named '{name}' already exists.")
        options = tuple(str(o.get("value")) for o in body.get("options") or [])
        prop = hd.PropertyDef(
            name,
            str(body.get("label") or name),
            str(type_),
            str(body["fieldType"]),
            str(body["groupName"]),
            options,
            unique=bool(body.get("hasUniqueValue")),
            custom=True,
            description=str(body.get("description") or ""),
        )
        known[name] = prop
        return Response(201, prop.to_json(len(known) - 1))

    def _manual_list(self, list_id: str) -> dict[str, Any]:
        found = self.lists.get(list_id)
        if found is None:
            raise HttpError(404, "OBJECT_NOT_FOUND", f"List {list_id} does not exist.")
        return found

    def _list_add(self, request: Request) -> Response:
        found = self._manual_list(request.params["id"])
        added, missing, now = [], [], iso(self.clock.now())
        for rid in [str(r) for r in request.json() or []]:
            if not rid.isdigit() or not self._alive("contacts", int(rid)):
                missing.append(rid)
            elif rid not in found["members"]:
                found["members"][rid] = now
                added.append(rid)
        return Response(200, {"recordIdsRemoved": [], "recordsIdsAdded": added, "recordIdsMissing": missing})

    def _list_remove(self, request: Request) -> Response:
        """``PUT .../memberships/remove``: members named are taken out; non-members are ignored, as in HubSpot.

        A record id that names no live contact is reported in ``recordIdsMissing``; one that exists but is not a
        member appears in no list of the answer (HubSpot's "ignored").
        """
        found = self._manual_list(request.params["id"])
        removed, missing = [], []
        for rid in [str(r) for r in request.json() or []]:
            if not rid.isdigit() or not self._alive("contacts", int(rid)):
                missing.append(rid)
            elif found["members"].pop(rid, None) is not None:
                removed.append(rid)
        return Response(200, {"recordIdsRemoved": removed, "recordsIdsAdded": [], "recordIdsMissing": missing})

    def _list_members(self, request: Request) -> Response:
        members = sorted(self._manual_list(request.params["id"])["members"].items(), key=lambda m: int(m[0]))
        limit, offset = min(int(request.arg("limit") or 100), 250), int(request.arg("after") or 0)
        page = [{"recordId": r, "membershipTimestamp": t} for r, t in members[offset : offset + limit]]
        body: dict[str, Any] = {"results": page, "total": len(members)}
        if offset + limit < len(members):
            body["paging"] = {"next": {"after": str(offset + limit), "link": None}}
        return Response(200, body)

    def _usage(self, request: Request) -> Response:  # noqa: ARG002
        limiter = self.limiter
        return Response(
            200,
            {
                "results": [
                    {
                        "name": "private-apps-api-calls-daily",
                        "usageLimit": limiter.daily,
                        "currentUsage": limiter.used_today,
                        "fetchStatus": "SUCCESS",
                        "collectedAt": iso(self.clock.now()),
                    }
                ]
            },
        )
