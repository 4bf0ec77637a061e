"""The store's tables as typed SQLAlchemy 2 models.

The store is bookkeeping of what was pulled: accounts and contacts (keyed by CRM and id), a cursor
per object, and a run history; and of what was pushed: the values last written, the records the CRM
rejected, the outbox of exactly-once side effects, and per-CRM state (budget parking, safety valve);
and of onboarding plans: one plan per account, and when each of its tasks was first seen done; and of the
handoff: when each account first reached each adoption status, and the latest handoff decision per cycle.
The models are the reference the hand-written Alembic migrations must match (a test runs Alembic's
autogenerate comparison against them). Queries use the tables through Core (``table_for``) so that
a page is written in a few bulk statements.
"""

from __future__ import annotations

from datetime import date, datetime  # noqa: TC003 - SQLAlchemy resolves Mapped[...] at runtime
from typing import Any

from sqlalchemy import Boolean, Date, Float, ForeignKeyConstraint, Index, Integer, MetaData, String, Table, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from sync_daemon.store.types import JSONDocument, UTCDateTime

# Stable constraint names: Alembic autogenerate stays quiet and PostgreSQL names are predictable.
NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

CRM_LEN = 32
ID_LEN = 255
HASH_LEN = 64
PERSONA_LEN = 100
KIND_LEN = 32
FIELD_LEN = 255
KEY_LEN = 255
STATUS_LEN = 16
CHANNEL_LEN = 32
RUN_ID_LEN = 32


class Base(DeclarativeBase):
    """Declarative base carrying the naming convention."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class _RecordColumns:
    """Columns shared by accounts and contacts.

    ``content_hash`` covers fields, account link and deletion, never ``modified_at``: a CRM bumps
    its modstamp for system updates, and those must not count as changes.
    """

    crm: Mapped[str] = mapped_column(String(CRM_LEN), primary_key=True)
    id: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    fields: Mapped[dict[str, Any]] = mapped_column(JSONDocument, nullable=False)
    content_hash: Mapped[str] = mapped_column(String(HASH_LEN), nullable=False)
    modified_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    deleted: Mapped[bool] = mapped_column(Boolean(), nullable=False)
    merged_into: Mapped[str | None] = mapped_column(String(ID_LEN), nullable=True)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)


class Account(_RecordColumns, Base):
    """An account as last pulled."""

    __tablename__ = "accounts"


class Contact(_RecordColumns, Base):
    """A contact as last pulled, with its account link and the persona derived from its role."""

    __tablename__ = "contacts"
    __table_args__ = (Index("ix_contacts_crm_account_id", "crm", "account_id"),)

    account_id: Mapped[str | None] = mapped_column(String(ID_LEN), nullable=True)
    persona: Mapped[str | None] = mapped_column(String(PERSONA_LEN), nullable=True)


class Cursor(Base):
    """Where the incremental pull of one object stands."""

    __tablename__ = "cursors"

    crm: Mapped[str] = mapped_column(String(CRM_LEN), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    watermark: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    pull_since: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    resume: Mapped[str | None] = mapped_column(Text(), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)


class Run(Base):
    """One sync or demo cycle, for ``status`` and for operators."""

    __tablename__ = "runs"
    __table_args__ = (Index("ix_runs_started_at", "started_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    crm: Mapped[str] = mapped_column(String(CRM_LEN), nullable=False)
    command: Mapped[str] = mapped_column(String(32), nullable=False)
    dry_run: Mapped[bool] = mapped_column(Boolean(), nullable=False)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    counts: Mapped[dict[str, Any]] = mapped_column(JSONDocument, nullable=False)
    api_calls: Mapped[int] = mapped_column(Integer(), nullable=False)
    errors: Mapped[int] = mapped_column(Integer(), nullable=False)
    error_summary: Mapped[str | None] = mapped_column(Text(), nullable=True)


class PushedValue(Base):
    """The value the daemon last wrote to one field of one record (canonical, as JSON).

    Drift detection compares it with what the next pull finds: a difference means a person edited a
    daemon-owned field since the daemon wrote it.
    """

    __tablename__ = "pushed_values"

    crm: Mapped[str] = mapped_column(String(CRM_LEN), primary_key=True)
    kind: Mapped[str] = mapped_column(String(KIND_LEN), primary_key=True)
    record_id: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    field: Mapped[str] = mapped_column(String(FIELD_LEN), primary_key=True)
    value: Mapped[Any] = mapped_column(JSONDocument, nullable=False)
    written_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    run_id: Mapped[str | None] = mapped_column(String(RUN_ID_LEN), nullable=True)


class RecordErrorRow(Base):
    """The CRM's last rejection of one record, kept until the record is written successfully."""

    __tablename__ = "record_errors"
    __table_args__ = (Index("ix_record_errors_crm_status_code", "crm", "status", "code"),)

    crm: Mapped[str] = mapped_column(String(CRM_LEN), primary_key=True)
    kind: Mapped[str] = mapped_column(String(KIND_LEN), primary_key=True)
    record_id: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    code: Mapped[str] = mapped_column(String(FIELD_LEN), nullable=False)
    message: Mapped[str] = mapped_column(Text(), nullable=False)
    fields: Mapped[list[str]] = mapped_column(JSONDocument, nullable=False)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    attempts: Mapped[int] = mapped_column(Integer(), nullable=False)
    status: Mapped[str] = mapped_column(String(STATUS_LEN), nullable=False)
    run_id: Mapped[str | None] = mapped_column(String(RUN_ID_LEN), nullable=True)


class OutboxIntent(Base):
    """A side effect that must happen exactly once, stored before any API call.

    ``key`` is deterministic (the same decision always yields the same key), so enqueuing twice is a
    no-op and a worker that finds ``attempts > 1`` looks the key up in the CRM before acting again.
    """

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_status_priority_id", "status", "priority", "id"),)

    id: Mapped[int] = mapped_column(Integer(), primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(KEY_LEN), nullable=False, unique=True)
    crm: Mapped[str] = mapped_column(String(CRM_LEN), nullable=False)
    kind: Mapped[str] = mapped_column(String(KIND_LEN), nullable=False)
    priority: Mapped[int] = mapped_column(Integer(), nullable=False)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONDocument, nullable=False)
    status: Mapped[str] = mapped_column(String(STATUS_LEN), nullable=False)
    attempts: Mapped[int] = mapped_column(Integer(), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    not_before: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    claimed_by: Mapped[str | None] = mapped_column(String(KEY_LEN), nullable=True)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSONDocument, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text(), nullable=True)


class CrmState(Base):
    """Per-CRM switches that outlive a process: budget parking and the last safety-valve stop."""

    __tablename__ = "crm_state"

    crm: Mapped[str] = mapped_column(String(CRM_LEN), primary_key=True)
    parked_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    park_reason: Mapped[str | None] = mapped_column(Text(), nullable=True)
    safety_warning: Mapped[dict[str, Any] | None] = mapped_column(JSONDocument, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)


class Plan(Base):
    """An account's onboarding plan: its template, start, cycle, and the last evaluation (for ``plan list``).

    ``cycle`` counts the account's onboarding cycles (1 for the first); completions are kept per cycle, so a
    restarted onboarding starts with every task open while the earlier cycle stays on record.
    """

    __tablename__ = "plans"
    __table_args__ = (Index("ix_plans_crm_health", "crm", "health"),)

    crm: Mapped[str] = mapped_column(String(CRM_LEN), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    template_id: Mapped[str] = mapped_column(String(ID_LEN), nullable=False)
    template_revision: Mapped[int] = mapped_column(Integer(), nullable=False)
    start_date: Mapped[date] = mapped_column(Date(), nullable=False)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    status: Mapped[str] = mapped_column(String(STATUS_LEN), nullable=False)
    cycle: Mapped[int] = mapped_column(Integer(), nullable=False)
    progress: Mapped[float | None] = mapped_column(Float(), nullable=True)
    health: Mapped[str | None] = mapped_column(String(STATUS_LEN), nullable=True)
    slip_days: Mapped[int | None] = mapped_column(Integer(), nullable=True)
    projected_go_live: Mapped[date | None] = mapped_column(Date(), nullable=True)
    next_task: Mapped[str | None] = mapped_column(String(ID_LEN), nullable=True)
    next_task_due: Mapped[date | None] = mapped_column(Date(), nullable=True)
    current_phase: Mapped[str | None] = mapped_column(String(ID_LEN), nullable=True)
    evaluated_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class PlanTask(Base):
    """A task of one plan cycle seen done (or reopened by hand), with the evidence: date, source, note.

    ``done_on`` is the day it was first seen done and never moves while it stays done. ``reopened_at`` set
    means a person reopened it: it counts as open, and CRM evidence is ignored until it has been seen
    absent (``evidence_gone_at``) and then present again (see :mod:`sync_daemon.store.plans`).
    """

    __tablename__ = "plan_tasks"
    __table_args__ = (
        ForeignKeyConstraint(["crm", "account_id"], ["plans.crm", "plans.account_id"], ondelete="CASCADE"),
    )

    crm: Mapped[str] = mapped_column(String(CRM_LEN), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    cycle: Mapped[int] = mapped_column(Integer(), primary_key=True)
    task_id: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    done_on: Mapped[date] = mapped_column(Date(), nullable=False)
    source: Mapped[str] = mapped_column(String(STATUS_LEN), nullable=False)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    note: Mapped[str | None] = mapped_column(Text(), nullable=True)
    reopened_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    evidence_gone_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class AdoptionReached(Base):
    """The day an account was first seen at (or above) an adoption status; the date never moves once stored.

    Status names are the admin's (``config/handoff.yaml``); rows of a status later renamed stay as history.
    """

    __tablename__ = "adoption_reached"

    crm: Mapped[str] = mapped_column(String(CRM_LEN), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    status: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    reached_on: Mapped[date] = mapped_column(Date(), nullable=False)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)


class Handoff(Base):
    """The latest handoff decision of one account's onboarding cycle, with its evidence, and the handoff itself.

    The primary key makes the handoff happen once per account and cycle: ``handed_off_on`` is set by one
    conditional UPDATE (only while it is null), together with ``note_key``, the outbox key of the handoff note,
    and ``note_text``, the note as sent (the account's long-text field keeps showing that text). An at-risk
    cycle that was restarted keeps its row, with ``restarted_on``; the restart is the plan's next cycle.
    """

    __tablename__ = "handoffs"
    __table_args__ = (Index("ix_handoffs_crm_outcome", "crm", "outcome"),)

    crm: Mapped[str] = mapped_column(String(CRM_LEN), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    cycle: Mapped[int] = mapped_column(Integer(), primary_key=True)
    outcome: Mapped[str] = mapped_column(String(STATUS_LEN), nullable=False)
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    policy_revision: Mapped[int] = mapped_column(Integer(), nullable=False)
    override: Mapped[str | None] = mapped_column(String(STATUS_LEN), nullable=True)
    evidence: Mapped[str] = mapped_column(Text(), nullable=False)
    short: Mapped[str] = mapped_column(Text(), nullable=False)
    handed_off_on: Mapped[date | None] = mapped_column(Date(), nullable=True)
    note_key: Mapped[str | None] = mapped_column(Text(), nullable=True)
    at_risk_reason: Mapped[str | None] = mapped_column(Text(), nullable=True)
    note_text: Mapped[str | None] = mapped_column(Text(), nullable=True)
    restarted_on: Mapped[date | None] = mapped_column(Date(), nullable=True)


class AssessmentSend(Base):
    """One assessment sent: the primary key makes a (contact, kind, cycle) send happen once, whatever runs it.

    Stored in the same transaction as the send's outbox intent (``intent_key``), which performs it in the CRM or
    the survey tool. ``sent_on`` is the day the caps count it on (the send window's time zone, or UTC).
    """

    __tablename__ = "assessment_sends"
    __table_args__ = (
        Index("ix_assessment_sends_account", "crm", "account_id"),
        Index("ix_assessment_sends_day", "crm", "sent_on"),
    )

    crm: Mapped[str] = mapped_column(String(CRM_LEN), primary_key=True)
    contact_id: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    kind: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    cycle: Mapped[int] = mapped_column(Integer(), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(ID_LEN), nullable=False)
    persona: Mapped[str] = mapped_column(String(ID_LEN), nullable=False)
    channel: Mapped[str] = mapped_column(String(CHANNEL_LEN), nullable=False)
    due_on: Mapped[date] = mapped_column(Date(), nullable=False)
    sent_on: Mapped[date] = mapped_column(Date(), nullable=False)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    intent_key: Mapped[str] = mapped_column(Text(), nullable=False)
    policy_revision: Mapped[int] = mapped_column(Integer(), nullable=False)


class AssessmentSkip(Base):
    """Why a due (contact, kind, cycle) was not sent at its latest look: skipped for good, or waiting."""

    __tablename__ = "assessment_skips"

    crm: Mapped[str] = mapped_column(String(CRM_LEN), primary_key=True)
    contact_id: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    kind: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    cycle: Mapped[int] = mapped_column(Integer(), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(ID_LEN), nullable=False)
    status: Mapped[str] = mapped_column(String(STATUS_LEN), nullable=False)
    reason: Mapped[str] = mapped_column(Text(), nullable=False)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)


class AssessmentResponse(Base):
    """An answer the survey tool wrote to the contact's fields, as first pulled; the kind and cycle it answers."""

    __tablename__ = "assessment_responses"
    __table_args__ = (Index("ix_assessment_responses_account", "crm", "account_id"),)

    crm: Mapped[str] = mapped_column(String(CRM_LEN), primary_key=True)
    contact_id: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime(), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(ID_LEN), nullable=False)
    persona: Mapped[str] = mapped_column(String(ID_LEN), nullable=False)
    kind: Mapped[str | None] = mapped_column(String(ID_LEN), nullable=True)
    cycle: Mapped[int | None] = mapped_column(Integer(), nullable=True)
    score: Mapped[int | None] = mapped_column(Integer(), nullable=True)
    change: Mapped[str | None] = mapped_column(String(STATUS_LEN), nullable=True)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)


class Lease(Base):
    """A named lease: which process is the active replica, until when, and what it publishes for ``status``.

    One conditional UPDATE takes or renews it (see :mod:`sync_daemon.store.leases`), so two processes never
    both hold it. ``info`` is the holder's own report (its next scheduled runs, version, host).
    """

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(KEY_LEN), primary_key=True)
    holder: Mapped[str] = mapped_column(String(KEY_LEN), nullable=False)
    acquired_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    renewed_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    info: Mapped[dict[str, Any] | None] = mapped_column(JSONDocument, nullable=True)


RECORD_KINDS = ("accounts", "contacts")
CURSORS: Table = Base.metadata.tables["cursors"]
RUNS: Table = Base.metadata.tables["runs"]
PUSHED_VALUES: Table = Base.metadata.tables["pushed_values"]
RECORD_ERRORS: Table = Base.metadata.tables["record_errors"]
OUTBOX: Table = Base.metadata.tables["outbox"]
CRM_STATE: Table = Base.metadata.tables["crm_state"]
PLANS: Table = Base.metadata.tables["plans"]
PLAN_TASKS: Table = Base.metadata.tables["plan_tasks"]
ADOPTION_REACHED: Table = Base.metadata.tables["adoption_reached"]
HANDOFFS: Table = Base.metadata.tables["handoffs"]
ASSESSMENT_SENDS: Table = Base.metadata.tables["assessment_sends"]
ASSESSMENT_SKIPS: Table = Base.metadata.tables["assessment_skips"]
ASSESSMENT_RESPONSES: Table = Base.metadata.tables["assessment_responses"]
LEASES: Table = Base.metadata.tables["leases"]


def record_table(kind: str) -> Table:
    """Return the table for a record kind (``accounts`` or ``contacts``) or raise ``ValueError``."""
    if kind not in RECORD_KINDS:
        raise ValueError(f"unknown record kind {kind!r}; expected one of {RECORD_KINDS}")
    return Base.metadata.tables[kind]
