"""The outbox repository of the SQL adapter: claims under a lease, marks staged until commit.

A claim is one short transaction of its own. On PostgreSQL it locks the rows it picks with
``FOR UPDATE SKIP LOCKED``, so relays claiming at once pass over each other's rows instead
of waiting; on SQLite the claim is ``BEGIN IMMEDIATE`` then one ``UPDATE ... RETURNING``:
it holds the database's single write lock from before it reads, so two claims never see the
same row as free.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from crmcms.errors import NotFoundError, StorageError
from crmcms.model import OutboxMessage, OutboxStatus
from crmcms.storage.schema import outbox
from crmcms.storage.sql.codec import to_utc

if TYPE_CHECKING:
    from crmcms.storage.sql.unit_of_work import SqlUnitOfWork

__all__ = [
    "OUTBOX_CHANNEL",
    "SqlOutbox",
    "insert_messages",
    "message_from_row",
    "message_row",
    "wake_statement",
]

OUTBOX_CHANNEL = "crmcms_outbox"
"""The PostgreSQL ``NOTIFY`` channel a commit that wrote outbox messages signals."""

_PENDING = OutboxStatus.PENDING.value
_DELIVERED = OutboxStatus.DELIVERED.value
_DEAD = OutboxStatus.DEAD.value
_o = outbox.c


def message_row(message: OutboxMessage) -> dict[str, Any]:
    return {
        "id": message.id,
        "kind": message.kind,
        "payload": dict(message.payload),
        "created_at": to_utc(message.created_at),
        "available_at": to_utc(message.available_at),
        "attempts": message.attempts,
        "status": message.status.value,
        "last_error": message.last_error,
        "lease_owner": message.lease_owner,
        "lease_expires_at": to_utc(message.lease_expires_at),
        "delivered_at": to_utc(message.delivered_at),
    }


def message_from_row(row: Any) -> OutboxMessage:
    m = row._mapping
    return OutboxMessage(
        id=m["id"],
        kind=m["kind"],
        payload=m["payload"],
        created_at=to_utc(m["created_at"]),  # type: ignore[arg-type]
        available_at=to_utc(m["available_at"]),  # type: ignore[arg-type]
        attempts=m["attempts"],
        status=OutboxStatus(m["status"]),
        last_error=m["last_error"],
        lease_owner=m["lease_owner"],
        lease_expires_at=to_utc(m["lease_expires_at"]),
        delivered_at=to_utc(m["delivered_at"]),
    )


def wake_statement(dialect: sa.Dialect) -> sa.Executable | None:
    """What a transaction that wrote messages runs to wake the relays that ``LISTEN``: a
    ``NOTIFY``, delivered at commit, so they see the rows when woken (PostgreSQL only)."""
    if dialect.name != "postgresql":
        return None
    return sa.select(sa.func.pg_notify(OUTBOX_CHANNEL, ""))


def insert_messages(conn: sa.Connection, messages: Iterable[OutboxMessage]) -> None:
    """Insert new messages in ``conn``'s transaction and wake the relays at its commit: for
    writers outside a unit of work (the login store's audit events)."""
    rows = [message_row(m) for m in messages]
    if not rows:
        return
    conn.execute(sa.insert(outbox), rows)
    wake = wake_statement(conn.dialect)
    if wake is not None:
        conn.execute(wake)


def _held(message_id: int, owner: str) -> sa.ColumnElement[bool]:
    return sa.and_(_o.id == message_id, _o.status == _PENDING, _o.lease_owner == owner)


_ENDED = {"lease_owner": None, "lease_expires_at": None}


class SqlOutbox:
    """Outbox messages of one :class:`~crmcms.storage.sql.SqlUnitOfWork`."""

    def __init__(self, uow: SqlUnitOfWork) -> None:
        self._uow = uow
        self.new: list[OutboxMessage] = []
        self.changes: list[sa.Executable] = []

    def __bool__(self) -> bool:
        return bool(self.new or self.changes)

    def rows(self) -> Iterator[dict[str, Any]]:
        return map(message_row, self.new)

    def _rows(self, query: sa.Executable) -> list[Any]:
        return list(self._uow.connection().execute(query))

    def next_id(self) -> int:
        return self._uow.store.ids.next_id("message")

    def add(self, message: OutboxMessage) -> None:
        self.new.append(message)

    def claim(
        self,
        owner: str,
        *,
        now: datetime,
        lease: timedelta,
        limit: int,
        ids: Collection[int] | None = None,
    ) -> list[OutboxMessage]:
        if limit <= 0 or (ids is not None and not ids):
            return []
        at = to_utc(now)
        assert at is not None
        due = sa.and_(
            _o.status == _PENDING,
            _o.available_at <= at,
            sa.or_(_o.lease_expires_at.is_(None), _o.lease_expires_at <= at),
        )
        if ids is not None:
            due = sa.and_(due, _o.id.in_(list(ids)))
        picked = (
            sa.select(_o.id)
            .where(due)
            .order_by(_o.available_at, _o.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        claim = (
            sa.update(outbox)
            .where(_o.id.in_(picked))
            .values(lease_owner=owner, lease_expires_at=at + lease, attempts=_o.attempts + 1)
            .returning(*_o)
        )
        engine = self._uow.store.engine
        try:
            with engine.begin() as conn:
                if engine.dialect.name == "sqlite":
                    # The write lock before anything is read: no other claim can see the
                    # same rows as free, however the statement below is planned.
                    conn.exec_driver_sql("BEGIN IMMEDIATE")
                taken = [message_from_row(r) for r in conn.execute(claim)]
        except sa.exc.SQLAlchemyError as exc:
            raise StorageError(f"cannot claim outbox messages: {exc}") from exc
        return sorted(taken, key=lambda m: (m.available_at, m.id))

    def delivered(self, message_id: int, *, at: datetime) -> None:
        self.changes.append(
            sa.update(outbox)
            .where(_o.id == message_id, _o.status != _DELIVERED)
            .values(status=_DELIVERED, delivered_at=to_utc(at), **_ENDED)
        )

    def reschedule(
        self, message_id: int, owner: str, *, available_at: datetime, error: str
    ) -> None:
        self.changes.append(
            sa.update(outbox)
            .where(_held(message_id, owner))
            .values(available_at=to_utc(available_at), last_error=error, **_ENDED)
        )

    def dead(self, message_id: int, owner: str, *, error: str) -> None:
        self.changes.append(
            sa.update(outbox)
            .where(_held(message_id, owner))
            .values(status=_DEAD, last_error=error, **_ENDED)
        )

    def release(self, message_id: int, owner: str) -> None:
        self.changes.append(
            sa.update(outbox)
            .where(_held(message_id, owner))
            .values(attempts=_o.attempts - 1, **_ENDED)
        )

    def get(self, message_id: int) -> OutboxMessage:
        for message in self.new:
            if message.id == message_id:
                return message
        rows = self._rows(sa.select(outbox).where(_o.id == message_id))
        if not rows:
            raise NotFoundError("outbox message", message_id)
        return message_from_row(rows[0])

    def find(self, *, status: OutboxStatus | None = None, limit: int = 100) -> list[OutboxMessage]:
        query = sa.select(outbox).order_by(_o.id.desc()).limit(max(limit, 0))
        if status is not None:
            query = query.where(_o.status == status.value)
        found = {m.id: m for m in map(message_from_row, self._rows(query))}
        for message in self.new:
            if status is None or message.status is status:
                found[message.id] = message
        return sorted(found.values(), key=lambda m: m.id, reverse=True)[: max(limit, 0)]

    def retry(self, message_ids: Collection[int], *, now: datetime) -> None:
        wanted = set(message_ids)
        if not wanted:
            return
        known = {r[0] for r in self._rows(sa.select(_o.id).where(_o.id.in_(sorted(wanted))))}
        missing = sorted(wanted - known - {m.id for m in self.new})
        if missing:
            raise NotFoundError("outbox message", missing[0])
        self.changes.append(
            sa.update(outbox)
            .where(_o.id.in_(sorted(wanted)))
            .values(
                status=_PENDING,
                available_at=to_utc(now),
                attempts=0,
                delivered_at=None,
                **_ENDED,
            )
        )

    def dead_ids(self) -> list[int]:
        query = sa.select(_o.id).where(_o.status == _DEAD).order_by(_o.id)
        return [int(r[0]) for r in self._rows(query)]

    def purge(self, *, delivered_before: datetime) -> int:
        old = sa.and_(_o.status == _DELIVERED, _o.delivered_at < to_utc(delivered_before))
        count = self._rows(sa.select(sa.func.count()).select_from(outbox).where(old))[0][0]
        self.changes.append(sa.delete(outbox).where(old))
        return int(count)
