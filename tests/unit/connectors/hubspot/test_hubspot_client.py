"""The HubSpot transport (limiter, retry, translation, counting) and how the client is built."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import urllib3.exceptions
from hubspot.crm.companies.exceptions import ApiException

from connectors.base import AuthError, BudgetExhaustedError, ProtocolError, RetriableError
from connectors.hubspot.client import HubSpotApis, Transport, parse_json
from connectors.hubspot.ratelimit import RateLimiter
from connectors.retry import RetryPolicy, RetrySettings
from tests.conftest import KNOWN_TOKEN


class FakeRaw:
    """The bits of a urllib3 response the transport reads."""

    def __init__(self, data: bytes, headers: dict[str, str] | None = None) -> None:
        """A response with ``data`` and ``headers``."""
        self.data = data
        self.headers = headers or {}
        self.released = False

    def release_conn(self) -> None:
        """Remember that the connection went back to the pool."""
        self.released = True


def _api_exc(status: int, body: str, headers: dict[str, str] | None = None) -> ApiException:
    exc = ApiException(status=status, reason="x")
    exc.body = body
    exc.headers = headers or {}
    return exc


def _transport(sleeps: list[float]) -> Transport:
    t = [0.0]
    limiter = RateLimiter(1000, 1000, clock=lambda: t[0], sleep=lambda _s: None)
    return Transport(
        timeout=12.5,
        retry=RetryPolicy(RetrySettings(attempts=4), sleep=sleeps.append),
        limiter=limiter,
        tz=ZoneInfo("Europe/Paris"),
        clock=lambda: datetime(2024, 6, 1, 21, 0, tzinfo=UTC),
    )


def _scripted(*outcomes: object) -> tuple[Any, list[dict[str, Any]]]:
    seen: list[dict[str, Any]] = []
    queue = list(outcomes)

    def fn(**kwargs: Any) -> Any:
        seen.append(kwargs)
        item = queue.pop(0)
        if isinstance(item, BaseException):
            raise item
        return item

    return fn, seen


def test_call_passes_timeout_and_raw_mode_and_releases_the_connection() -> None:
    """Calls ask for the raw response with our timeout, parse JSON and free the connection."""
    raw = FakeRaw(b'{"results": []}')
    fn, seen = _scripted(raw)
    assert _transport([]).call(fn) == {"results": []}
    assert seen == [{"_preload_content": False, "_request_timeout": 12.5}]
    assert raw.released


def test_transient_failures_are_retried_and_counted() -> None:
    """429 (Retry-After honoured), 503 and a reset are retried; every attempt counts as a call."""
    fn, _ = _scripted(
        _api_exc(429, '{"policyName": "TEN_SECONDLY_ROLLING"}', {"Retry-After": "4"}),
        _api_exc(503, "<html>"),
        urllib3.exceptions.ProtocolError("Connection aborted.", ConnectionResetError(104, "reset")),
        FakeRaw(b'{"ok": 1}'),
    )
    sleeps: list[float] = []
    transport = _transport(sleeps)
    assert transport.call(fn) == {"ok": 1}
    assert transport.calls == 4
    assert sleeps[0] == 4.0
    assert len(sleeps) == 3


def test_spent_retries_reraise_the_retriable_error() -> None:
    """When every attempt fails the policy gives up with the translated error."""
    fn, _ = _scripted(*[_api_exc(502, "") for _ in range(4)])
    with pytest.raises(RetriableError, match="502"):
        _transport([]).call(fn)


def test_daily_budget_is_not_retried() -> None:
    """A DAILY 429 stops at once with the account-time-zone midnight (Paris, UTC+2 in June)."""
    fn, seen = _scripted(_api_exc(429, '{"policyName": "DAILY"}'))
    with pytest.raises(BudgetExhaustedError) as info:
        _transport([]).call(fn)
    assert info.value.resume_at == datetime(2024, 6, 1, 22, 0, tzinfo=UTC)
    assert len(seen) == 1


def test_auth_failure_is_not_retried() -> None:
    """A 401 is raised once as AuthError."""
    fn, seen = _scripted(_api_exc(401, '{"category": "INVALID_AUTHENTICATION"}'))
    with pytest.raises(AuthError):
        _transport([]).call(fn)
    assert len(seen) == 1


@pytest.mark.parametrize("body", [b"<html>oops</html>", b"[1, 2]", b""])
def test_unreadable_success_is_protocol_error(body: bytes) -> None:
    """A 2xx whose body is not a JSON object is a ProtocolError, not retried."""
    with pytest.raises(ProtocolError, match="2xx"):
        parse_json(body)


def test_rate_limit_headers_reach_the_limiter() -> None:
    """Daily figures from a response's headers are kept by the limiter."""
    fn, _ = _scripted(
        FakeRaw(
            b"{}",
            {"X-HubSpot-RateLimit-Daily": "1000", "X-HubSpot-RateLimit-Daily-Remaining": "10"},
        )
    )
    transport = _transport([])
    transport.call(fn)
    assert (transport._limiter.daily_limit, transport._limiter.daily_remaining) == (1000, 10)


def test_apis_are_built_once_with_our_host_ca_and_no_client_retry(tmp_path: Any) -> None:
    """API objects are built once for our host and CA, urllib3 retries off, debug off."""
    ca = tmp_path / "ca.pem"
    apis = HubSpotApis(KNOWN_TOKEN, base_url="http://127.0.0.1:9/", ca_bundle=ca)
    try:
        assert apis.search_api("accounts") is apis.search_api("accounts")
        for api in apis.all():
            config = api.api_client.configuration
            assert config.host == "http://127.0.0.1:9"
            assert config.ssl_ca_cert == str(ca)
            assert config.retries.total == 0
            assert config.debug is False
            assert api.api_client.rest_client.pool_manager.connection_pool_kw["retries"].total == 0
        assert len({id(api.api_client) for api in apis.all()}) == len(apis.all())
    finally:
        apis.close()
