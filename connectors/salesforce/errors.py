"""Translation of simple-salesforce and requests exceptions into the connector's exception tree.

simple-salesforce puts the request URL and the raw response body into its exception messages,
so nothing here ever reuses ``str(exc)``: every message is rebuilt from the HTTP status, the CRM's
error code and (for the CRM's own JSON errors) its message, truncated. That keeps session ids,
queries and whatever a proxy answered out of logs.

Mapping (what the caller should do):

=====================================  ==========================================================
401 ``SalesforceExpiredSession``       :class:`SessionExpiredError` (the connector re-authenticates)
403 ``REQUEST_LIMIT_EXCEEDED``         daily ``TotalRequests`` spent: ``BudgetExhaustedError``;
                                       otherwise (concurrent long requests): ``RetriableError``
403 other                              ``AccessDeniedError``
400 ``INVALID_QUERY_LOCATOR``          :class:`QueryLocatorExpiredError` (restart by keyset)
400 ``UNABLE_TO_LOCK_ROW``             ``RetriableError``
400 other, 300                         ``ProtocolError`` with the CRM's code and message
404                                    ``AccessDeniedError`` (a Salesforce error: the object is
                                       missing or hidden), else ``ProtocolError``
429, 5xx                               ``RetriableError`` (``Retry-After`` honoured)
timeouts, resets, chunked errors       ``RetriableError``
TLS verification failure               ``ProtocolError`` (configuration: fix the CA bundle)
200 with a body that is not JSON       ``ProtocolError``
=====================================  ==========================================================
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import requests
from simple_salesforce.exceptions import (
    SalesforceAuthenticationFailed,
    SalesforceError,
    SalesforceExpiredSession,
    SalesforceMalformedRequest,
    SalesforceRefusedRequest,
    SalesforceResourceNotFound,
)

if TYPE_CHECKING:
    from collections.abc import Callable

from connectors.base import (
    AccessDeniedError,
    AuthError,
    BudgetExhaustedError,
    ConnectorError,
    ProtocolError,
    RetriableError,
)

_MAX_MESSAGE = 300
_TRANSIENT_STATUSES = frozenset({408, 429})
_SERVER_ERROR = 500
# OAuth (RFC 6749 plus Salesforce's unknown_error) and SOAP fault codes that mean "try again".
_TRANSIENT_LOGIN_CODES = frozenset(
    {
        "server_error",
        "temporarily_unavailable",
        "unknown_error",
        "SERVER_UNAVAILABLE",
        "UNKNOWN_EXCEPTION",
    }
)


class SessionExpiredError(ConnectorError):
    """The session was refused (401); the connector re-authenticates when its auth can."""


class QueryLocatorExpiredError(ConnectorError):
    """A ``nextRecordsUrl`` expired (``INVALID_QUERY_LOCATOR``); the pull restarts by keyset."""


def crm_error(content: object) -> tuple[str, str]:
    """The first ``(errorCode, message)`` of a Salesforce error body, or ``("", "")``.

    Salesforce answers errors as ``[{"errorCode": ..., "message": ...}]``; a proxy or a load
    balancer answers HTML, which yields nothing (its text is never quoted).
    """
    if isinstance(content, (bytes, str)):
        try:
            content = json.loads(content)
        except ValueError:
            return "", ""
    if isinstance(content, dict):
        content = [content]
    if not isinstance(content, list) or not content or not isinstance(content[0], dict):
        return "", ""
    first = content[0]
    code = first.get("errorCode") or first.get("error") or ""
    message = first.get("message") or first.get("error_description") or ""
    return str(code)[:80], " ".join(str(message).split())[:_MAX_MESSAGE]


def _describe(status: int, code: str, message: str) -> str:
    parts = [f"Salesforce answered HTTP {status}"]
    if code:
        parts.append(code)
    text = ": ".join(parts)
    return f"{text}: {message}" if message else text


def _refused(exc: SalesforceRefusedRequest) -> ConnectorError:
    code, message = crm_error(exc.content)
    text = _describe(exc.status, code, message)
    if code == "REQUEST_LIMIT_EXCEEDED":
        if "totalrequests" in message.lower().replace(" ", ""):
            return BudgetExhaustedError(f"{text} (the org's daily API budget is spent)")
        return RetriableError(f"{text} (too many concurrent requests)")
    return AccessDeniedError(f"{text} (check the integration user's permissions on {exc.resource_name})")


def _malformed(exc: SalesforceMalformedRequest) -> ConnectorError:
    code, message = crm_error(exc.content)
    text = _describe(exc.status, code, message)
    if code == "INVALID_QUERY_LOCATOR":
        return QueryLocatorExpiredError(text)
    if code == "UNABLE_TO_LOCK_ROW":
        return RetriableError(text)
    return ProtocolError(text)


def _not_found(exc: SalesforceResourceNotFound) -> ConnectorError:
    code, message = crm_error(exc.content)
    text = _describe(exc.status, code, message)
    if code:
        return AccessDeniedError(f"{text} (missing, or hidden from the integration user)")
    return ProtocolError(f"{text} (not a Salesforce answer: check the instance URL)")


def _login_failed(exc: SalesforceAuthenticationFailed) -> ConnectorError:
    """A token or SOAP login failure.

    An HTTP status as the code means the endpoint answered something unparsable (a proxy page):
    transient when 5xx/429. Otherwise the code is the CRM's own; SOAP answers every fault with
    500, so the status cannot tell a refused password from an outage, the code can.
    """
    if isinstance(exc.code, int):
        text = f"Salesforce login answered HTTP {exc.code}"
        if exc.code >= _SERVER_ERROR or exc.code in _TRANSIENT_STATUSES:
            return RetriableError(text)
        return AuthError(text)
    message = " ".join(exc.auth_message.split())[:_MAX_MESSAGE]
    text = f"Salesforce refused the login: {exc.code}: {message}"
    if exc.code in _TRANSIENT_LOGIN_CODES:
        return RetriableError(text)
    return AuthError(text)


def _expired(exc: SalesforceExpiredSession) -> ConnectorError:
    return SessionExpiredError(_describe(exc.status, *crm_error(exc.content)))


_BY_CLASS: tuple[tuple[type[Any], Callable[[Any], ConnectorError]], ...] = (
    (SalesforceAuthenticationFailed, _login_failed),
    (SalesforceExpiredSession, _expired),
    (SalesforceRefusedRequest, _refused),
    (SalesforceMalformedRequest, _malformed),
    (SalesforceResourceNotFound, _not_found),
)


def _from_salesforce(exc: SalesforceError, retry_after: float | None) -> ConnectorError:
    for cls, handler in _BY_CLASS:
        if isinstance(exc, cls):
            return handler(exc)
    code, message = crm_error(exc.content)
    text = _describe(exc.status, code, message)
    if exc.status >= _SERVER_ERROR or exc.status in _TRANSIENT_STATUSES:
        return RetriableError(text, retry_after=retry_after)
    return ProtocolError(text)


def _from_requests(exc: requests.RequestException) -> ConnectorError:
    if isinstance(exc, requests.exceptions.SSLError):
        return ProtocolError(
            "TLS verification of Salesforce failed: set SALESFORCE_CA_BUNDLE to the CA that signs its certificate"
        )
    if isinstance(exc, requests.exceptions.JSONDecodeError):
        return ProtocolError("Salesforce answered 200 with a body that is not JSON")
    if isinstance(
        exc,
        (
            requests.exceptions.ConnectionError,
            requests.exceptions.Timeout,
            requests.exceptions.ChunkedEncodingError,
            requests.exceptions.ContentDecodingError,
        ),
    ):
        return RetriableError(f"network trouble talking to Salesforce: {type(exc).__name__}")
    return ProtocolError(f"request to Salesforce failed: {type(exc).__name__}")


def translate(exc: Exception, *, retry_after: float | None = None) -> Exception:
    """Map a client exception to the connector's tree; anything unknown comes back unchanged.

    ``retry_after`` is the ``Retry-After`` of the failed response, which simple-salesforce's
    exceptions do not carry (the session keeps it).
    """
    if isinstance(exc, ConnectorError):
        return exc
    if isinstance(exc, SalesforceError):
        return _from_salesforce(exc, retry_after)
    if isinstance(exc, requests.RequestException):
        return _from_requests(exc)
    if isinstance(exc, ValueError):  # json.JSONDecodeError from response.json()
        return ProtocolError("Salesforce answered a body that is not JSON")
    return exc
