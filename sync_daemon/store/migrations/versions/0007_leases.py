"""Leases: which replica of `sync-daemon run` is active, until when, and what it publishes for `status`.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-21

Written by hand with explicit types, like the earlier revisions; the autogenerate comparison test keeps it and
the models in agreement.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | tuple[str, ...] | None = None
depends_on: str | tuple[str, ...] | None = None

JSON_DOC = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _aware() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "leases",
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("holder", sa.String(255), nullable=False),
        sa.Column("acquired_at", _aware(), nullable=False),
        sa.Column("renewed_at", _aware(), nullable=False),
        sa.Column("expires_at", _aware(), nullable=False),
        sa.Column("info", JSON_DOC, nullable=True),
        sa.PrimaryKeyConstraint("name", name="pk_leases"),
    )


def downgrade() -> None:
    op.drop_table("leases")
