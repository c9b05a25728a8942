"""Reports in SQL: each one a single aggregate query, groups and measures computed by the
database, rows streamed from its cursor.

A report reads the appeals registered in its period (or, for a flow report, those opened,
closed or open in it) from the working table and, when asked, the archive; each is one
SELECT of the dimensions and per-appeal measure inputs, and the aggregate runs over their
UNION ALL. Business times come from the stored SLA clocks; percentiles are
``percentile_cont`` on PostgreSQL and a ranked window with the same interpolation on SQLite.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from crmcms.dsl import STRING
from crmcms.engine.report_queries import ReportQuery
from crmcms.errors import Problem, ValidationError
from crmcms.export import ReportCell
from crmcms.model import DimensionKind, Measure, ReportDimension
from crmcms.storage.schema import (
    OPEN,
    appeal,
    appeal_archive,
    client,
    contact,
    history,
    history_archive,
    sla_clock,
)
from crmcms.storage.sql.binding import AppealBinding, attribute_expression
from crmcms.storage.sql.codec import to_utc
from crmcms.storage.sql.report_time import bucket_expression, bucket_value
from crmcms.storage.sql.rules_to_sql import rule_to_sql
from crmcms.storage.sql.scope import visible

__all__ = ["SqlReports", "report_statement"]

_K = DimensionKind
_M = Measure
_Time = sa.DateTime(timezone=True)

_COLUMN_DIMENSIONS = {
    _K.TOPIC: "topic",
    _K.OPERATOR: "operator",
    _K.RESPONSIBLE: "responsible",
    _K.QUEUE: "queue",
    _K.PROCESS: "process",
    _K.PRIORITY: "priority",
    _K.STATE: "state",
}
_CONTACT_DIMENSIONS = {_K.CHANNEL: "channel", _K.PLACE: "place"}
_CLIENT_DIMENSIONS = {_K.CLIENT_CATEGORY: "category", _K.REGION: "region"}

_PERCENTILES = {
    _M.HANDLING_MEDIAN: ("handling_us", 0.5),
    _M.HANDLING_P90: ("handling_us", 0.9),
    _M.FIRST_RESPONSE_MEDIAN: ("first_response_us", 0.5),
    _M.FIRST_RESPONSE_P90: ("first_response_us", 0.9),
}
_RESOLUTION = {
    _M.HANDLING_MEDIAN,
    _M.HANDLING_P90,
    _M.SLA_MET,
    _M.SLA_BREACHED,
    _M.SLA_COMPLIANCE,
}
_FIRST_RESPONSE = {_M.FIRST_RESPONSE_MEDIAN, _M.FIRST_RESPONSE_P90}
_REPEATS = {_M.REPEATED, _M.REPEATED_SHARE}
_REOPENS = {_M.REOPENED, _M.REOPENED_SHARE}


def _flag(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return sa.case((condition, 1), else_=0)


class _Compiler:
    """Builds one report query for one dialect."""

    def __init__(self, query: ReportQuery, dialect: str) -> None:
        self.query = query
        self.dialect = dialect
        self.definition = query.definition
        self.measures = set(self.definition.measures)
        self.period = query.period
        self.start = to_utc(query.period.start)
        self.end = to_utc(query.period.end)
        self.tables = [(appeal, history)]
        if query.archived:
            self.tables.append((appeal_archive, history_archive))

    # --- per appeal ---------------------------------------------------------------------

    def dimension(self, dim: ReportDimension, t: sa.Table, at: ColumnElement[Any]) -> Any:
        kind = dim.kind
        if kind in _COLUMN_DIMENSIONS:
            return t.c[_COLUMN_DIMENSIONS[kind]]
        if kind in _CONTACT_DIMENSIONS:
            return contact.c[_CONTACT_DIMENSIONS[kind]]
        if kind in _CLIENT_DIMENSIONS:
            return client.c[_CLIENT_DIMENSIONS[kind]]
        if kind is _K.TOPIC_GROUP:
            groups = self.query.topic_groups
            if not groups:
                return sa.null()
            return sa.case(
                *(
                    (t.c.topic == sa.literal(topic), sa.literal(group))
                    for topic, group in sorted(groups.items())
                ),
                else_=sa.null(),
            )
        if kind is _K.PERIOD:
            return bucket_expression(
                at,
                self.definition.bucket,
                self.period.timezone,
                self.dialect,
                self.period.start,
                self.period.end,
            )
        assert dim.attribute is not None
        type_ = self.query.attributes.get(dim.attribute, STRING)
        return attribute_expression(t, dim.attribute, type_, self.dialect)

    def source(self, t: sa.Table) -> tuple[sa.FromClause, AppealBinding]:
        binding = AppealBinding(self.dialect, t)
        paths = [p for rule in self.query.filters for p in rule.paths]
        kinds = {d.kind for d in self.query.dimensions}
        if kinds & set(_CONTACT_DIMENSIONS) or self.measures & _REPEATS:
            paths.append("Contact.Channel")
        if kinds & set(_CLIENT_DIMENSIONS):
            paths.append("Client.Category")
        return binding.joins(paths), binding

    def conditions(self, t: sa.Table, binding: AppealBinding) -> list[ColumnElement[bool]]:
        return [
            *(rule_to_sql(rule, binding) for rule in self.query.filters),
            *visible(self.query.scope, t),
        ]

    def repeats(self) -> sa.Subquery:
        """Each appeal of the period (and the window before it) with 1 when it repeats an
        appeal of the same client, or subscriber, on the same topic within the window."""
        days = self.definition.repeat_days
        since = to_utc(self.period.start - timedelta(days=days))
        parts = []
        for t, _ in self.tables:
            parts.append(
                sa.select(
                    t.c.id,
                    t.c.client_id,
                    contact.c.subscriber_id,
                    t.c.topic,
                    t.c.registered_at,
                )
                .select_from(t.outerjoin(contact, contact.c.id == t.c.contact_id))
                .where(t.c.registered_at >= since, t.c.registered_at < self.end)
            )
        u = (parts[0] if len(parts) == 1 else sa.union_all(*parts)).subquery("recent")
        order = [u.c.registered_at, u.c.id]
        w = sa.select(
            u.c.id,
            u.c.client_id,
            u.c.subscriber_id,
            u.c.registered_at,
            sa.func.lag(u.c.registered_at)
            .over(partition_by=[u.c.client_id, u.c.topic], order_by=order)
            .label("after_client"),
            sa.func.lag(u.c.registered_at)
            .over(partition_by=[u.c.subscriber_id, u.c.topic], order_by=order)
            .label("after_subscriber"),
        ).subquery("previous")

        def within(previous: ColumnElement[Any]) -> ColumnElement[bool]:
            if self.dialect == "postgresql":
                gap = w.c.registered_at - previous <= sa.literal(timedelta(days=days), sa.Interval)
            else:
                # Seconds between the two, a millisecond's slack for julianday's floats.
                seconds = (
                    sa.func.julianday(w.c.registered_at) - sa.func.julianday(previous)
                ) * 86400.0
                gap = seconds <= sa.literal(days * 86400 + 0.001)
            return sa.and_(previous.is_not(None), gap)

        repeated = sa.or_(
            sa.and_(w.c.client_id.is_not(None), within(w.c.after_client)),
            sa.and_(w.c.subscriber_id.is_not(None), within(w.c.after_subscriber)),
        )
        return sa.select(w.c.id, _flag(repeated).label("repeated")).subquery("repeats")

    def appeals(self, repeats: sa.Subquery | None) -> sa.Select[Any] | sa.CompoundSelect[Any]:
        """One row per appeal of the period: its dimensions ``d0``... and measure inputs."""
        parts = []
        for t, h in self.tables:
            source, binding = self.source(t)
            columns: list[Any] = [
                self.dimension(d, t, t.c.registered_at).label(f"d{i}")
                for i, d in enumerate(self.query.dimensions)
            ]
            columns.append(t.c.state.label("state"))
            if self.measures & _RESOLUTION:
                rc = sla_clock.alias(f"resolution_{t.name}")
                source = source.outerjoin(
                    rc, sa.and_(rc.c.appeal_id == t.c.id, rc.c.clock == sa.literal("resolution"))
                )
                stopped = sa.and_(rc.c.stopped_at.is_not(None), t.c.state != OPEN)
                columns += [
                    sa.case((stopped, rc.c.elapsed_us), else_=sa.null()).label("handling_us"),
                    _flag(
                        sa.and_(stopped, rc.c.limit_us.is_not(None), rc.c.breached_at.is_(None))
                    ).label("met"),
                    _flag(rc.c.breached_at.is_not(None)).label("breached"),
                ]
            if self.measures & _FIRST_RESPONSE:
                fr = sla_clock.alias(f"first_response_{t.name}")
                source = source.outerjoin(
                    fr,
                    sa.and_(fr.c.appeal_id == t.c.id, fr.c.clock == sa.literal("first_response")),
                )
                columns.append(
                    sa.case((fr.c.stopped_at.is_not(None), fr.c.elapsed_us), else_=sa.null()).label(
                        "first_response_us"
                    )
                )
            if self.measures & _REOPENS:
                reopening = h.c.kind == sa.literal("reopened")
                if self.dialect == "postgresql":
                    # One hash join with the reopened appeals' ids beats a probe per appeal.
                    ids = sa.select(h.c.appeal_id).where(reopening).distinct().subquery()
                    source = source.outerjoin(ids, ids.c.appeal_id == t.c.id)
                    columns.append(_flag(ids.c.appeal_id.is_not(None)).label("reopened"))
                else:
                    reopened = sa.exists().where(h.c.appeal_id == t.c.id, reopening)
                    columns.append(_flag(reopened).label("reopened"))
            if repeats is not None:
                # Every appeal of the period is among the recent ones, so an inner join loses
                # none, and lets the database read the window's rows once and look each
                # appeal up by its key (a left join made SQLite scan them per appeal).
                source = source.join(repeats, repeats.c.id == t.c.id)
                columns.append(repeats.c.repeated.label("repeated"))
            parts.append(
                sa.select(*columns)
                .select_from(source)
                .where(
                    t.c.registered_at >= self.start,
                    t.c.registered_at < self.end,
                    *self.conditions(t, binding),
                )
            )
        return parts[0] if len(parts) == 1 else sa.union_all(*parts)

    # --- aggregates ---------------------------------------------------------------------

    def measure(self, m: Measure, u: Any) -> ColumnElement[Any] | None:
        count = sa.func.count()
        total = {
            _M.OPEN: _flag(u.c.state == OPEN),
            _M.CLOSED: _flag(u.c.state != OPEN),
            _M.REOPENED: u.c.get("reopened"),
            _M.REPEATED: u.c.get("repeated"),
            _M.SLA_MET: u.c.get("met"),
            _M.SLA_BREACHED: u.c.get("breached"),
        }
        if m is _M.COUNT:
            return count
        if m in total:
            return sa.func.sum(total[m])
        if m is _M.REOPENED_SHARE:
            return sa.func.sum(u.c.reopened) * 1.0 / count
        if m is _M.REPEATED_SHARE:
            return sa.func.sum(u.c.repeated) * 1.0 / count
        if m is _M.SLA_COMPLIANCE:
            decided = sa.func.sum(u.c.met) + sa.func.sum(u.c.breached)
            return sa.func.sum(u.c.met) * 1.0 / sa.func.nullif(decided, 0)
        if m in _PERCENTILES and self.dialect == "postgresql":
            column, share = _PERCENTILES[m]
            return sa.func.percentile_cont(share).within_group(u.c[column])
        return None  # a percentile on SQLite: joined from its own ranked query

    def percentiles(
        self, u: Any, column: str, shares: list[tuple[int, float]], width: int
    ) -> sa.Subquery:
        """The percentiles ``shares`` ((output index, share) pairs) of ``column`` per group,
        interpolated as percentile_cont: the values at ranks floor(p(n-1)) and the next,
        weighted by the fraction. One ranking serves every share of the column."""
        value = u.c[column]
        keys = [u.c[f"d{i}"] for i in range(width)]
        ranked = (
            sa.select(
                *keys,
                value.label("v"),
                sa.func.row_number().over(partition_by=keys or None, order_by=value).label("rn"),
                sa.func.count(value).over(partition_by=keys or None).label("n"),
            )
            .where(value.is_not(None))
            .subquery()
        )
        outputs = []
        for index, share in shares:
            position = (ranked.c.n - 1) * share
            low = sa.cast(position, sa.Integer)
            fraction = position - low
            interpolated = sa.func.sum(
                sa.case(
                    (ranked.c.rn == low + 1, ranked.c.v * (1 - fraction)),
                    (ranked.c.rn == low + 2, ranked.c.v * fraction),
                    else_=0,
                )
            )
            outputs.append(interpolated.label(f"p{index}"))
        rkeys = [ranked.c[f"d{i}"] for i in range(width)]
        return sa.select(*rkeys, *outputs).group_by(*rkeys).subquery()

    def grouped(self) -> sa.Select[Any]:
        repeats = self.repeats() if self.measures & _REPEATS else None
        rows = self.appeals(repeats)
        u: Any = (
            rows.cte("report_rows") if self.dialect == "sqlite" else rows.subquery("report_rows")
        )
        n = len(self.query.dimensions)
        dims = [u.c[f"d{i}"] for i in range(n)]
        measures = [(m, self.measure(m, u)) for m in self.definition.measures]
        main = sa.select(
            *dims, *(e.label(f"m{i}") for i, (_, e) in enumerate(measures) if e is not None)
        ).group_by(*dims)
        late = [(i, m) for i, (m, e) in enumerate(measures) if e is None]
        if not late:
            return main.order_by(*dims)
        grouped = main.subquery("groups")
        source: sa.FromClause = grouped
        outputs: dict[int, Any] = {
            i: grouped.c[f"m{i}"] for i, (_, e) in enumerate(measures) if e is not None
        }
        by_column: dict[str, list[tuple[int, float]]] = {}
        for i, m in late:
            column, share = _PERCENTILES[m]
            by_column.setdefault(column, []).append((i, share))
        for column, shares in by_column.items():
            p = self.percentiles(u, column, shares, n).alias(f"ranks_{column}")
            keys = [grouped.c[f"d{k}"].is_not_distinct_from(p.c[f"d{k}"]) for k in range(n)]
            source = source.outerjoin(p, sa.and_(sa.true(), *keys))
            for i, _ in shares:
                outputs[i] = p.c[f"p{i}"]
        gdims = [grouped.c[f"d{k}"] for k in range(n)]
        return (
            sa.select(*gdims, *(outputs[i].label(f"m{i}") for i in range(len(measures))))
            .select_from(source)
            .order_by(*gdims)
        )

    # --- flow -----------------------------------------------------------------------------

    def flow(self) -> sa.Select[Any]:
        """Opened, resolved and backlog per group and bucket: events +1 (registered in the
        bucket) and -1 (closed in it), with those open at the start, summed in order."""
        dims = self.query.dimensions
        parts = []
        for t, _ in self.tables:
            source, binding = self.source(t)
            where = self.conditions(t, binding)
            closed = sa.and_(t.c.state != OPEN, t.c.closed_at.is_not(None))

            def row(
                at: Any, opened: int, resolved: int, initial: int, t: sa.Table = t
            ) -> list[Any]:
                return [
                    *(self.dimension(d, t, at).label(f"d{i}") for i, d in enumerate(dims)),
                    sa.literal(opened).label("opened"),
                    sa.literal(resolved).label("resolved"),
                    sa.literal(initial).label("initial"),
                ]

            parts += [
                sa.select(*row(t.c.registered_at, 1, 0, 0))
                .select_from(source)
                .where(t.c.registered_at >= self.start, t.c.registered_at < self.end, *where),
                sa.select(*row(t.c.closed_at, 0, 1, 0))
                .select_from(source)
                .where(closed, t.c.closed_at >= self.start, t.c.closed_at < self.end, *where),
                sa.select(*row(sa.literal(self.start, _Time), 0, 0, 1))
                .select_from(source)
                .where(
                    t.c.registered_at < self.start,
                    sa.or_(sa.not_(closed), t.c.closed_at >= self.start),
                    *where,
                ),
            ]
        u = sa.union_all(*parts).subquery("events")
        keys = [u.c[f"d{i}"] for i in range(len(dims))]
        sums = (
            sa.select(
                *keys,
                sa.func.sum(u.c.opened).label("opened"),
                sa.func.sum(u.c.resolved).label("resolved"),
                sa.func.sum(u.c.initial).label("initial"),
            )
            .group_by(*keys)
            .subquery("sums")
        )
        skeys = [sums.c[f"d{i}"] for i in range(len(dims))]
        period = [k for k, d in zip(skeys, dims, strict=True) if d.kind is _K.PERIOD]
        others = [k for k, d in zip(skeys, dims, strict=True) if d.kind is not _K.PERIOD]
        net = sums.c.initial + sums.c.opened - sums.c.resolved
        backlog = (
            sa.func.sum(net).over(partition_by=others or None, order_by=period or None)
            if period
            else net
        )
        values = {
            _M.OPENED: sums.c.opened,
            _M.RESOLVED: sums.c.resolved,
            _M.BACKLOG: backlog,
        }
        selected = [values[m].label(f"m{i}") for i, m in enumerate(self.definition.measures)]
        inner = sa.select(*skeys, *selected).subquery("flow")
        ikeys = [inner.c[f"d{i}"] for i in range(len(dims))]
        # Groups only open at the start (nothing opened or resolved in the period) keep
        # their backlog in the first bucket.
        return sa.select(*inner.c).order_by(*ikeys)

    def statement(self) -> sa.Select[Any]:
        return self.flow() if self.definition.flow else self.grouped()


def report_statement(query: ReportQuery, dialect: str) -> sa.Select[Any]:
    """The SELECT that computes ``query`` on ``dialect`` (``sqlite`` or ``postgresql``)."""
    return _Compiler(query, dialect).statement()


_US = timedelta(microseconds=1)
_CACHED = 64
"""Report statements a store keeps built."""


def _converters(query: ReportQuery) -> list[Any]:
    definition = query.definition
    tz = ZoneInfo(query.period.timezone)
    out: list[Any] = []
    for dim in query.dimensions:
        if dim.kind is _K.PERIOD:
            out.append(lambda v, b=definition.bucket: bucket_value(v, b, tz))
        else:
            out.append(lambda v: None if v is None else str(v))
    for m in definition.measures:
        if m in _PERCENTILES:
            out.append(lambda v: None if v is None else timedelta(microseconds=round(float(v))))
        elif m in (_M.REOPENED_SHARE, _M.REPEATED_SHARE, _M.SLA_COMPLIANCE):
            out.append(lambda v: None if v is None else float(v))
        else:
            out.append(lambda v: 0 if v is None else int(v))
    return out


class SqlReports:
    """The report port over one database (the primary, or a read-only replica: reports
    only read). ``SqlReports(engine)``; :meth:`crmcms.storage.sql.SqlStore.reports` gives
    the store's own."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self._statements: dict[tuple[Any, ...], sa.Select[Any]] = {}

    def statement(self, query: ReportQuery) -> sa.Select[Any]:
        """The query's SELECT; the same run again (a dashboard's refresh) reuses it, unless a
        filter reads the clock, whose ``now()`` is taken when the SELECT is built."""
        texts = tuple(rule.text for rule in query.filters)
        catalog = (
            tuple(sorted(query.topic_groups.items())),
            tuple(sorted((code, str(t)) for code, t in query.attributes.items())),
        )
        key = (query.definition, query.period, query.archived, query.scope, texts, catalog)
        found = self._statements.get(key)
        if found is None:
            found = report_statement(query, self.engine.dialect.name)
            if not any("now(" in t or "today(" in t for t in texts):
                if len(self._statements) >= _CACHED:
                    self._statements.pop(next(iter(self._statements)))
                self._statements[key] = found
        return found

    def rows(self, query: ReportQuery) -> Iterator[tuple[ReportCell, ...]]:
        """The report's groups, read from the cursor as they are iterated; the connection
        goes back to the pool when the last row is read (or the iterator is dropped)."""
        try:
            statement = self.statement(query)
        except KeyError as exc:  # a dimension the tables lack
            raise ValidationError([Problem("by", f"cannot group by {exc}")]) from None
        convert = _converters(query)
        return self._stream(statement, convert)

    def _stream(
        self, statement: sa.Select[Any], convert: list[Any]
    ) -> Iterator[tuple[ReportCell, ...]]:
        # A report's rows are its groups, never its appeals, so the driver may hold them: a
        # server-side cursor would cost PostgreSQL its parallel plans (a cursor may pause, so
        # it never runs in parallel), which make the aggregate over a million appeals half as
        # long. (``yield_per`` would ask for one too.) Rows reach the exporter as they are
        # read from the result.
        with self.engine.connect() as conn:
            for row in conn.execute(statement):
                yield tuple(f(v) for f, v in zip(convert, row, strict=True))

    def dispose(self) -> None:
        self.engine.dispose()
