"""Builders for the Salesforce connector's unit tests (imported by the tests and the conftest)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

from connectors.retry import RetryPolicy, RetrySettings
from connectors.salesforce import SalesforceConnector, TokenAuth
from sync_daemon.config.models import MappingFile
from tests.conftest import KNOWN_TOKEN

if TYPE_CHECKING:
    from connectors.salesforce.auth import SalesforceAuth

INSTANCE = "https://acme.my.salesforce.com"
DATA = f"{INSTANCE}/services/data/v62.0"
QUERY_ALL = f"{DATA}/queryAll/"

MAPPING: dict[str, Any] = {
    "version": 1,
    "crm": "salesforce",
    "accounts": {
        "object": "Account",
        "scope": [{"field": "Type", "op": "in", "value": ["Customer", "O'Brien & Co"]}],
        "pull": {"name": "Name", "tier": "Plan_Tier__c", "owner_name": "Owner.Name"},
        "kpis": {"mrr": "MRR__c"},
        "push": {"health": "Onboarding_Health__c", "tier_copy": "Plan_Tier__c"},
    },
    "contacts": {
        "object": "Contact",
        "link": {"field": "AccountId"},
        "pull": {"email": "Email"},
    },
}


def mapping() -> MappingFile:
    return MappingFile.model_validate(MAPPING)


class Sleeps(list[float]):
    """An injected sleep that records the waits instead of waiting."""

    def __call__(self, seconds: float) -> None:
        """Record the wait."""
        self.append(seconds)


def make_connector(
    sleeps: Sleeps, auth: SalesforceAuth | None = None, *, attempts: int = 4, **kwargs: Any
) -> SalesforceConnector:
    retry = RetryPolicy(RetrySettings(attempts=attempts), sleep=sleeps)
    kwargs.setdefault("page_size", 200)
    chosen = auth or TokenAuth(INSTANCE, SecretStr(KNOWN_TOKEN))
    return SalesforceConnector(mapping(), chosen, retry=retry, **kwargs)


def account(record_id: str, stamp: str = "2026-03-01T12:00:00.000+0000", **fields: Any) -> dict[str, Any]:
    """A raw Account as the REST API answers it."""
    raw: dict[str, Any] = {
        "attributes": {
            "type": "Account",
            "url": f"/services/data/v62.0/sobjects/Account/{record_id}",
        },
        "Id": record_id,
        "SystemModstamp": stamp,
        "IsDeleted": False,
        "Name": f"Account {record_id}",
        "Plan_Tier__c": "Gold",
        "Owner": {"attributes": {"type": "User"}, "Name": "Olive Owner"},
        "MRR__c": 1200.5,
        "Onboarding_Health__c": None,
    }
    raw.update(fields)
    return raw


def query_answer(records: list[dict[str, Any]], next_url: str | None = None) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "totalSize": len(records),
        "done": next_url is None,
        "records": records,
    }
    if next_url:
        answer["nextRecordsUrl"] = next_url
    return answer


def sf_error(code: str, message: str) -> list[dict[str, Any]]:
    return [{"errorCode": code, "message": message}]
