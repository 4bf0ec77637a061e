"""Onboarding plans: one plan per account, and the tasks of each plan cycle seen done.

Revision ID: 0003
Revises: 0002
Create Date: 2026-05-12

Written by hand with explicit types, like 0001 and 0002; the autogenerate comparison test keeps it and
the models in agreement.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | tuple[str, ...] | None = None
depends_on: str | tuple[str, ...] | None = None


def _aware() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "plans",
        sa.Column("crm", sa.String(32), nullable=False),
        sa.Column("account_id", sa.String(255), nullable=False),
        sa.Column("template_id", sa.String(255), nullable=False),
        sa.Column("template_revision", sa.Integer(), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("started_at", _aware(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("cycle", sa.Integer(), nullable=False),
        sa.Column("progress", sa.Float(), nullable=True),
        sa.Column("health", sa.String(16), nullable=True),
        sa.Column("slip_days", sa.Integer(), nullable=True),
        sa.Column("projected_go_live", sa.Date(), nullable=True),
        sa.Column("next_task", sa.String(255), nullable=True),
        sa.Column("next_task_due", sa.Date(), nullable=True),
        sa.Column("current_phase", sa.String(255), nullable=True),
        sa.Column("evaluated_at", _aware(), nullable=True),
        sa.PrimaryKeyConstraint("crm", "account_id", name="pk_plans"),
    )
    op.create_index("ix_plans_crm_health", "plans", ["crm", "health"])
    op.create_table(
        "plan_tasks",
        sa.Column("crm", sa.String(32), nullable=False),
        sa.Column("account_id", sa.String(255), nullable=False),
        sa.Column("cycle", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.String(255), nullable=False),
        sa.Column("done_on", sa.Date(), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("first_seen_at", _aware(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("reopened_at", _aware(), nullable=True),
        sa.Column("evidence_gone_at", _aware(), nullable=True),
        sa.PrimaryKeyConstraint("crm", "account_id", "cycle", "task_id", name="pk_plan_tasks"),
        sa.ForeignKeyConstraint(
            ["crm", "account_id"],
            ["plans.crm", "plans.account_id"],
            name="fk_plan_tasks_crm_plans",
            ondelete="CASCADE",
        ),
    )


def downgrade() -> None:
    op.drop_table("plan_tasks")
    op.drop_index("ix_plans_crm_health", table_name="plans")
    op.drop_table("plans")
