"""The connector seam: the typed interface every CRM connector implements.

It is a :class:`typing.Protocol` so that a fake needs no inheritance. A connector reads (pull, describe,
usage); the write side arrives with the push issue. Records cross the seam already translated to the
mapping's *canonical* field names, so nothing outside a connector learns a CRM field name.

Exception tree (what the caller should do, after Singer SDK's grouping)::

    ConnectorError
    +-- RetriableError        transient (429, 5xx, timeouts, resets, lock errors); the retry policy
    |                         handles these and only surfaces one when its budget is spent
    +-- BudgetExhaustedError  the CRM's daily API budget is spent: park work until ``resume_at``
    +-- AuthError             credentials refused or expired beyond refresh: fatal for the cycle
    +-- AccessDeniedError      the integration user may not do this: fatal, names the object/field
    +-- RecordError           one record is bad; keep the CRM's code and message, go on
    +-- ProtocolError         the CRM answered something we cannot read (garbage, missing keys)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, Protocol, runtime_checkable

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping
    from datetime import datetime

ObjectKind = Literal["accounts", "contacts"]
OBJECT_KINDS: tuple[ObjectKind, ...] = ("accounts", "contacts")

# Field types normalised across CRMs, used by ``validate --remote`` to check that a mapped field fits.
FieldType = Literal[
    "id",
    "string",
    "text",
    "email",
    "phone",
    "url",
    "number",
    "integer",
    "currency",
    "percent",
    "boolean",
    "date",
    "datetime",
    "picklist",
    "multipicklist",
    "reference",
    "other",
]


@dataclass(frozen=True, slots=True)
class CrmRecord:
    """One account or contact as pulled, with canonical field names.

    ``fields`` holds only what the mapping pulls (canonical name to the CRM's value, unconverted).
    ``account_id`` is the contact-to-account link (contacts only). ``merged_ids`` lists records the
    CRM merged into this one: the store retires them. ``deleted`` marks a record the CRM deleted or
    archived: it arrives once as a tombstone so the store can retire it.
    """

    id: str
    modified_at: datetime
    fields: Mapping[str, object] = field(default_factory=dict)
    deleted: bool = False
    account_id: str | None = None
    merged_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Page:
    """One page of a pull, small enough to hold in memory and commit in one transaction.

    ``resume`` is an opaque token that, passed back to :meth:`Connector.pull` with the same ``since``,
    continues the pull right after this page (so a crash or a spent budget loses at most a page).
    ``api_calls`` counts the HTTP calls spent producing this page (retries included). ``total`` is how
    many records the CRM said match, on the first page of a query when it says (for progress bars).
    """

    kind: ObjectKind
    records: list[CrmRecord]
    resume: str | None
    api_calls: int = 1
    total: int | None = None


@dataclass(frozen=True, slots=True)
class FieldInfo:
    """What the CRM says about one field (Salesforce describe, HubSpot properties)."""

    name: str
    type: FieldType
    crm_type: str
    updateable: bool
    length: int | None = None
    options: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ObjectSchema:
    """The fields of one CRM object, by CRM field name."""

    object_name: str
    fields: Mapping[str, FieldInfo]


@dataclass(frozen=True, slots=True)
class ApiUsage:
    """API usage as last reported by the CRM, plus what this process spent.

    ``used``/``limit`` are the CRM's daily figures when it reports them (Salesforce
    ``Sforce-Limit-Info``, HubSpot ``X-HubSpot-RateLimit-Daily*``), else ``None``.
    """

    calls: int
    used: int | None = None
    limit: int | None = None

    @property
    def remaining(self) -> int | None:
        """Calls left in the CRM's daily budget, when known."""
        if self.used is None or self.limit is None:
            return None
        return max(self.limit - self.used, 0)


@runtime_checkable
class Connector(Protocol):
    """The read side of a CRM, as the engine uses it."""

    crm: str

    def pull(self, kind: ObjectKind, since: datetime | None, resume: str | None = None) -> Iterator[Page]:
        """Stream the records of ``kind`` modified at or after ``since`` (all when ``None``).

        Pages come in a stable order; deleted/archived records in scope come as tombstones.
        """
        ...

    def describe(self, kind: ObjectKind) -> ObjectSchema:
        """Return the CRM's schema of the object mapped to ``kind``."""
        ...

    def usage(self) -> ApiUsage:
        """Return API usage as last seen."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


class ConnectorError(Exception):
    """Base of every error a connector raises; messages never carry secrets."""


class RetriableError(ConnectorError):
    """A transient failure: retry after ``retry_after`` seconds when the CRM said so."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class BudgetExhaustedError(ConnectorError):
    """The daily API budget is spent; work is parked until ``resume_at`` (UTC) when known."""

    def __init__(self, message: str, *, resume_at: datetime | None = None) -> None:
        super().__init__(message)
        self.resume_at = resume_at


class AuthError(ConnectorError):
    """The CRM refused the credentials, or a session expired and cannot be renewed."""


class AccessDeniedError(ConnectorError):
    """The integration user lacks access to an object or field."""


class RecordError(ConnectorError):
    """The CRM rejected one record; ``code`` and ``message`` are the CRM's own."""

    def __init__(self, record_id: str, code: str, message: str) -> None:
        super().__init__(f"{record_id}: {code}: {message}")
        self.record_id = record_id
        self.code = code
        self.message = message


class ProtocolError(ConnectorError):
    """The CRM answered something unreadable (not JSON, missing keys, wrong types)."""
