"""Storage adapters: in-memory and SQLAlchemy (SQLite by default, PostgreSQL for scale)."""

from crmcms.storage.database import DEFAULT_URL, create_engine, sqlite_url
from crmcms.storage.definitions import DefinitionStore
from crmcms.storage.files import DirectoryFileStore, MemoryFileStore
from crmcms.storage.memory_logins import MemoryLoginStore
from crmcms.storage.migrate import current_revision, head_revision, upgrade_schema
from crmcms.storage.sql import SqlLoginStore, SqlStore, SqlUnitOfWork

__all__ = [
    "DEFAULT_URL",
    "DefinitionStore",
    "DirectoryFileStore",
    "MemoryFileStore",
    "MemoryLoginStore",
    "SqlLoginStore",
    "SqlStore",
    "SqlUnitOfWork",
    "create_engine",
    "current_revision",
    "head_revision",
    "sqlite_url",
    "upgrade_schema",
]
