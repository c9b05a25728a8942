"""Reads for screens and jobs at scale: queue view, overdue, client history, export, reports."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from crmcms.model import Appeal
from crmcms.storage.schema import OPEN, appeal, appeal_archive
from crmcms.storage.sql.codec import appeal_from_row, to_utc
from crmcms.storage.sql.filters import Page, PageKey

__all__ = ["REPORT_FIELDS", "AppealReads"]

REPORT_FIELDS = ("topic", "operator", "queue", "process", "state", "route")
"""What a report by period can group appeals by."""


def _page(rows: list[Any], limit: int, key: str) -> Page:
    items = tuple(map(appeal_from_row, rows[:limit]))
    if len(rows) <= limit or not items:
        return Page(items, None)
    last = items[-1]
    return Page(items, PageKey(last.id, to_utc(getattr(last, key))))


class AppealReads:
    """Read-only queries each served by one index of ``docs/storage.md``, paged by keyset."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def _rows(self, query: sa.Select[Any]) -> list[Any]:
        with self.engine.connect() as conn:
            return list(conn.execute(query))

    def queue_page(self, queue: str, *, after: PageKey | None = None, limit: int = 50) -> Page:
        """A queue's open appeals: earliest deadline first, none last, then by id.

        Appeals with a deadline and those without are read as two index ranges, so neither
        part needs a sort, whatever the database does with NULLs in an index.
        """
        t = appeal.c
        base = sa.select(appeal).where(t.queue == queue, t.state == OPEN)
        rows: list[Any] = []
        if after is None or after.deadline is not None:
            dated = base.where(t.deadline.is_not(None))
            if after is not None:
                dated = dated.where(
                    sa.tuple_(t.deadline, t.id)
                    > sa.tuple_(
                        sa.literal(to_utc(after.deadline), t.deadline.type), sa.literal(after.id)
                    )
                )
            rows = self._rows(dated.order_by(t.deadline, t.id).limit(limit + 1))
        if len(rows) <= limit:
            undated = base.where(t.deadline.is_(None))
            if after is not None and after.deadline is None:
                undated = undated.where(t.id > after.id)
            rows += self._rows(undated.order_by(t.id).limit(limit + 1 - len(rows)))
        return _page(rows, limit, "deadline")

    def overdue(self, now: datetime, *, after: PageKey | None = None, limit: int = 500) -> Page:
        """Open appeals whose deadline passed by ``now``, most overdue first."""
        t = appeal.c
        query = sa.select(appeal).where(t.state == OPEN, t.deadline <= to_utc(now))
        if after is not None:
            query = query.where(
                sa.tuple_(t.deadline, t.id)
                > sa.tuple_(
                    sa.literal(to_utc(after.deadline), t.deadline.type), sa.literal(after.id)
                )
            )
        return _page(
            self._rows(query.order_by(t.deadline, t.id).limit(limit + 1)), limit, "deadline"
        )

    def client_history(
        self,
        client_id: int,
        *,
        before: PageKey | None = None,
        limit: int = 50,
        archived: bool = True,
    ) -> Page:
        """A client's appeals, newest first; archived ones too unless ``archived=False``.

        ``PageKey.deadline`` carries the registration time of the page's last appeal here.
        """
        rows: list[Any] = []
        for table in (appeal, appeal_archive) if archived else (appeal,):
            t = table.c
            query = sa.select(*(table.c[c.name] for c in appeal.c)).where(t.client_id == client_id)
            if before is not None:
                query = query.where(
                    sa.tuple_(t.registered_at, t.id)
                    < sa.tuple_(
                        sa.literal(to_utc(before.deadline), t.registered_at.type),
                        sa.literal(before.id),
                    )
                )
            rows += self._rows(query.order_by(t.registered_at.desc(), t.id.desc()).limit(limit + 1))
        if archived:
            rows.sort(key=lambda r: (to_utc(r.registered_at), r.id), reverse=True)
        return _page(rows[: limit + 1], limit, "registered_at")

    def stream(self, *, batch: int = 2000, archived: bool = False) -> Iterator[Appeal]:
        """Every appeal in id order, ``batch`` at a time: memory stays flat for any count."""
        for table in (appeal, appeal_archive) if archived else (appeal,):
            columns = [table.c[c.name] for c in appeal.c]
            last = 0
            while True:
                rows = self._rows(
                    sa.select(*columns).where(table.c.id > last).order_by(table.c.id).limit(batch)
                )
                if not rows:
                    break
                for row in rows:
                    yield appeal_from_row(row)
                last = rows[-1].id

    def report(
        self, start: datetime, end: datetime, *, by: str = "topic", archived: bool = True
    ) -> dict[str, int]:
        """Appeals registered in ``[start, end)`` counted by ``by`` (one of REPORT_FIELDS)."""
        if by not in REPORT_FIELDS:
            raise ValueError(f"cannot group by {by!r}; choose one of {', '.join(REPORT_FIELDS)}")
        totals: dict[str, int] = {}
        for table in (appeal, appeal_archive) if archived else (appeal,):
            key = table.c[by]
            query = (
                sa.select(key, sa.func.count())
                .where(table.c.registered_at >= to_utc(start), table.c.registered_at < to_utc(end))
                .group_by(key)
            )
            for value, count in self._rows(query):
                name = "" if value is None else str(value)
                totals[name] = totals.get(name, 0) + int(count)
        return dict(sorted(totals.items()))
