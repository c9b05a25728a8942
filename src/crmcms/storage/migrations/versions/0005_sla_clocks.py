"""SLA clocks per appeal and the escalation levels fired on them.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TIME = sa.DateTime(timezone=True)
ESCALATING = sa.text("next_escalation_at IS NOT NULL")
RUNNING = sa.text("stopped_at IS NULL")


def upgrade() -> None:
    op.create_table(
        "crm_sla_clock",
        sa.Column("appeal_id", ID, nullable=False),
        sa.Column("clock", sa.String(length=220), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("process", sa.String(length=200), nullable=False),
        sa.Column("cycle", sa.Integer(), nullable=False),
        sa.Column("start", TIME, nullable=False),
        sa.Column("limit_us", sa.BigInteger(), nullable=True),
        sa.Column("due", TIME, nullable=True),
        sa.Column("elapsed_us", sa.BigInteger(), nullable=False),
        sa.Column("remaining_us", sa.BigInteger(), nullable=True),
        sa.Column("paused_since", TIME, nullable=True),
        sa.Column("breached_at", TIME, nullable=True),
        sa.Column("stopped_at", TIME, nullable=True),
        sa.Column("overridden", sa.Boolean(), nullable=False),
        sa.Column("at", TIME, nullable=False),
        sa.Column("next_escalation_at", TIME, nullable=True),
        sa.PrimaryKeyConstraint("appeal_id", "clock", name="pk_crm_sla_clock"),
    )
    op.create_index(
        "ix_crm_sla_clock_escalation",
        "crm_sla_clock",
        ["next_escalation_at"],
        sqlite_where=ESCALATING,
        postgresql_where=ESCALATING,
    )
    op.create_index(
        "ix_crm_sla_clock_due",
        "crm_sla_clock",
        ["due"],
        sqlite_where=RUNNING,
        postgresql_where=RUNNING,
    )
    op.create_table(
        "crm_sla_fired",
        sa.Column("appeal_id", ID, nullable=False),
        sa.Column("clock", sa.String(length=220), nullable=False),
        sa.Column("cycle", sa.Integer(), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("fired_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("appeal_id", "clock", "cycle", "level", name="pk_crm_sla_fired"),
    )


def downgrade() -> None:
    op.drop_table("crm_sla_fired")
    op.drop_index("ix_crm_sla_clock_due", table_name="crm_sla_clock")
    op.drop_index("ix_crm_sla_clock_escalation", table_name="crm_sla_clock")
    op.drop_table("crm_sla_clock")
