"""Excel: typed cells streamed in constant memory, split into sheets past the row limit."""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, BinaryIO

from crmcms.errors import ConfigurationError, Problem, ValidationError
from crmcms.export.cells import parameters_with_zone, peek, report_zone, text_widths
from crmcms.export.tables import ChartKind, ColumnKind, ReportCell, ReportTable

if TYPE_CHECKING:
    from types import ModuleType

    from xlsxwriter.workbook import Workbook
    from xlsxwriter.worksheet import Worksheet

__all__ = ["EXCEL_MAX_ROWS", "write_xlsx"]

EXCEL_MAX_ROWS = 1_048_576
"""Rows in one Excel worksheet; a longer report goes on in continuation sheets."""

_SAMPLE_ROWS = 200  # rows measured for column widths
_CHART_POINTS = 50  # categories a native chart draws, from the first rows
_EXCEL_EPOCH = dt.date(1900, 3, 1)  # before it Excel's calendar has its 1900 leap-year bug

_NUMBER_FORMATS = {
    ColumnKind.INTEGER: "#,##0",
    ColumnKind.DECIMAL: "#,##0.00",
    ColumnKind.PERCENT: "0.0%",
    ColumnKind.DATE: "yyyy-mm-dd",
    ColumnKind.DATETIME: "yyyy-mm-dd hh:mm:ss",
    ColumnKind.DURATION: "[h]:mm:ss",
}

_PLAIN_NUMBERS = frozenset({ColumnKind.INTEGER, ColumnKind.DECIMAL, ColumnKind.PERCENT})


def _sheet_name(title: str) -> str:
    # Excel refuses []:*?/\ in sheet names and more than 31 characters.
    name = " ".join(re.sub(r"[\[\]:*?/\\']", " ", title).split())[:24].strip()
    return name or "Report"


def _require_xlsxwriter() -> ModuleType:
    try:
        import xlsxwriter
    except ImportError as exc:  # pragma: no cover - depends on the installed extras
        raise ConfigurationError(
            "xlsx export needs XlsxWriter: pip install 'crmcms[reports]'"
        ) from exc
    return xlsxwriter


class _Sheets:
    """The worksheets of one export, opened one after the other as rows fill them."""

    def __init__(
        self, workbook: Workbook, table: ReportTable, widths: list[int], limit: int
    ) -> None:
        self.workbook = workbook
        self.table = table
        self.widths = widths
        self.limit = limit
        self.base = _sheet_name(table.title)
        self.header = workbook.add_format({"bold": True, "bottom": 1, "text_wrap": True})
        self.formats = {
            kind: workbook.add_format({"num_format": number_format})
            for kind, number_format in _NUMBER_FORMATS.items()
        }
        self.sheets: list[tuple[Worksheet, int, int]] = []  # (sheet, header row, last row written)
        self.row = 0

    def open(self, preamble: list[tuple[str, str]] | None) -> None:
        number = len(self.sheets) + 1
        name = self.base if number == 1 else f"{self.base} ({number})"
        sheet = self.workbook.add_worksheet(name)
        for i, width in enumerate(self.widths):
            sheet.set_column(i, i, width + 2)
        row = 0
        if preamble is not None:
            title = self.workbook.add_format({"bold": True, "font_size": 14})
            label = self.workbook.add_format({"bold": True})
            sheet.write_string(0, 0, self.table.title, title)
            row = 1
            for name_, value in preamble:
                sheet.write_string(row, 0, name_, label)
                sheet.write_string(row, 1, value)
                row += 1
            row += 1  # a blank row between the parameters and the table
        if row + 1 >= self.limit:
            raise ValidationError(
                [Problem("max_rows", f"{self.limit} rows leave no room for data")],
                subject=f"report {self.table.code}",
            )
        for i, column in enumerate(self.table.columns):
            sheet.write_string(row, i, column.title, self.header)
        sheet.freeze_panes(row + 1, 0)
        if self.sheets:
            self._finish()
        self.sheets.append((sheet, row, row))
        self.row = row + 1

    def _finish(self) -> None:
        sheet, header_row, last = self.sheets[-1]
        sheet.autofilter(header_row, 0, max(last, header_row), len(self.table.columns) - 1)

    def write(self, values: tuple[ReportCell, ...]) -> None:
        if self.row >= self.limit:
            self.open(None)
        sheet, header_row, _ = self.sheets[-1]
        row = self.row
        for i, (column, value) in enumerate(zip(self.table.columns, values, strict=True)):
            self._cell(sheet, row, i, column.kind, value)
        self.sheets[-1] = (sheet, header_row, row)
        self.row = row + 1

    def _cell(
        self, sheet: Worksheet, row: int, col: int, kind: ColumnKind, value: ReportCell
    ) -> None:
        if value is None or value == "":
            return  # an empty cell, not a cell holding an empty text
        if isinstance(value, str):
            # write_string, never write(): a value starting with "=" stays text, not a formula.
            sheet.write_string(row, col, value)
        elif isinstance(value, dt.datetime):
            # Excel has no time zone: the wall time of the report's zone, named above.
            if value.date() < _EXCEL_EPOCH:
                sheet.write_string(row, col, value.isoformat())
            else:
                naive = value.replace(tzinfo=None)
                sheet.write_datetime(row, col, naive, self.formats[ColumnKind.DATETIME])
        elif isinstance(value, dt.date):
            if value < _EXCEL_EPOCH:
                sheet.write_string(row, col, value.isoformat())
            else:
                midnight = dt.datetime.combine(value, dt.time())
                sheet.write_datetime(row, col, midnight, self.formats[ColumnKind.DATE])
        elif isinstance(value, dt.timedelta):
            days = value.total_seconds() / 86_400
            sheet.write_number(row, col, days, self.formats[ColumnKind.DURATION])
        else:
            number = float(value) if isinstance(value, Decimal) else value
            if isinstance(number, float) and not math.isfinite(number):
                sheet.write_string(row, col, str(number))
                return
            shown_as = kind if kind in _PLAIN_NUMBERS else ColumnKind.DECIMAL
            sheet.write_number(row, col, number, self.formats[shown_as])

    def close(self) -> None:
        self._finish()


def _add_chart(workbook: Workbook, sheets: _Sheets) -> None:
    chart_spec = sheets.table.chart
    if chart_spec is None:
        return
    sheet, header_row, last = sheets.sheets[0]
    if last == header_row:
        return
    codes = [column.code for column in sheets.table.columns]
    first, final = header_row + 1, min(last, header_row + _CHART_POINTS)
    category = codes.index(chart_spec.category)
    chart = workbook.add_chart({"type": "column" if chart_spec.kind is ChartKind.BAR else "line"})
    if chart is None:  # pragma: no cover - XlsxWriter knows both kinds
        return
    for code in chart_spec.series:
        column = codes.index(code)
        chart.add_series(
            {
                "name": [sheet.name, header_row, column],
                "categories": [sheet.name, first, category, final, category],
                "values": [sheet.name, first, column, final, column],
            }
        )
    chart.set_title({"name": sheets.table.title})
    chart.set_legend({"position": "bottom"})
    chartsheet = workbook.add_chartsheet(f"{sheets.base} chart"[:31])
    chartsheet.set_chart(chart)


def write_xlsx(
    table: ReportTable,
    out: BinaryIO,
    *,
    progress: Callable[[int], None] | None = None,
    max_rows: int = EXCEL_MAX_ROWS,
) -> int:
    """Write ``table`` to ``out`` as an Excel workbook; the number of data rows written.

    Cells keep their types: numbers as numbers, dates and date-times as Excel dates (the
    wall time of the report's zone, which the parameters block names), durations as Excel
    durations shown ``[h]:mm:ss``, fractions with a percent format. The first sheet opens with
    the title and parameters; past ``max_rows`` rows a sheet is continued in another that
    repeats the header. With a chart, a chart sheet draws its first 50 categories.
    """
    xlsxwriter = _require_xlsxwriter()
    head, rows = peek(table.rows, _SAMPLE_ROWS)
    widths = text_widths(table.columns, head)
    parameters = list(parameters_with_zone(table, report_zone(table.columns, head)))
    if table.generated_at is not None:
        parameters.append(("Generated", table.generated_at.isoformat(timespec="seconds")))
    workbook = xlsxwriter.Workbook(
        out, {"constant_memory": True, "strings_to_numbers": False, "strings_to_formulas": False}
    )
    sheets = _Sheets(workbook, table, widths, max_rows)
    sheets.open(parameters)
    count = 0
    for row in rows:
        sheets.write(row)
        count += 1
        if progress is not None and count % 10_000 == 0:
            progress(count)
    sheets.close()
    _add_chart(workbook, sheets)
    workbook.close()
    return count
