"""``sync-daemon demo``: one full cycle against an embedded sandbox CRM, no credentials, no network.

The sandbox runs in this process on a loopback port (over TLS with a throwaway CA for Salesforce, since
simple-salesforce insists on https), the connector talks to it with the real client library, and the
state lands in a local SQLite file, so a second ``demo`` shows an incremental run storing nothing new.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from connectors.retry import RetryPolicy
from sync_daemon.config.loader import load_mapping
from sync_daemon.logs import register_secret
from sync_daemon.resources import shipped
from sync_daemon.sandbox.server import SandboxServer

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from connectors.base import Connector
    from sync_daemon.config.models import MappingFile
    from sync_daemon.sandbox.server import SandboxApp

CrmChoice = Literal["salesforce", "hubspot"]


@dataclass(frozen=True)
class SandboxHandle:
    """A running sandbox and what a client needs to reach it."""

    crm: CrmChoice
    app: SandboxApp
    server: SandboxServer

    def env(self) -> dict[str, str]:
        """Environment variables that point ``sync-daemon sync`` at this sandbox."""
        if self.crm == "salesforce":
            from sync_daemon.sandbox import salesforce as sf  # noqa: PLC0415

            return {
                "SYNC_CRM": "salesforce",
                "SALESFORCE_DOMAIN": self.server.url,
                "SALESFORCE_CONSUMER_KEY": sf.CONSUMER_KEY,
                "SALESFORCE_CONSUMER_SECRET": sf.CONSUMER_SECRET,
                "SALESFORCE_CA_BUNDLE": str(self.server.ca_file),
            }
        from sync_daemon.sandbox import hubspot as hs  # noqa: PLC0415

        return {
            "SYNC_CRM": "hubspot",
            "HUBSPOT_BASE_URL": self.server.url,
            "HUBSPOT_ACCESS_TOKEN": hs.ACCESS_TOKEN,
        }


def make_app(crm: CrmChoice, accounts: int, contacts: int) -> SandboxApp:
    """A seeded sandbox app for ``crm``."""
    if crm == "salesforce":
        from sync_daemon.sandbox.salesforce import SalesforceSandbox  # noqa: PLC0415

        return SalesforceSandbox(accounts=accounts, contacts=contacts)
    from sync_daemon.sandbox.hubspot import HubSpotSandbox  # noqa: PLC0415

    return HubSpotSandbox(accounts=accounts, contacts=contacts)


@contextmanager
def running_sandbox(crm: CrmChoice, accounts: int, contacts: int) -> Iterator[SandboxHandle]:
    """Start a seeded sandbox on a loopback port for the duration of the block."""
    app = make_app(crm, accounts, contacts)
    with SandboxServer(app, tls=crm == "salesforce") as server:
        app.base_url = server.url  # type: ignore[attr-defined]
        yield SandboxHandle(crm, app, server)


def demo_mapping(crm: CrmChoice, override: Path | None = None) -> MappingFile:
    """The shipped mapping for ``crm`` (or the admin's file)."""
    return load_mapping(override or shipped(f"mappings/{crm}.yaml"))


def sandbox_connector(handle: SandboxHandle, mapping: MappingFile, retry: RetryPolicy | None = None) -> Connector:
    """A real connector, with its real client library, pointed at the sandbox."""
    retry = retry or RetryPolicy()
    if handle.crm == "salesforce":
        from connectors.salesforce.auth import ClientCredentialsAuth  # noqa: PLC0415
        from connectors.salesforce.connector import SalesforceConnector  # noqa: PLC0415
        from sync_daemon.sandbox import salesforce as sf  # noqa: PLC0415

        auth = ClientCredentialsAuth(
            consumer_key=sf.CONSUMER_KEY,
            consumer_secret=sf.CONSUMER_SECRET,
            login_url=handle.server.url,
        )
        return SalesforceConnector(
            mapping, auth, ca_bundle=handle.server.ca_file, retry=retry, on_secret=register_secret
        )
    from connectors.hubspot.connector import HubSpotConnector  # noqa: PLC0415
    from sync_daemon.sandbox import hubspot as hs  # noqa: PLC0415

    return HubSpotConnector(mapping, hs.ACCESS_TOKEN, base_url=handle.server.url, retry=retry)
