"""Record ids handed out in blocks from a counter table, like a cached database sequence."""

from __future__ import annotations

import threading
import time

import sqlalchemy as sa

from crmcms.errors import StorageError
from crmcms.storage.schema import (
    appeal,
    attachment,
    contact,
    history,
    id_counter,
    note,
    outbox,
    prospect,
    system_problem,
)

__all__ = ["COUNTERS", "IdAllocator", "bump_counters", "ensure_counter", "reserve_ids"]

COUNTERS: dict[str, sa.Table] = {
    "attachment": attachment,
    "contact": contact,
    "appeal": appeal,
    "event": history,
    "message": outbox,
    "note": note,
    "prospect": prospect,
    "system_problem": system_problem,
}
"""Counter name -> the table whose ids it hands out."""


def reserve_ids(conn: sa.Connection, name: str, count: int) -> int:
    """Reserve ``count`` ids in ``conn``'s transaction; returns the last one. A missing
    counter starts past max(id).

    Reserved inside a longer transaction, the counter's row stays locked until it ends, and
    a rollback hands the ids back: for writers that must not open a second connection
    (SQLite's write lock is already theirs), and whose transactions are short.
    """
    bumped = conn.execute(
        sa.update(id_counter)
        .where(id_counter.c.name == name)
        .values(value=id_counter.c.value + count)
        .returning(id_counter.c.value)
    ).scalar()
    if bumped is not None:
        return int(bumped)
    table = COUNTERS[name]
    start = conn.execute(sa.select(sa.func.coalesce(sa.func.max(table.c.id), 0))).scalar_one()
    conn.execute(sa.insert(id_counter).values(name=name, value=int(start) + count))
    return int(start) + count


def ensure_counter(engine: sa.Engine, name: str) -> None:
    """Create counter ``name`` if it is missing, in a transaction of its own, so that
    :func:`reserve_ids` inside other transactions only ever updates its row (two of them
    creating it at once would have one fail)."""
    counter = id_counter.c
    try:
        with engine.begin() as conn:
            found = conn.execute(sa.select(counter.value).where(counter.name == name)).scalar()
            if found is None:
                table = COUNTERS[name]
                top = conn.execute(sa.select(sa.func.coalesce(sa.func.max(table.c.id), 0)))
                conn.execute(sa.insert(id_counter).values(name=name, value=int(top.scalar_one())))
    except sa.exc.IntegrityError:
        pass  # another process created it meanwhile: what was wanted
    except sa.exc.SQLAlchemyError as exc:
        raise StorageError(f"cannot set up the {name} ids: {exc}") from exc


def bump_counters(conn: sa.Connection) -> None:
    """Move every counter past the ids stored, after rows were written with their own ids."""
    for name, table in COUNTERS.items():
        top = int(
            conn.execute(sa.select(sa.func.coalesce(sa.func.max(table.c.id), 0))).scalar_one()
        )
        stored = conn.execute(
            sa.select(id_counter.c.value).where(id_counter.c.name == name)
        ).scalar()
        if stored is None:
            conn.execute(sa.insert(id_counter).values(name=name, value=top))
        elif stored < top:
            conn.execute(sa.update(id_counter).where(id_counter.c.name == name).values(value=top))


class IdAllocator:
    """Hands out ids of one store; thread-safe.

    Each reservation is its own short transaction, outside any unit of work, so ids are never
    reused after a rollback and two processes never get the same id. Ids a process reserved
    but did not use are skipped, as a sequence's cache is.
    """

    GROWTH = 16
    """A busy counter's block grows up to ``block * GROWTH`` ids."""
    BUSY = 1.0
    """Seconds: a block used up faster than this makes the next one twice as large."""

    def __init__(self, engine: sa.Engine, block: int = 100) -> None:
        self.engine = engine
        self.block = block
        self._lock = threading.Lock()
        self._next: dict[str, int] = {}
        self._last: dict[str, int] = {}
        self._size: dict[str, int] = {}
        self._since: dict[str, float] = {}

    def next_id(self, name: str) -> int:
        with self._lock:
            current = self._next.get(name, 1)
            if current > self._last.get(name, 0):
                # Bulk registration would otherwise spend a transaction per block; a quiet
                # counter keeps small blocks, so a restart skips few ids.
                now = time.monotonic()
                size = self._size.get(name, self.block)
                if name in self._since and now - self._since[name] < self.BUSY:
                    size = min(size * 2, self.block * self.GROWTH)
                else:
                    size = self.block
                last = self._reserve(name, size)
                current = last - size + 1
                self._last[name] = last
                self._size[name] = size
                self._since[name] = now
            self._next[name] = current + 1
            return current

    def _reserve(self, name: str, count: int) -> int:
        for attempt in range(3):
            try:
                with self.engine.begin() as conn:
                    return reserve_ids(conn, name, count)
            except sa.exc.IntegrityError:
                # Two processes created the counter row at once; the loser bumps it instead.
                if attempt == 2:
                    raise
            except sa.exc.SQLAlchemyError as exc:
                raise StorageError(f"cannot reserve {name} ids: {exc}") from exc
        raise AssertionError("unreachable")
