"""The hubspot-api-client objects, built once, and the one way we make an HTTP call through them.

Traps of hubspot-api-client 12.0.0 this module exists to avoid (see CRM_NOTES.md):

* every ``client.crm.x.basic_api`` access builds a new ``ApiClient`` and urllib3 pool, so the API
  objects are built once here and reused;
* there is no default timeout: every call passes ``_request_timeout``;
* urllib3's own ``Retry`` (3 tries by default) would retry under our policy and never retries POST:
  we give it ``Retry(total=0)`` so :class:`connectors.retry.RetryPolicy` is the only retrier, and a
  network failure surfaces at once (as ``MaxRetryError`` or the raw urllib3 error) to be translated;
* ``debug=True`` prints the bearer token: it is never set.

Calls are made with ``_preload_content=False``: we get the raw urllib3 response (status, headers,
body) and parse the JSON ourselves, so one malformed record in a page is skipped with a warning
instead of failing the generated model's validation for the whole page, and the
``X-HubSpot-RateLimit-*`` headers are visible on every answer.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import structlog
import urllib3.exceptions
from hubspot import HubSpot
from urllib3.util.retry import Retry

from connectors.base import ProtocolError, RetriableError
from connectors.hubspot.errors import lower_headers, translate

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path
    from zoneinfo import ZoneInfo

    from connectors.base import ObjectKind
    from connectors.hubspot.ratelimit import RateLimiter
    from connectors.retry import RetryPolicy

log = structlog.get_logger(__name__)
HTTP_TOO_MANY = 429


class HubSpotApis:
    """The generated API objects the connector uses, each built exactly once."""

    def __init__(self, access_token: str, *, base_url: str, ca_bundle: Path | None = None) -> None:
        """Build every API object against ``base_url``, trusting ``ca_bundle`` when given."""
        options: dict[str, Any] = {
            "host": base_url.rstrip("/"),
            "retry": Retry(total=0, redirect=0),
        }
        if ca_bundle is not None:
            options["ssl_ca_cert"] = str(ca_bundle)
        crm = HubSpot(access_token=access_token, **options).crm
        self.search = {"accounts": crm.companies.search_api, "contacts": crm.contacts.search_api}
        self.basic = {"accounts": crm.companies.basic_api, "contacts": crm.contacts.basic_api}
        self.batch = {"accounts": crm.companies.batch_api, "contacts": crm.contacts.batch_api}
        self.associations = crm.associations.v4.batch_api
        self.properties = crm.properties.core_api
        self.notes = crm.objects.notes.basic_api
        self.notes_batch = crm.objects.notes.batch_api
        self.memberships = crm.lists.memberships_api

    def all(self) -> list[Any]:
        """Every API object, for closing."""
        return [
            *self.search.values(),
            *self.basic.values(),
            *self.batch.values(),
            self.associations,
            self.properties,
            self.notes,
            self.notes_batch,
            self.memberships,
        ]

    def search_api(self, kind: ObjectKind) -> Any:
        """The search API of ``kind``'s object."""
        return self.search[kind]

    def basic_api(self, kind: ObjectKind) -> Any:
        """The basic (CRUD and list) API of ``kind``'s object."""
        return self.basic[kind]

    def close(self) -> None:
        """Drop every pooled connection."""
        for api in self.all():
            api.api_client.rest_client.pool_manager.clear()
            api.api_client.close()


class Transport:
    """Makes one API call under the limiter and the retry policy, and returns the parsed JSON body.

    Client exceptions are translated *inside* the retried callable, so the policy sees
    :class:`~connectors.base.RetriableError` and nothing else is retried. ``calls`` counts every
    HTTP request, retries included.
    """

    def __init__(
        self,
        *,
        timeout: float,
        retry: RetryPolicy,
        limiter: RateLimiter,
        tz: ZoneInfo,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        """Pace with ``limiter``, retry with ``retry``; ``tz``/``clock`` date a spent budget."""
        self._timeout = timeout
        self._retry = retry
        self._limiter = limiter
        self._tz = tz
        self._clock = clock or (lambda: datetime.now(UTC))
        self.calls = 0

    def call(self, fn: Callable[..., Any], *, search: bool = False, idempotent: bool = True) -> dict[str, Any]:
        """Run ``fn(_preload_content=False, _request_timeout=...)`` until it answers or fails.

        A call that is not ``idempotent`` (creating a note) is retried only when HubSpot surely did
        nothing (a 429, a connection never made): after a 5xx, a reset or a timeout the write may have
        landed, so the :class:`RetriableError` surfaces at once and the caller resolves it by key.
        """
        try:
            return self._retry.call(lambda: self._attempt(fn, search=search, idempotent=idempotent))
        except _NotRetried as stop:
            raise stop.error from stop.__cause__

    def _attempt(self, fn: Callable[..., Any], *, search: bool, idempotent: bool) -> dict[str, Any]:
        self._limiter.acquire(search=search)
        self.calls += 1
        try:
            raw = fn(_preload_content=False, _request_timeout=self._timeout)
            body: bytes = raw.data
            raw.release_conn()
        except Exception as exc:
            self._limiter.observe(lower_headers(getattr(exc, "headers", None)))
            translated = translate(exc, tz=self._tz, now=self._clock())
            if translated is None:
                raise
            if isinstance(translated, RetriableError) and not idempotent and not surely_not_done(exc):
                raise _NotRetried(translated) from exc
            raise translated from exc
        self._limiter.observe(lower_headers(raw.headers))
        return parse_json(body)


class _NotRetried(Exception):  # noqa: N818 - a control-flow wrapper, never seen outside this module
    """Carries a transient error past the retry policy: the failed call must not be repeated blindly."""

    def __init__(self, error: RetriableError) -> None:
        super().__init__(str(error))
        self.error = error


def surely_not_done(exc: BaseException) -> bool:
    """Whether HubSpot certainly did not act on the request: rate-limited, or never connected."""
    if getattr(exc, "status", None) == HTTP_TOO_MANY:
        return True
    reason = getattr(exc, "reason", None)
    return isinstance(exc, urllib3.exceptions.NewConnectionError) or isinstance(
        reason, urllib3.exceptions.NewConnectionError
    )


def parse_json(body: bytes | None) -> dict[str, Any]:
    """A successful answer's body as a JSON object; anything else is a :class:`ProtocolError`."""
    try:
        data = json.loads(body or b"")
    except ValueError as exc:
        raise ProtocolError(f"HubSpot answered 2xx with a body that is not JSON ({len(body or b'')} bytes)") from exc
    if not isinstance(data, dict):
        raise ProtocolError(f"HubSpot answered 2xx with JSON that is not an object ({type(data).__name__})")
    return data
