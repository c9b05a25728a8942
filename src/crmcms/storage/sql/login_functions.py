"""The login gateway's store as PostgreSQL's login role sees it: the functions, no tables."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from crmcms.engine.credentials import KeyParameters
from crmcms.engine.login_store import LoginRecords
from crmcms.errors import ConfigurationError, StorageError
from crmcms.storage.database import create_engine

__all__ = ["FunctionLoginStore"]

_SCHEMA = re.compile(r"[a-z_][a-z0-9_]{0,62}")


class FunctionLoginStore:
    """Logins through the functions ``crmcms db roles`` installs, for a connection as the
    login role (``url_or_engine``), which may read no table.

    Give it to a :class:`~crmcms.engine.LoginGateway`: :meth:`LoginGateway.authenticate`
    derives the key here and lets the database compare it and count failures, and
    :meth:`LoginGateway.resolve` asks the database whose session a token opens. Everything
    else the gateway does (passwords, unlocking, the audit) needs the tables: use a
    :class:`SqlLoginStore` connected as the application role for those.
    """

    def __init__(
        self, url_or_engine: str | sa.Engine | None = None, *, schema: str = "crmcms_auth"
    ) -> None:
        if not _SCHEMA.fullmatch(schema):
            raise ConfigurationError(f"not a schema name: {schema!r}")
        if isinstance(url_or_engine, sa.Engine):
            self.engine = url_or_engine
        else:
            self.engine = create_engine(url_or_engine)
        if self.engine.dialect.name != "postgresql":
            raise ConfigurationError("the login functions are PostgreSQL's: use postgresql://")
        quoted = self.engine.dialect.identifier_preparer.quote_identifier(schema)
        self._parameters = sa.text(
            "SELECT salt, time_cost, memory_cost, parallelism, hash_len, version"
            f" FROM {quoted}.login_parameters(:login)"
        )
        self._login = sa.text(
            f"SELECT {quoted}.login(:login, :key, :token_hash, :source, :lifetime, :idle)"
        )
        self._session_login = sa.text(f"SELECT {quoted}.session_login(:token_hash)")

    def login_parameters(self, login: str) -> tuple[bytes, KeyParameters]:
        with self._connection() as conn:
            row = conn.execute(self._parameters, {"login": login}).one()
        return bytes(row.salt), KeyParameters(
            row.time_cost, row.memory_cost, row.parallelism, row.hash_len, row.version
        )

    def login(
        self,
        login: str,
        key: bytes,
        token_hash: bytes,
        *,
        source: str | None,
        lifetime: timedelta,
        idle_timeout: timedelta,
    ) -> int | None:
        values: dict[str, Any] = {
            "login": login,
            "key": key,
            "token_hash": token_hash,
            "source": source,
            "lifetime": lifetime,
            "idle": idle_timeout,
        }
        with self._connection() as conn:
            found = conn.execute(self._login, values).scalar()
        return None if found is None else int(found)

    def session_login(self, token_hash: bytes) -> str | None:
        with self._connection() as conn:
            found = conn.execute(self._session_login, {"token_hash": token_hash}).scalar()
        return None if found is None else str(found)

    def transaction(self, *, write: bool = True) -> AbstractContextManager[LoginRecords]:
        """Refused: the login role reads and writes no table."""
        raise StorageError(
            "the login role reads no table: only logging in and checking sessions go through "
            "the database's functions; use a SqlLoginStore on the application role for the rest"
        )

    def dispose(self) -> None:
        """Close the pooled connections."""
        self.engine.dispose()

    @contextmanager
    def _connection(self) -> Iterator[sa.Connection]:
        try:
            with self.engine.begin() as conn:
                yield conn
        except sa.exc.SQLAlchemyError as exc:
            raise StorageError(f"login functions: {exc}") from exc
