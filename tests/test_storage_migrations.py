"""Migrations build exactly the schema the code declares, on every backend, idempotently."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from click.testing import CliRunner

from crmcms.entrypoints.cli import cli
from crmcms.storage.database import create_engine
from crmcms.storage.migrate import current_revision, head_revision, upgrade_schema
from crmcms.storage.schema import metadata


def test_upgrade_builds_the_declared_schema(database_url: str) -> None:
    engine = create_engine(database_url)
    assert current_revision(engine) is None
    assert upgrade_schema(engine) == head_revision()
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert [d for d in diff if "crm_schema_version" not in repr(d)] == []


def test_upgrade_twice_changes_nothing(database_url: str) -> None:
    engine = create_engine(database_url)
    upgrade_schema(engine)
    assert upgrade_schema(engine) == head_revision()


def test_db_upgrade_command(database_url: str) -> None:
    result = CliRunner().invoke(cli, ["db", "upgrade", "--url", database_url])
    assert result.exit_code == 0, result.output
    assert head_revision() in result.output
    result = CliRunner().invoke(cli, ["db", "current", "--url", database_url])
    assert result.exit_code == 0, result.output
    assert f"{head_revision()} (up to date)" in result.output
