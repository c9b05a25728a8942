"""System problems: linking rule and window, confirmation, resolution progress, closing.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

# Spelled out here rather than imported: a migration must not change when the code does.
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TIME = sa.DateTime(timezone=True)

_ADDED: tuple[str, ...] = ("rule", "since", "until", "confirmed_at", "confirmed_by")
_ADDED += ("resolved_by", "transition", "resolving", "closed_at", "closed_by")


def upgrade() -> None:
    with op.batch_alter_table("crm_system_problem") as problem:
        problem.add_column(sa.Column("rule", sa.Text(), nullable=False, server_default=""))
        problem.add_column(sa.Column("since", TIME, nullable=True))
        problem.add_column(sa.Column("until", TIME, nullable=True))
        problem.add_column(sa.Column("confirmed_at", TIME, nullable=True))
        problem.add_column(sa.Column("confirmed_by", sa.String(length=200), nullable=True))
        problem.add_column(sa.Column("resolved_by", sa.String(length=200), nullable=True))
        problem.add_column(sa.Column("transition", sa.String(length=200), nullable=True))
        problem.add_column(
            sa.Column("resolving", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        problem.add_column(sa.Column("closed_at", TIME, nullable=True))
        problem.add_column(sa.Column("closed_by", sa.String(length=200), nullable=True))
        problem.create_index(op.f("ix_crm_system_problem_state"), ["state"], unique=False)
    # Problems stored before knew two states: open ones count as registered.
    op.execute("UPDATE crm_system_problem SET state = 'registered' WHERE state = 'open'")
    op.create_table(
        "crm_problem_outcome",
        sa.Column("problem_id", ID, nullable=False),
        sa.Column("appeal_id", ID, nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("at", TIME, nullable=False),
        sa.Column("version", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("error_type", sa.String(length=100), nullable=True),
        sa.PrimaryKeyConstraint("problem_id", "appeal_id", name=op.f("pk_crm_problem_outcome")),
    )


def downgrade() -> None:
    op.drop_table("crm_problem_outcome")
    op.execute("UPDATE crm_system_problem SET state = 'open' WHERE state = 'registered'")
    with op.batch_alter_table("crm_system_problem") as problem:
        problem.drop_index(op.f("ix_crm_system_problem_state"))
        for column in reversed(_ADDED):
            problem.drop_column(column)
