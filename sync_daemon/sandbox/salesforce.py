"""The embedded Salesforce sandbox: a loopback REST API emulator that simple-salesforce accepts.

Serve it with ``SandboxServer(app, tls=True)`` (simple-salesforce forces https) and set
``app.base_url = server.url``. It is written from Salesforce's documentation and shares no code with
:mod:`connectors`. Every ``/services/data/vXX.X`` call needs a Bearer session (401
INVALID_SESSION_ID otherwise), counts one against the daily budget (403 REQUEST_LIMIT_EXCEEDED once
spent) and carries ``Sforce-Limit-Info``. Test hooks (``update``, ``insert``, ``delete``,
``lock_rows``, ``add_validation_rule``, ``expire_*``, ``set_api_usage``, ``record``, ``ids``)
change or inspect the org behind the client's back.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import TYPE_CHECKING, Any, overload

import structlog

from sync_daemon.sandbox.salesforce_auth import (
    CONSUMER_KEY,
    CONSUMER_SECRET,
    ISSUED_TOKENS,
    PASSWORD,
    SECURITY_TOKEN,
    USERNAME,
    Auth,
)
from sync_daemon.sandbox.salesforce_data import INTEGRATION_USER_ID, ORG_ID, load
from sync_daemon.sandbox.salesforce_query import QueryService, serialize
from sync_daemon.sandbox.salesforce_rest import RestResources, header
from sync_daemon.sandbox.salesforce_schema import ObjectDef, find_object
from sync_daemon.sandbox.salesforce_store import Store
from sync_daemon.sandbox.salesforce_values import ApiError, RecordError, normalize_id
from sync_daemon.sandbox.server import Call, Clock, Request, Response, SandboxApp

if TYPE_CHECKING:
    from collections.abc import Iterable
    from datetime import datetime

__all__ = [
    "CONSUMER_KEY",
    "CONSUMER_SECRET",
    "INTEGRATION_USER_ID",
    "ISSUED_TOKENS",
    "ORG_ID",
    "PASSWORD",
    "SECURITY_TOKEN",
    "USERNAME",
    "SalesforceSandbox",
]

log = structlog.get_logger(__name__)
_EXPIRED = [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]
_SPENT = [{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}]


def _bearer(request: Request) -> str | None:
    value = header(request, "Authorization") or ""
    scheme, _, token = value.partition(" ")
    return token.strip() if scheme.lower() in ("bearer", "oauth") and token else None


class SalesforceSandbox(SandboxApp):
    """A seeded Salesforce org on loopback: login, SOQL query, describe, sObject writes."""

    API_VERSION = "62.0"

    def __init__(  # noqa: PLR0917 - the documented positional signature
        self,
        accounts: int = 200,
        contacts: int = 1000,
        seed: int = 7,
        clock: Clock | None = None,
        daily_limit: int = 100_000,
        batch_size_default: int = 2000,
    ) -> None:
        """Seed ``accounts`` accounts and ``contacts`` contacts (deterministic for ``seed``)."""
        super().__init__(clock)
        self.store = Store(self.clock, INTEGRATION_USER_ID)
        load(self.store, accounts, contacts, seed)
        self.auth = Auth()
        self.queries = QueryService(self.store, batch_size_default)
        self.api_used = 0
        self.api_limit = daily_limit
        self.router.add("POST", r"/services/oauth2/token/?", self.auth.token_endpoint)
        self.router.add(
            "POST",
            r"/services/Soap/u/(?P<ver>\d{1,3}\.\d)/?",
            lambda r: self.auth.soap_login(r, r.params["ver"]),
        )
        RestResources(self.store, self.queries, lambda: (self.api_used, self.api_limit), self._dispatch).register(
            self.router
        )

    # -- settable attributes ---------------------------------------------------------------------

    @property
    def base_url(self) -> str | None:
        """The sandbox's own base URL (``https://127.0.0.1:PORT``), answered as ``instance_url``.

        Until it is set, logins answer ``https://`` + the Host header the client sent.
        """
        return self.auth.base_url

    @base_url.setter
    def base_url(self, value: str | None) -> None:
        self.auth.base_url = value.rstrip("/") if value else None

    @property
    def jwt_public_key(self) -> str | bytes | None:
        """The PEM public key that verifies JWT bearer assertions; without one, all are refused."""
        return self.auth.jwt_public_key

    @jwt_public_key.setter
    def jwt_public_key(self, value: str | bytes | None) -> None:
        self.auth.jwt_public_key = value

    # -- serving ---------------------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        """Auth and the API budget for REST calls, then the route; one request at a time."""
        with self.lock:
            if not request.path.startswith("/services/data/v"):
                return self._dispatch(request)
            if not self.auth.valid(_bearer(request)):
                return Response(401, _EXPIRED)
            if self.api_used >= self.api_limit:
                response = Response(403, _SPENT)
            else:
                self.api_used += 1
                response = self._dispatch(request)
            response.headers["Sforce-Limit-Info"] = f"api-usage={self.api_used}/{self.api_limit}"
            return response

    def _dispatch(self, request: Request) -> Response:
        """Route one request; errors become Salesforce's ``[{message, errorCode}]`` bodies."""
        try:
            response = self.router.dispatch(request)
        except ApiError as exc:
            return Response(exc.status, exc.body())
        except Exception:  # an emulator bug must answer 500, not kill the server thread
            log.exception("sandbox.salesforce.handler_failed", method=request.method, path=request.path)
            return Response(
                500,
                [{"message": "An unexpected error occurred.", "errorCode": "UNKNOWN_EXCEPTION"}],
            )
        if response.status == HTTPStatus.NOT_FOUND and isinstance(response.body, dict):
            return Response(
                404,
                [{"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}],
            )
        if response.status == HTTPStatus.METHOD_NOT_ALLOWED and isinstance(response.body, dict):
            message = f"HTTP Method '{request.method}' not allowed."
            return Response(405, [{"message": message, "errorCode": "METHOD_NOT_ALLOWED"}])
        return response

    # -- test hooks ------------------------------------------------------------------------------

    def _obj(self, sobject: str) -> ObjectDef:
        obj = find_object(sobject)
        if obj is None:
            raise KeyError(f"the sandbox has no object {sobject!r}")
        return obj

    def issue_token(self) -> str:
        """A ready access token, as if the client had logged in."""
        with self.lock:
            return self.auth.issue()

    def update(self, sobject: str, record_id: str, modstamp: datetime | None = None, **fields: Any) -> None:
        """Change fields behind the client's back; ``modstamp`` backdates the commit."""
        with self.lock:
            obj = self._obj(sobject)
            row = self.store.get(obj, record_id)
            if row is None:
                raise KeyError(f"no {sobject} {record_id}")
            self.store.update_row(obj, row["Id"], self.store.coerce(obj, fields), modstamp)

    def insert(self, sobject: str, fields: dict[str, Any], modstamp: datetime | None = None) -> str:
        """Create a record behind the client's back; return its id."""
        with self.lock:
            obj = self._obj(sobject)
            return self.store.insert_row(obj, self.store.coerce(obj, fields), modstamp)

    def delete(self, sobject: str, record_id: str) -> None:
        """Soft-delete a record (``IsDeleted`` true, ``SystemModstamp`` bumped)."""
        with self.lock:
            try:
                self.store.remove(self._obj(sobject), record_id)
            except RecordError as exc:
                raise KeyError(f"cannot delete {sobject} {record_id}: {exc.code}") from exc

    def expire_sessions(self) -> None:
        """Every token issued so far now answers 401 INVALID_SESSION_ID."""
        with self.lock:
            self.auth.expire_all()

    def expire_query_locators(self) -> None:
        """Every open ``nextRecordsUrl`` now answers 400 INVALID_QUERY_LOCATOR."""
        with self.lock:
            self.queries.expire()

    def set_api_usage(self, used: int, limit: int | None = None) -> None:
        """Set the daily API counter (and optionally the limit)."""
        with self.lock:
            self.api_used = used
            if limit is not None:
                self.api_limit = limit

    def lock_rows(self, ids: Iterable[str], times: int = 1) -> None:
        """The next ``times`` updates of each id fail with UNABLE_TO_LOCK_ROW."""
        with self.lock:
            for ident in ids:
                key = normalize_id(ident) or ident
                self.store.locks[key] = self.store.locks.get(key, 0) + times

    def add_validation_rule(self, sobject: str, record_ids: Iterable[str], message: str) -> None:
        """Client updates of these records fail FIELD_CUSTOM_VALIDATION_EXCEPTION with ``message``.

        As an org's validation rule would: per record, so the rest of a collection still lands.
        """
        with self.lock:
            obj = self._obj(sobject)
            for ident in record_ids:
                row = self.store.get(obj, ident)
                if row is None:
                    raise KeyError(f"no {sobject} {ident}")
                self.store.validation_rules[row["Id"]] = message

    def clear_validation_rules(self) -> None:
        """Drop every rule :meth:`add_validation_rule` set (the records were fixed)."""
        with self.lock:
            self.store.validation_rules.clear()

    @overload
    def record(self, call: Call) -> None: ...

    @overload
    def record(self, call: str, record_id: str) -> dict[str, Any]: ...

    def record(self, call: Call | str, record_id: str | None = None) -> dict[str, Any] | None:
        """``record(sobject, id)``: a stored record in API JSON shape; ``record(call)`` logs a call.

        Unlike a query result, base64 fields (a note's ``Content``) hold the base64 text itself.

        The base class's call log has the same name, so a single :class:`Call` goes there.
        """
        if isinstance(call, Call):
            super().record(call)
            return None
        sobject = call
        if record_id is None:
            raise TypeError("record(sobject, record_id) needs a record id")
        with self.lock:
            obj = self._obj(sobject)
            row = self.store.get(obj, record_id)
            if row is None:
                raise KeyError(f"no {sobject} {record_id}")
            names = tuple(f.name for f in obj.fields)
            return serialize(obj, row, names, self.API_VERSION, blob_urls=False)

    def ids(self, sobject: str, *, include_deleted: bool = False) -> list[str]:
        """Ids of the object's records in creation order (deleted ones only if asked)."""
        with self.lock:
            table = self.store.tables[self._obj(sobject).name]
            return [i for i, row in table.items() if include_deleted or not row["IsDeleted"]]
