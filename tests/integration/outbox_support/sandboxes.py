"""Reaching a running sandbox with a real connector, from the test process or from a child process.

A child cannot share the parent's sandbox object, only its address: :class:`SandboxAddress` is what
crosses the process boundary (JSON on a command line, or a pool task's argument), and
:func:`connected` builds the real connector to it, on fake time so that retry waits and the rate
limiter never sleep. The outbox runs on its own fixed clock (:data:`T0`), moved by the tests.
"""

from __future__ import annotations

import json
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from connectors.retry import RetryPolicy, RetrySettings
from sync_daemon.config.loader import load_mapping
from sync_daemon.resources import shipped
from tests.faketime import FakeTime

if TYPE_CHECKING:
    from collections.abc import Iterator

    from connectors.base import Writer
    from connectors.hubspot import HubSpotConnector
    from connectors.salesforce import SalesforceConnector
    from tests.conformance.drivers import Driver

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
LEASE = timedelta(minutes=5)
CRMS = ("salesforce", "hubspot")

# The request that creates a note and the one that adds an audience member, as (method, path regex).
NOTE_CREATE = {
    "salesforce": ("POST", r"/services/data/v[\d.]+/composite$"),
    "hubspot": ("POST", r"/crm/v3/objects/notes$"),
}
AUDIENCE_ADD = {
    "salesforce": ("POST", r"/services/data/v[\d.]+/sobjects/CampaignMember$"),
    "hubspot": ("PUT", r"/crm/v3/lists/[^/]+/memberships/add$"),
}
HUBSPOT_LIST = "101"


@dataclass(frozen=True)
class SandboxAddress:
    """Where a sandbox listens, and the CA its TLS certificate chains to (Salesforce only)."""

    crm: str
    url: str
    ca_file: str | None = None

    @classmethod
    def of(cls, driver: Driver) -> SandboxAddress:
        """The address of a driver's running sandbox."""
        ca = driver.server.ca_file
        return cls(driver.crm, driver.server.url, str(ca) if ca is not None else None)

    def to_json(self) -> str:
        """The address as one command-line-safe string."""
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, raw: str) -> SandboxAddress:
        """The address :meth:`to_json` wrote."""
        return cls(**json.loads(raw))


def _salesforce(address: SandboxAddress, retry: RetryPolicy) -> SalesforceConnector:
    from connectors.salesforce import ClientCredentialsAuth, SalesforceConnector  # noqa: PLC0415
    from sync_daemon.sandbox import salesforce as sf  # noqa: PLC0415

    auth = ClientCredentialsAuth(sf.CONSUMER_KEY, sf.CONSUMER_SECRET, login_url=address.url)
    ca = Path(address.ca_file) if address.ca_file else None
    return SalesforceConnector(load_mapping(shipped("mappings/salesforce.yaml")), auth, ca_bundle=ca, retry=retry)


def _hubspot(address: SandboxAddress, retry: RetryPolicy, time: FakeTime) -> HubSpotConnector:
    from connectors.hubspot import HubSpotConnector, RateLimiter  # noqa: PLC0415
    from sync_daemon.sandbox import hubspot as hs  # noqa: PLC0415

    return HubSpotConnector(
        load_mapping(shipped("mappings/hubspot.yaml")),
        hs.ACCESS_TOKEN,
        base_url=address.url,
        retry=retry,
        limiter=RateLimiter(180, clock=time.monotonic, sleep=time.sleep),
        clock=time.now,
        timezone="America/New_York",
    )


@contextmanager
def connected(address: SandboxAddress, *, attempts: int = 6, time: FakeTime | None = None) -> Iterator[Writer]:
    """A real connector to the sandbox, making ``attempts`` tries per call; closed on exit.

    ``attempts=1`` leaves every recovery to the outbox: a lost reply surfaces as a RetriableError.
    """
    clock = time or FakeTime()
    retry = RetryPolicy(RetrySettings(attempts=attempts), sleep=clock.sleep)
    conn = _salesforce(address, retry) if address.crm == "salesforce" else _hubspot(address, retry, clock)
    try:
        yield conn
    finally:
        conn.close()
