"""Reports: the built-in ones, those of definition files and plugins, and their tables."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs

from crmcms.dsl import RuleType, compile_rule, type_named
from crmcms.engine.obstacles import ReadScope
from crmcms.engine.report_queries import ReportQueries, ReportQuery
from crmcms.engine.runtime import Runtime
from crmcms.errors import (
    ConfigurationError,
    DefinitionError,
    DslError,
    NotFoundError,
    Problem,
    ValidationError,
)
from crmcms.export import ChartKind, ColumnKind, ReportCell, ReportChart, ReportColumn, ReportTable
from crmcms.model import (
    Catalog,
    DimensionKind,
    Measure,
    ReportDefinition,
    ReportDimension,
    ReportPeriod,
    TimeBucket,
)
from crmcms.model._lookup import did_you_mean

__all__ = [
    "BUILTIN_REPORTS",
    "ReportRunner",
    "check_dimensions",
    "dimension_column",
    "known_reports",
    "measure_column",
    "report_period",
    "report_table",
    "resolve_definition",
    "topic_groups",
    "zone",
]

_D = ReportDimension
_K = DimensionKind
_M = Measure

BUILTIN_REPORTS: tuple[ReportDefinition, ...] = (
    ReportDefinition(
        "by_topic",
        "Appeals by topic",
        rows=(_D(_K.TOPIC),),
        measures=(
            _M.COUNT,
            _M.OPEN,
            _M.CLOSED,
            _M.HANDLING_MEDIAN,
            _M.HANDLING_P90,
            _M.SLA_BREACHED,
        ),
        description="Appeals registered in the period on each topic, how many are closed, "
        "and their handling time in business time.",
    ),
    ReportDefinition(
        "by_operator",
        "Appeals by operator",
        rows=(_D(_K.OPERATOR),),
        measures=(
            _M.COUNT,
            _M.CLOSED,
            _M.HANDLING_MEDIAN,
            _M.FIRST_RESPONSE_MEDIAN,
            _M.SLA_BREACHED,
        ),
        description="Appeals each operator registered in the period.",
    ),
    ReportDefinition(
        "repeat_appeals",
        "Repeat appeals",
        rows=(_D(_K.TOPIC),),
        measures=(_M.COUNT, _M.REPEATED, _M.REPEATED_SHARE),
        repeat_days=7,
        description="Appeals of a client or subscriber on a topic it appealed on within the "
        "repeat window before: what first-contact resolution misses.",
    ),
    ReportDefinition(
        "sla",
        "SLA compliance and violations",
        rows=(_D(_K.QUEUE), _D(_K.TOPIC)),
        measures=(_M.COUNT, _M.SLA_MET, _M.SLA_BREACHED, _M.SLA_COMPLIANCE, _M.HANDLING_MEDIAN),
        description="Appeals closed within their resolution limit and those past it, by the "
        "queue they are in and their topic.",
    ),
    ReportDefinition(
        "backlog",
        "Queue load and backlog",
        rows=(_D(_K.PERIOD),),
        measures=(_M.OPENED, _M.RESOLVED, _M.BACKLOG),
        description="Appeals opened and resolved in each bucket and those open at its end.",
    ),
    ReportDefinition(
        "reopened",
        "Reopened appeals",
        rows=(_D(_K.TOPIC),),
        measures=(_M.COUNT, _M.REOPENED, _M.REOPENED_SHARE),
        description="Appeals registered in the period that were reopened after closing.",
    ),
)
"""The reports every installation has."""

_DIMENSION_TITLES = {
    _K.TOPIC: "Topic",
    _K.TOPIC_GROUP: "Topic group",
    _K.OPERATOR: "Operator",
    _K.RESPONSIBLE: "Responsible",
    _K.QUEUE: "Queue",
    _K.PROCESS: "Process",
    _K.CHANNEL: "Channel",
    _K.PLACE: "Place",
    _K.CLIENT_CATEGORY: "Client category",
    _K.REGION: "Region",
    _K.PRIORITY: "Priority",
    _K.STATE: "State",
    _K.PERIOD: "Period",
}

_MEASURE_COLUMNS: dict[Measure, tuple[str, ColumnKind]] = {
    _M.COUNT: ("Appeals", ColumnKind.INTEGER),
    _M.OPEN: ("Open", ColumnKind.INTEGER),
    _M.CLOSED: ("Closed", ColumnKind.INTEGER),
    _M.REOPENED: ("Reopened", ColumnKind.INTEGER),
    _M.REOPENED_SHARE: ("Reopened, share", ColumnKind.PERCENT),
    _M.REPEATED: ("Repeats", ColumnKind.INTEGER),
    _M.REPEATED_SHARE: ("Repeats, share", ColumnKind.PERCENT),
    _M.HANDLING_MEDIAN: ("Handling time, median", ColumnKind.DURATION),
    _M.HANDLING_P90: ("Handling time, 90th percentile", ColumnKind.DURATION),
    _M.FIRST_RESPONSE_MEDIAN: ("First response, median", ColumnKind.DURATION),
    _M.FIRST_RESPONSE_P90: ("First response, 90th percentile", ColumnKind.DURATION),
    _M.SLA_MET: ("SLA met", ColumnKind.INTEGER),
    _M.SLA_BREACHED: ("SLA breached", ColumnKind.INTEGER),
    _M.SLA_COMPLIANCE: ("SLA compliance", ColumnKind.PERCENT),
    _M.OPENED: ("Opened", ColumnKind.INTEGER),
    _M.RESOLVED: ("Resolved", ColumnKind.INTEGER),
    _M.BACKLOG: ("Backlog", ColumnKind.INTEGER),
}


def zone(name: str) -> ZoneInfo:
    """The time zone called ``name``; a ValidationError for an unknown one."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a folder's name
        raise ValidationError(
            [Problem("tz", f"{name!r} is not a time zone (use an IANA name: Europe/Moscow)")]
        ) from None


def report_period(
    start: date | datetime, end: date | datetime, timezone: str = "UTC"
) -> ReportPeriod:
    """The period from ``start`` to ``end`` in ``timezone``: dates are whole days there, the
    end date included; naive datetimes are wall times there, the end excluded."""
    tz = zone(timezone)

    def moment(value: date | datetime, *, is_end: bool) -> datetime:
        if isinstance(value, datetime):
            return value if value.tzinfo is not None else value.replace(tzinfo=tz)
        day = value + timedelta(days=1) if is_end else value
        return datetime.combine(day, time(), tzinfo=tz)

    try:
        return ReportPeriod(moment(start, is_end=False), moment(end, is_end=True), timezone)
    except OverflowError:
        raise ValidationError([Problem("end", "the period runs past the calendar")]) from None


def dimension_column(dimension: ReportDimension, bucket: TimeBucket) -> ReportColumn:
    if dimension.kind is _K.PERIOD:
        kind = ColumnKind.DATETIME if bucket is TimeBucket.HOUR else ColumnKind.DATE
        return ReportColumn("period", f"Period ({bucket.value})", kind, dimension=True)
    if dimension.attribute is not None:
        code = f"attribute_{dimension.attribute}"
        return ReportColumn(code, f"Attribute {dimension.attribute}", dimension=True)
    return ReportColumn(dimension.kind.value, _DIMENSION_TITLES[dimension.kind], dimension=True)


def measure_column(
    measure: Measure, *, code: str | None = None, title: str | None = None
) -> ReportColumn:
    shown, kind = _MEASURE_COLUMNS[measure]
    return ReportColumn(code or measure.value, title or shown, kind)


def resolve_definition(
    definition: ReportDefinition,
    *,
    by: Sequence[ReportDimension] | None = None,
    bucket: TimeBucket | None = None,
    repeat_days: int | None = None,
) -> ReportDefinition:
    """``definition`` with what a run asks for instead: other row dimensions, bucket or
    repeat window (checked as a definition is)."""
    changes: dict[str, Any] = {}
    if by:
        changes["rows"] = tuple(by)
        changes["columns"] = tuple(c for c in definition.columns if c not in by)
    if bucket is not None:
        changes["bucket"] = bucket
    if repeat_days is not None:
        changes["repeat_days"] = repeat_days
    return attrs.evolve(definition, **changes) if changes else definition


def check_dimensions(definition: ReportDefinition, catalog: Catalog, shown: Iterable[str]) -> None:
    """Refuse attribute dimensions of attributes not shown as list columns: those are what
    reports group by, and what the database indexes."""
    columns = set(shown)
    problems = [
        Problem(
            "by",
            f"attribute {d.attribute!r} is not shown as a list column of any topic; "
            "reports group by those (`column` in its definition)",
        )
        for d in (*definition.rows, *definition.columns)
        if d.attribute is not None and d.attribute not in columns
    ]
    if problems:
        raise ValidationError(problems, subject=f"report {definition.code}")


def _chart(definition: ReportDefinition, columns: Sequence[ReportColumn]) -> ReportChart | None:
    if not definition.rows:
        return None
    dims = [c for c in columns if c.dimension]
    measures = [c for c in columns if not c.dimension]
    has_period = any(d.kind is _K.PERIOD for d in definition.rows)
    category = "period" if has_period else dims[0].code
    if definition.columns:
        first = definition.measures[0].value
        series = tuple(c.code for c in measures if c.code.rsplit("_", 1)[0] == first)
    else:
        counted = [c for c in measures if c.kind is ColumnKind.INTEGER]
        series = tuple(c.code for c in (counted or measures)[:3])
    kind = ChartKind.LINE if has_period else ChartKind.BAR
    return ReportChart(kind, category, series) if series else None


def _parameters(
    definition: ReportDefinition, query: ReportQuery, filters: Sequence[str]
) -> tuple[tuple[str, str], ...]:
    period = query.period
    tz = zone(period.timezone)
    shown = [
        (
            "Period",
            f"{period.start.astimezone(tz).isoformat()} – {period.end.astimezone(tz).isoformat()}",
        ),
        ("Time zone", period.timezone),
    ]
    if any(d.kind is _K.PERIOD for d in query.dimensions):
        shown.append(("Bucket", definition.bucket.value))
    for text in filters:
        shown.append(("Filter", text))
    if _M.REPEATED in definition.measures or _M.REPEATED_SHARE in definition.measures:
        shown.append(("Repeat window", f"{definition.repeat_days} days"))
    shown.append(("Archived appeals", "included" if query.archived else "not included"))
    return tuple(shown)


def report_table(
    query: ReportQuery,
    rows: Iterator[tuple[ReportCell, ...]],
    *,
    filters: Sequence[str] = (),
    generated_at: datetime | None = None,
) -> ReportTable:
    """The table of ``query``'s result, its columns typed and its chart chosen; ``rows`` as
    the port gives them, read once when the table is written (a report with a column
    dimension first gathers its groups to spread them across)."""
    definition = query.definition
    dims = [dimension_column(d, definition.bucket) for d in definition.rows]
    if definition.columns:
        columns, out = _pivot(definition, dims, rows)
    else:
        columns = [*dims, *(measure_column(m) for m in definition.measures)]
        out = rows
    return ReportTable(
        code=definition.code,
        title=definition.title,
        columns=tuple(columns),
        rows=out,
        parameters=_parameters(definition, query, filters),
        chart=_chart(definition, columns),
        generated_at=generated_at,
    )


def _label(value: ReportCell) -> str:
    return "—" if value is None else str(value)


def _pivot(
    definition: ReportDefinition,
    dims: list[ReportColumn],
    rows: Iterator[tuple[ReportCell, ...]],
) -> tuple[list[ReportColumn], Iterator[tuple[ReportCell, ...]]]:
    """Spread the column dimension's values across: one column per value and measure.

    The groups are aggregates, a few per row and column value, so they are gathered here.
    """
    width = len(definition.rows)
    cells: dict[tuple[ReportCell, ...], dict[ReportCell, tuple[ReportCell, ...]]] = {}
    values: dict[ReportCell, None] = {}
    for row in rows:
        key, spread, measures = row[:width], row[width], row[width + 1 :]
        cells.setdefault(key, {})[spread] = measures
        values.setdefault(spread)
    order = sorted(values, key=lambda v: (v is None, str(v)))
    columns = list(dims)
    for measure in definition.measures:
        for n, value in enumerate(order):
            title = f"{_MEASURE_COLUMNS[measure][0]}: {_label(value)}"
            columns.append(measure_column(measure, code=f"{measure.value}_{n}", title=title))

    def spread_rows() -> Iterator[tuple[ReportCell, ...]]:
        for key, found in cells.items():
            out: list[ReportCell] = list(key)
            for m_index in range(len(definition.measures)):
                for value in order:
                    measures = found.get(value)
                    out.append(None if measures is None else measures[m_index])
            yield tuple(out)

    return columns, spread_rows()


def known_reports(
    catalog: Catalog, plugged: Iterable[Iterable[ReportDefinition]] = ()
) -> dict[str, ReportDefinition]:
    """Every report by code: the built-in ones, the catalog's, then the plugins'; a code
    given twice is refused, naming it."""
    found: dict[str, ReportDefinition] = {}
    problems = []
    for definition in (*BUILTIN_REPORTS, *catalog.reports, *(d for ds in plugged for d in ds)):
        if definition.code in found:
            problems.append(Problem("code", f"report {definition.code!r} is defined twice"))
            continue
        found[definition.code] = definition
    if problems:
        raise ValidationError(problems, subject="reports")
    return found


def topic_groups(catalog: Catalog) -> Mapping[str, str]:
    """Each topic's group code, for the topic group dimension."""
    return {t.code: t.group for t in catalog.topics if t.group is not None}


class ReportRunner:
    """Runs reports for an engine: finds the definition, checks the run's parameters and
    the principal's right, bounds the appeals to what it may read, and hands the query to
    the storage port."""

    def __init__(self, runtime: Runtime, queries: ReportQueries | None) -> None:
        self.runtime = runtime
        self.queries = queries

    def definitions(self) -> dict[str, ReportDefinition]:
        plugged = self.runtime.hook("crmcms_reports")
        return known_reports(self.runtime.catalog, plugged or ())

    def definition(self, code: str) -> ReportDefinition:
        known = self.definitions()
        found = known.get(code)
        if found is None:
            raise NotFoundError("report", code, hint=did_you_mean(code, known))
        return found

    def query(
        self,
        code: str,
        period: ReportPeriod,
        *,
        scope: ReadScope | None,
        filter: str | None = None,
        by: Sequence[str] | None = None,
        bucket: str | None = None,
        archived: bool = False,
        repeat_days: int | None = None,
    ) -> tuple[ReportQuery, list[str]]:
        """The query of report ``code`` run with these parameters, and its filters' texts."""
        catalog = self.runtime.catalog
        definition = resolve_definition(
            self.definition(code),
            by=[ReportDimension.parse(b) for b in by] if by else None,
            bucket=_bucket(bucket),
            repeat_days=repeat_days,
        )
        shown = indexed_attribute_codes(catalog)
        check_dimensions(definition, catalog, shown)
        zone(period.timezone)
        texts = [t for t in (definition.filter, filter) if t]
        if filter is not None and "\x00" in filter:
            # No database text may hold NUL; refused here rather than by the database.
            raise ValidationError([Problem("filter", "the filter holds a NUL character")])
        schema = self.runtime.rules.schema
        try:
            rules = tuple(compile_rule(text, schema=schema, file="filter") for text in texts)
        except (DslError, DefinitionError) as exc:
            # Bad input of a run, like a bad dimension: problems naming where they are.
            found = exc.problems if isinstance(exc, DefinitionError) else [exc]
            raise ValidationError(
                [Problem("filter", str(p).splitlines()[0]) for p in found]
            ) from exc
        query = ReportQuery(
            definition,
            period,
            rules,
            archived=archived,
            scope=scope,
            topic_groups=topic_groups(catalog),
            attributes=attribute_rule_types(catalog),
        )
        return query, texts

    def run(self, query: ReportQuery, texts: Sequence[str]) -> ReportTable:
        if self.queries is None:
            raise ConfigurationError(
                "this engine has no report storage: pass reports=store.reports() to Engine"
            )
        rows = self.queries.rows(query)
        return report_table(query, rows, filters=texts, generated_at=self.runtime.clock())


def _bucket(value: str | None) -> TimeBucket | None:
    if value is None:
        return None
    try:
        return TimeBucket(value)
    except ValueError:
        known = ", ".join(b.value for b in TimeBucket)
        raise ValidationError([Problem("bucket", f"{value!r} is not a bucket: {known}")]) from None


def indexed_attribute_codes(catalog: Catalog) -> set[str]:
    """The attributes shown as list columns: what a report may group by."""
    owners: tuple[Any, ...] = (*catalog.topic_groups, *catalog.topics)
    return {d.code for owner in owners for d in owner.attributes if d.show_in_column}


def attribute_rule_types(catalog: Catalog) -> dict[str, RuleType]:
    """Rule types of the attributes shown as list columns, for their SQL expressions."""
    found: dict[str, RuleType] = {}
    owners: tuple[Any, ...] = (*catalog.topic_groups, *catalog.topics)
    for owner in owners:
        for definition in owner.attributes:
            if definition.show_in_column and not definition.multiple:
                found.setdefault(definition.code, type_named(definition.value_type.value))
    return found
