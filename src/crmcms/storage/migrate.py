"""Schema migrations: bring a database to the schema this crmcms needs, or tell where it is."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from crmcms.errors import StorageError

__all__ = ["current_revision", "head_revision", "upgrade_schema"]

_MIGRATIONS = Path(__file__).with_name("migrations")
VERSION_TABLE = "crm_schema_version"


def _config(connection: sa.Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest revision this crmcms ships."""
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: sa.Engine) -> str | None:
    """The revision the database is at; ``None`` for a database crmcms never touched."""
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
        return context.get_current_revision()


def upgrade_schema(engine: sa.Engine, revision: str = "head") -> str:
    """Upgrade the database to ``revision`` (default: the newest) in one transaction.

    Safe to call at every start: a database already at the revision is left alone. Returns
    the revision the database is at afterwards.
    """
    try:
        with engine.begin() as conn:
            command.upgrade(_config(conn), revision)
    except sa.exc.SQLAlchemyError as exc:
        raise StorageError(f"schema upgrade failed: {exc}") from exc
    current = current_revision(engine)
    assert current is not None
    return current
