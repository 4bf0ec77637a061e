"""Push side: pushed values, per-record errors, the outbox, per-CRM state.

Revision ID: 0002
Revises: 0001
Create Date: 2026-05-08

Written by hand with explicit types, like 0001; the autogenerate comparison test keeps it and the
models in agreement.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | tuple[str, ...] | None = None
depends_on: str | tuple[str, ...] | None = None

JSON_DOC = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _aware() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "pushed_values",
        sa.Column("crm", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("record_id", sa.String(255), nullable=False),
        sa.Column("field", sa.String(255), nullable=False),
        sa.Column("value", JSON_DOC, nullable=False),
        sa.Column("written_at", _aware(), nullable=False),
        sa.Column("run_id", sa.String(32), nullable=True),
        sa.PrimaryKeyConstraint("crm", "kind", "record_id", "field", name="pk_pushed_values"),
    )
    op.create_table(
        "record_errors",
        sa.Column("crm", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("record_id", sa.String(255), nullable=False),
        sa.Column("code", sa.String(255), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("fields", JSON_DOC, nullable=False),
        sa.Column("first_seen_at", _aware(), nullable=False),
        sa.Column("last_seen_at", _aware(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("run_id", sa.String(32), nullable=True),
        sa.PrimaryKeyConstraint("crm", "kind", "record_id", name="pk_record_errors"),
    )
    op.create_index("ix_record_errors_crm_status_code", "record_errors", ["crm", "status", "code"])
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("crm", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("payload", JSON_DOC, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", _aware(), nullable=False),
        sa.Column("updated_at", _aware(), nullable=False),
        sa.Column("not_before", _aware(), nullable=False),
        sa.Column("claimed_by", sa.String(255), nullable=True),
        sa.Column("lease_until", _aware(), nullable=True),
        sa.Column("result", JSON_DOC, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_outbox"),
        sa.UniqueConstraint("key", name="uq_outbox_key"),
    )
    op.create_index("ix_outbox_status_priority_id", "outbox", ["status", "priority", "id"])
    op.create_table(
        "crm_state",
        sa.Column("crm", sa.String(32), nullable=False),
        sa.Column("parked_until", _aware(), nullable=True),
        sa.Column("park_reason", sa.Text(), nullable=True),
        sa.Column("safety_warning", JSON_DOC, nullable=True),
        sa.Column("updated_at", _aware(), nullable=False),
        sa.PrimaryKeyConstraint("crm", name="pk_crm_state"),
    )


def downgrade() -> None:
    op.drop_table("crm_state")
    op.drop_index("ix_outbox_status_priority_id", table_name="outbox")
    op.drop_table("outbox")
    op.drop_index("ix_record_errors_crm_status_code", table_name="record_errors")
    op.drop_table("record_errors")
    op.drop_table("pushed_values")
