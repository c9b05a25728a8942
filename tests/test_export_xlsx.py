"""xlsx export: read back with openpyxl, cell by cell, with the types a spreadsheet needs."""

from __future__ import annotations

import datetime as dt
import io
import zoneinfo
from collections.abc import Iterator

import openpyxl
import pytest

from crmcms import CrmcmsError
from crmcms.export import (
    ChartKind,
    ColumnKind,
    ReportChart,
    ReportColumn,
    ReportTable,
    write_table,
)
from crmcms.export.xlsx_export import write_xlsx

MOSCOW = zoneinfo.ZoneInfo("Europe/Moscow")

COLUMNS = (
    ReportColumn("topic", "Тема", ColumnKind.TEXT, dimension=True),
    ReportColumn("day", "Day", ColumnKind.DATE, dimension=True),
    ReportColumn("count", "Appeals", ColumnKind.INTEGER),
    ReportColumn("share", "Share", ColumnKind.PERCENT),
    ReportColumn("median", "Median handling", ColumnKind.DURATION),
    ReportColumn("first", "First", ColumnKind.DATETIME),
    ReportColumn("mean", "Mean", ColumnKind.DECIMAL),
)


def _rows() -> Iterator[tuple[object, ...]]:
    yield (
        "Нет связи",
        dt.date(2026, 3, 1),
        3,
        0.25,
        dt.timedelta(hours=26, minutes=5),
        dt.datetime(2026, 3, 1, 9, 30, tzinfo=MOSCOW),
        1.5,
    )
    yield ("=1+1", dt.date(2026, 3, 2), 0, None, None, None, None)


def _table(**kwargs: object) -> ReportTable:
    return ReportTable(
        "by_topic",
        "Appeals by topic",
        COLUMNS,
        _rows(),  # type: ignore[arg-type]
        parameters=(("Period", "2026-03-01 – 2026-03-31"),),
        **kwargs,  # type: ignore[arg-type]
    )


def _book(table: ReportTable, **kwargs: int) -> tuple[openpyxl.Workbook, int]:
    out = io.BytesIO()
    count = write_xlsx(table, out, **kwargs)
    out.seek(0)
    return openpyxl.load_workbook(out), count


def test_cells_keep_their_types() -> None:
    book, count = _book(_table())
    assert count == 2
    sheet = book.worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "Appeals by topic"
    assert rows[1][:2] == ("Period", "2026-03-01 – 2026-03-31")
    # Excel has no time zone, so the sheet names the one its wall times are in.
    assert rows[2][:2] == ("Time zone", "Europe/Moscow")
    assert rows[4] == tuple(column.title for column in COLUMNS)
    first = rows[5]
    assert first[0] == "Нет связи"
    assert first[1] == dt.datetime(2026, 3, 1)  # openpyxl reads every Excel date as a datetime
    assert first[2] == 3
    assert first[3] == 0.25
    assert first[4] == dt.timedelta(hours=26, minutes=5)
    assert first[5] == dt.datetime(2026, 3, 1, 9, 30)  # the Moscow wall time
    assert first[6] == 1.5
    assert rows[6] == ("=1+1", dt.datetime(2026, 3, 2), 0, None, None, None, None)
    cells = sheet["A6:G7"]
    assert [cell.data_type for cell in cells[0]] == ["s", "d", "n", "n", "d", "d", "n"]
    assert cells[1][0].data_type == "s"  # text that looks like a formula stays text
    assert cells[0][3].number_format == "0.0%"
    assert cells[0][4].number_format == "[h]:mm:ss"
    assert cells[0][1].number_format == "yyyy-mm-dd"


def test_the_header_is_bold_frozen_and_filtered() -> None:
    book, _ = _book(_table())
    sheet = book.worksheets[0]
    assert sheet["A5"].font.b
    assert sheet.freeze_panes == "A6"
    assert sheet.auto_filter.ref == "A5:G7"
    widths = {letter: sheet.column_dimensions[letter].width for letter in "ABCDEFG"}
    assert widths["E"] > widths["C"]  # "Median handling" is wider than "Appeals"
    assert all(8 <= width <= 64 for width in widths.values())


def test_a_zone_the_parameters_name_is_not_repeated() -> None:
    table = _table()
    table.parameters = (("Time zone", "Europe/Moscow"),)
    rows = list(_book(table)[0].worksheets[0].iter_rows(values_only=True))
    assert [row[0] for row in rows[:4]] == ["Appeals by topic", "Time zone", None, "Тема"]


def test_past_the_row_limit_a_sheet_goes_on_in_another_repeating_the_header() -> None:
    many = ((f"topic {i}", None, i, None, None, None, None) for i in range(25))
    table = ReportTable("big", "Big [report]", COLUMNS, many)
    book, count = _book(table, max_rows=10)
    assert count == 25
    names = book.sheetnames
    assert names == ["Big report", "Big report (2)", "Big report (3)"]
    first, *rest = book.worksheets
    assert first.max_row == 10  # title, blank, header and seven rows
    numbers = [row[2] for row in first.iter_rows(min_row=4, values_only=True)]
    for sheet in rest:
        rows = list(sheet.iter_rows(values_only=True))
        assert rows[0] == tuple(column.title for column in COLUMNS)
        assert sheet.freeze_panes == "A2"
        numbers += [row[2] for row in rows[1:]]
    assert numbers == list(range(25))
    assert [sheet.max_row for sheet in rest] == [10, 10]  # 7 + 9 + 9 rows


def test_a_row_limit_too_small_for_the_header_is_refused() -> None:
    with pytest.raises(CrmcmsError, match="leave no room for data"):
        write_xlsx(_table(), io.BytesIO(), max_rows=3)


def test_a_chart_goes_on_a_sheet_of_its_own() -> None:
    chart = ReportChart(ChartKind.BAR, "topic", ("count",))
    out = io.BytesIO()
    write_table(_table(chart=chart), "xlsx", out)
    out.seek(0)
    book = openpyxl.load_workbook(out)
    assert book.sheetnames == ["Appeals by topic", "Appeals by topic chart"]
    assert len(book.chartsheets) == 1


def test_an_empty_report_still_has_its_header() -> None:
    table = ReportTable("none", "Nothing", COLUMNS, iter(()))
    book, count = _book(table)
    assert count == 0
    rows = list(book.worksheets[0].iter_rows(values_only=True))
    assert rows[-1] == tuple(column.title for column in COLUMNS)


def test_progress_is_reported_every_ten_thousand_rows() -> None:
    many = ((None, None, i, None, None, None, None) for i in range(20_001))
    seen: list[int] = []
    write_xlsx(ReportTable("big", "Big", COLUMNS, many), io.BytesIO(), progress=seen.append)
    assert seen == [10_000, 20_000]
