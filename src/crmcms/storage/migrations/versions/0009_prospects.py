"""Prospects: who registered them, the conversion under way, versions; contacts by prospect.

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


def downgrade() -> None:
    op.drop_index(op.f("ix_crm_contact_prospect_id"), table_name="crm_contact")
    with op.batch_alter_table("crm_prospect") as prospect:
        for column in ("version", "conversion_error", "conversion_id", "registered_by"):
            prospect.drop_column(column)
        prospect.create_foreign_key(
            "fk_crm_prospect_client_id_crm_client", "crm_client", ["client_id"], ["id"]
        )
