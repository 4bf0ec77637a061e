"""The HTTP session: default timeouts, a CA bundle the environment cannot override, counting."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest
import requests

from connectors.salesforce.http import SalesforceHttpSession, parse_retry_after
from tests.unit.connectors.salesforce.sf_helpers import QUERY_ALL, make_connector, query_answer

if TYPE_CHECKING:
    from pathlib import Path

    import responses

    from tests.unit.connectors.salesforce.sf_helpers import Sleeps

URL = "https://acme.my.salesforce.com/services/data/v62.0/limits"


def sent_kwargs(rsps: responses.RequestsMock, index: int = 0) -> dict[str, object]:
    return rsps.calls[index].request.req_kwargs  # type: ignore[attr-defined,no-any-return]


def test_every_request_gets_the_default_timeout(rsps: responses.RequestsMock) -> None:
    """A request sent without a timeout gets the session's; an explicit one is kept."""
    rsps.get(URL, json={})
    rsps.get(URL, json={})
    with SalesforceHttpSession(timeout=12.5) as session:
        session.get(URL)
        session.get(URL, timeout=3)
    assert sent_kwargs(rsps, 0)["timeout"] == 12.5
    assert sent_kwargs(rsps, 1)["timeout"] == 3


def test_the_connectors_calls_carry_its_timeout(rsps: responses.RequestsMock, sleeps: Sleeps) -> None:
    """simple-salesforce sends no timeout; the connector's session supplies the configured one."""
    rsps.get(QUERY_ALL, json=query_answer([]))
    connector = make_connector(sleeps, timeout=9.0)
    list(connector.pull("accounts", None))
    connector.close()
    assert sent_kwargs(rsps)["timeout"] == 9.0


def test_requests_ca_bundle_does_not_override_the_explicit_bundle(
    rsps: responses.RequestsMock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With REQUESTS_CA_BUNDLE set, the configured CA bundle is still the one verifying."""
    ours, theirs = tmp_path / "ours.pem", tmp_path / "theirs.pem"
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(theirs))
    monkeypatch.setenv("CURL_CA_BUNDLE", str(theirs))
    rsps.get(URL, json={})
    rsps.get(URL, json={})
    with SalesforceHttpSession(ca_bundle=ours) as session:
        session.get(URL)
    with requests.Session() as plain:  # the trap itself: a plain session loses its verify
        plain.verify = str(ours)
        plain.get(URL)
    assert sent_kwargs(rsps, 0)["verify"] == str(ours)
    assert sent_kwargs(rsps, 1)["verify"] == str(theirs)


def test_without_a_bundle_the_environment_still_applies(
    rsps: responses.RequestsMock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No CA bundle configured: REQUESTS_CA_BUNDLE and proxy variables work as requests intends."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tmp_path / "env.pem"))
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    rsps.get(URL, json={})
    with SalesforceHttpSession() as session:
        session.get(URL)
    assert sent_kwargs(rsps)["verify"] == str(tmp_path / "env.pem")
    assert sent_kwargs(rsps)["proxies"]["https"] == "http://proxy.internal:3128"  # type: ignore[index]


def test_proxies_from_the_environment_apply_alongside_a_bundle(
    rsps: responses.RequestsMock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pinning the CA bundle does not drop the environment's proxies."""
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    rsps.get(URL, json={})
    with SalesforceHttpSession(ca_bundle=tmp_path / "ca.pem") as session:
        session.get(URL)
    assert sent_kwargs(rsps)["proxies"]["https"] == "http://proxy.internal:3128"  # type: ignore[index]


def test_calls_limits_and_retry_after_are_recorded_from_any_answer(
    rsps: responses.RequestsMock,
) -> None:
    """Every request counts; Sforce-Limit-Info and Retry-After are kept from error answers too."""
    rsps.get(
        URL,
        status=403,
        json=[],
        headers={"Sforce-Limit-Info": "api-usage=10/100", "Retry-After": "4"},
    )
    rsps.get(URL, json={})
    with SalesforceHttpSession() as session:
        session.get(URL)
        assert (session.calls, session.limit_info, session.last_retry_after) == (
            1,
            "api-usage=10/100",
            4.0,
        )
        session.get(URL)
    assert (session.calls, session.limit_info, session.last_retry_after) == (
        2,
        "api-usage=10/100",
        None,
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", 120.0),
        ("-3", 0.0),
        ("Sun, 01 Mar 2026 12:00:30 GMT", 30.0),
        ("Sun, 01 Mar 2026 11:00:00 GMT", 0.0),
        ("soon", None),
        (None, None),
        ("", None),
    ],
)
def test_retry_after_parses_seconds_and_dates(value: str | None, expected: float | None) -> None:
    """Retry-After in seconds or as an HTTP date becomes seconds to wait; garbage is ignored."""
    now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    assert parse_retry_after(value, now) == expected
