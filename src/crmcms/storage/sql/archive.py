"""Archiving: closed appeals move to archive tables in batches, stay readable, come back."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import sqlalchemy as sa

from crmcms.errors import NotFoundError, StorageError
from crmcms.model import Appeal, HistoryEvent
from crmcms.storage.schema import appeal, appeal_archive, history, history_archive
from crmcms.storage.sql.codec import appeal_from_row, event_from_row, to_utc

__all__ = ["ArchiveRun", "Archiver"]

_CLOSED = "closed"
_APPEAL_COLUMNS = [c.name for c in appeal.c]
_HISTORY_COLUMNS = [c.name for c in history.c]


@attrs.frozen
class ArchiveRun:
    """What one :meth:`Archiver.archive` call did."""

    archived: int
    batches: int
    finished: bool
    """False when stopped by ``max_batches`` with closed appeals still due."""


class Archiver:
    """Moves appeals closed longer than a given time from the working tables to the archive.

    Each batch is one transaction: the appeals and their history are copied, then deleted,
    or nothing happens. A run stopped at any moment (a crash, a kill) leaves every appeal in
    exactly one place, and the next run simply continues: there is no progress to restore.
    """

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    # --- Moving -------------------------------------------------------------------------

    def archive(
        self,
        older_than: timedelta,
        *,
        now: datetime | None = None,
        batch: int = 1000,
        max_batches: int | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> ArchiveRun:
        """Archive appeals closed before ``now - older_than``; ``progress`` gets each batch size."""
        cutoff = to_utc((now or datetime.now(UTC)) - older_than)
        archived_at = datetime.now(UTC)
        total = batches = 0
        while max_batches is None or batches < max_batches:
            moved = self._batch(cutoff, batch, archived_at)
            if not moved:
                return ArchiveRun(total, batches, True)
            total += moved
            batches += 1
            if progress is not None:
                progress(moved)
        return ArchiveRun(total, batches, not self._due_ids(self.engine, cutoff, 1))

    @staticmethod
    def _due_ids(engine: sa.Engine, cutoff: datetime | None, limit: int) -> list[int]:
        t = appeal.c
        with engine.connect() as conn:
            query = (
                sa.select(t.id)
                .where(t.state == _CLOSED, t.closed_at < cutoff)
                .order_by(t.closed_at, t.id)
                .limit(limit)
            )
            return [int(i) for (i,) in conn.execute(query)]

    def _batch(self, cutoff: datetime | None, size: int, archived_at: datetime) -> int:
        ids = self._due_ids(self.engine, cutoff, size)
        if not ids:
            return 0
        t = appeal.c
        still_due = sa.and_(t.id.in_(ids), t.state == _CLOSED, t.closed_at < cutoff)
        try:
            with self.engine.begin() as conn:
                if conn.dialect.name == "postgresql":
                    # Lock the rows so that an appeal reopened meanwhile is either archived
                    # as it was before, or not at all - never deleted with newer changes.
                    conn.execute(sa.select(t.id).where(still_due).with_for_update())
                conn.execute(
                    sa.insert(appeal_archive).from_select(
                        [*_APPEAL_COLUMNS, "archived_at"],
                        sa.select(
                            *(appeal.c[n] for n in _APPEAL_COLUMNS),
                            sa.literal(archived_at, appeal_archive.c.archived_at.type),
                        ).where(still_due),
                    )
                )
                moved = sa.select(appeal_archive.c.id).where(appeal_archive.c.id.in_(ids))
                self._move_history(conn, history, history_archive, moved)
                done = conn.execute(sa.delete(appeal).where(t.id.in_(moved))).rowcount
        except sa.exc.SQLAlchemyError as exc:
            raise StorageError(f"archiving a batch failed, nothing of it was moved: {exc}") from exc
        return int(done)

    @staticmethod
    def _move_history(
        conn: sa.Connection, source: sa.Table, target: sa.Table, appeal_ids: sa.Select[tuple[int]]
    ) -> None:
        conn.execute(
            sa.insert(target).from_select(
                _HISTORY_COLUMNS,
                sa.select(*(source.c[n] for n in _HISTORY_COLUMNS)).where(
                    source.c.appeal_id.in_(appeal_ids)
                ),
            )
        )
        conn.execute(sa.delete(source).where(source.c.appeal_id.in_(appeal_ids)))

    def restore(self, appeal_id: int) -> Appeal:
        """Bring an archived appeal and its history back to the working tables.

        Its version goes up by one, so that a copy read before it was archived cannot be
        saved over it.
        """
        a = appeal_archive.c
        with self.engine.begin() as conn:
            found = conn.execute(sa.select(a.id).where(a.id == appeal_id).with_for_update()).first()
            if found is None:
                raise NotFoundError("archived appeal", appeal_id)
            values: dict[str, sa.ColumnElement[Any]] = {n: a[n] for n in _APPEAL_COLUMNS}
            values["version"] = a.version + 1
            conn.execute(
                sa.insert(appeal).from_select(
                    _APPEAL_COLUMNS,
                    sa.select(*values.values()).where(a.id == appeal_id),
                )
            )
            ids = sa.select(appeal.c.id).where(appeal.c.id == appeal_id)
            self._move_history(conn, history_archive, history, ids)
            conn.execute(sa.delete(appeal_archive).where(a.id == appeal_id))
            row = conn.execute(sa.select(appeal).where(appeal.c.id == appeal_id)).one()
        return appeal_from_row(row)

    # --- Reading ------------------------------------------------------------------------

    def get(self, appeal_id: int) -> Appeal:
        """An archived appeal by id."""
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(*(appeal_archive.c[n] for n in _APPEAL_COLUMNS)).where(
                    appeal_archive.c.id == appeal_id
                )
            ).first()
        if row is None:
            raise NotFoundError("archived appeal", appeal_id)
        return appeal_from_row(row)

    def history(self, appeal_id: int) -> list[HistoryEvent]:
        """An archived appeal's history in the order it happened."""
        h = history_archive.c
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(history_archive).where(h.appeal_id == appeal_id).order_by(h.at, h.id)
            )
            return [event_from_row(r) for r in rows]

    def count(self) -> int:
        with self.engine.connect() as conn:
            return int(
                conn.execute(sa.select(sa.func.count()).select_from(appeal_archive)).scalar_one()
            )

    def archived_ids(self, ids: Sequence[int]) -> set[int]:
        """Which of ``ids`` are in the archive."""
        with self.engine.connect() as conn:
            query = sa.select(appeal_archive.c.id).where(appeal_archive.c.id.in_(list(ids)))
            return {int(i) for (i,) in conn.execute(query)}
