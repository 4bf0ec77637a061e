"""The REST resources of the Salesforce sandbox under ``/services/data/vXX.X``: handlers and routes.

Each handler takes a parsed :class:`Request` and answers the JSON Salesforce answers; request-level
failures are raised as :class:`ApiError` and turned into ``[{message, errorCode}]`` by the app.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from sync_daemon.sandbox import salesforce_composite as comp
from sync_daemon.sandbox.salesforce_describe import describe_global, describe_object, object_summary
from sync_daemon.sandbox.salesforce_query import QueryService, batch_size, serialize
from sync_daemon.sandbox.salesforce_schema import find_object
from sync_daemon.sandbox.salesforce_values import TYPE_MISMATCH, ApiError, RecordError
from sync_daemon.sandbox.server import Request, Response

if TYPE_CHECKING:
    from collections.abc import Callable

    from sync_daemon.sandbox.salesforce_schema import ObjectDef
    from sync_daemon.sandbox.salesforce_store import Row, Store
    from sync_daemon.sandbox.server import Router

DATA = r"/services/data/v(?P<ver>\d{1,3}\.\d)"
_SEASONS = ("Winter", "Spring", "Summer")
_NOT_FOUND = "The requested resource does not exist"


def header(request: Request, name: str) -> str | None:
    """A request header by case-insensitive name."""
    return next((v for k, v in request.headers.items() if k.lower() == name.lower()), None)


def versions() -> list[dict[str, str]]:
    """``GET /services/data/``: every API version from 31.0 to 62.0, newest last."""
    out = []
    for number in range(31, 63):
        season = _SEASONS[(number - 62) % 3]
        year = 25 + (number - 62) // 3
        out.append(
            {
                "label": f"{season} '{year}",
                "url": f"/services/data/v{number}.0",
                "version": f"{number}.0",
            }
        )
    return out


def _json_body(request: Request) -> Any:
    try:
        return request.json()
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, "JSON_PARSER_ERROR", f"Unexpected character in request body: {exc}") from exc


def _record_failure(exc: RecordError) -> ApiError:
    """A single-record write error as the REST API reports it."""
    if exc.code in ("NOT_FOUND", "ENTITY_IS_DELETED"):
        return ApiError(404, exc.code, exc.message)
    if exc.code == TYPE_MISMATCH:
        return ApiError(400, "JSON_PARSER_ERROR", f"Cannot deserialize value: {exc.message}", tuple(exc.fields))
    return ApiError(400, exc.code, exc.message, tuple(exc.fields))


class RestResources:
    """Handlers bound to the store, the query service and the owning app's hooks."""

    def __init__(
        self, store: Store, queries: QueryService, usage: Callable[[], tuple[int, int]],
        dispatch: Callable[[Request], Response],
    ) -> None:  # fmt: skip
        """``usage()`` gives (used, max) for ``limits``; ``dispatch`` serves subrequests."""
        self.store = store
        self.queries = queries
        self.usage = usage
        self.dispatch = dispatch

    def register(self, router: Router) -> None:
        """Add every REST route (trailing slashes optional, as simple-salesforce sends them)."""
        obj, ident = r"(?P<obj>\w+)", r"(?P<id>[A-Za-z0-9]{15}|[A-Za-z0-9]{18})"
        router.add("GET", r"/services/data/?", lambda _r: Response(200, versions()))
        router.add("GET", rf"{DATA}/?", self.resources)
        router.add("GET", rf"{DATA}/limits/?", self.limits)
        router.add("GET", rf"{DATA}/(?P<kind>query|queryAll)/?", self.query)
        router.add("GET", rf"{DATA}/(?:query|queryAll)/(?P<loc>01g\w+)-(?P<offset>\d+)/?", self.query_more)
        router.add("GET", rf"{DATA}/sobjects/?", lambda r: Response(200, describe_global(r.params["ver"])))
        router.add("GET", rf"{DATA}/sobjects/{obj}/describe/?", self.describe)
        router.add("GET", rf"{DATA}/sobjects/{obj}/?", self.basic_info)
        router.add("POST", rf"{DATA}/sobjects/{obj}/?", self.create)
        router.add("GET", rf"{DATA}/sobjects/{obj}/{ident}/?", self.read)
        router.add("PATCH", rf"{DATA}/sobjects/{obj}/{ident}/?", self.update)
        router.add("DELETE", rf"{DATA}/sobjects/{obj}/{ident}/?", self.delete)
        router.add("GET", rf"{DATA}/sobjects/{obj}/{ident}/(?P<field>\w+)/?", self.blob)
        for method in ("POST", "PATCH", "DELETE"):
            router.add(method, rf"{DATA}/composite/sobjects/?", self.collection)
        router.add("POST", rf"{DATA}/composite/?", self.composite)

    # -- helpers ---------------------------------------------------------------------------------

    def _object(self, request: Request) -> ObjectDef:
        obj = find_object(request.params["obj"])
        if obj is None:
            raise ApiError(404, "NOT_FOUND", _NOT_FOUND)
        return obj

    def _row(self, request: Request) -> tuple[ObjectDef, Row]:
        obj = self._object(request)
        row = self.store.get(obj, request.params["id"])
        if row is None:
            raise ApiError(404, "NOT_FOUND", _NOT_FOUND)
        if row["IsDeleted"]:
            raise ApiError(404, "ENTITY_IS_DELETED", "entity is deleted")
        return obj, row

    # -- handlers --------------------------------------------------------------------------------

    def resources(self, request: Request) -> Response:
        """``GET /services/data/vXX.X``: the resource directory."""
        base = f"/services/data/v{request.params['ver']}"
        names = ("sobjects", "query", "queryAll", "limits", "composite")
        return Response(200, {name: f"{base}/{name}" for name in names})

    def limits(self, _request: Request) -> Response:
        """``GET limits``: DailyApiRequests and a few companions."""
        used, limit = self.usage()
        return Response(
            200,
            {
                "DailyApiRequests": {"Max": limit, "Remaining": max(0, limit - used)},
                "DailyBulkV2QueryJobs": {"Max": 10000, "Remaining": 10000},
                "DataStorageMB": {"Max": 1024, "Remaining": 1000},
            },
        )

    def query(self, request: Request) -> Response:
        """``GET query?q=`` and ``queryAll?q=``."""
        soql = request.arg("q")
        if not soql:
            raise ApiError(400, "MALFORMED_QUERY", "A query string has to be specified")
        batch = batch_size(header(request, "Sforce-Query-Options"), self.queries.default_batch)
        result = self.queries.run(
            soql,
            request.params["ver"],
            include_deleted=request.params["kind"] == "queryAll",
            batch=batch,
        )
        return Response(200, result)

    def query_more(self, request: Request) -> Response:
        """``GET query/{locator}-{offset}``."""
        p = request.params
        return Response(200, self.queries.more(p["loc"], int(p["offset"]), p["ver"]))

    def describe(self, request: Request) -> Response:
        """``GET sobjects/{Obj}/describe``."""
        return Response(200, describe_object(self._object(request), request.params["ver"]))

    def basic_info(self, request: Request) -> Response:
        """``GET sobjects/{Obj}``."""
        obj = self._object(request)
        return Response(200, {"objectDescribe": object_summary(obj, request.params["ver"]), "recentItems": []})

    def create(self, request: Request) -> Response:
        """``POST sobjects/{Obj}``: 201 ``{id, success, errors}``."""
        obj, body = self._object(request), _json_body(request)
        if not isinstance(body, dict):
            raise ApiError(400, "JSON_PARSER_ERROR", "Expected a JSON object")
        try:
            ident = self.store.create(obj, body)
        except RecordError as exc:
            raise _record_failure(exc) from exc
        return Response(201, {"id": ident, "success": True, "errors": []})

    def read(self, request: Request) -> Response:
        """``GET sobjects/{Obj}/{id}[?fields=a,b]``."""
        obj, row = self._row(request)
        wanted = request.arg("fields")
        names = [f.strip() for f in wanted.split(",")] if wanted else [f.name for f in obj.fields]
        for name in names:
            if obj.field(name) is None:
                raise ApiError(400, "INVALID_FIELD", f"No such column '{name}' on sobject of type {obj.name}")
        fields = tuple(obj.field(n).name for n in names)  # type: ignore[union-attr]
        return Response(200, serialize(obj, row, fields, request.params["ver"]))

    def update(self, request: Request) -> Response:
        """``PATCH sobjects/{Obj}/{id}``: 204."""
        obj, body = self._object(request), _json_body(request)
        if not isinstance(body, dict):
            raise ApiError(400, "JSON_PARSER_ERROR", "Expected a JSON object")
        try:
            self.store.modify(obj, request.params["id"], body)
        except RecordError as exc:
            raise _record_failure(exc) from exc
        return Response(204)

    def delete(self, request: Request) -> Response:
        """``DELETE sobjects/{Obj}/{id}``: 204, soft delete."""
        obj = self._object(request)
        try:
            self.store.remove(obj, request.params["id"])
        except RecordError as exc:
            raise _record_failure(exc) from exc
        return Response(204)

    def blob(self, request: Request) -> Response:
        """``GET sobjects/{Obj}/{id}/{field}``: the bytes of a base64 field (a note's Content)."""
        import base64  # noqa: PLC0415 - only this handler decodes blobs

        obj, row = self._row(request)
        fdef = obj.field(request.params["field"])
        if fdef is None or fdef.type != "base64":
            raise ApiError(404, "NOT_FOUND", _NOT_FOUND)
        data = base64.b64decode(row.get(fdef.name) or "")
        return Response(200, data, content_type="application/octet-stream")

    def collection(self, request: Request) -> Response:
        """``POST|PATCH|DELETE composite/sobjects``."""
        if request.method == "DELETE":
            ids = [i for i in (request.arg("ids") or "").split(",") if i]
            all_or_none = (request.arg("allOrNone") or "false").lower() == "true"
            return Response(200, comp.collection(self.store, "DELETE", ids, all_or_none=all_or_none))
        body = _json_body(request)
        records = body.get("records") if isinstance(body, dict) else None
        if not isinstance(records, list):
            raise ApiError(400, "JSON_PARSER_ERROR", "The request body needs a 'records' array")
        all_or_none = bool(body.get("allOrNone", False))
        return Response(200, comp.collection(self.store, request.method, records, all_or_none=all_or_none))

    def composite(self, request: Request) -> Response:
        """``POST composite``: subrequests served by the app's router, one API call in all."""

        def sub(method: str, url: str, body: Any) -> Response:
            path, _, query = url.partition("?")
            from urllib.parse import parse_qs  # noqa: PLC0415 - only composite parses sub-URLs

            data = json.dumps(body).encode() if body is not None else b""
            return self.dispatch(Request(method, path, parse_qs(query), {}, data))

        return Response(200, comp.composite(self.store, _json_body(request), sub))
