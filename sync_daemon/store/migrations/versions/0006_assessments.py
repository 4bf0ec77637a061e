"""Assessments: sends (once per contact, kind and cycle), why due contacts were left out, and the responses.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-21

Written by hand with explicit types, like the earlier revisions; the autogenerate comparison test keeps it and
the models in agreement.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | tuple[str, ...] | None = None
depends_on: str | tuple[str, ...] | None = None


def _aware() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def _key() -> list[sa.Column[object]]:
    return [
        sa.Column("crm", sa.String(32), nullable=False),
        sa.Column("contact_id", sa.String(255), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "assessment_sends",
        *_key(),
        sa.Column("kind", sa.String(255), nullable=False),
        sa.Column("cycle", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.String(255), nullable=False),
        sa.Column("persona", sa.String(255), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("sent_on", sa.Date(), nullable=False),
        sa.Column("requested_at", _aware(), nullable=False),
        sa.Column("intent_key", sa.Text(), nullable=False),
        sa.Column("policy_revision", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("crm", "contact_id", "kind", "cycle", name="pk_assessment_sends"),
    )
    op.create_index("ix_assessment_sends_account", "assessment_sends", ["crm", "account_id"])
    op.create_index("ix_assessment_sends_day", "assessment_sends", ["crm", "sent_on"])
    op.create_table(
        "assessment_skips",
        *_key(),
        sa.Column("kind", sa.String(255), nullable=False),
        sa.Column("cycle", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.String(255), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("seen_at", _aware(), nullable=False),
        sa.PrimaryKeyConstraint("crm", "contact_id", "kind", "cycle", name="pk_assessment_skips"),
    )
    op.create_table(
        "assessment_responses",
        *_key(),
        sa.Column("answered_at", _aware(), nullable=False),
        sa.Column("account_id", sa.String(255), nullable=False),
        sa.Column("persona", sa.String(255), nullable=False),
        sa.Column("kind", sa.String(255), nullable=True),
        sa.Column("cycle", sa.Integer(), nullable=True),
        sa.Column("score", sa.Integer(), nullable=True),
        sa.Column("change", sa.String(16), nullable=True),
        sa.Column("recorded_at", _aware(), nullable=False),
        sa.PrimaryKeyConstraint("crm", "contact_id", "answered_at", name="pk_assessment_responses"),
    )
    op.create_index("ix_assessment_responses_account", "assessment_responses", ["crm", "account_id"])


def downgrade() -> None:
    op.drop_index("ix_assessment_responses_account", table_name="assessment_responses")
    op.drop_table("assessment_responses")
    op.drop_table("assessment_skips")
    op.drop_index("ix_assessment_sends_day", table_name="assessment_sends")
    op.drop_index("ix_assessment_sends_account", table_name="assessment_sends")
    op.drop_table("assessment_sends")
