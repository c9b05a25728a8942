"""Alembic environment: runs on the connection that :func:`crmcms.storage.migrate` hands in."""

from __future__ import annotations

from alembic import context

from crmcms.storage.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only reachable through the alembic command itself
    raise RuntimeError("run crmcms migrations through crmcms.storage.upgrade_schema")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    version_table="crm_schema_version",
)
with context.begin_transaction():
    context.run_migrations()
