"""The outbox: messages for other systems, written with the change that causes them.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# Spelled out here rather than imported: a migration must not change when the code does.
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TIME = sa.DateTime(timezone=True)
PENDING = sa.text("status = 'pending'")
DELIVERED = sa.text("status = 'delivered'")


def upgrade() -> None:
    op.create_table(
        "crm_outbox",
        sa.Column("id", ID, nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("payload", JSON, nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("available_at", TIME, nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("lease_owner", sa.String(length=200), nullable=True),
        sa.Column("lease_expires_at", TIME, nullable=True),
        sa.Column("delivered_at", TIME, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_outbox")),
    )
    op.create_index(
        "ix_crm_outbox_due",
        "crm_outbox",
        ["available_at", "id"],
        unique=False,
        sqlite_where=PENDING,
        postgresql_where=PENDING,
    )
    op.create_index(
        "ix_crm_outbox_delivered",
        "crm_outbox",
        ["delivered_at"],
        unique=False,
        sqlite_where=DELIVERED,
        postgresql_where=DELIVERED,
    )
    op.create_index(op.f("ix_crm_outbox_status_id"), "crm_outbox", ["status", "id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_crm_outbox_status_id"), table_name="crm_outbox")
    op.drop_index("ix_crm_outbox_delivered", table_name="crm_outbox")
    op.drop_index("ix_crm_outbox_due", table_name="crm_outbox")
    op.drop_table("crm_outbox")
