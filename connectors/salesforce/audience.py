"""Survey audiences as Campaigns: one ``CampaignMember`` (``CampaignId``, ``ContactId``) per contact.

An org refuses a second member for the same contact with ``DUPLICATE_VALUE``, which makes adding
naturally idempotent: a retry after a lost reply, or a second daemon that got there first, meets the
duplicate and answers with the member that already exists.

Removing is ``DELETE sobjects/CampaignMember/{id}`` of the member a query found. A 404 whose body is
Salesforce's own ``ENTITY_IS_DELETED`` or ``NOT_FOUND`` means the member is already gone (a retry of a
delete whose reply was lost, or a person who removed it meanwhile): nothing was removed, which is no error.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from simple_salesforce.exceptions import SalesforceMalformedRequest, SalesforceResourceNotFound
from simple_salesforce.format import format_soql

from connectors.base import ProtocolError
from connectors.salesforce.errors import crm_error

if TYPE_CHECKING:
    from simple_salesforce.api import Salesforce

DUPLICATE = "DUPLICATE_VALUE"
GONE = frozenset({"ENTITY_IS_DELETED", "NOT_FOUND"})


def member_query(campaign_id: str, contact_id: str) -> str:
    """The SOQL that finds the contact's membership of the campaign."""
    return format_soql(
        "SELECT Id FROM CampaignMember WHERE CampaignId = {} AND ContactId = {} LIMIT 1",
        campaign_id,
        contact_id,
    )


def member_id(records: list[dict[str, Any]]) -> str | None:
    """The id of the first member found, if any."""
    for record in records:
        value = record.get("Id") if isinstance(record, dict) else None
        if isinstance(value, str) and value:
            return value
    return None


def member_body(campaign_id: str, contact_id: str, status: str | None) -> dict[str, Any]:
    """A new member; without a status the campaign's default member status applies."""
    body: dict[str, Any] = {"CampaignId": campaign_id, "ContactId": contact_id}
    if status is not None:
        body["Status"] = status
    return body


def create_member(sf: Salesforce, body: dict[str, Any]) -> str | None:
    """POST the member; its id, or ``None`` when the org says it already exists.

    Runs inside the connector's attempt, so the duplicate is read from the client's exception here,
    before the generic translation would turn a 400 into a protocol error.
    """
    try:
        answer = sf.restful("sobjects/CampaignMember", method="POST", json=body)
    except SalesforceMalformedRequest as exc:
        if crm_error(exc.content)[0] == DUPLICATE:
            return None
        raise
    new_id = answer.get("id") if isinstance(answer, dict) else None
    if not isinstance(new_id, str) or not new_id:
        raise ProtocolError("Salesforce created a campaign member but answered without its id")
    return new_id


def delete_member(sf: Salesforce, member_id: str) -> bool:
    """DELETE the member: True when it was deleted now, False when Salesforce says it is already gone.

    Runs inside the connector's attempt, so the 404 is read from the client's exception here; a 404 without
    Salesforce's own error code (a proxy, a wrong instance URL) is left to the generic translation.
    """
    try:
        sf.restful(f"sobjects/CampaignMember/{quote(member_id, safe='')}", method="DELETE")
    except SalesforceResourceNotFound as exc:
        if crm_error(exc.content)[0] in GONE:
            return False
        raise
    return True
