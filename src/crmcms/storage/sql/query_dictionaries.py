"""Query dictionaries on SQL: their SELECT runs read-only, bounded in time and rows.

Three locks keep a query from writing: the model refuses any text that is not a single
SELECT (:mod:`crmcms.model.queries`); parameter values are always bound, never written into
the text; and the query runs in a read-only transaction (PostgreSQL) or on a read-only
connection (SQLite), so a function with side effects that the text check cannot know about
fails too.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Iterator, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from crmcms.errors import DictionaryQueryError
from crmcms.model import Dictionary, DictionaryKind
from crmcms.model.queries import read_query

__all__ = ["DEFAULT_MAX_ROWS", "DEFAULT_TIMEOUT", "SqlDictionaryQueries"]

DEFAULT_TIMEOUT = 2.0
"""Seconds a query dictionary's query may run."""
DEFAULT_MAX_ROWS = 10_000
"""Items a query dictionary may give; more is an error, not a silent cut."""

_SCALARS = (str, int, float, Decimal, date, datetime, bool)
_PG_QUERY_CANCELED = "57014"
_PG_READ_ONLY = "25006"
_SQLITE_CHECK_EVERY = 1_000
"""SQLite virtual machine steps between two looks at the clock."""


class _TimedOut(Exception):
    """SQLite was interrupted by the time limit (not by anything else)."""


class SqlDictionaryQueries:
    """The engine's :class:`~crmcms.engine.ports.DictionaryQueries` on a SQLAlchemy engine.

    ``timeout`` (seconds) and ``max_rows`` bound each query. On SQLite files the queries run
    on connections of their own, opened read-only; call :meth:`dispose` to close them.
    """

    def __init__(
        self,
        engine: sa.Engine,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        max_rows: int = DEFAULT_MAX_ROWS,
    ) -> None:
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        if max_rows < 1:
            raise ValueError("max_rows must be at least 1")
        self.engine = engine
        self.timeout = timeout
        self.max_rows = max_rows
        self._readonly: sa.Engine | None = None

    def dispose(self) -> None:
        """Close the read-only connections this runner opened (the engine's stay)."""
        if self._readonly is not None:
            self._readonly.dispose()
            self._readonly = None

    def items(self, dictionary: Dictionary, params: Mapping[str, object]) -> list[tuple[str, str]]:
        """The ``(code, name)`` items of the first two columns of the query's rows."""
        code = dictionary.code
        if dictionary.kind is not DictionaryKind.QUERY or dictionary.query is None:
            raise DictionaryQueryError(code, f"is a {dictionary.kind.value} dictionary")
        read = read_query(dictionary.query)
        if read.problems:  # a Dictionary is checked when made; this is for odd constructions
            raise DictionaryQueryError(code, "query refused: " + "; ".join(read.problems))
        values: dict[str, object] = {}
        for name in read.parameters:
            value = params.get(name)
            if value is not None and not isinstance(value, _SCALARS):
                raise DictionaryQueryError(
                    code, f"parameter {name!r} is a {type(value).__name__}, not a single value"
                )
            if isinstance(value, str) and not _encodable(value):
                raise DictionaryQueryError(
                    code, f"parameter {name!r} is not text a database can hold (a lone surrogate)"
                )
            values[name] = value
        try:
            statement = sa.text(read.bindable).bindparams(
                *(sa.bindparam(name, value) for name, value in values.items())
            )
        except sa.exc.ArgumentError as exc:  # SQLAlchemy read the parameters otherwise
            raise DictionaryQueryError(code, f"the query's parameters: {exc}") from exc
        if self.engine.dialect.name == "postgresql":
            rows, width = self._postgresql(code, statement)
        elif self.engine.dialect.name == "sqlite":
            rows, width = self._sqlite(code, statement)
        else:
            raise DictionaryQueryError(
                code, f"queries cannot run read-only on {self.engine.dialect.name}"
            )
        return _items(code, rows, width, self.max_rows)

    # --- PostgreSQL --------------------------------------------------------------------

    def _postgresql(self, code: str, statement: sa.TextClause) -> tuple[list[Any], int]:
        milliseconds = max(1, round(self.timeout * 1000))
        with self.engine.connect() as conn:
            transaction = conn.begin()
            try:
                # First in the transaction: READ ONLY cannot be set after a query ran.
                conn.exec_driver_sql("SET TRANSACTION READ ONLY")
                conn.execute(
                    sa.text("SELECT set_config('statement_timeout', :ms, true)"),
                    {"ms": str(milliseconds)},
                )
                result = conn.execute(statement)
                width = len(result.keys())
                rows = list(result.fetchmany(self.max_rows + 1))
            except sa.exc.DBAPIError as exc:
                state = getattr(exc.orig, "sqlstate", None)
                if state == _PG_QUERY_CANCELED:
                    raise self._too_slow(code) from exc
                if state == _PG_READ_ONLY:
                    raise DictionaryQueryError(
                        code, f"the query tried to write: {_reason(exc)}"
                    ) from exc
                raise DictionaryQueryError(code, f"the query failed: {_reason(exc)}") from exc
            except sa.exc.SQLAlchemyError as exc:
                raise DictionaryQueryError(code, f"the query failed: {exc}") from exc
            finally:
                _clean_up(conn, transaction)
        return rows, width

    # --- SQLite ------------------------------------------------------------------------

    def _sqlite_engine(self) -> sa.Engine:
        """The engine to read with: read-only connections of its own for a file."""
        if self._readonly is not None:
            return self._readonly
        url = self.engine.url
        database = url.database
        if not database or database == ":memory:" or database.startswith("file:"):
            # An in-memory or URI database is only reached through the engine's own
            # connections; they are switched to query_only for the query instead.
            return self.engine
        readonly_url = make_url(f"sqlite+pysqlite:///file:{_uri_path(database)}?mode=ro&uri=true")
        self._readonly = sa.create_engine(readonly_url, connect_args={"timeout": self.timeout})
        return self._readonly

    def _sqlite(self, code: str, statement: sa.TextClause) -> tuple[list[Any], int]:
        with self._sqlite_engine().connect() as conn:
            raw = conn.connection.dbapi_connection
            if not isinstance(raw, sqlite3.Connection):
                raise DictionaryQueryError(code, "queries need the sqlite3 driver on SQLite")
            try:
                with _query_only(raw, conn), _deadline(raw, self.timeout):
                    result = conn.execute(statement)
                    width = len(result.keys())
                    rows = list(result.fetchmany(self.max_rows + 1))
            except _TimedOut as exc:
                raise self._too_slow(code) from exc
            except sa.exc.DBAPIError as exc:
                if getattr(exc.orig, "sqlite_errorname", "").startswith("SQLITE_READONLY"):
                    raise DictionaryQueryError(
                        code, f"the query tried to write: {_reason(exc)}"
                    ) from exc
                raise DictionaryQueryError(code, f"the query failed: {_reason(exc)}") from exc
            except sa.exc.SQLAlchemyError as exc:
                raise DictionaryQueryError(code, f"the query failed: {exc}") from exc
            finally:
                conn.rollback()
        return rows, width

    def _too_slow(self, code: str) -> DictionaryQueryError:
        return DictionaryQueryError(code, f"the query took longer than {self.timeout:g} s")


def _encodable(text: str) -> bool:
    # The drivers would fail to encode it before the query starts, outside their own errors.
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _clean_up(conn: sa.Connection, transaction: sa.RootTransaction) -> None:
    """Leave a PostgreSQL connection as it was taken from the pool, or drop it."""
    try:
        # Nothing is kept from a read; the local settings go with the transaction.
        transaction.rollback()
        # Session advisory locks outlive a rollback and would stay on the pooled
        # connection: a read-only transaction still lets a query take them.
        conn.exec_driver_sql("SELECT pg_advisory_unlock_all()")
        conn.rollback()
    except sa.exc.SQLAlchemyError:
        conn.invalidate()  # one that cannot be cleaned must not serve anyone else


def _uri_path(database: str) -> str:
    """``database`` (a file path) as the path part of an SQLite ``file:`` URI."""
    return quote(Path(database).resolve().as_posix(), safe="/")


@contextlib.contextmanager
def _query_only(raw: sqlite3.Connection, conn: sa.Connection) -> Iterator[None]:
    raw.execute("PRAGMA query_only=ON")
    try:
        yield
    finally:
        try:
            raw.execute("PRAGMA query_only=OFF")
        except sqlite3.Error:
            # A connection that cannot be switched back must not go back to the pool.
            conn.invalidate()


@contextlib.contextmanager
def _deadline(raw: sqlite3.Connection, timeout: float) -> Iterator[None]:
    deadline = time.monotonic() + timeout
    hit = False

    def past_deadline() -> int:
        nonlocal hit
        hit = time.monotonic() > deadline
        return 1 if hit else 0  # non-zero interrupts the statement

    raw.set_progress_handler(past_deadline, _SQLITE_CHECK_EVERY)
    try:
        yield
    except sa.exc.OperationalError as exc:
        if hit:
            raise _TimedOut from exc
        raise
    finally:
        raw.set_progress_handler(None, 0)


def _reason(exc: sa.exc.DBAPIError) -> str:
    text = str(exc.orig).strip()
    return text.splitlines()[0] if text else type(exc.orig).__name__


def _items(code: str, rows: Sequence[Any], width: int, max_rows: int) -> list[tuple[str, str]]:
    if width < 2:
        raise DictionaryQueryError(
            code,
            f"the query gives {width} column{'s' if width != 1 else ''}: it needs two, "
            "the item's code and its name",
        )
    if len(rows) > max_rows:
        raise DictionaryQueryError(code, f"the query gives more than {max_rows} rows")
    items: list[tuple[str, str]] = []
    for number, row in enumerate(rows, 1):
        item_code, name = row[0], row[1]
        if item_code is None:
            raise DictionaryQueryError(code, f"row {number} has no code (the first column)")
        items.append((str(item_code), "" if name is None else str(name)))
    return items
