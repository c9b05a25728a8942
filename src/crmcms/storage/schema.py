"""Tables crmcms keeps in SQL; one MetaData for SQLite and PostgreSQL alike."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

__all__ = ["definition", "metadata"]

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# JSONB on PostgreSQL is indexable and compact; SQLite stores the same documents as JSON text.
Json = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

definition = sa.Table(
    "crm_definition",
    metadata,
    sa.Column("kind", sa.String(40), primary_key=True, doc="Catalog field, e.g. 'routes'."),
    sa.Column("code", sa.String(200), primary_key=True),
    # Routes are kept per version so that an appeal always finds the version it runs on;
    # every other definition has version 0 and is replaced when the catalog is saved again.
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("schema_version", sa.Integer, nullable=False),
    sa.Column("document", Json, nullable=False),
    sa.Column("saved_at", sa.DateTime(timezone=True), nullable=False),
)
