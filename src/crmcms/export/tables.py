"""A report's result as a table: typed columns and a stream of rows, ready for any export.

The report engine produces a :class:`ReportTable`; exporters (xlsx, RTF, HTML, CSV) consume
it and know nothing of how its rows were computed. Rows are an iterable that may be read only
once, so that a million-row result streams from the database cursor to the file.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable
from decimal import Decimal

import attrs

from crmcms.errors import Problem, ValidationError

__all__ = ["ChartKind", "ColumnKind", "ReportCell", "ReportChart", "ReportColumn", "ReportTable"]


class ColumnKind(enum.Enum):
    """What a column's values are; exporters write each kind as its native cell type."""

    TEXT = "text"  # str (None for an empty cell)
    INTEGER = "integer"  # int
    DECIMAL = "decimal"  # float or Decimal
    PERCENT = "percent"  # a fraction, 0.25 meaning 25 %
    DATE = "date"  # datetime.date
    DATETIME = "datetime"  # timezone-aware datetime.datetime, in the report's time zone
    DURATION = "duration"  # datetime.timedelta


ReportCell = str | int | float | Decimal | dt.date | dt.datetime | dt.timedelta | None
"""One value of a row; ``None`` is an empty cell whatever the column's kind."""


@attrs.frozen
class ReportColumn:
    """A column: ``dimension`` columns head the rows (topic, operator, day, ...), the others
    are measures (count, median handling time, ...)."""

    code: str
    title: str
    kind: ColumnKind = ColumnKind.TEXT
    dimension: bool = False


class ChartKind(enum.Enum):
    """How a report's chart draws its series."""

    BAR = "bar"
    LINE = "line"


@attrs.frozen
class ReportChart:
    """A chart over a table: ``category`` is the column along the horizontal axis, each of
    ``series`` a measure column drawn against it."""

    kind: ChartKind
    category: str
    series: tuple[str, ...]


@attrs.define
class ReportTable:
    """A report's result. ``parameters`` are shown above the table (period, filter, time
    zone, ...) as (label, value) pairs; ``rows`` hold one value per column, in column order."""

    code: str
    title: str
    columns: tuple[ReportColumn, ...]
    rows: Iterable[tuple[ReportCell, ...]]
    parameters: tuple[tuple[str, str], ...] = ()
    chart: ReportChart | None = None
    generated_at: dt.datetime | None = None

    def __attrs_post_init__(self) -> None:
        problems = []
        codes = [column.code for column in self.columns]
        if len(set(codes)) != len(codes):
            problems.append(Problem("columns", "a column code is used twice"))
        if self.chart is not None:
            for code in (self.chart.category, *self.chart.series):
                if code not in codes:
                    problems.append(Problem("chart", f"the chart names no column {code!r}"))
        if problems:
            raise ValidationError(problems, subject=f"report {self.code}")

    def column(self, code: str) -> ReportColumn:
        """The column named ``code``."""
        for column in self.columns:
            if column.code == code:
                return column
        raise KeyError(code)
