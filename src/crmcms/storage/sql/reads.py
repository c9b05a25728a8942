"""Reads for screens and jobs at scale: queue view, overdue, client history, export, reports."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any, NamedTuple

import sqlalchemy as sa

from crmcms.engine.obstacles import ReadScope
from crmcms.errors import Problem, ValidationError
from crmcms.model import Appeal
from crmcms.storage.schema import OPEN, appeal, appeal_archive
from crmcms.storage.sql.codec import appeal_from_row, to_utc
from crmcms.storage.sql.filters import Page, PageKey
from crmcms.storage.sql.scope import visible

__all__ = ["REPORT_FIELDS", "AppealReads", "AppealSummary"]

REPORT_FIELDS = ("topic", "operator", "queue", "process", "state", "route")
"""What a report by period can group appeals by."""


class AppealSummary(NamedTuple):
    """An appeal as a list shows it: no attribute values, no history; immutable.

    A named tuple, because a page builds one per row: it is made from the row in one step,
    at a fifth of the cost of a frozen attrs class, which sets each field separately.
    """

    id: int
    topic: str
    process: str
    queue: str | None
    state: str
    priority: str | None
    responsible: str | None
    client_id: int | None
    registered_at: datetime
    deadline: datetime | None


class _UtcTime(sa.types.TypeDecorator[datetime]):
    """A stored time read back as an aware UTC datetime on every database.

    SQLite keeps UTC wall times as text and SQLAlchemy would hand them back naive; adding the
    offset to the text before parsing costs a tenth of ``replace(tzinfo=UTC)`` afterwards.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def result_processor(self, dialect: sa.Dialect, coltype: object) -> Any:
        if dialect.name != "sqlite":
            return super().result_processor(dialect, coltype)
        parse = datetime.fromisoformat

        def process(value: str | None) -> datetime | None:
            return None if value is None else parse(value + "+00:00")

        return process


_TIMES = {"registered_at", "deadline"}


def _summary(table: sa.Table) -> list[Any]:
    """The columns of an :class:`AppealSummary`, times read as aware UTC datetimes."""
    return [
        sa.type_coerce(table.c[name], _UtcTime).label(name) if name in _TIMES else table.c[name]
        for name in AppealSummary._fields
    ]


_SUMMARY = _summary(appeal)


def _page(rows: list[Any], limit: int, key: str) -> Page[AppealSummary]:
    # Straight from the row's values: a list screen pays for 50 tuples, not for decoding.
    items = tuple(map(AppealSummary._make, rows[:limit]))
    if len(rows) <= limit or not items:
        return Page(items, None)
    last = items[-1]
    return Page(items, PageKey(last.id, to_utc(getattr(last, key))))


def _queue_statements() -> tuple[dict[bool, Any], dict[bool, Any]]:
    # Built once: each call only binds values, and the compiled form is cached.
    t = appeal.c
    base = sa.select(*_SUMMARY).where(t.queue == sa.bindparam("queue"), t.state == OPEN)
    limit = sa.bindparam("limit", type_=sa.Integer)
    dated = base.where(t.deadline.is_not(None)).order_by(t.deadline, t.id).limit(limit)
    after = sa.tuple_(t.deadline, t.id) > sa.tuple_(
        sa.bindparam("deadline", type_=t.deadline.type), sa.bindparam("id", type_=t.id.type)
    )
    undated = base.where(t.deadline.is_(None)).order_by(t.id).limit(limit)
    return (
        {False: dated, True: dated.where(after)},
        {False: undated, True: undated.where(t.id > sa.bindparam("id", type_=t.id.type))},
    )


_QUEUE_DATED, _QUEUE_UNDATED = _queue_statements()


def _keyset(
    first: sa.Select[Any], columns: tuple[Any, Any], names: tuple[str, str], newer: bool
) -> dict[bool, Any]:
    """``first`` and the same statement resuming after a bound key (both built once)."""
    key = sa.tuple_(*columns)
    bound = sa.tuple_(*(sa.bindparam(n, type_=c.type) for n, c in zip(names, columns, strict=True)))
    return {False: first, True: first.where(key < bound if newer else key > bound)}


def _overdue_statements() -> dict[bool, Any]:
    t = appeal.c
    query = (
        sa.select(*_SUMMARY)
        .where(t.state == OPEN, t.deadline <= sa.bindparam("now", type_=t.deadline.type))
        .order_by(t.deadline, t.id)
        .limit(sa.bindparam("limit", type_=sa.Integer))
    )
    return _keyset(query, (t.deadline, t.id), ("deadline", "id"), newer=False)


def _history_statements(scope: ReadScope | None = None) -> dict[tuple[bool, bool], Any]:
    """Client history by (archived too, resuming after a key): one statement each, bounded
    to what ``scope``'s reader may see when given.

    With the archive it is a UNION ALL ordered as a whole: each side is read in order from its
    own (client_id, registered_at) index and the two are merged, so a page costs one round
    trip and no sort of either table.
    """
    statements: dict[tuple[bool, bool], Any] = {}
    limit = sa.bindparam("limit", type_=sa.Integer)
    for resume in (False, True):
        parts = []
        for table in (appeal, appeal_archive):
            t = table.c
            part = sa.select(*_summary(table)).where(
                t.client_id == sa.bindparam("client", type_=t.client_id.type),
                *visible(scope, table),
            )
            if resume:
                bound = sa.tuple_(
                    sa.bindparam("at", type_=t.registered_at.type),
                    sa.bindparam("id", type_=t.id.type),
                )
                part = part.where(sa.tuple_(t.registered_at, t.id) < bound)
            parts.append(part)
        working = parts[0].order_by(appeal.c.registered_at.desc(), appeal.c.id.desc())
        statements[False, resume] = working.limit(limit)
        both = sa.union_all(*parts).subquery()
        statements[True, resume] = (
            sa.select(*both.c).order_by(both.c.registered_at.desc(), both.c.id.desc()).limit(limit)
        )
    return statements


_OVERDUE = _overdue_statements()
_HISTORY = _history_statements()


class AppealReads:
    """Read-only queries each served by one index of ``docs/storage.md``, paged by keyset."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def _rows(self, query: sa.Select[Any]) -> list[Any]:
        with self.engine.connect() as conn:
            return list(conn.execute(query))

    def queue_page(
        self,
        queue: str,
        *,
        after: PageKey | None = None,
        limit: int = 50,
        scope: ReadScope | None = None,
    ) -> Page[AppealSummary]:
        """A queue's open appeals: earliest deadline first, none last, then by id; with
        ``scope``, only those its reader may see (a queue it does not work in shows the
        appeals it is responsible for, if any).

        Appeals with a deadline and those without are read as two index ranges, so neither
        part needs a sort, whatever the database does with NULLs in an index.
        """
        params: dict[str, Any] = {"queue": queue, "limit": limit + 1}
        rows: list[Any] = []
        dated, undated = _QUEUE_DATED, _QUEUE_UNDATED
        if scope is not None and (scope.nothing or queue not in scope.queues):
            bounds = visible(scope)
            dated = {k: q.where(*bounds) for k, q in dated.items()}
            undated = {k: q.where(*bounds) for k, q in undated.items()}
        with self.engine.connect() as conn:
            if after is None or after.deadline is not None:
                if after is not None:
                    params.update(deadline=to_utc(after.deadline), id=after.id)
                rows = list(conn.execute(dated[after is not None], params))
            if len(rows) <= limit:
                resume = after is not None and after.deadline is None
                if after is not None and resume:
                    params["id"] = after.id
                params["limit"] = limit + 1 - len(rows)
                rows += conn.execute(undated[resume], params)
        return _page(rows, limit, "deadline")

    def overdue(
        self,
        now: datetime,
        *,
        after: PageKey | None = None,
        limit: int = 500,
        scope: ReadScope | None = None,
    ) -> Page[AppealSummary]:
        """Open appeals whose deadline passed by ``now``, most overdue first (with ``scope``,
        those its reader may see)."""
        params: dict[str, Any] = {"now": to_utc(now), "limit": limit + 1}
        if after is not None:
            params.update(deadline=to_utc(after.deadline), id=after.id)
        query = _OVERDUE[after is not None]
        if scope is not None:
            query = query.where(*visible(scope))
        with self.engine.connect() as conn:
            rows = list(conn.execute(query, params))
        return _page(rows, limit, "deadline")

    def client_history(
        self,
        client_id: int,
        *,
        before: PageKey | None = None,
        limit: int = 50,
        archived: bool = True,
        scope: ReadScope | None = None,
    ) -> Page[AppealSummary]:
        """A client's appeals, newest first; archived ones too unless ``archived=False``;
        with ``scope``, those its reader may see.

        ``PageKey.deadline`` carries the registration time of the page's last appeal here.
        """
        params: dict[str, Any] = {"client": client_id, "limit": limit + 1}
        if before is not None:
            params.update(at=to_utc(before.deadline), id=before.id)
        statements = _HISTORY if scope is None else _history_statements(scope)
        with self.engine.connect() as conn:
            rows = list(conn.execute(statements[archived, before is not None], params))
        return _page(rows, limit, "registered_at")

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
        self,
        start: datetime,
        end: datetime,
        *,
        by: str = "topic",
        archived: bool = True,
        scope: ReadScope | None = None,
    ) -> dict[str, int]:
        """Appeals registered in ``[start, end)`` counted by ``by`` (one of REPORT_FIELDS);
        with ``scope``, only those its reader may see are counted."""
        if by not in REPORT_FIELDS:
            known = ", ".join(REPORT_FIELDS)
            raise ValidationError([Problem("by", f"cannot group by {by!r}; choose one of {known}")])
        totals: dict[str, int] = {}
        for table in (appeal, appeal_archive) if archived else (appeal,):
            key = table.c[by]
            query = (
                sa.select(key, sa.func.count())
                .where(
                    table.c.registered_at >= to_utc(start),
                    table.c.registered_at < to_utc(end),
                    *visible(scope, table),
                )
                .group_by(key)
            )
            for value, count in self._rows(query):
                name = "" if value is None else str(value)
                totals[name] = totals.get(name, 0) + int(count)
        return dict(sorted(totals.items()))
