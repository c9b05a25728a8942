"""Any table of typed cells reads back the same from every format: CSV, xlsx, RTF and HTML."""

from __future__ import annotations

import csv
import datetime as dt
import io
import math

import openpyxl
from hypothesis import given
from hypothesis import strategies as st

from crmcms.export import ColumnKind, ReportCell, ReportColumn, ReportTable, write_table
from crmcms.export.cells import display_text
from rtf_reader import read_rtf
from test_export_html import Page

MOSCOW = dt.timezone(dt.timedelta(hours=3))

# Printable text of any script, with the characters each format must escape, and newlines.
TEXT = st.text(
    st.characters(blacklist_categories=("Cs", "Cc", "Cn", "Co")) | st.sampled_from('\n{}\\<>&"'),
    max_size=20,
)
TITLES = TEXT.filter(lambda text: text.strip() != "")

VALUES: dict[ColumnKind, st.SearchStrategy[ReportCell]] = {
    ColumnKind.TEXT: TEXT,
    ColumnKind.INTEGER: st.integers(-(2**53), 2**53),
    ColumnKind.DECIMAL: st.floats(-1e15, 1e15, allow_nan=False),
    ColumnKind.PERCENT: st.floats(0, 1),
    # Excel's calendar starts in 1900 (its first two months are off by its leap-year bug).
    ColumnKind.DATE: st.dates(dt.date(1900, 3, 1), dt.date(9999, 12, 31)),
    ColumnKind.DATETIME: st.datetimes(
        dt.datetime(1900, 3, 1), dt.datetime(9999, 12, 30), timezones=st.just(MOSCOW)
    ).map(lambda moment: moment.replace(microsecond=0)),
    ColumnKind.DURATION: st.integers(0, 10**9).map(lambda seconds: dt.timedelta(seconds=seconds)),
}


@st.composite
def tables(draw: st.DrawFn) -> tuple[ReportTable, list[tuple[ReportCell, ...]]]:
    kinds = draw(st.lists(st.sampled_from(list(ColumnKind)), min_size=1, max_size=5))
    columns = tuple(ReportColumn(f"c{i}", draw(TITLES), kind) for i, kind in enumerate(kinds))
    row = st.tuples(*(st.none() | VALUES[kind] for kind in kinds))
    rows = draw(st.lists(row, max_size=6))
    table = ReportTable("random", draw(TITLES), columns, iter(rows))
    return table, rows


def _export(table: ReportTable, name: str) -> bytes:
    out = io.BytesIO()
    write_table(table, name, out)
    return out.getvalue()


def _csv_text(value: ReportCell) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.timedelta):
        return str(int(value.total_seconds()))
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


@given(tables())
def test_csv_reads_back(drawn: tuple[ReportTable, list[tuple[ReportCell, ...]]]) -> None:
    table, rows = drawn
    text = _export(table, "csv").decode("utf-8-sig")
    header, *body = csv.reader(io.StringIO(text, newline=""))
    assert header == [column.title for column in table.columns]
    assert body == [[_csv_text(value) for value in row] for row in rows]


def _excel_value(value: ReportCell) -> object:
    if value == "":
        return None  # an empty string is an empty cell
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None)  # the wall time; the zone is named above the table
    if isinstance(value, dt.date):
        return dt.datetime.combine(value, dt.time())
    return value


@given(tables())
def test_xlsx_reads_back(drawn: tuple[ReportTable, list[tuple[ReportCell, ...]]]) -> None:
    table, rows = drawn
    sheet = openpyxl.load_workbook(io.BytesIO(_export(table, "xlsx"))).worksheets[0]
    read = list(sheet.iter_rows(values_only=True))
    header_at = next(i for i, row in enumerate(read) if row[0] is None) + 1
    assert list(read[header_at])[: len(table.columns)] == [c.title for c in table.columns]
    body = [list(row)[: len(table.columns)] for row in read[header_at + 1 :]]
    # Empty rows at the end are not stored: a spreadsheet shows them as the blank rows they are.
    assert len(body) <= len(rows)
    assert all(value in {None, ""} for row in rows[len(body) :] for value in row)
    body += [[None] * len(table.columns)] * (len(rows) - len(body))
    for got_row, row in zip(body, rows, strict=True):
        for got, value in zip(got_row, row, strict=True):
            expected = _excel_value(value)
            if isinstance(expected, float):
                assert isinstance(got, int | float)
                assert math.isclose(got, expected, rel_tol=1e-15, abs_tol=1e-300)
            elif isinstance(expected, dt.timedelta):
                assert isinstance(got, dt.timedelta)
                assert abs(got - expected) < dt.timedelta(milliseconds=1)
            elif isinstance(expected, dt.datetime):
                assert isinstance(got, dt.datetime)
                assert abs(got - expected) < dt.timedelta(milliseconds=1)
            else:
                assert got == expected


def _texts(table: ReportTable, rows: list[tuple[ReportCell, ...]]) -> list[list[str]]:
    kinds = [column.kind for column in table.columns]
    return [[c.title for c in table.columns]] + [
        [display_text(value, kind) for value, kind in zip(row, kinds, strict=True)] for row in rows
    ]


@given(tables())
def test_rtf_reads_back(drawn: tuple[ReportTable, list[tuple[ReportCell, ...]]]) -> None:
    table, rows = drawn
    document = read_rtf(_export(table, "rtf"))
    assert document.paragraphs[0] == table.title
    assert document.rows == _texts(table, rows)


@given(tables())
def test_html_reads_back(drawn: tuple[ReportTable, list[tuple[ReportCell, ...]]]) -> None:
    table, rows = drawn
    page = Page()
    page.feed(_export(table, "html").decode("utf-8"))
    assert page.texts["h1"] == [table.title]
    assert [[text for text, _ in row] for row in page.cells] == _texts(table, rows)


def test_the_texts_compared_are_those_a_reader_sees() -> None:
    assert display_text(dt.timedelta(hours=30, seconds=31), ColumnKind.DURATION) == "30:01"
    assert display_text(0.125, ColumnKind.PERCENT) == "12.5 %"
    assert display_text(-90.0, ColumnKind.DURATION) == "-90.00"  # a number in a duration column
    assert display_text(dt.timedelta(minutes=-90), ColumnKind.DURATION) == "-1:30"
