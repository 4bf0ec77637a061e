"""Problems no single field can see: missing credentials, contradictions, files that are not there.

Each check returns messages that start with the environment variable to fix, so that the loader can
list every problem at once (octoDNS-style) instead of stopping at the first.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sync_daemon.settings.models import AUTH_MODES

if TYPE_CHECKING:
    from pathlib import Path

    from sync_daemon.settings.models import (
        AuthMode,
        HubSpotSettings,
        SalesforceSettings,
        SyncSettings,
    )

_RECIPES = {
    "token": "SALESFORCE_INSTANCE_URL + SALESFORCE_ACCESS_TOKEN",
    "jwt": "SALESFORCE_USERNAME + SALESFORCE_CONSUMER_KEY + SALESFORCE_PRIVATE_KEY_FILE",
    "client_credentials": ("SALESFORCE_CONSUMER_KEY + SALESFORCE_CONSUMER_SECRET + SALESFORCE_DOMAIN"),
    "password": "SALESFORCE_USERNAME + SALESFORCE_PASSWORD [+ SALESFORCE_SECURITY_TOKEN]",
}


def _missing_file(name: str, path: Path | None) -> list[str]:
    if path is None or path.is_file():
        return []
    return [f"{name}: no such file: {path}"]


def sync_problems(sync: SyncSettings, *, require_crm: bool) -> list[str]:
    """``SYNC_CRM`` when the command needs a CRM, and a mapping file that is not there."""
    problems = []
    if require_crm and sync.crm is None:
        problems.append("SYNC_CRM: required for this command (salesforce or hubspot)")
    problems += _missing_file("SYNC_MAPPING_FILE", sync.mapping_file)
    problems += _missing_file("SYNC_WEBHOOK_CA_BUNDLE", sync.webhook_ca_bundle)
    return problems


def salesforce_problems(sf: SalesforceSettings, *, chosen: bool) -> list[str]:
    """Contradictions always; complete credentials only when the command talks to Salesforce."""
    problems = _salesforce_contradictions(sf)
    problems += _missing_file("SALESFORCE_PRIVATE_KEY_FILE", sf.private_key_file)
    problems += _missing_file("SALESFORCE_CA_BUNDLE", sf.ca_bundle)
    if chosen:
        problems += _salesforce_auth_problems(sf)
    return problems


def _salesforce_contradictions(sf: SalesforceSettings) -> list[str]:
    problems = []
    if sf.consumer_secret and not sf.consumer_key:
        problems.append("SALESFORCE_CONSUMER_SECRET: set without SALESFORCE_CONSUMER_KEY")
    if sf.private_key and sf.private_key_file:
        problems.append(
            "SALESFORCE_PRIVATE_KEY: both SALESFORCE_PRIVATE_KEY and SALESFORCE_PRIVATE_KEY_FILE are set; keep one"
        )
    if sf.security_token and not sf.password:
        problems.append("SALESFORCE_SECURITY_TOKEN: set without SALESFORCE_PASSWORD")
    return problems


def _required(names: list[str], mode: AuthMode) -> list[str]:
    hints = {"SALESFORCE_DOMAIN": " (your My Domain, e.g. acme.my: login and test do not serve it)"}
    return [f"{name}: required when SYNC_CRM=salesforce with {mode} auth{hints.get(name, '')}" for name in names]


def _salesforce_auth_problems(sf: SalesforceSettings) -> list[str]:
    """Exactly one complete auth mode, or the chosen one complete; else say what is missing."""
    if sf.requested_auth_mode is not None:
        return _required(sf.missing_for(sf.requested_auth_mode), sf.requested_auth_mode)
    complete = sf.complete_auth_modes()
    if len(complete) > 1:
        return ["SALESFORCE_AUTH_MODE: required to choose between the complete auth modes " + ", ".join(complete)]
    if complete:
        return []
    return _incomplete_auth(sf)


def _incomplete_auth(sf: SalesforceSettings) -> list[str]:
    """Name what the most nearly complete mode lacks, or every recipe when nothing was started."""
    needed = {"token": 2, "jwt": 3, "client_credentials": 3, "password": 2}
    shares = {mode: 1 - len(sf.missing_for(mode)) / needed[mode] for mode in AUTH_MODES}
    best = max(shares.values())
    if best == 0:
        recipes = "; or ".join(f"{recipe} ({mode})" for mode, recipe in _RECIPES.items())
        return ["SALESFORCE_ACCESS_TOKEN: required when SYNC_CRM=salesforce, or another auth mode: " + recipes]
    problems = []
    for mode in AUTH_MODES:
        if shares[mode] == best:
            problems += _required(sf.missing_for(mode), mode)
    return problems


def hubspot_problems(hs: HubSpotSettings, *, chosen: bool) -> list[str]:
    """A CA bundle that is not there; the token when the command talks to HubSpot."""
    problems = _missing_file("HUBSPOT_CA_BUNDLE", hs.ca_bundle)
    if chosen and not hs.access_token:
        problems.append("HUBSPOT_ACCESS_TOKEN: required when SYNC_CRM=hubspot")
    return problems
