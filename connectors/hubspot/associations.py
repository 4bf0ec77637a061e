"""Contact -> company links through the v4 associations batch read.

Search omits associations, so after each contacts page we ask
``POST /crm/v4/associations/contacts/companies/batch/read`` for up to 1,000 ids at once. The answer
pages *per id* (``paging.next.after`` on that id's result): ids with more associations are asked for
again with their ``after`` until none is left. The account of a contact is its primary company
(type id 1, label ``Primary``), else the lowest company id, so the choice is stable between pulls.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    from connectors.hubspot.client import Transport

BATCH_LIMIT = 1000
PRIMARY_TYPE_ID = 1


def is_primary(target: Mapping[str, Any]) -> bool:
    """Whether an association target carries the primary association type."""
    for kind in target.get("associationTypes") or []:
        if not isinstance(kind, dict):
            continue
        label = str(kind.get("label") or "").lower()
        if label == "primary" or (kind.get("typeId") == PRIMARY_TYPE_ID and kind.get("category") == "HUBSPOT_DEFINED"):
            return True
    return False


def _target_id(target: Mapping[str, Any]) -> int | None:
    try:
        return int(str(target.get("toObjectId")))
    except ValueError:
        return None


def pick_company(targets: Iterable[Mapping[str, Any]], *, primary_only: bool = False) -> str | None:
    """The primary company of a contact, else the lowest id (unless ``primary_only``)."""
    primary: list[int] = []
    others: list[int] = []
    for target in targets:
        ident = _target_id(target)
        if ident is not None:
            (primary if is_primary(target) else others).append(ident)
    if primary:
        return str(min(primary))
    if others and not primary_only:
        return str(min(others))
    return None


def merge_answer(data: Mapping[str, Any], collected: dict[str, list[Mapping[str, Any]]]) -> dict[str, str]:
    """Add one answer's targets to ``collected``; return the ids with more pages (id -> after)."""
    pending: dict[str, str] = {}
    for result in data.get("results") or []:
        if not isinstance(result, dict):
            continue
        source = result.get("from")
        ident = str(source.get("id")) if isinstance(source, dict) else None
        if ident is None:
            continue
        targets = [t for t in result.get("to") or [] if isinstance(t, dict)]
        collected.setdefault(ident, []).extend(targets)
        paging = result.get("paging")
        after = paging.get("next", {}).get("after") if isinstance(paging, dict) else None
        if after:
            pending[ident] = str(after)
    return pending


class AssociationReader:
    """Reads the company of each contact, following the per-id paging."""

    def __init__(self, api: Any, transport: Transport, *, primary_only: bool = False) -> None:
        """Read through ``api`` (the v4 batch API) under the transport's limiter and retries."""
        self._api = api
        self._transport = transport
        self._primary_only = primary_only

    def companies_of(self, contact_ids: Sequence[str]) -> dict[str, str | None]:
        """Contact id to its company id (``None`` without one)."""
        collected: dict[str, list[Mapping[str, Any]]] = {}
        for start in range(0, len(contact_ids), BATCH_LIMIT):
            inputs: list[dict[str, str]] = [{"id": i} for i in contact_ids[start : start + BATCH_LIMIT]]
            asked: set[tuple[str, str]] = set()
            while inputs:
                pending = merge_answer(self._read(inputs), collected)
                # an ``after`` seen before would loop forever: a server bug, not more data
                inputs = [{"id": i, "after": a} for i, a in pending.items() if (i, a) not in asked]
                asked.update((i, a) for i, a in pending.items())
        return {i: pick_company(collected.get(i, []), primary_only=self._primary_only) for i in contact_ids}

    def _read(self, inputs: list[dict[str, str]]) -> dict[str, Any]:
        body = {"inputs": inputs}
        return self._transport.call(lambda **kw: self._api.get_page("contacts", "companies", body, **kw))
