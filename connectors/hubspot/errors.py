"""HubSpot's failures, translated into the connector exception tree (:mod:`connectors.base`).

The decision is a pure function of the status, the (lower-cased) headers and the body, so it is
tested without a server. What the caller should do:

* 429 ``TEN_SECONDLY_ROLLING`` / ``SECONDLY`` (or no policy named) -> :class:`RetriableError`,
  waiting ``Retry-After`` when sent, else the window the rate-limit headers name, else a default.
* 429 ``DAILY`` -> :class:`BudgetExhaustedError`, resuming at the next midnight in the *account's*
  time zone: retrying before then only burns goodwill.
* 5xx and network trouble (resets, timeouts, a spent urllib3 retry) -> :class:`RetriableError`.
* 401 -> :class:`AuthError`; 403 -> :class:`AccessDeniedError` naming the missing scopes when the
  body lists them; other 4xx -> :class:`RejectedError` (a :class:`ProtocolError`) carrying the
  status, HubSpot's category and message, so the write side can tell a batch rejected whole (400,
  split it) or a property that already exists (409) from garbage.

Each generated sub-package of ``hubspot-api-client`` has its own ``ApiException`` class, so we match
on the classes of the sub-packages we use and branch on ``.status``, never on the class. Messages
never carry the access token: HubSpot's messages do not echo it, and :func:`redact` scrubs anything
shaped like one anyway.
"""

from __future__ import annotations

import json
import re
import ssl
from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

import urllib3.exceptions
from hubspot.crm.associations.v4 import exceptions as assoc_exc
from hubspot.crm.companies import exceptions as companies_exc
from hubspot.crm.contacts import exceptions as contacts_exc
from hubspot.crm.lists import exceptions as lists_exc
from hubspot.crm.objects.notes import exceptions as notes_exc
from hubspot.crm.properties import exceptions as properties_exc

from connectors.base import (
    AccessDeniedError,
    AuthError,
    BudgetExhaustedError,
    ConnectorError,
    ProtocolError,
    RetriableError,
)

if TYPE_CHECKING:
    from collections.abc import Mapping
    from zoneinfo import ZoneInfo

API_EXCEPTIONS: tuple[type[Exception], ...] = (
    companies_exc.ApiException,
    contacts_exc.ApiException,
    assoc_exc.ApiException,
    properties_exc.ApiException,
    notes_exc.ApiException,
    lists_exc.ApiException,
)
NETWORK_ERRORS: tuple[type[Exception], ...] = (
    urllib3.exceptions.HTTPError,
    ConnectionError,
    TimeoutError,
)

DEFAULT_WAIT_S = {"TEN_SECONDLY_ROLLING": 10.0, "SECONDLY": 1.0}
_FALLBACK_WAIT_S = 10.0
_MAX_MESSAGE = 300
_TOKEN_SHAPES = re.compile(r"(?i)(bearer\s+\S+|pat-[a-z0-9]+-[0-9a-f-]+)")
_HTTP_TOO_MANY = 429
_HTTP_UNAUTHORIZED = 401
_HTTP_FORBIDDEN = 403
_HTTP_SERVER_ERROR = 500


class RejectedError(ProtocolError):
    """HubSpot refused the request itself (4xx other than 401/403/429); nothing was done.

    ``category`` and ``detail`` are HubSpot's own (``VALIDATION_ERROR``, ``OBJECT_ALREADY_EXISTS``...),
    already redacted; ``body`` is the parsed error body, for callers that read its details.
    """

    def __init__(self, status: int, category: str, detail: str, body: Mapping[str, Any]) -> None:
        super().__init__(f"HubSpot answered {status} {category}: {detail}")
        self.status = status
        self.category = category
        self.detail = detail
        self.body = body


def redact(text: str) -> str:
    """Scrub anything shaped like a bearer or private-app token, and keep messages short."""
    return _TOKEN_SHAPES.sub("[redacted]", text)[:_MAX_MESSAGE]


def parse_body(body: str | bytes | None) -> dict[str, Any]:
    """HubSpot's JSON error body as a dict; ``{}`` when empty or not JSON (HTML from a proxy)."""
    if body is None:
        return {}
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    try:
        data = json.loads(text)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def next_midnight(now: datetime, tz: ZoneInfo) -> datetime:
    """The next midnight in ``tz`` after ``now`` as aware UTC: when the daily budget resets."""
    local = now.astimezone(tz)
    midnight = datetime.combine(local.date() + timedelta(days=1), time(0), tzinfo=tz)
    return midnight.astimezone(UTC)


def _seconds(raw: str | None, scale: float = 1.0) -> float | None:
    if raw is None:
        return None
    try:
        value = float(raw.strip()) * scale
    except ValueError:
        return None
    return value if value >= 0 else None


def _rate_limit_wait(policy: str, headers: Mapping[str, str]) -> float:
    """``Retry-After`` when sent, else the window the headers name, else the policy's default."""
    retry_after = _seconds(headers.get("retry-after"))
    if retry_after is not None:
        return retry_after
    interval = _seconds(headers.get("x-hubspot-ratelimit-interval-milliseconds"), 0.001)
    if interval is not None and interval > 0:
        return interval
    return DEFAULT_WAIT_S.get(policy, _FALLBACK_WAIT_S)


def _missing_scopes(data: Mapping[str, Any]) -> list[str]:
    """Scopes the body says are required (``requiredGranularScopes``/``requiredScopes``)."""
    contexts = [data.get("context")] + [e.get("context") for e in data.get("errors") or [] if isinstance(e, dict)]
    found: list[str] = []
    for ctx in contexts:
        if not isinstance(ctx, dict):
            continue
        for key in ("requiredGranularScopes", "requiredScopes"):
            found.extend(str(s) for s in ctx.get(key) or [] if str(s) not in found)
    return found


def _describe(data: Mapping[str, Any]) -> str:
    category = data.get("category") or "UNKNOWN"
    message = data.get("message") or "no message"
    return redact(f"{category}: {message}")


def classify(
    status: int,
    headers: Mapping[str, str],
    body: str | bytes | None,
    *,
    tz: ZoneInfo,
    now: datetime,
) -> ConnectorError:
    """Translate one failed HTTP answer (``headers`` lower-cased) into a connector error."""
    data = parse_body(body)
    if status == _HTTP_TOO_MANY:
        return _classify_429(data, headers, tz=tz, now=now)
    if status >= _HTTP_SERVER_ERROR:
        wait = _seconds(headers.get("retry-after"))
        return RetriableError(f"HubSpot answered {status}: {_describe(data)}", retry_after=wait)
    if status == _HTTP_UNAUTHORIZED:
        return AuthError(f"HubSpot refused the access token (401 {data.get('category') or 'UNAUTHORIZED'})")
    if status == _HTTP_FORBIDDEN:
        scopes = _missing_scopes(data)
        hint = f"; missing scope(s): {', '.join(scopes)}" if scopes else ""
        return AccessDeniedError(f"HubSpot forbade the call (403 {_describe(data)}){hint}")
    category = redact(str(data.get("category") or "UNKNOWN"))
    return RejectedError(status, category, redact(str(data.get("message") or "no message")), data)


def _classify_429(
    data: Mapping[str, Any], headers: Mapping[str, str], *, tz: ZoneInfo, now: datetime
) -> ConnectorError:
    policy = str(data.get("policyName") or "TEN_SECONDLY_ROLLING").upper()
    if policy == "DAILY":
        resume_at = next_midnight(now, tz)
        return BudgetExhaustedError(
            f"HubSpot daily API budget spent; resumes at {resume_at.isoformat()}",
            resume_at=resume_at,
        )
    wait = _rate_limit_wait(policy, headers)
    return RetriableError(f"HubSpot rate limit {policy} (429); waiting {wait:g}s", retry_after=wait)


def lower_headers(headers: Any) -> dict[str, str]:
    """Response headers (any mapping, or ``None``) as a plain dict with lower-cased names."""
    if not headers:
        return {}
    return {str(k).lower(): str(v) for k, v in dict(headers).items()}


def _is_certificate_failure(exc: BaseException) -> bool:
    """A TLS verification failure is configuration, not weather: retrying it cannot help."""
    seen: list[BaseException] = []
    todo: list[object] = [exc]
    while todo:
        item = todo.pop()
        if not isinstance(item, BaseException) or item in seen:
            continue
        if isinstance(item, ssl.SSLCertVerificationError):
            return True
        seen.append(item)
        todo.extend([*item.args, getattr(item, "reason", None), item.__cause__, item.__context__])
    return False


def translate(exc: BaseException, *, tz: ZoneInfo, now: datetime) -> ConnectorError | None:
    """The connector error for a client exception, or ``None`` if it is not ours to map."""
    if isinstance(exc, API_EXCEPTIONS):
        status = int(getattr(exc, "status", 0) or 0)
        if status == 0:  # the client's own wrapper for a TLS failure or unreadable data
            return ProtocolError(f"HubSpot client error: {redact(str(getattr(exc, 'reason', '')))}")
        return classify(
            status,
            lower_headers(getattr(exc, "headers", None)),
            getattr(exc, "body", None),
            tz=tz,
            now=now,
        )
    if _is_certificate_failure(exc):
        return ProtocolError("TLS verification of the HubSpot host failed (check HUBSPOT_BASE_URL and the CA bundle)")
    if isinstance(exc, urllib3.exceptions.MaxRetryError) and isinstance(exc.reason, urllib3.exceptions.ResponseError):
        return ProtocolError("HubSpot answered with a redirect; check HUBSPOT_BASE_URL")
    if isinstance(exc, NETWORK_ERRORS):
        reason = getattr(exc, "reason", None)
        detail = type(reason).__name__ if isinstance(reason, BaseException) else type(exc).__name__
        return RetriableError(f"network error talking to HubSpot: {detail}")
    return None
