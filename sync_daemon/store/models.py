"""The store's tables as typed SQLAlchemy 2 models.

The store is bookkeeping of what was pulled: accounts and contacts (keyed by CRM and id), a cursor
per object, and a run history. The models are the reference the hand-written Alembic migrations must
match (a test runs Alembic's autogenerate comparison against them). Queries use the tables through
Core (``table_for``) so that a page is written in a few bulk statements.
"""

from __future__ import annotations

from datetime import datetime  # noqa: TC003 - SQLAlchemy resolves Mapped[...] at runtime
from typing import Any

from sqlalchemy import Boolean, Index, Integer, MetaData, String, Table, Text
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


RECORD_KINDS = ("accounts", "contacts")
CURSORS: Table = Base.metadata.tables["cursors"]
RUNS: Table = Base.metadata.tables["runs"]


def record_table(kind: str) -> Table:
    """Return the table for a record kind (``accounts`` or ``contacts``) or raise ``ValueError``."""
    if kind not in RECORD_KINDS:
        raise ValueError(f"unknown record kind {kind!r}; expected one of {RECORD_KINDS}")
    return Base.metadata.tables[kind]
