"""Sessions, usage and describe through the connector: re-login on 401, ready tokens, API budget."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from pydantic import SecretStr

from connectors.base import ApiUsage, AuthError, BudgetExhaustedError, Connector, ProtocolError
from connectors.salesforce import ClientCredentialsAuth, SalesforceConnector
from tests.conftest import KNOWN_TOKEN
from tests.unit.connectors.salesforce.sf_helpers import (
    DATA,
    INSTANCE,
    QUERY_ALL,
    account,
    make_connector,
    mapping,
    query_answer,
    sf_error,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

    import responses

    from tests.unit.connectors.salesforce.sf_helpers import Sleeps

TOKEN_URL = f"{INSTANCE}/services/oauth2/token"
EXPIRED = sf_error("INVALID_SESSION_ID", "Session expired or invalid")
FIRST, SECOND = KNOWN_TOKEN + "-1", KNOWN_TOKEN + "-2"


def issued(token: str) -> dict[str, str]:
    return {"access_token": token, "instance_url": INSTANCE}


@pytest.fixture
def refreshing(sleeps: Sleeps) -> Iterator[SalesforceConnector]:
    auth = ClientCredentialsAuth("ck", SecretStr("cs"), INSTANCE)
    conn = make_connector(sleeps, auth)
    yield conn
    conn.close()


def bearer(rsps: responses.RequestsMock, index: int) -> str:
    return rsps.calls[index].request.headers["Authorization"]


def test_the_connector_satisfies_the_seam(connector: SalesforceConnector) -> None:
    """The Salesforce connector is a Connector as the engine types it."""
    assert isinstance(connector, Connector)
    assert connector.crm == "salesforce"


def test_an_expired_session_is_renewed_and_the_call_repeated(
    rsps: responses.RequestsMock, refreshing: SalesforceConnector
) -> None:
    """A 401 INVALID_SESSION_ID triggers one new login; the query is resent with the new token."""
    rsps.post(TOKEN_URL, json=issued(FIRST))
    rsps.get(QUERY_ALL, json=query_answer([account("001A")], "/services/data/v62.0/queryAll/01g-200"))
    rsps.get(f"{INSTANCE}/services/data/v62.0/queryAll/01g-200", status=401, json=EXPIRED)
    rsps.post(TOKEN_URL, json=issued(SECOND))
    rsps.get(f"{INSTANCE}/services/data/v62.0/queryAll/01g-200", json=query_answer([account("001B")]))
    pages = list(refreshing.pull("accounts", None))
    assert [r.id for p in pages for r in p.records] == ["001A", "001B"]
    assert refreshing.reauths == 1
    assert bearer(rsps, 1) == f"Bearer {FIRST}"
    assert bearer(rsps, 4) == f"Bearer {SECOND}"
    assert [p.api_calls for p in pages] == [2, 3]
    assert refreshing.usage().calls == 5


def test_a_fresh_session_refused_again_is_an_auth_error(
    rsps: responses.RequestsMock, refreshing: SalesforceConnector, sleeps: Sleeps
) -> None:
    """Re-login is tried once per call: a second 401 is fatal, not a loop."""
    rsps.post(TOKEN_URL, json=issued(FIRST))
    rsps.get(QUERY_ALL, status=401, json=EXPIRED)
    rsps.post(TOKEN_URL, json=issued(SECOND))
    rsps.get(QUERY_ALL, status=401, json=EXPIRED)
    with pytest.raises(AuthError, match="freshly issued session") as info:
        list(refreshing.pull("accounts", None))
    assert KNOWN_TOKEN not in str(info.value)
    assert sleeps == []


def test_an_expired_ready_token_is_an_auth_error_naming_the_way_out(
    rsps: responses.RequestsMock, connector: SalesforceConnector
) -> None:
    """A ready token cannot be renewed: AuthError says so and which flows can, without the token."""
    rsps.get(QUERY_ALL, status=401, json=EXPIRED)
    with pytest.raises(AuthError) as info:
        list(connector.pull("accounts", None))
    message = str(info.value)
    assert message.startswith("SALESFORCE_ACCESS_TOKEN was refused or expired")
    assert "JWT bearer or client credentials" in message
    assert KNOWN_TOKEN not in message
    assert connector.reauths == 0


def test_a_login_answering_503_is_retried(
    rsps: responses.RequestsMock, refreshing: SalesforceConnector, sleeps: Sleeps
) -> None:
    """A token endpoint in trouble (a proxy page, or temporarily_unavailable) is retried."""
    rsps.post(TOKEN_URL, status=503, body="<html>maintenance</html>")
    rsps.post(TOKEN_URL, status=503, json={"error": "temporarily_unavailable"})
    rsps.post(TOKEN_URL, json=issued(FIRST))
    rsps.get(QUERY_ALL, json=query_answer([]))
    list(refreshing.pull("accounts", None))
    assert len(sleeps) == 2


def test_refused_credentials_stop_at_once(
    rsps: responses.RequestsMock, refreshing: SalesforceConnector, sleeps: Sleeps
) -> None:
    """invalid_client is an AuthError on the first answer."""
    rsps.post(TOKEN_URL, status=400, json={"error": "invalid_client", "error_description": "bad"})
    with pytest.raises(AuthError, match="invalid_client"):
        list(refreshing.pull("accounts", None))
    assert sleeps == []


def test_usage_reads_the_limit_header_and_counts_calls(
    rsps: responses.RequestsMock, connector: SalesforceConnector
) -> None:
    """Sforce-Limit-Info gives used/limit (per-app usage ignored); calls count every request."""
    assert connector.usage() == ApiUsage(calls=0)
    rsps.get(
        QUERY_ALL,
        json=query_answer([]),
        headers={"Sforce-Limit-Info": "api-usage=25/5000; per-app-api-usage=17/250(appName=sync)"},
    )
    list(connector.pull("accounts", None))
    usage = connector.usage()
    assert usage == ApiUsage(calls=1, used=25, limit=5000)
    assert usage.remaining == 4975


def test_usage_is_updated_by_a_limit_refusal(rsps: responses.RequestsMock, connector: SalesforceConnector) -> None:
    """A 403 REQUEST_LIMIT_EXCEEDED still updates usage (simple-salesforce would not)."""
    rsps.get(
        QUERY_ALL,
        status=403,
        json=sf_error("REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded."),
        headers={"Sforce-Limit-Info": "api-usage=15001/15000"},
    )
    with pytest.raises(BudgetExhaustedError):
        list(connector.pull("accounts", None))
    assert connector.usage() == ApiUsage(calls=1, used=15001, limit=15000)
    assert connector.usage().remaining == 0


DESCRIBE = {
    "name": "Account",
    "fields": [
        {"name": "Id", "type": "id", "updateable": False, "length": 18, "picklistValues": []},
        {"name": "Name", "type": "string", "updateable": True, "length": 255, "picklistValues": []},
        {"name": "Goals__c", "type": "textarea", "updateable": True, "length": 32768},
        {"name": "MRR__c", "type": "currency", "updateable": True, "length": 0},
        {"name": "Seats__c", "type": "double", "updateable": True, "length": 0},
        {"name": "Employees", "type": "int", "updateable": True, "length": 0},
        {"name": "Geo__c", "type": "location", "updateable": True, "length": 0},
        {
            "name": "Plan_Tier__c",
            "type": "picklist",
            "updateable": True,
            "length": 255,
            "picklistValues": [
                {"value": "Gold", "active": True},
                {"value": "Legacy", "active": False},
                {"value": "Silver", "active": True},
            ],
        },
    ],
}


def test_describe_maps_salesforce_types(rsps: responses.RequestsMock, connector: SalesforceConnector) -> None:
    """Describing reads sobjects/{Object}/describe and normalises types, lengths, options."""
    rsps.get(
        f"{DATA}/sobjects/Account/describe",
        json=DESCRIBE,
        headers={"Sforce-Limit-Info": "api-usage=3/100"},
    )
    schema = connector.describe("accounts")
    assert schema.object_name == "Account"
    types = {name: f.type for name, f in schema.fields.items()}
    assert types == {
        "Id": "id",
        "Name": "string",
        "Goals__c": "text",
        "MRR__c": "currency",
        "Seats__c": "number",
        "Employees": "integer",
        "Geo__c": "other",
        "Plan_Tier__c": "picklist",
    }
    tier = schema.fields["Plan_Tier__c"]
    assert (tier.crm_type, tier.updateable, tier.length, tier.options) == (
        "picklist",
        True,
        255,
        ("Gold", "Silver"),
    )
    assert schema.fields["MRR__c"].length is None
    assert not schema.fields["Id"].updateable
    assert connector.usage().used == 3


def test_a_describe_without_fields_is_a_protocol_error(
    rsps: responses.RequestsMock, connector: SalesforceConnector
) -> None:
    """A describe answer that lists no fields cannot be read."""
    rsps.get(f"{DATA}/sobjects/Contact/describe", json={"name": "Contact"})
    with pytest.raises(ProtocolError, match="without a field list"):
        connector.describe("contacts")


def test_the_constructor_refuses_what_salesforce_cannot_do() -> None:
    """A HubSpot mapping or a page size outside 200..2000 is refused before any call."""
    auth = ClientCredentialsAuth("ck", SecretStr("cs"), INSTANCE)
    with pytest.raises(ValueError, match="page_size"):
        SalesforceConnector(mapping(), auth, page_size=100)
    hubspot = mapping().model_copy(update={"crm": "hubspot"})
    with pytest.raises(ValueError, match="salesforce mapping"):
        SalesforceConnector(hubspot, auth)


def test_login_reports_the_session_token_for_redaction() -> None:
    """Every token a login returns is handed to ``on_secret`` (the daemon registers it with the log redactor)."""
    from connectors.salesforce.connector import SalesforceConnector  # noqa: PLC0415
    from sync_daemon.config.loader import load_mapping  # noqa: PLC0415
    from sync_daemon.resources import shipped  # noqa: PLC0415

    seen: list[str] = []

    class StubAuth:
        can_refresh = True

        def login(self, session: object) -> object:  # noqa: ARG002 - the auth protocol's signature
            from connectors.salesforce.auth import SfSession  # noqa: PLC0415

            return SfSession("00Dxx!session-token-value", "https://example.my.salesforce.com")

    connector = SalesforceConnector(
        load_mapping(shipped("mappings/salesforce.yaml")),
        StubAuth(),  # type: ignore[arg-type]
        on_secret=seen.append,
    )
    connector._login()
    assert seen == ["00Dxx!session-token-value"]
