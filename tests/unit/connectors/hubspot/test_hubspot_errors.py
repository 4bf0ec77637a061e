"""Translation of HubSpot failures into the connector exception tree (pure)."""

from __future__ import annotations

import json
import ssl
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import urllib3.exceptions
from hubspot.crm.associations.v4.exceptions import ApiException as AssocApiException
from hubspot.crm.companies.exceptions import ApiException as CompaniesApiException
from hubspot.crm.contacts.exceptions import ServiceException as ContactsServiceException

from connectors.base import (
    AccessDeniedError,
    AuthError,
    BudgetExhaustedError,
    ProtocolError,
    RetriableError,
)
from connectors.hubspot.errors import classify, next_midnight, redact, translate
from tests.conftest import KNOWN_TOKEN

UTC_TZ = ZoneInfo("UTC")
NOW = datetime(2024, 3, 9, 15, 30, tzinfo=UTC)


def _body(**fields: object) -> str:
    return json.dumps({"status": "error", **fields})


def test_ten_secondly_429_waits_retry_after() -> None:
    """A TEN_SECONDLY_ROLLING 429 is retriable and honours Retry-After."""
    err = classify(429, {"retry-after": "3"}, _body(policyName="TEN_SECONDLY_ROLLING"), tz=UTC_TZ, now=NOW)
    assert isinstance(err, RetriableError)
    assert err.retry_after == 3.0


def test_ten_secondly_429_without_retry_after_waits_the_interval() -> None:
    """Without Retry-After the wait is the interval the rate-limit headers name."""
    headers = {"x-hubspot-ratelimit-interval-milliseconds": "10000"}
    err = classify(429, headers, _body(policyName="TEN_SECONDLY_ROLLING"), tz=UTC_TZ, now=NOW)
    assert isinstance(err, RetriableError)
    assert err.retry_after == 10.0


def test_secondly_search_429_defaults_to_one_second() -> None:
    """The search endpoints' SECONDLY policy (no headers) waits a second."""
    err = classify(429, {}, _body(policyName="SECONDLY"), tz=UTC_TZ, now=NOW)
    assert isinstance(err, RetriableError)
    assert err.retry_after == 1.0


def test_429_with_unreadable_body_is_retriable() -> None:
    """A 429 whose body names no policy is treated as the rolling limit, never as fatal."""
    err = classify(429, {}, b"<html>slow down</html>", tz=UTC_TZ, now=NOW)
    assert isinstance(err, RetriableError)
    assert err.retry_after == 10.0


def test_daily_429_parks_until_midnight_in_the_account_time_zone() -> None:
    """A DAILY 429 is a spent budget resuming at the next local midnight, given in UTC."""
    tz = ZoneInfo("America/New_York")
    err = classify(429, {"retry-after": "1"}, _body(policyName="DAILY"), tz=tz, now=NOW)
    assert isinstance(err, BudgetExhaustedError)
    assert err.resume_at == datetime(2024, 3, 10, 5, 0, tzinfo=UTC)


def test_next_midnight_across_a_dst_change() -> None:
    """The midnight after a DST switch is computed in local time (UTC-4 after 10 March 2024)."""
    tz = ZoneInfo("America/New_York")
    assert next_midnight(datetime(2024, 3, 10, 12, 0, tzinfo=UTC), tz) == datetime(2024, 3, 11, 4, 0, tzinfo=UTC)
    assert next_midnight(datetime(2024, 3, 9, 23, 0, tzinfo=UTC), ZoneInfo("Asia/Tokyo")) == datetime(
        2024, 3, 10, 15, 0, tzinfo=UTC
    )


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_errors_are_retriable(status: int) -> None:
    """5xx answers are retriable, with Retry-After when sent."""
    err = classify(status, {"retry-after": "7"}, "<html>", tz=UTC_TZ, now=NOW)
    assert isinstance(err, RetriableError)
    assert err.retry_after == 7.0


def test_401_is_auth_error_without_the_token() -> None:
    """A 401 is fatal and its message never carries a token, even if the body echoed it."""
    body = _body(category="INVALID_AUTHENTICATION", message=f"bad token Bearer {KNOWN_TOKEN}")
    err = classify(401, {}, body, tz=UTC_TZ, now=NOW)
    assert isinstance(err, AuthError)
    assert KNOWN_TOKEN not in str(err)
    assert "INVALID_AUTHENTICATION" in str(err)


def test_403_names_the_missing_scope() -> None:
    """A 403 for missing scopes is a permission error naming the scopes HubSpot lists."""
    body = _body(
        category="MISSING_SCOPES",
        message="This app hasn't been granted all required scopes to make this call.",
        errors=[
            {
                "message": "One or more scopes",
                "context": {"requiredGranularScopes": ["crm.objects.contacts.read"]},
            }
        ],
    )
    err = classify(403, {}, body, tz=UTC_TZ, now=NOW)
    assert isinstance(err, AccessDeniedError)
    assert "crm.objects.contacts.read" in str(err)


def test_other_4xx_is_protocol_error_with_category_and_message() -> None:
    """A 400 keeps HubSpot's category and message."""
    err = classify(400, {}, _body(category="VALIDATION_ERROR", message="bad filter"), tz=UTC_TZ, now=NOW)
    assert isinstance(err, ProtocolError)
    assert "VALIDATION_ERROR" in str(err)
    assert "bad filter" in str(err)


def test_redact_scrubs_token_shapes() -> None:
    """Bearer headers and private-app tokens are scrubbed from any message."""
    assert "pat-na1-" not in redact("token pat-na1-0123abcd-ef45 refused")
    assert KNOWN_TOKEN not in redact(f"Authorization: Bearer {KNOWN_TOKEN}")


def _api_exception(cls: type[Any], status: int, body: str, headers: dict[str, str]) -> Exception:
    exc = cls(status=status, reason="x")
    exc.body = body
    exc.headers = headers
    return exc  # type: ignore[no-any-return]


@pytest.mark.parametrize("cls", [CompaniesApiException, AssocApiException, ContactsServiceException])
def test_translate_branches_on_status_for_every_sub_package(cls: type[Any]) -> None:
    """Each sub-package's own ApiException class is recognised; the status decides the outcome."""
    exc = _api_exception(cls, 429, _body(policyName="TEN_SECONDLY_ROLLING"), {"Retry-After": "2"})
    err = translate(exc, tz=UTC_TZ, now=NOW)
    assert isinstance(err, RetriableError)
    assert err.retry_after == 2.0


@pytest.mark.parametrize(
    "exc",
    [
        urllib3.exceptions.MaxRetryError(
            None,  # type: ignore[arg-type]
            "/x",
            urllib3.exceptions.NewConnectionError(None, "refused"),  # type: ignore[arg-type]
        ),
        urllib3.exceptions.ProtocolError("Connection aborted.", ConnectionResetError(104, "reset")),
        urllib3.exceptions.ReadTimeoutError(None, "/x", "read timed out"),  # type: ignore[arg-type]
        ConnectionResetError(104, "reset"),
    ],
)
def test_network_errors_are_retriable(exc: Exception) -> None:
    """Resets, timeouts and a spent urllib3 retry are retriable."""
    assert isinstance(translate(exc, tz=UTC_TZ, now=NOW), RetriableError)


def test_certificate_failure_is_not_retried() -> None:
    """A TLS verification failure is a configuration problem, reported once, not retried."""
    reason = urllib3.exceptions.SSLError(ssl.SSLCertVerificationError(1, "CERTIFICATE_VERIFY_FAILED"))
    exc = urllib3.exceptions.MaxRetryError(None, "/x", reason)  # type: ignore[arg-type]
    err = translate(exc, tz=UTC_TZ, now=NOW)
    assert isinstance(err, ProtocolError)
    assert "CA bundle" in str(err)


def test_unknown_exceptions_are_not_translated() -> None:
    """A programming error (KeyError) is not dressed up as a CRM failure."""
    assert translate(KeyError("x"), tz=UTC_TZ, now=NOW) is None


def test_redirect_is_not_retried() -> None:
    """A redirect (wrong base URL) is reported as a protocol problem, not retried."""
    reason = urllib3.exceptions.ResponseError("too many redirects")
    exc = urllib3.exceptions.MaxRetryError(None, "/x", reason)  # type: ignore[arg-type]
    assert isinstance(translate(exc, tz=UTC_TZ, now=NOW), ProtocolError)
