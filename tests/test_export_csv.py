"""CSV export: read back with the csv module, values in their ISO forms."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest

from crmcms import CrmcmsError
from crmcms.export import ColumnKind, ReportColumn, ReportTable, write_table

MSK = dt.timezone(dt.timedelta(hours=3))


def _table() -> ReportTable:
    columns = (
        ReportColumn("topic", "Тема", ColumnKind.TEXT, dimension=True),
        ReportColumn("day", "Day", ColumnKind.DATE, dimension=True),
        ReportColumn("count", "Appeals", ColumnKind.INTEGER),
        ReportColumn("median", "Median handling", ColumnKind.DURATION),
        ReportColumn("first", "First", ColumnKind.DATETIME),
    )
    rows = iter(
        [
            ("Нет связи", dt.date(2026, 3, 1), 3, dt.timedelta(hours=1, seconds=30), None),
            (
                'Billing, "quoted"',
                dt.date(2026, 3, 2),
                0,
                None,
                dt.datetime(2026, 3, 2, 9, tzinfo=MSK),
            ),
        ]
    )
    return ReportTable("by_topic", "By topic", columns, rows)


def test_a_table_reads_back_as_its_header_and_rows() -> None:
    out = io.BytesIO()
    assert write_table(_table(), "csv", out) == 2
    text = out.getvalue().decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows == [
        ["Тема", "Day", "Appeals", "Median handling", "First"],
        ["Нет связи", "2026-03-01", "3", "3630", ""],
        ['Billing, "quoted"', "2026-03-02", "0", "", "2026-03-02T09:00:00+03:00"],
    ]


def test_an_unknown_format_is_refused_naming_the_known_ones() -> None:
    with pytest.raises(CrmcmsError, match="no export format 'pdf'; known: csv"):
        write_table(_table(), "pdf", io.BytesIO())
