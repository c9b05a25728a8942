"""Prospects and their conversion by billing; webhook subscriptions made through the API.

Prospects get who registered them, the conversion under way, billing's last refusal and a
version; contacts are indexed by prospect.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("crm_prospect") as prospect:
        # The client billing makes may live in billing only.
        prospect.drop_constraint("fk_crm_prospect_client_id_crm_client", type_="foreignkey")
        prospect.add_column(sa.Column("registered_by", sa.String(length=200), nullable=True))
        prospect.add_column(sa.Column("conversion_id", sa.String(length=300), nullable=True))
        prospect.add_column(
            sa.Column("conversion_error", sa.Text(), nullable=False, server_default="")
        )
        prospect.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="1"))
    op.create_index(op.f("ix_crm_contact_prospect_id"), "crm_contact", ["prospect_id"])
    op.create_table(
        "crm_webhook",
        sa.Column("code", sa.String(length=200), nullable=False),
        sa.Column("name", sa.String(length=400), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("secret_env", sa.String(length=200), nullable=False),
        sa.Column("events", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_crm_webhook")),
    )


def downgrade() -> None:
    op.drop_table("crm_webhook")
    op.drop_index(op.f("ix_crm_contact_prospect_id"), table_name="crm_contact")
    with op.batch_alter_table("crm_prospect") as prospect:
        for column in ("version", "conversion_error", "conversion_id", "registered_by"):
            prospect.drop_column(column)
        prospect.create_foreign_key(
            "fk_crm_prospect_client_id_crm_client", "crm_client", ["client_id"], ["id"]
        )
