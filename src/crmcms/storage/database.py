"""Engine factory: one URL chooses SQLite (default, embedded) or PostgreSQL (scale)."""

from __future__ import annotations

import os
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from crmcms.errors import ConfigurationError, StorageError

__all__ = ["DEFAULT_URL", "create_engine", "sqlite_url"]

DEFAULT_URL = "sqlite:///var/crmcms.sqlite"


def sqlite_url(path: str | os.PathLike[str]) -> str:
    """The URL of an SQLite file; its folder is created when the engine is made."""
    return f"sqlite:///{os.fspath(path)}"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers proceed while one writer commits; foreign keys are off by default in SQLite.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def create_engine(url: str | None = None, **kwargs: Any) -> sa.Engine:
    """An engine for ``url`` (default :data:`DEFAULT_URL`), set up for crmcms.

    SQLite files get WAL mode, enforced foreign keys and a busy timeout; ``postgresql://``
    URLs use psycopg 3. A URL naming a driver that is not installed raises
    :class:`~crmcms.errors.ConfigurationError` saying which extra to install.
    """
    text = url or os.environ.get("CRMCMS_DATABASE_URL") or DEFAULT_URL
    try:
        parsed = make_url(text)
    except ArgumentError as exc:
        raise ConfigurationError(f"not a database URL: {text!r}") from exc
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:" and not database.startswith("file:"):
            folder = os.path.dirname(os.path.abspath(database))
            try:
                os.makedirs(folder, exist_ok=True)
            except OSError as exc:
                raise StorageError(f"cannot create the folder of {database!r}: {exc}") from exc
    elif parsed.get_backend_name() != "postgresql":
        raise ConfigurationError(
            f"unsupported database {parsed.get_backend_name()!r}: use sqlite:// or postgresql://"
        )
    try:
        engine = sa.create_engine(parsed, **kwargs)
    except (NoSuchModuleError, ModuleNotFoundError) as exc:
        raise ConfigurationError(
            f"the driver for {parsed.drivername!r} is not installed"
            " (for PostgreSQL: pip install 'crmcms[postgres]')"
        ) from exc
    if parsed.get_backend_name() == "sqlite":
        sa.event.listen(engine, "connect", _sqlite_pragmas)
    return engine
