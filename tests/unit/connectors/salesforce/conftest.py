"""Fixtures for the Salesforce connector's unit tests: ``responses`` at the transport seam."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
import responses

from tests.unit.connectors.salesforce.sf_helpers import Sleeps, make_connector

if TYPE_CHECKING:
    from collections.abc import Iterator

    from connectors.salesforce import SalesforceConnector


@pytest.fixture
def sleeps() -> Sleeps:
    """A sleep that records the waits the retry policy asked for."""
    return Sleeps()


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    """A ``responses`` mock that fails the test when a registered answer was never asked for."""
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


@pytest.fixture
def connector(sleeps: Sleeps) -> Iterator[SalesforceConnector]:
    """A connector on a ready token, page size 200, retries with the recorded sleep."""
    conn = make_connector(sleeps)
    yield conn
    conn.close()
