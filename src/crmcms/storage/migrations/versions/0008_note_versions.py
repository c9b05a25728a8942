"""Notes: visibility, pins, versions and deletion, with every revision kept.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# Spelled out here rather than imported: a migration must not change when the code does.
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("crm_note") as note:
        note.add_column(
            sa.Column("visibility", sa.String(length=20), nullable=False, server_default="team")
        )
        note.add_column(
            sa.Column("pinned", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        note.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="1"))
        note.add_column(sa.Column("updated_at", TIME, nullable=True))
        note.add_column(sa.Column("updated_by", sa.String(length=200), nullable=True))
        note.add_column(
            sa.Column("deleted", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.create_table(
        "crm_note_revision",
        sa.Column("note_id", ID, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("visibility", sa.String(length=20), nullable=False),
        sa.Column("pinned", sa.Boolean(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("written_by", sa.String(length=200), nullable=False),
        sa.Column("written_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("note_id", "version", name=op.f("pk_crm_note_revision")),
    )
    # Notes written before keep their text as their first revision.
    op.execute(
        "INSERT INTO crm_note_revision"
        " (note_id, version, text, visibility, pinned, deleted, written_by, written_at)"
        " SELECT id, 1, text, 'team', false, false, author, created_at FROM crm_note"
    )


def downgrade() -> None:
    op.drop_table("crm_note_revision")
    with op.batch_alter_table("crm_note") as note:
        for column in ("deleted", "updated_by", "updated_at", "version", "pinned", "visibility"):
            note.drop_column(column)
