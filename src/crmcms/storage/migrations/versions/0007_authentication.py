"""Authentication and audit: credentials, login failures, the dummy-salt secret, sessions, audit.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from __future__ import annotations

import secrets

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# Spelled out here rather than imported: a migration must not change when the code does.
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "crm_credential",
        sa.Column("login", sa.String(length=200), nullable=False),
        sa.Column("salt", sa.LargeBinary(), nullable=False),
        sa.Column("time_cost", sa.Integer(), nullable=False),
        sa.Column("memory_cost", sa.Integer(), nullable=False),
        sa.Column("parallelism", sa.Integer(), nullable=False),
        sa.Column("hash_len", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("verifier", sa.LargeBinary(), nullable=False),
        sa.Column("changed_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("login", name=op.f("pk_crm_credential")),
    )
    op.create_table(
        "crm_login_failure",
        sa.Column("login", sa.String(length=200), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("last_at", TIME, nullable=False),
        sa.Column("refused_until", TIME, nullable=True),
        sa.Column("locked_at", TIME, nullable=True),
        sa.PrimaryKeyConstraint("login", name=op.f("pk_crm_login_failure")),
    )
    secret = op.create_table(
        "crm_auth_secret",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("secret", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_auth_secret")),
    )
    # Each database its own secret: dummy salts differ between installations.
    op.bulk_insert(secret, [{"id": 1, "secret": secrets.token_bytes(32)}])
    op.create_table(
        "crm_session",
        sa.Column("id", ID, nullable=False),
        sa.Column("login", sa.String(length=200), nullable=False),
        sa.Column("token_hash", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("last_seen_at", TIME, nullable=False),
        sa.Column("expires_at", TIME, nullable=False),
        sa.Column("idle_seconds", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=400), nullable=True),
        sa.Column("revoked_at", TIME, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_session")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_crm_session_token_hash")),
    )
    op.create_index(op.f("ix_crm_session_login"), "crm_session", ["login"], unique=False)
    op.create_table(
        "crm_audit",
        sa.Column("id", ID, nullable=False),
        sa.Column("at", TIME, nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("login", sa.String(length=200), nullable=True),
        sa.Column("actor", sa.String(length=200), nullable=True),
        sa.Column("source", sa.String(length=400), nullable=True),
        sa.Column("outcome", sa.String(length=40), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_audit")),
    )
    op.create_index(op.f("ix_crm_audit_at"), "crm_audit", ["at"], unique=False)
    op.create_index(op.f("ix_crm_audit_login"), "crm_audit", ["login"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_crm_audit_login"), table_name="crm_audit")
    op.drop_index(op.f("ix_crm_audit_at"), table_name="crm_audit")
    op.drop_table("crm_audit")
    op.drop_index(op.f("ix_crm_session_login"), table_name="crm_session")
    op.drop_table("crm_session")
    op.drop_table("crm_auth_secret")
    op.drop_table("crm_login_failure")
    op.drop_table("crm_credential")
