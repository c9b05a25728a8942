"""The login gateway's store in SQL: the tables of migration 0007, on SQLite and PostgreSQL.

Audit events go out through ``crm_outbox``, the engine's outbox in the same database, in the
transaction that stores them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from crmcms.engine.credentials import (
    AuditEvent,
    Credential,
    KeyParameters,
    LoginFailures,
    SessionRecord,
)
from crmcms.errors import StorageError
from crmcms.model import OutboxMessage
from crmcms.storage.database import create_engine
from crmcms.storage.schema import audit, auth_secret, credential, login_failure, session
from crmcms.storage.sql.codec import to_utc
from crmcms.storage.sql.ids import ensure_counter, reserve_ids
from crmcms.storage.sql.outbox import insert_messages

__all__ = ["SqlLoginStore"]

_c = credential.c
_f = login_failure.c
_s = session.c
_a = audit.c


def _when(value: datetime | None) -> datetime | None:
    return to_utc(value)


def _at(value: datetime) -> datetime:
    converted = to_utc(value)
    assert converted is not None
    return converted


def _credential(row: Any) -> Credential:
    parameters = KeyParameters(
        row.time_cost, row.memory_cost, row.parallelism, row.hash_len, row.version
    )
    return Credential(
        row.login, bytes(row.salt), parameters, bytes(row.verifier), _at(row.changed_at)
    )


def _failures(row: Any) -> LoginFailures:
    return LoginFailures(
        row.login, row.count, _at(row.last_at), _when(row.refused_until), _when(row.locked_at)
    )


def _session(row: Any) -> SessionRecord:
    return SessionRecord(
        row.id,
        row.login,
        bytes(row.token_hash),
        _at(row.created_at),
        _at(row.last_seen_at),
        _at(row.expires_at),
        timedelta(seconds=row.idle_seconds),
        row.source,
        _when(row.revoked_at),
    )


def _event(row: Any) -> AuditEvent:
    return AuditEvent(
        row.id, _at(row.at), row.kind, row.login, row.actor, row.source, row.outcome, row.detail
    )


class _Records:
    """One transaction on one connection."""

    def __init__(self, store: SqlLoginStore, conn: sa.Connection) -> None:
        self._store = store
        self._conn = conn

    def credential(self, login: str) -> Credential | None:
        row = self._conn.execute(sa.select(credential).where(_c.login == login)).first()
        return None if row is None else _credential(row)

    def put_credential(self, item: Credential) -> None:
        p = item.parameters
        values = {
            "salt": item.salt,
            "time_cost": p.time_cost,
            "memory_cost": p.memory_cost,
            "parallelism": p.parallelism,
            "hash_len": p.hash_len,
            "version": p.version,
            "verifier": item.verifier,
            "changed_at": _at(item.changed_at),
        }
        upsert = self._insert(credential).values(login=item.login, **values)
        self._conn.execute(upsert.on_conflict_do_update(index_elements=[_c.login], set_=values))

    def failures(self, login: str) -> LoginFailures | None:
        row = self._conn.execute(sa.select(login_failure).where(_f.login == login)).first()
        return None if row is None else _failures(row)

    def record_failure(
        self, login: str, at: datetime, *, restart_locked_before: datetime | None = None
    ) -> LoginFailures:
        at = _at(at)
        insert = self._insert(login_failure)
        # One statement that reads and writes the row: two processes failing at once each
        # add one, and the row comes back as this statement left it.
        counted: dict[str, Any] = {"count": _f.count + 1, "last_at": at}
        if restart_locked_before is not None:
            expired = sa.and_(_f.locked_at.is_not(None), _f.locked_at < _at(restart_locked_before))
            counted = {
                "count": sa.case((expired, 1), else_=_f.count + 1),
                "last_at": at,
                "refused_until": sa.case((expired, None), else_=_f.refused_until),
                "locked_at": sa.case((expired, None), else_=_f.locked_at),
            }
        upsert = (
            insert.values(login=login, count=1, last_at=at)
            .on_conflict_do_update(index_elements=[_f.login], set_=counted)
            .returning(*login_failure.c)
        )
        return _failures(self._conn.execute(upsert).one())

    def set_refusal(
        self, login: str, *, refused_until: datetime | None, locked_at: datetime | None
    ) -> None:
        self._conn.execute(
            sa.update(login_failure)
            .where(_f.login == login)
            .values(refused_until=_when(refused_until), locked_at=_when(locked_at))
        )

    def clear_failures(self, login: str) -> None:
        self._conn.execute(sa.delete(login_failure).where(_f.login == login))

    def secret(self) -> bytes:
        return self._store._read_secret(self._conn)

    def add_session(
        self,
        login: str,
        token_hash: bytes,
        *,
        created_at: datetime,
        expires_at: datetime,
        idle_timeout: timedelta,
        source: str | None = None,
    ) -> SessionRecord:
        created_at = _at(created_at)
        # The database numbers sessions and audit events (a sequence on PostgreSQL, the rowid
        # on SQLite): an id block reserved on another connection would wait for the write lock
        # this transaction holds on SQLite.
        row = self._conn.execute(
            sa.insert(session)
            .values(
                login=login,
                token_hash=token_hash,
                created_at=created_at,
                last_seen_at=created_at,
                expires_at=_at(expires_at),
                idle_seconds=int(idle_timeout.total_seconds()),
                source=source,
            )
            .returning(*session.c)
        ).one()
        return _session(row)

    def session_by_token_hash(self, token_hash: bytes) -> SessionRecord | None:
        row = self._conn.execute(sa.select(session).where(_s.token_hash == token_hash)).first()
        return None if row is None else _session(row)

    def touch_session(self, session_id: int, at: datetime) -> None:
        at = _at(at)
        self._conn.execute(
            sa.update(session)
            .where(_s.id == session_id, _s.last_seen_at < at)
            .values(last_seen_at=at)
        )

    def revoke_session(self, session_id: int, at: datetime) -> bool:
        done = self._conn.execute(
            sa.update(session)
            .where(_s.id == session_id, _s.revoked_at.is_(None))
            .values(revoked_at=_at(at))
        )
        return bool(done.rowcount)

    def revoke_sessions(self, login: str, at: datetime, *, keep: int | None = None) -> int:
        query = sa.update(session).where(_s.login == login, _s.revoked_at.is_(None))
        if keep is not None:
            query = query.where(_s.id != keep)
        return int(self._conn.execute(query.values(revoked_at=_at(at))).rowcount)

    def sessions(self, login: str) -> list[SessionRecord]:
        rows = self._conn.execute(sa.select(session).where(_s.login == login).order_by(_s.id))
        return [_session(r) for r in rows]

    def add_audit(
        self,
        kind: str,
        at: datetime,
        login: str | None,
        *,
        actor: str | None = None,
        source: str | None = None,
        outcome: str = "ok",
        detail: str = "",
    ) -> AuditEvent:
        row = self._conn.execute(
            sa.insert(audit)
            .values(
                at=_at(at),
                kind=str(kind),
                login=login,
                actor=actor,
                source=source,
                outcome=outcome,
                detail=detail,
            )
            .returning(*audit.c)
        ).one()
        return _event(row)

    def audit(
        self,
        *,
        login: str | None = None,
        kind: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 100,
    ) -> list[AuditEvent]:
        query = sa.select(audit)
        if login is not None:
            query = query.where(_a.login == login)
        if kind is not None:
            query = query.where(_a.kind == str(kind))
        if since is not None:
            query = query.where(_a.at >= _at(since))
        if until is not None:
            query = query.where(_a.at < _at(until))
        query = query.order_by(_a.at.desc(), _a.id.desc()).limit(max(limit, 0))
        return [_event(r) for r in self._conn.execute(query)]

    def add_message(self, kind: str, payload: Mapping[str, Any], at: datetime) -> OutboxMessage:
        # The id is reserved on this connection: another one would wait for the write lock
        # this transaction holds on SQLite. A rollback gives the id back with the row.
        at = _at(at)
        message = OutboxMessage(reserve_ids(self._conn, "message", 1), kind, payload, at, at)
        insert_messages(self._conn, [message])
        return message

    def _insert(self, table: sa.Table) -> Any:
        # Both dialects spell the upsert the same way; the plain insert has no ON CONFLICT.
        if self._conn.dialect.name == "postgresql":
            return postgresql.insert(table)
        return sqlite.insert(table)


class SqlLoginStore:
    """Logins in a database given by URL or engine, as for :class:`SqlStore` (the schema is
    brought up to date unless ``upgrade=False``); SQLite or PostgreSQL.

    Every transaction is short; on SQLite a writing one takes the write lock first, so two
    processes never both read a row and then fight over writing it.
    """

    def __init__(
        self, url_or_engine: str | sa.Engine | None = None, *, upgrade: bool = True
    ) -> None:
        if isinstance(url_or_engine, sa.Engine):
            self.engine = url_or_engine
        else:
            self.engine = create_engine(url_or_engine)
        if upgrade:
            from crmcms.storage.migrate import upgrade_schema

            upgrade_schema(self.engine)
        self._secret: bytes | None = None
        self._counter_ready = False

    @contextmanager
    def transaction(self, *, write: bool = True) -> Iterator[_Records]:
        if write and not self._counter_ready:
            # Before the transaction, not in it: on SQLite a second connection would wait
            # for the write lock this one is about to take.
            ensure_counter(self.engine, "message")
            self._counter_ready = True
        try:
            with self.engine.begin() as conn:
                if write and conn.dialect.name == "sqlite":
                    conn.exec_driver_sql("BEGIN IMMEDIATE")
                yield _Records(self, conn)
        except sa.exc.SQLAlchemyError as exc:
            raise StorageError(f"login records: {exc}") from exc

    def dispose(self) -> None:
        """Close the pooled connections."""
        self.engine.dispose()

    def _read_secret(self, conn: sa.Connection) -> bytes:
        # One row written by the migration and never changed: read once per store.
        if self._secret is None:
            value = conn.execute(sa.select(auth_secret.c.secret).where(auth_secret.c.id == 1))
            found = value.scalar()
            if found is None:
                raise StorageError("crm_auth_secret holds no secret: is the schema at 0007?")
            self._secret = bytes(found)
        return self._secret
