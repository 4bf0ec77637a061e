"""Handoffs keep the note as sent, and the day an at-risk cycle was restarted.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-21

``note_text`` lets every later cycle write the same text to the account's long-text field (re-rendering would
change it as the plan moves on); ``restarted_on`` records the at-risk restart on the cycle it ended.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | tuple[str, ...] | None = None
depends_on: str | tuple[str, ...] | None = None


def upgrade() -> None:
    with op.batch_alter_table("handoffs") as batch:
        batch.add_column(sa.Column("note_text", sa.Text(), nullable=True))
        batch.add_column(sa.Column("restarted_on", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("handoffs") as batch:
        batch.drop_column("restarted_on")
        batch.drop_column("note_text")
