"""Escalation levels that failed while firing: attempts, last error, next retry.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "crm_sla_attempt",
        sa.Column("appeal_id", ID, nullable=False),
        sa.Column("clock", sa.String(length=220), nullable=False),
        sa.Column("cycle", sa.Integer(), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("failed_at", TIME, nullable=False),
        sa.Column("retry_at", TIME, nullable=True),
        sa.PrimaryKeyConstraint("appeal_id", "clock", "cycle", "level", name="pk_crm_sla_attempt"),
    )


def downgrade() -> None:
    op.drop_table("crm_sla_attempt")
