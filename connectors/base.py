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
    from collections.abc import Iterator, Mapping, Sequence
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


@dataclass(frozen=True, slots=True)
class RecordUpdate:
    """Daemon-owned field values to write on one record, by canonical name.

    Values are canonical Python values (``str``, ``int``, ``float``, ``bool``, ``datetime.date``,
    aware ``datetime.datetime``, ``list[str]`` for multi-select, ``None`` to clear); the connector
    converts them to its CRM's wire format.
    """

    id: str
    fields: Mapping[str, object]


@dataclass(frozen=True, slots=True)
class WriteResult:
    """The CRM's verdict on one record of a batch; ``code``/``message`` are the CRM's own on failure."""

    id: str
    ok: bool
    code: str | None = None
    message: str | None = None
    fields: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Note:
    """A note to attach to an account exactly once; ``key`` is the daemon's idempotency key.

    ``body`` is plain text (paragraphs separated by blank lines, ``- `` bullets); the connector escapes
    and formats it for its CRM, so nothing renders as raw markup.
    """

    key: str
    account_id: str
    title: str
    body: str


@dataclass(frozen=True, slots=True)
class NoteRef:
    """A note the CRM holds, found or created by key."""

    id: str
    key: str


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


@runtime_checkable
class Writer(Protocol):
    """The write side of a CRM, as the push engine and the outbox use it."""

    crm: str

    def write(self, kind: ObjectKind, updates: Sequence[RecordUpdate]) -> Iterator[list[WriteResult]]:
        """Write ``updates`` in the largest batches the CRM allows, yielding each batch's results.

        One result per update, in any order; a record the CRM rejects is a failed result (never an
        exception); transient failures are retried inside, and lock errors are retried per record.
        """
        ...

    def find_note(self, account_id: str, key: str) -> NoteRef | None:
        """The note with this idempotency key on the account, if the CRM already has it."""
        ...

    def create_note(self, note: Note) -> NoteRef:
        """Create the note attached to its account (one call where the CRM allows)."""
        ...

    def find_audience_member(self, audience_id: str, contact_id: str) -> str | None:
        """Whether the contact is in the survey audience (a Salesforce Campaign, a HubSpot list)."""
        ...

    def add_audience_member(self, audience_id: str, contact_id: str, status: str | None = None) -> str:
        """Add the contact to the audience; returns the membership's id (the contact id for lists)."""
        ...

    def remove_audience_member(self, audience_id: str, contact_id: str) -> bool:
        """Take the contact out of the audience: True when a membership was removed, False when there was none.

        Removing and adding again is how a survey audience that fires on "member added" reaches a contact who is
        already a member (a six-monthly assessment reuses its campaign or list). Removing what is already gone is
        not an error, so a retried remove is safe.
        """
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


@runtime_checkable
class CrmClient(Connector, Writer, Protocol):
    """A connector that reads and writes: what a full cycle needs."""
