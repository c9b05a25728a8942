"""The SQLAlchemy adapter: SQLite (embedded, WAL) and PostgreSQL behind one URL."""

from crmcms.storage.sql.unit_of_work import SqlStore, SqlUnitOfWork

__all__ = ["SqlStore", "SqlUnitOfWork"]
