"""Initial schema: accounts, contacts, cursors, runs.

Revision ID: 0001
Revises:
Create Date: 2026-05-01

Written by hand with explicit types so that it never changes when the models do; a test checks
that the models and this schema agree (Alembic autogenerate finds no difference).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | tuple[str, ...] | None = None
depends_on: str | tuple[str, ...] | None = None

JSON_DOC = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _aware() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def _record_columns() -> list[sa.Column[Any]]:
    return [
        sa.Column("crm", sa.String(32), nullable=False),
        sa.Column("id", sa.String(255), nullable=False),
        sa.Column("fields", JSON_DOC, nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("modified_at", _aware(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("merged_into", sa.String(255), nullable=True),
        sa.Column("first_seen_at", _aware(), nullable=False),
        sa.Column("changed_at", _aware(), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "accounts",
        *_record_columns(),
        sa.PrimaryKeyConstraint("crm", "id", name="pk_accounts"),
    )
    op.create_table(
        "contacts",
        *_record_columns(),
        sa.Column("account_id", sa.String(255), nullable=True),
        sa.Column("persona", sa.String(100), nullable=True),
        sa.PrimaryKeyConstraint("crm", "id", name="pk_contacts"),
    )
    op.create_index("ix_contacts_crm_account_id", "contacts", ["crm", "account_id"])
    op.create_table(
        "cursors",
        sa.Column("crm", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("watermark", _aware(), nullable=True),
        sa.Column("pull_since", _aware(), nullable=True),
        sa.Column("resume", sa.Text(), nullable=True),
        sa.Column("updated_at", _aware(), nullable=False),
        sa.PrimaryKeyConstraint("crm", "kind", name="pk_cursors"),
    )
    op.create_table(
        "runs",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("crm", sa.String(32), nullable=False),
        sa.Column("command", sa.String(32), nullable=False),
        sa.Column("dry_run", sa.Boolean(), nullable=False),
        sa.Column("started_at", _aware(), nullable=False),
        sa.Column("finished_at", _aware(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("counts", JSON_DOC, nullable=False),
        sa.Column("api_calls", sa.Integer(), nullable=False),
        sa.Column("errors", sa.Integer(), nullable=False),
        sa.Column("error_summary", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_runs"),
    )
    op.create_index("ix_runs_started_at", "runs", ["started_at"])


def downgrade() -> None:
    op.drop_index("ix_runs_started_at", table_name="runs")
    op.drop_table("runs")
    op.drop_table("cursors")
    op.drop_index("ix_contacts_crm_account_id", table_name="contacts")
    op.drop_table("contacts")
    op.drop_table("accounts")
