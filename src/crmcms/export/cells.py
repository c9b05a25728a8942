"""What the exporters share: cell text for people, a peek at the first rows, the report's zone."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable, Iterator
from decimal import Decimal

from crmcms.export.tables import ColumnKind, ReportCell, ReportColumn, ReportTable

__all__ = [
    "NUMERIC_KINDS",
    "display_text",
    "duration_text",
    "parameters_with_zone",
    "peek",
    "report_zone",
    "text_widths",
]

Row = tuple[ReportCell, ...]

NUMERIC_KINDS = frozenset(
    {ColumnKind.INTEGER, ColumnKind.DECIMAL, ColumnKind.PERCENT, ColumnKind.DURATION}
)
"""Kinds whose cells are right-aligned so that their digits line up."""


def duration_text(value: dt.timedelta) -> str:
    """``h:mm``, hours unbounded (``26:05``), rounded to the nearest minute."""
    minutes = round(value.total_seconds() / 60)
    sign = "-" if minutes < 0 else ""
    hours, rest = divmod(abs(minutes), 60)
    return f"{sign}{hours}:{rest:02d}"


def display_text(value: ReportCell, kind: ColumnKind) -> str:
    """A cell as a person reads it in RTF and HTML: dates in ISO form, durations as h:mm."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, dt.timedelta):
        return duration_text(value)
    if isinstance(value, dt.datetime):
        # The wall time of the report's zone: the zone itself is named above the table.
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dt.date):
        return value.isoformat()
    if kind is ColumnKind.PERCENT:
        return f"{float(value) * 100:.1f} %"
    if isinstance(value, int) or (isinstance(value, Decimal) and kind is ColumnKind.INTEGER):
        return str(value)
    return f"{value:.2f}"


def peek(rows: Iterable[Row], count: int) -> tuple[list[Row], Iterator[Row]]:
    """The first ``count`` rows, and an iterator over all the rows (those included).

    Rows may be read only once; widths and the chart are estimated from the first rows while
    the rest still streams.
    """
    iterator = iter(rows)
    head = list(itertools.islice(iterator, count))
    return head, itertools.chain(head, iterator)


def _zone_of(value: dt.datetime) -> str:
    key = getattr(value.tzinfo, "key", None)  # zoneinfo.ZoneInfo names its IANA zone
    if isinstance(key, str):
        return key
    return value.tzname() or "UTC"


def report_zone(columns: tuple[ReportColumn, ...], head: list[Row]) -> str | None:
    """The time zone of the report's date-times (from the first one found), if it has any."""
    positions = [i for i, column in enumerate(columns) if column.kind is ColumnKind.DATETIME]
    for row in head:
        for i in positions:
            value = row[i]
            if isinstance(value, dt.datetime) and value.tzinfo is not None:
                return _zone_of(value)
    return None


def parameters_with_zone(table: ReportTable, zone: str | None) -> tuple[tuple[str, str], ...]:
    """The table's parameters, plus the time zone when a spreadsheet or page would lose it.

    Excel and a printed page keep wall times only; a reader must be told which zone they are
    in, unless the parameters already say so.
    """
    if zone is None or any(value == zone for _, value in table.parameters):
        return table.parameters
    return (*table.parameters, ("Time zone", zone))


_FIXED_WIDTHS = {
    ColumnKind.DATE: 10,
    ColumnKind.DATETIME: 16,
    ColumnKind.DURATION: 7,
}


def text_widths(
    columns: tuple[ReportColumn, ...], head: list[Row], *, least: int = 6, most: int = 60
) -> list[int]:
    """Column widths in characters, from the titles and the first rows only.

    A stream can't be measured to its end before it is written; a long value further down
    wraps or is cut in the viewer, which the bounds keep sensible.
    """
    widths = []
    for i, column in enumerate(columns):
        width = max((len(line) for line in column.title.splitlines()), default=0)
        fixed = _FIXED_WIDTHS.get(column.kind)
        for row in head:
            if fixed is not None:
                width = max(width, fixed)
                break
            text = display_text(row[i], column.kind)
            width = max(width, max((len(line) for line in text.splitlines()), default=0))
        widths.append(min(max(width, least), most))
    return widths
