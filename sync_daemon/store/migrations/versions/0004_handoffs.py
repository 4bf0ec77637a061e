"""Handoffs: when each account first reached each adoption status, and the handoff decision per cycle.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21

Written by hand with explicit types, like 0001 to 0003; the autogenerate comparison test keeps it and
the models in agreement.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | tuple[str, ...] | None = None
depends_on: str | tuple[str, ...] | None = None


def _aware() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "adoption_reached",
        sa.Column("crm", sa.String(32), nullable=False),
        sa.Column("account_id", sa.String(255), nullable=False),
        sa.Column("status", sa.String(255), nullable=False),
        sa.Column("reached_on", sa.Date(), nullable=False),
        sa.Column("first_seen_at", _aware(), nullable=False),
        sa.PrimaryKeyConstraint("crm", "account_id", "status", name="pk_adoption_reached"),
    )
    op.create_table(
        "handoffs",
        sa.Column("crm", sa.String(32), nullable=False),
        sa.Column("account_id", sa.String(255), nullable=False),
        sa.Column("cycle", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("decided_at", _aware(), nullable=False),
        sa.Column("policy_revision", sa.Integer(), nullable=False),
        sa.Column("override", sa.String(16), nullable=True),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.Column("short", sa.Text(), nullable=False),
        sa.Column("handed_off_on", sa.Date(), nullable=True),
        sa.Column("note_key", sa.Text(), nullable=True),
        sa.Column("at_risk_reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("crm", "account_id", "cycle", name="pk_handoffs"),
    )
    op.create_index("ix_handoffs_crm_outcome", "handoffs", ["crm", "outcome"])


def downgrade() -> None:
    op.drop_index("ix_handoffs_crm_outcome", table_name="handoffs")
    op.drop_table("handoffs")
    op.drop_table("adoption_reached")
