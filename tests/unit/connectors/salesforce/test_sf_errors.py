"""Error translation: each Salesforce answer becomes the connector error that says what to do."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
import requests

from connectors.base import (
    AccessDeniedError,
    BudgetExhaustedError,
    ConnectorError,
    ProtocolError,
    RetriableError,
)
from tests.conftest import KNOWN_TOKEN
from tests.unit.connectors.salesforce.sf_helpers import (
    DATA,
    QUERY_ALL,
    account,
    query_answer,
    sf_error,
)

if TYPE_CHECKING:
    import responses

    from connectors.salesforce import SalesforceConnector
    from tests.unit.connectors.salesforce.sf_helpers import Sleeps

DAILY = "TotalRequests Limit exceeded."
CONCURRENT = "ConcurrentPerOrgLongTxn Limit exceeded."


def pull_error(connector: SalesforceConnector) -> ConnectorError:
    with pytest.raises(ConnectorError) as info:
        list(connector.pull("accounts", None))
    assert KNOWN_TOKEN not in str(info.value)
    assert "SELECT" not in str(info.value)  # no URL or query echoed back
    return info.value


@pytest.mark.parametrize(
    ("status", "body", "expected", "words"),
    [
        (403, sf_error("REQUEST_LIMIT_EXCEEDED", DAILY), BudgetExhaustedError, "daily API budget"),
        (
            403,
            sf_error("INSUFFICIENT_ACCESS", "no access"),
            AccessDeniedError,
            "INSUFFICIENT_ACCESS",
        ),
        (
            400,
            sf_error("INVALID_FIELD", "No such column 'X__c'"),
            ProtocolError,
            "INVALID_FIELD: No such",
        ),
        (
            404,
            sf_error("NOT_FOUND", "The requested resource does not exist"),
            AccessDeniedError,
            "NOT_FOUND",
        ),
        (404, "<html>no such host route</html>", ProtocolError, "not a Salesforce answer"),
        (300, [{"Id": "x"}], ProtocolError, "HTTP 300"),
        (418, "teapot", ProtocolError, "HTTP 418"),
    ],
)
def test_fatal_answers_map_to_their_error_at_once(  # noqa: PLR0917 - parametrised
    rsps: responses.RequestsMock,
    connector: SalesforceConnector,
    sleeps: Sleeps,
    status: int,
    body: object,
    expected: type[ConnectorError],
    words: str,
) -> None:
    """Budget, permission and protocol errors are raised on the first answer, without retries."""
    if isinstance(body, str):
        rsps.get(QUERY_ALL, status=status, body=body)
    else:
        rsps.get(QUERY_ALL, status=status, json=body)
    error = pull_error(connector)
    assert type(error) is expected
    assert words in str(error)
    assert sleeps == []


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (403, sf_error("REQUEST_LIMIT_EXCEEDED", CONCURRENT)),
        (400, sf_error("UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access to this record")),
        (500, sf_error("UNKNOWN_EXCEPTION", "An unexpected error occurred")),
        (502, "<html>bad gateway</html>"),
        (503, "Service Unavailable"),
        (429, ""),
    ],
)
def test_transient_answers_are_retried_until_success(
    rsps: responses.RequestsMock,
    connector: SalesforceConnector,
    sleeps: Sleeps,
    status: int,
    body: object,
) -> None:
    """Concurrency limits, lock errors, 429 and 5xx are retried; the pull then completes."""
    if isinstance(body, str):
        rsps.get(QUERY_ALL, status=status, body=body)
    else:
        rsps.get(QUERY_ALL, status=status, json=body)
    rsps.get(QUERY_ALL, json=query_answer([account("001A")]))
    (page,) = connector.pull("accounts", None)
    assert [r.id for r in page.records] == ["001A"]
    assert len(sleeps) == 1
    assert page.api_calls == 2


def test_retry_after_is_honoured(rsps: responses.RequestsMock, connector: SalesforceConnector, sleeps: Sleeps) -> None:
    """A 503 with Retry-After waits what Salesforce asked for."""
    rsps.get(QUERY_ALL, status=503, body="busy", headers={"Retry-After": "7"})
    rsps.get(QUERY_ALL, json=query_answer([]))
    list(connector.pull("accounts", None))
    assert sleeps == [7.0]


def test_a_spent_retry_budget_surfaces_the_retriable_error(
    rsps: responses.RequestsMock, connector: SalesforceConnector, sleeps: Sleeps
) -> None:
    """When every attempt fails the last RetriableError is raised, its message free of the body."""
    for _ in range(4):
        rsps.get(QUERY_ALL, status=500, body="<html>stack trace with secrets</html>")
    error = pull_error(connector)
    assert isinstance(error, RetriableError)
    assert str(error) == "Salesforce answered HTTP 500"
    assert len(sleeps) == 3


@pytest.mark.parametrize(
    "failure",
    [
        requests.exceptions.ConnectionError("reset by peer"),
        requests.exceptions.ReadTimeout("read timed out"),
        requests.exceptions.ChunkedEncodingError("truncated"),
    ],
)
def test_network_failures_are_retried(
    rsps: responses.RequestsMock,
    connector: SalesforceConnector,
    sleeps: Sleeps,
    failure: Exception,
) -> None:
    """Resets, timeouts and truncated bodies are transient."""
    rsps.get(QUERY_ALL, body=failure)
    rsps.get(QUERY_ALL, json=query_answer([]))
    list(connector.pull("accounts", None))
    assert len(sleeps) == 1


def test_a_tls_failure_is_not_retried(
    rsps: responses.RequestsMock, connector: SalesforceConnector, sleeps: Sleeps
) -> None:
    """A certificate the CA bundle does not trust is configuration, named as such, never retried."""
    rsps.get(QUERY_ALL, body=requests.exceptions.SSLError("certificate verify failed"))
    error = pull_error(connector)
    assert isinstance(error, ProtocolError)
    assert "SALESFORCE_CA_BUNDLE" in str(error)
    assert sleeps == []


def test_errors_do_not_chain_the_clients_exception(
    rsps: responses.RequestsMock, connector: SalesforceConnector
) -> None:
    """The simple-salesforce exception (URL, body) is not attached as cause or context."""
    rsps.get(f"{DATA}/sobjects/Account/describe", status=403, json=sf_error("INSUFFICIENT_ACCESS", "no"))
    with pytest.raises(AccessDeniedError) as info:
        connector.describe("accounts")
    assert info.value.__cause__ is None
    assert info.value.__suppress_context__
