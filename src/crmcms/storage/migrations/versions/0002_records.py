"""Runtime records: contacts, appeals with attribute values, history, archive, saved filters.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# Spelled out here rather than imported: a migration must not change when the code does.
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "crm_appeal_archive",
        sa.Column("id", ID, nullable=False),
        sa.Column("contact_id", ID, nullable=False),
        sa.Column("client_id", ID, nullable=True),
        sa.Column("topic", sa.String(length=200), nullable=False),
        sa.Column("route", sa.String(length=200), nullable=False),
        sa.Column("route_version", sa.Integer(), nullable=False),
        sa.Column("process", sa.String(length=200), nullable=False),
        sa.Column("operator", sa.String(length=200), nullable=False),
        sa.Column("registered_at", TIME, nullable=False),
        sa.Column("queue", sa.String(length=200), nullable=True),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("priority", sa.String(length=100), nullable=True),
        sa.Column("responsible", sa.String(length=200), nullable=True),
        sa.Column("parent_id", ID, nullable=True),
        sa.Column("system_problem_id", ID, nullable=True),
        sa.Column("process_entered_at", TIME, nullable=True),
        sa.Column("deadline", TIME, nullable=True),
        sa.Column("process_deadline", TIME, nullable=True),
        sa.Column("closed_at", TIME, nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("attribute_values", JSON, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("archived_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_appeal_archive")),
    )
    op.create_index(
        op.f("ix_crm_appeal_archive_client_id_registered_at"),
        "crm_appeal_archive",
        ["client_id", "registered_at"],
        unique=False,
    )
    op.create_index(
        op.f("ix_crm_appeal_archive_closed_at"), "crm_appeal_archive", ["closed_at"], unique=False
    )
    op.create_index(
        op.f("ix_crm_appeal_archive_registered_at"),
        "crm_appeal_archive",
        ["registered_at"],
        unique=False,
    )
    op.create_table(
        "crm_attachment",
        sa.Column("id", ID, nullable=False),
        sa.Column("appeal_id", ID, nullable=False),
        sa.Column("file_name", sa.String(length=400), nullable=False),
        sa.Column("media_type", sa.String(length=200), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("added_by", sa.String(length=200), nullable=False),
        sa.Column("added_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_attachment")),
    )
    op.create_index(
        op.f("ix_crm_attachment_appeal_id"), "crm_attachment", ["appeal_id"], unique=False
    )
    op.create_table(
        "crm_client",
        sa.Column("id", ID, nullable=False),
        sa.Column("name", sa.String(length=400), nullable=False),
        sa.Column("category", sa.String(length=100), nullable=True),
        sa.Column("region", sa.String(length=100), nullable=True),
        sa.Column("status", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_client")),
    )
    op.create_index(op.f("ix_crm_client_category"), "crm_client", ["category"], unique=False)
    op.create_table(
        "crm_contact",
        sa.Column("id", ID, nullable=False),
        sa.Column("place", sa.String(length=200), nullable=False),
        sa.Column("direction", sa.String(length=20), nullable=False),
        sa.Column("channel", sa.String(length=100), nullable=False),
        sa.Column("operator", sa.String(length=200), nullable=False),
        sa.Column("registered_at", TIME, nullable=False),
        sa.Column("template", sa.String(length=200), nullable=True),
        sa.Column("client_id", ID, nullable=True),
        sa.Column("subscriber_id", ID, nullable=True),
        sa.Column("contact_person_id", ID, nullable=True),
        sa.Column("prospect_id", ID, nullable=True),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_contact")),
    )
    op.create_index(
        op.f("ix_crm_contact_client_id_registered_at"),
        "crm_contact",
        ["client_id", "registered_at"],
        unique=False,
    )
    op.create_index(
        op.f("ix_crm_contact_registered_at"), "crm_contact", ["registered_at"], unique=False
    )
    op.create_table(
        "crm_history_archive",
        sa.Column("id", ID, nullable=False),
        sa.Column("appeal_id", ID, nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("at", TIME, nullable=False),
        sa.Column("operator", sa.String(length=200), nullable=True),
        sa.Column("process", sa.String(length=200), nullable=True),
        sa.Column("queue", sa.String(length=200), nullable=True),
        sa.Column("transition", sa.String(length=200), nullable=True),
        sa.Column("changes", JSON, nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_history_archive")),
    )
    op.create_index(
        op.f("ix_crm_history_archive_appeal_id_id"),
        "crm_history_archive",
        ["appeal_id", "id"],
        unique=False,
    )
    op.create_index(op.f("ix_crm_history_archive_at"), "crm_history_archive", ["at"], unique=False)
    op.create_table(
        "crm_id_counter",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_crm_id_counter")),
    )
    op.create_table(
        "crm_idempotency",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("operation", sa.String(length=200), nullable=False),
        sa.Column("fingerprint", sa.String(length=200), nullable=False),
        sa.Column("result", JSON, nullable=False),
        sa.Column("at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_crm_idempotency")),
    )
    op.create_table(
        "crm_note",
        sa.Column("id", ID, nullable=False),
        sa.Column("subject", sa.String(length=40), nullable=False),
        sa.Column("subject_id", ID, nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("author", sa.String(length=200), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_note")),
    )
    op.create_index(
        op.f("ix_crm_note_subject_subject_id"), "crm_note", ["subject", "subject_id"], unique=False
    )
    op.create_table(
        "crm_saved_filter",
        sa.Column("code", sa.String(length=200), nullable=False),
        sa.Column("name", sa.String(length=400), nullable=False),
        sa.Column("owner", sa.String(length=200), nullable=True),
        sa.Column("document", JSON, nullable=False),
        sa.Column("saved_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_crm_saved_filter")),
    )
    op.create_table(
        "crm_system_problem",
        sa.Column("id", ID, nullable=False),
        sa.Column("title", sa.String(length=400), nullable=False),
        sa.Column("registered_by", sa.String(length=200), nullable=False),
        sa.Column("opened_at", TIME, nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("resolved_at", TIME, nullable=True),
        sa.Column("resolution", sa.Text(), nullable=False),
        sa.Column("attribute_values", JSON, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_system_problem")),
    )
    op.create_table(
        "crm_appeal",
        sa.Column("id", ID, nullable=False),
        sa.Column("contact_id", ID, nullable=False),
        sa.Column("client_id", ID, nullable=True),
        sa.Column("topic", sa.String(length=200), nullable=False),
        sa.Column("route", sa.String(length=200), nullable=False),
        sa.Column("route_version", sa.Integer(), nullable=False),
        sa.Column("process", sa.String(length=200), nullable=False),
        sa.Column("operator", sa.String(length=200), nullable=False),
        sa.Column("registered_at", TIME, nullable=False),
        sa.Column("queue", sa.String(length=200), nullable=True),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("priority", sa.String(length=100), nullable=True),
        sa.Column("responsible", sa.String(length=200), nullable=True),
        sa.Column("parent_id", ID, nullable=True),
        sa.Column("system_problem_id", ID, nullable=True),
        sa.Column("process_entered_at", TIME, nullable=True),
        sa.Column("deadline", TIME, nullable=True),
        sa.Column("process_deadline", TIME, nullable=True),
        sa.Column("closed_at", TIME, nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("attribute_values", JSON, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"], ["crm_contact.id"], name=op.f("fk_crm_appeal_contact_id_crm_contact")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_appeal")),
    )
    op.create_index(
        op.f("ix_crm_appeal_client_id_registered_at"),
        "crm_appeal",
        ["client_id", "registered_at"],
        unique=False,
    )
    op.create_index(
        "ix_crm_appeal_closed",
        "crm_appeal",
        ["closed_at"],
        unique=False,
        sqlite_where=sa.text("state = 'closed'"),
        postgresql_where=sa.text("state = 'closed'"),
    )
    op.create_index(op.f("ix_crm_appeal_contact_id"), "crm_appeal", ["contact_id"], unique=False)
    op.create_index(
        "ix_crm_appeal_overdue",
        "crm_appeal",
        ["deadline"],
        unique=False,
        sqlite_where=sa.text("state = 'open'"),
        postgresql_where=sa.text("state = 'open'"),
    )
    op.create_index(op.f("ix_crm_appeal_parent_id"), "crm_appeal", ["parent_id"], unique=False)
    op.create_index(
        "ix_crm_appeal_queue_view",
        "crm_appeal",
        ["queue", "deadline", "id"],
        unique=False,
        sqlite_where=sa.text("state = 'open'"),
        postgresql_where=sa.text("state = 'open'"),
    )
    op.create_index(
        op.f("ix_crm_appeal_registered_at"), "crm_appeal", ["registered_at"], unique=False
    )
    op.create_index(
        "ix_crm_appeal_responsible",
        "crm_appeal",
        ["responsible", "deadline"],
        unique=False,
        sqlite_where=sa.text("state = 'open'"),
        postgresql_where=sa.text("state = 'open'"),
    )
    op.create_index(
        op.f("ix_crm_appeal_system_problem_id"), "crm_appeal", ["system_problem_id"], unique=False
    )
    op.create_table(
        "crm_contact_person",
        sa.Column("id", ID, nullable=False),
        sa.Column("name", sa.String(length=400), nullable=False),
        sa.Column("phone", sa.String(length=40), nullable=True),
        sa.Column("email", sa.String(length=200), nullable=True),
        sa.Column("client_id", ID, nullable=True),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["crm_client.id"],
            name=op.f("fk_crm_contact_person_client_id_crm_client"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_contact_person")),
    )
    op.create_index(
        op.f("ix_crm_contact_person_client_id"), "crm_contact_person", ["client_id"], unique=False
    )
    op.create_table(
        "crm_prospect",
        sa.Column("id", ID, nullable=False),
        sa.Column("name", sa.String(length=400), nullable=False),
        sa.Column("phone", sa.String(length=40), nullable=True),
        sa.Column("email", sa.String(length=200), nullable=True),
        sa.Column("region", sa.String(length=100), nullable=True),
        sa.Column("category", sa.String(length=100), nullable=True),
        sa.Column("registered_at", TIME, nullable=True),
        sa.Column("exported_at", TIME, nullable=True),
        sa.Column("client_id", ID, nullable=True),
        sa.ForeignKeyConstraint(
            ["client_id"], ["crm_client.id"], name=op.f("fk_crm_prospect_client_id_crm_client")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_prospect")),
    )
    op.create_table(
        "crm_subscriber",
        sa.Column("id", ID, nullable=False),
        sa.Column("client_id", ID, nullable=False),
        sa.Column("msisdn", sa.String(length=40), nullable=False),
        sa.Column("region", sa.String(length=100), nullable=True),
        sa.Column("tariff", sa.String(length=100), nullable=True),
        sa.Column("status", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"], ["crm_client.id"], name=op.f("fk_crm_subscriber_client_id_crm_client")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_subscriber")),
    )
    op.create_index(
        op.f("ix_crm_subscriber_client_id"), "crm_subscriber", ["client_id"], unique=False
    )
    op.create_index(op.f("ix_crm_subscriber_msisdn"), "crm_subscriber", ["msisdn"], unique=False)
    op.create_table(
        "crm_history",
        sa.Column("id", ID, nullable=False),
        sa.Column("appeal_id", ID, nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("at", TIME, nullable=False),
        sa.Column("operator", sa.String(length=200), nullable=True),
        sa.Column("process", sa.String(length=200), nullable=True),
        sa.Column("queue", sa.String(length=200), nullable=True),
        sa.Column("transition", sa.String(length=200), nullable=True),
        sa.Column("changes", JSON, nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["appeal_id"], ["crm_appeal.id"], name=op.f("fk_crm_history_appeal_id_crm_appeal")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_history")),
    )
    op.create_index(
        op.f("ix_crm_history_appeal_id_id"), "crm_history", ["appeal_id", "id"], unique=False
    )
    op.create_index(op.f("ix_crm_history_at"), "crm_history", ["at"], unique=False)


def downgrade() -> None:
    op.drop_table("crm_history")
    op.drop_table("crm_subscriber")
    op.drop_table("crm_prospect")
    op.drop_table("crm_contact_person")
    op.drop_table("crm_appeal")
    op.drop_table("crm_system_problem")
    op.drop_table("crm_saved_filter")
    op.drop_table("crm_note")
    op.drop_table("crm_idempotency")
    op.drop_table("crm_id_counter")
    op.drop_table("crm_history_archive")
    op.drop_table("crm_contact")
    op.drop_table("crm_client")
    op.drop_table("crm_attachment")
    op.drop_table("crm_appeal_archive")
