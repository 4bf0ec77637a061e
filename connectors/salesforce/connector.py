"""The Salesforce connector: incremental pulls, describe, API usage, and the write side.

Every HTTP call runs under the one :class:`~connectors.retry.RetryPolicy`; client exceptions are
translated inside the retried callable, so only :class:`~connectors.base.RetriableError` is retried
and everything else propagates at once. An expired session (401) is renewed once per call when the
auth can (``reauths`` counts it); a ready token cannot be renewed and ends in ``AuthError``.

Pulls go through ``queryAll`` (deleted records arrive as tombstones) ordered by
``(SystemModstamp, Id)``. Each page carries a keyset resume token, which is also how an expired
query locator is recovered: the query restarts right after the last record delivered.

Writes (:class:`~connectors.base.Writer`) are delegated: field updates to :mod:`.writes`, notes to
:mod:`.notes`, campaign membership to :mod:`.audience`, canonical values to :mod:`.wire`.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

import structlog
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import SalesforceExpiredSession

from connectors.base import (
    ApiUsage,
    AuthError,
    ConnectorError,
    CrmRecord,
    ObjectKind,
    Page,
    ProtocolError,
)
from connectors.retry import RetryPolicy
from connectors.salesforce import audience, notes
from connectors.salesforce.describe import object_schema
from connectors.salesforce.errors import QueryLocatorExpiredError, SessionExpiredError, translate
from connectors.salesforce.http import SalesforceHttpSession
from connectors.salesforce.records import ObjectPlan, SkipRecord, record_key, to_record
from connectors.salesforce.soql import Keyset, pull_query
from connectors.salesforce.writes import WritePlan, write_updates

if TYPE_CHECKING:
    from collections.abc import Callable, Generator, Iterator, Sequence
    from datetime import datetime
    from pathlib import Path

    from connectors.base import Note, NoteRef, ObjectSchema, RecordUpdate, WriteResult
    from connectors.salesforce.auth import SalesforceAuth
    from sync_daemon.config.models import MappingFile

T = TypeVar("T")
log = structlog.get_logger(__name__)

_MIN_BATCH, _MAX_BATCH = 200, 2000
_MAX_STALLED_RESTARTS = 3
_READY_SESSION_REFUSED = (
    "SALESFORCE_ACCESS_TOKEN was refused or expired; a ready token cannot be renewed"
    " — use JWT bearer or client credentials"
)


class SalesforceConnector:
    """Reads accounts and contacts from one Salesforce org and writes the daemon's own fields back."""

    crm = "salesforce"

    def __init__(
        self,
        mapping: MappingFile,
        auth: SalesforceAuth,
        *,
        api_version: str = "62.0",
        timeout: float = 30.0,
        ca_bundle: Path | None = None,
        retry: RetryPolicy | None = None,
        page_size: int = 2000,
        on_secret: Callable[[str], None] | None = None,
    ) -> None:
        """Check the mapping and page size; no I/O happens until the first call.

        ``on_secret`` is told every session token a login returns, so the caller's log redaction can hide it.
        """
        if mapping.crm != "salesforce":
            raise ValueError(f"the Salesforce connector needs a salesforce mapping, not {mapping.crm}")
        if not _MIN_BATCH <= page_size <= _MAX_BATCH:
            raise ValueError(f"page_size must be {_MIN_BATCH}..{_MAX_BATCH} (Salesforce batchSize)")
        self._plans = {kind: ObjectPlan.from_mapping(mapping, kind) for kind in ("accounts", "contacts")}
        self._writes = {kind: WritePlan.from_mapping(mapping, kind) for kind in ("accounts", "contacts")}
        self._auth = auth
        self._api_version = api_version.removeprefix("v")
        self._session = SalesforceHttpSession(timeout=timeout, ca_bundle=ca_bundle)
        self._retry = retry or RetryPolicy()
        self._query_headers = {"Sforce-Query-Options": f"batchSize={page_size}"}
        self._sf: Salesforce | None = None
        self._on_secret = on_secret
        self.reauths = 0
        self.skipped = 0

    # -- session -----------------------------------------------------------------------------

    def _login(self) -> Salesforce:
        """Log in through the auth and wrap the session in a simple-salesforce client."""
        try:
            session = self._auth.login(self._session)
        except Exception as exc:
            mapped = translate(exc, retry_after=self._session.last_retry_after)
            if not isinstance(mapped, ConnectorError):
                raise
            raise mapped from None
        if self._on_secret is not None:
            self._on_secret(session.access_token)
        return Salesforce(
            instance_url=session.instance_url,
            session_id=session.access_token,
            session=self._session,
            version=self._api_version,
        )

    def _client(self) -> Salesforce:
        if self._sf is None:
            self._sf = self._login()
        return self._sf

    def _reauthenticate(self) -> Salesforce:
        """Replace an expired session; a ready token cannot be replaced."""
        if not self._auth.can_refresh:
            raise AuthError(_READY_SESSION_REFUSED)
        self._sf = None
        client = self._client()
        self.reauths += 1
        log.info("crm.reauthenticated", crm=self.crm, reauths=self.reauths)
        return client

    def _attempt(self, op: Callable[[Salesforce], T]) -> T:
        """One try of ``op``: renew an expired session once, translate whatever else fails."""
        try:
            try:
                return op(self._client())
            except SalesforceExpiredSession:
                return op(self._reauthenticate())
        except Exception as exc:
            mapped = translate(exc, retry_after=self._session.last_retry_after)
            if isinstance(mapped, SessionExpiredError):
                mapped = AuthError(f"Salesforce refused a freshly issued session ({mapped})")
            if not isinstance(mapped, ConnectorError):
                raise
            # ``from None``: the client's exception text carries URLs and bodies (see errors.py).
            raise mapped from None

    def _call(self, op: Callable[[Salesforce], T]) -> T:
        """Run ``op`` under the retry policy."""
        return self._retry.call(lambda: self._attempt(op))

    # -- pull --------------------------------------------------------------------------------

    def pull(self, kind: ObjectKind, since: datetime | None, resume: str | None = None) -> Iterator[Page]:
        """Stream pages of ``kind`` modified at or after ``since`` (after ``resume`` if given)."""
        if since is not None and since.tzinfo is None:
            raise ValueError("since must be timezone-aware")
        plan = self._plans[kind]
        after = Keyset.decode(resume) if resume else None
        stalled = 0
        while True:
            start = after
            restart, after = yield from self._query_pages(plan, since, after)
            if restart is None:
                return
            stalled = stalled + 1 if after == start else 0
            if stalled >= _MAX_STALLED_RESTARTS:
                raise ProtocolError(f"Salesforce query locators keep expiring on {plan.object_name}")
            log.warning("crm.query_restarted", crm=self.crm, object=plan.object_name, reason=restart)

    def _query_pages(
        self, plan: ObjectPlan, since: datetime | None, after: Keyset | None
    ) -> Generator[Page, None, tuple[str | None, Keyset | None]]:
        """Pages of one query and its ``nextRecordsUrl`` chain.

        Returns why the query must restart (an expired locator), or ``None`` when it is complete,
        with the cursor after the last record delivered.
        """
        soql = pull_query(plan.object_name, plan.select(), plan.scope, since, after)
        mark = self._session.calls
        result = self._call(lambda sf: sf.query(soql, include_deleted=True, headers=self._query_headers))
        total = result.get("totalSize") if isinstance(result, dict) else None
        while True:
            records, next_url = _query_result(result, plan.object_name)
            converted, after = self._convert(plan, records, after)
            calls = self._session.calls - mark
            log.info(
                "crm.page_pulled",
                crm=self.crm,
                kind=plan.kind,
                records=len(converted),
                api_calls=calls,
            )
            yield Page(plan.kind, converted, after.encode() if after else None, calls, total=total)
            total = None  # only the query's first page knows it
            if next_url is None:
                return None, after
            mark = self._session.calls
            try:
                result = self._call(partial(self._more, next_url=next_url))
            except QueryLocatorExpiredError as exc:
                return str(exc), after

    def _more(self, sf: Salesforce, next_url: str) -> Any:
        return sf.query_more(next_url, identifier_is_url=True, include_deleted=True, headers=self._query_headers)

    def _convert(
        self, plan: ObjectPlan, records: list[Any], after: Keyset | None
    ) -> tuple[list[CrmRecord], Keyset | None]:
        """Convert one page's records.

        Malformed records are logged and counted. Records the cursor already covers (an older
        timestamp, or the cursor's own record) are dropped; ties on the timestamp are otherwise
        left to Salesforce's own Id order, which need not match Python's string order.
        """
        out: list[CrmRecord] = []
        for raw in records:
            try:
                key = record_key(raw)
            except SkipRecord as skip:
                self.skipped += 1
                log.warning(
                    "crm.record_skipped",
                    crm=self.crm,
                    object=plan.object_name,
                    record_id=skip.record_id,
                    reason=skip.reason,
                )
                continue
            if after is not None and (key.modstamp < after.modstamp or key == after):
                continue
            out.append(to_record(plan, raw, key))
            after = key
        return out, after

    # -- write -------------------------------------------------------------------------------

    def write(self, kind: ObjectKind, updates: Sequence[RecordUpdate]) -> Iterator[list[WriteResult]]:
        """Push-field updates in batches of 200: one call each, plus lock rounds (see writes.py)."""
        return write_updates(self._writes[kind], updates, self._send_collection, self._retry)

    def _send_collection(self, body: dict[str, Any]) -> Any:
        """One try of ``PATCH composite/sobjects`` (the batch's retries are run by writes.py)."""
        return self._attempt(lambda sf: sf.restful("composite/sobjects", method="PATCH", json=body))

    def _send_composite(self, body: dict[str, Any]) -> Any:
        """One try of ``POST composite`` (notes.py decides about retries)."""
        return self._attempt(lambda sf: sf.restful("composite", method="POST", json=body))

    def _query(self, soql: str) -> list[Any]:
        """Every record a (small) query matches, all pages, under the retry policy."""
        return _query_result(self._call(lambda sf: sf.query_all(soql)), "a lookup")[0]

    def _query_once(self, soql: str) -> list[Any]:
        """The same, as a single try (for use inside an attempt the policy already retries)."""
        return _query_result(self._attempt(lambda sf: sf.query_all(soql)), "a lookup")[0]

    def find_note(self, account_id: str, key: str) -> NoteRef | None:
        """The ContentNote on the account whose title carries the key's reference."""
        return notes.find_note(self._query, account_id, key)

    def create_note(self, note: Note) -> NoteRef:
        """ContentNote and its ContentDocumentLink in one /composite call; retries look up first."""
        return notes.create_note(
            note,
            api_version=self._api_version,
            send=self._send_composite,
            query=self._query_once,
            retry=self._retry,
        )

    def find_audience_member(self, audience_id: str, contact_id: str) -> str | None:
        """The CampaignMember id of the contact in the campaign, if there is one."""
        return audience.member_id(self._query(audience.member_query(audience_id, contact_id)))

    def add_audience_member(self, audience_id: str, contact_id: str, status: str | None = None) -> str:
        """Create the CampaignMember; a DUPLICATE_VALUE answer returns the existing member's id."""
        body = audience.member_body(audience_id, contact_id, status)
        created = self._call(lambda sf: audience.create_member(sf, body))
        if created is not None:
            return created
        existing = self.find_audience_member(audience_id, contact_id)
        if existing is None:
            raise ProtocolError("Salesforce called the campaign member a duplicate, but no member was found")
        return existing

    def remove_audience_member(self, audience_id: str, contact_id: str) -> bool:
        """Delete the contact's CampaignMember, found by the same query as :meth:`find_audience_member`.

        False when there is none, or when the DELETE answers 404 because it is already gone (a retried DELETE
        whose first reply was lost, or a person who removed it in between): either way no member is left.
        """
        member = self.find_audience_member(audience_id, contact_id)
        if member is None:
            return False
        removed = self._call(lambda sf: audience.delete_member(sf, member))
        log.info("crm.audience_member_removed", crm=self.crm, campaign_id=audience_id, contact_id=contact_id,
                 member_id=member, removed=removed)  # fmt: skip
        return removed

    # -- describe and usage ------------------------------------------------------------------

    def describe(self, kind: ObjectKind) -> ObjectSchema:
        """The org's describe of the object mapped to ``kind`` (one API call)."""
        name = self._plans[kind].object_name
        answer = self._call(lambda sf: sf.restful(f"sobjects/{name}/describe"))
        return object_schema(name, answer)

    def usage(self) -> ApiUsage:
        """Calls this process made, and the org's daily usage per the last ``Sforce-Limit-Info``.

        Read from our session rather than ``sf.api_usage``: the session also sees error answers
        (a 403 limit refusal) and survives the client being rebuilt after a re-login.
        """
        parsed = Salesforce.parse_api_usage(self._session.limit_info or "")
        daily = parsed.get("api-usage")
        if daily is None:
            return ApiUsage(calls=self._session.calls)
        return ApiUsage(calls=self._session.calls, used=daily.used, limit=daily.total)

    def close(self) -> None:
        """Close the HTTP session's connections."""
        self._session.close()


def _query_result(result: Any, object_name: str) -> tuple[list[Any], str | None]:
    """``records`` and the next page's URL of a query answer, or a protocol error."""
    if not isinstance(result, dict) or not isinstance(result.get("records"), list):
        raise ProtocolError(f"Salesforce query on {object_name} answered without a record list")
    if result.get("done", True):
        return result["records"], None
    next_url = result.get("nextRecordsUrl")
    if not isinstance(next_url, str) or not next_url.startswith("/"):
        raise ProtocolError(f"Salesforce query on {object_name} is not done but has no nextRecordsUrl")
    return result["records"], next_url
