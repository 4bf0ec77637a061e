"""The HubSpot connector: pull (search, then archived), describe, usage; and the write side.

The write side is delegated: :mod:`connectors.hubspot.writes` (batched field updates),
:mod:`connectors.hubspot.notes` (keyed notes), :mod:`connectors.hubspot.audience` (list members).

A pull runs in two phases, each resumable from the token of the last page it yielded:

1. **search** (``POST /crm/v3/objects/{type}/search``): keyset pages of 200 sorted by
   ``hs_object_id`` (see :mod:`connectors.hubspot.search`), contacts completed with their company
   through the v4 associations API;
2. **archived** (``GET /crm/v3/objects/{type}?archived=true``): search omits archived records, so
   the list API names them, and those archived at or after ``since`` come back as tombstones.

Search lags recent writes: the engine's overlap window passes an earlier ``since``, and nothing here
assumes ``since`` is exact.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import structlog

from connectors.base import ApiUsage, CrmRecord, ObjectKind, ObjectSchema, Page, ProtocolError
from connectors.hubspot.associations import AssociationReader
from connectors.hubspot.audience import Audiences
from connectors.hubspot.client import HubSpotApis, Transport
from connectors.hubspot.describe import object_schema
from connectors.hubspot.notes import NoteStore
from connectors.hubspot.ratelimit import RateLimiter
from connectors.hubspot.records import to_records, to_tombstones
from connectors.hubspot.search import (
    ARCHIVED_PAGE_LIMIT,
    OBJECT_ID,
    PAGE_LIMIT,
    Cursor,
    check_scope,
    has_more,
    last_id,
    modified_property,
    parse_resume,
    properties_to_read,
    search_request,
)
from connectors.hubspot.writes import BatchWriter
from connectors.retry import RetryPolicy
from sync_daemon.config.models import LinkByAssociation

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence
    from pathlib import Path

    from connectors.base import Note, NoteRef, RecordUpdate, WriteResult
    from sync_daemon.config.models import MappingFile, ObjectMapping

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class _Query:
    """What every search page of one pull shares."""

    kind: ObjectKind
    mapping: ObjectMapping
    modified: str
    fields: dict[str, str]
    properties: list[str]


class HubSpotConnector:
    """Reads and writes companies (accounts) and contacts of one HubSpot account.

    ``timezone`` is the account's time zone (the daily budget resets at its midnight); ``clock`` is
    the wall clock used for that, injectable for tests.
    """

    crm = "hubspot"

    def __init__(
        self,
        mapping: MappingFile,
        access_token: str,
        *,
        base_url: str = "https://api.hubapi.com",
        timeout: float = 30.0,
        ca_bundle: Path | None = None,
        retry: RetryPolicy | None = None,
        limiter: RateLimiter | None = None,
        timezone: str = "UTC",
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        """Build the client objects once; ``ValueError`` for a scope HubSpot cannot search."""
        if mapping.crm != "hubspot":
            raise ValueError(f"a {mapping.crm} mapping file cannot drive the HubSpot connector")
        check_scope(mapping.accounts.scope, mapping.accounts.object)
        check_scope(mapping.contacts.scope, mapping.contacts.object)
        self._mapping = mapping
        self._limiter = limiter or RateLimiter.for_tier("free")
        self._apis = HubSpotApis(access_token, base_url=base_url, ca_bundle=ca_bundle)
        self._transport = Transport(
            timeout=timeout,
            retry=retry or RetryPolicy(),
            limiter=self._limiter,
            tz=ZoneInfo(timezone),
            clock=clock,
        )
        link = mapping.contacts.link
        primary_only = link.primary_only if isinstance(link, LinkByAssociation) else False
        self._associations = AssociationReader(self._apis.associations, self._transport, primary_only=primary_only)
        self._reported_calls = 0
        self._writer = BatchWriter(self._apis, self._transport, mapping)
        self._notes = NoteStore(self._apis, self._transport, clock or (lambda: datetime.now(UTC)))
        self._audiences = Audiences(self._apis, self._transport)

    # -- pull ---------------------------------------------------------------------------------

    def pull(self, kind: ObjectKind, since: datetime | None, resume: str | None = None) -> Iterator[Page]:
        """Pages of ``kind`` modified at or after ``since``, then tombstones of archived records."""
        cursor = parse_resume(resume)  # a bad token fails here, before any call
        return self._pull(kind, since, cursor)

    def _pull(self, kind: ObjectKind, since: datetime | None, cursor: Cursor) -> Iterator[Page]:
        self._reported_calls = self._transport.calls
        if cursor.phase == "search":
            yield from self._search_pages(kind, since, cursor.after_id)
            cursor = Cursor("archived")
        yield from self._archived_pages(kind, since, cursor.position)

    def _object(self, kind: ObjectKind) -> ObjectMapping:
        return self._mapping.accounts if kind == "accounts" else self._mapping.contacts

    def _page(self, kind: ObjectKind, records: list[CrmRecord], resume: str | None, total: int | None = None) -> Page:
        """A page carrying the calls spent since the previous one."""
        calls = self._transport.calls - self._reported_calls
        self._reported_calls = self._transport.calls
        log.info(
            "crm.page_pulled",
            crm=self.crm,
            kind=kind,
            records=len(records),
            resume=resume,
            api_calls=calls,
        )
        return Page(kind=kind, records=records, resume=resume, api_calls=calls, total=total)

    def _search_pages(self, kind: ObjectKind, since: datetime | None, after_id: int | None) -> Iterator[Page]:
        query = self._query(kind)
        first = True
        while True:
            records, next_id, total = self._search_once(query, since, after_id)
            total, first = (total if first else None), False  # the first search's total is the pull's
            if next_id is None:
                if records:
                    yield self._page(kind, records, Cursor("archived").token(), total)
                return
            after_id = next_id
            yield self._page(kind, records, Cursor("search", str(after_id)).token(), total)

    def _query(self, kind: ObjectKind) -> _Query:
        obj = self._object(kind)
        modified = modified_property(obj.object)
        fields = self._mapping.pulled_fields(kind)
        return _Query(kind, obj, modified, fields, properties_to_read(fields.values(), modified))

    def _search_once(
        self, query: _Query, since: datetime | None, after_id: int | None
    ) -> tuple[list[CrmRecord], int | None, int | None]:
        """One keyset page: its records, the id to continue after (``None`` when done), the match count."""
        body = search_request(
            query.mapping.scope,
            modified=query.modified,
            since=since,
            after_id=after_id,
            properties=query.properties,
        )
        data = self._transport.call(self._searcher(query.kind, body), search=True)
        results = _results(data, "search")
        records = to_records(results, fields=query.fields, modified=query.modified, object_name=query.mapping.object)
        if query.kind == "contacts" and records:
            records = self._with_accounts(records)
        next_id = last_id(results)
        total = data.get("total") if isinstance(data.get("total"), int) else None
        if not has_more(data, len(results), PAGE_LIMIT):
            return records, None, total
        if next_id is None or (after_id is not None and next_id <= after_id):
            log.warning("crm.keyset_stalled", crm=self.crm, kind=query.kind, after_id=after_id)
            return records, None, total
        return records, next_id, total

    def _searcher(self, kind: ObjectKind, body: dict[str, Any]) -> Callable[..., Any]:
        api = self._apis.search_api(kind)
        return lambda **kw: api.do_search(body, **kw)

    def _with_accounts(self, records: list[CrmRecord]) -> list[CrmRecord]:
        companies = self._associations.companies_of([r.id for r in records])
        return [dataclasses.replace(r, account_id=companies.get(r.id)) for r in records]

    def _archived_pages(self, kind: ObjectKind, since: datetime | None, after: str | None) -> Iterator[Page]:
        obj = self._object(kind)
        while True:
            data = self._transport.call(self._archived_lister(kind, after))
            tombstones = to_tombstones(_results(data, "archived list"), since=since, object_name=obj.object)
            after = _next_after(data)
            if after is None:
                yield self._page(kind, tombstones, None)
                return
            if tombstones:
                yield self._page(kind, tombstones, Cursor("archived", after).token())

    def _archived_lister(self, kind: ObjectKind, after: str | None) -> Callable[..., Any]:
        api = self._apis.basic_api(kind)
        # "true", not True: the generated client would send Python's "True"
        return lambda **kw: api.get_page(
            limit=ARCHIVED_PAGE_LIMIT, after=after, archived="true", properties=[OBJECT_ID], **kw
        )

    # -- write side (connectors.base.Writer) ---------------------------------------------------

    def write(self, kind: ObjectKind, updates: Sequence[RecordUpdate]) -> Iterator[list[WriteResult]]:
        """Write push fields in batches of 100; ``ValueError`` (before any call) for a non-push field."""
        return self._writer.write(kind, updates)

    def ensure_note_key_property(self) -> None:
        """Create the notes' key property if the portal lacks it (checked once per connector)."""
        self._notes.ensure_key_property()

    def find_note(self, account_id: str, key: str) -> NoteRef | None:
        """The company's note with this key, read through associations (search lags writes)."""
        return self._notes.find(account_id, key)

    def create_note(self, note: Note) -> NoteRef:
        """Create the note on its company in one call; a lost reply is resolved by :meth:`find_note`."""
        return self._notes.create(note)

    def find_audience_member(self, audience_id: str, contact_id: str) -> str | None:
        """The contact id if the contact is in the HubSpot list ``audience_id``."""
        return self._audiences.find_member(audience_id, contact_id)

    def add_audience_member(self, audience_id: str, contact_id: str, status: str | None = None) -> str:
        """Add the contact to the list (idempotent); lists have no member status, so ``status`` is unused."""
        del status
        return self._audiences.add_member(audience_id, contact_id)

    def remove_audience_member(self, audience_id: str, contact_id: str) -> bool:
        """Take the contact out of the list in one call; False when it was not a member (nothing to remove)."""
        return self._audiences.remove_member(audience_id, contact_id)

    # -- describe, usage, close ---------------------------------------------------------------

    def describe(self, kind: ObjectKind) -> ObjectSchema:
        """The properties of ``kind``'s HubSpot object, normalised."""
        object_name = self._object(kind).object
        api = self._apis.properties
        data = self._transport.call(lambda **kw: api.get_all(object_name, **kw))
        return object_schema(object_name, _results(data, "properties"))

    def usage(self) -> ApiUsage:
        """Calls made here (retries included) and the daily figures HubSpot last reported."""
        limit, remaining = self._limiter.daily_limit, self._limiter.daily_remaining
        used = limit - remaining if limit is not None and remaining is not None else None
        return ApiUsage(calls=self._transport.calls, used=used, limit=limit)

    def close(self) -> None:
        """Release the pooled connections."""
        self._apis.close()


def _results(data: dict[str, Any], what: str) -> list[Any]:
    results = data.get("results")
    if not isinstance(results, list):
        raise ProtocolError(f"HubSpot {what} answer has no results list")
    return results


def _next_after(data: dict[str, Any]) -> str | None:
    paging = data.get("paging")
    nxt = paging.get("next") if isinstance(paging, dict) else None
    after = nxt.get("after") if isinstance(nxt, dict) else None
    return str(after) if after else None
