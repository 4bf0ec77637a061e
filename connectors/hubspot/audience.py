"""Survey audiences as HubSpot lists: membership of a contact, added and removed idempotently.

A survey tool sends to a MANUAL (or SNAPSHOT) contact list; the daemon adds the contact with
``PUT /crm/v3/lists/{listId}/memberships/add`` (a JSON array of record ids). Adding a member twice
is a no-op in HubSpot, so the add is idempotent and the transport may retry it freely. The
membership's id is the contact id: a list membership has no id of its own.

Removing is ``PUT /crm/v3/lists/{listId}/memberships/remove`` with the same body. HubSpot ignores a
record that is not a member and answers 200 with ``recordIdsRemoved`` naming the ones it took out, so
the remove is idempotent too, and one call tells whether there was a membership (no lookup first).

Finding a member pages through ``GET /crm/v3/lists/{listId}/memberships`` (250 a page). HubSpot
sorts that listing by record id, ascending, when paging forward, so the walk stops as soon as it
passes the contact's id.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import structlog

from connectors.base import RecordError

if TYPE_CHECKING:
    from collections.abc import Mapping

    from connectors.hubspot.client import HubSpotApis, Transport

log = structlog.get_logger(__name__)

PAGE_LIMIT = 250


def member_ids(data: Mapping[str, Any]) -> list[str]:
    """The record ids of one memberships page."""
    return [
        str(r["recordId"]) for r in data.get("results") or [] if isinstance(r, dict) and r.get("recordId") is not None
    ]


def next_after(data: Mapping[str, Any]) -> str | None:
    """The paging token of the next page, if any."""
    paging = data.get("paging")
    nxt = paging.get("next") if isinstance(paging, dict) else None
    after = nxt.get("after") if isinstance(nxt, dict) else None
    return str(after) if after else None


def passed(ids: list[str], contact_id: str) -> bool:
    """Whether an ascending page already went beyond ``contact_id`` (numeric ids only)."""
    if not ids or not contact_id.isdigit() or not ids[-1].isdigit():
        return False
    return int(ids[-1]) > int(contact_id)


class Audiences:
    """List memberships through the lists API object, built once in :class:`HubSpotApis`."""

    def __init__(self, apis: HubSpotApis, transport: Transport) -> None:
        """Call through ``apis.memberships`` under ``transport``."""
        self._api = apis.memberships
        self._transport = transport

    def find_member(self, list_id: str, contact_id: str) -> str | None:
        """The contact id when the contact is in the list, else ``None``."""
        after: str | None = None
        seen: set[str] = set()
        while True:
            data = self._page(list_id, after)
            ids = member_ids(data)
            if contact_id in ids:
                return contact_id
            after = next_after(data)
            if after is None or after in seen or passed(ids, contact_id):
                return None
            seen.add(after)

    def _page(self, list_id: str, after: str | None) -> dict[str, Any]:
        api = self._api
        return self._transport.call(lambda **kw: api.get_page(list_id, after=after, limit=PAGE_LIMIT, **kw))

    def add_member(self, list_id: str, contact_id: str) -> str:
        """Add the contact (a no-op when it is a member already); ``RecordError`` if it does not exist."""
        api = self._api
        data = self._transport.call(lambda **kw: api.add(list_id, [contact_id], **kw))
        missing = [str(i) for i in data.get("recordIdsMissing") or []]
        if contact_id in missing:
            raise RecordError(contact_id, "OBJECT_NOT_FOUND", f"contact {contact_id} does not exist in HubSpot")
        log.info("crm.audience_member_added", crm="hubspot", list_id=list_id, contact_id=contact_id)
        return contact_id

    def remove_member(self, list_id: str, contact_id: str) -> bool:
        """Take the contact out of the list: True when HubSpot removed it, False when it was not a member.

        A retry by the transport after a lost reply meets a list without the contact and answers False.
        """
        api = self._api
        data = self._transport.call(lambda **kw: api.remove(list_id, [contact_id], **kw))
        removed = contact_id in {str(i) for i in data.get("recordIdsRemoved") or []}
        log.info("crm.audience_member_removed", crm="hubspot", list_id=list_id, contact_id=contact_id, removed=removed)
        return removed
