"""RTF export: parsed back by a small reader, Cyrillic and braces included."""

from __future__ import annotations

import datetime as dt
import io

from crmcms.export import ColumnKind, ReportColumn, ReportTable, write_table
from crmcms.export.rtf_export import rtf_text
from rtf_reader import read_rtf

MSK = dt.timezone(dt.timedelta(hours=3))

COLUMNS = (
    ReportColumn("topic", "Тема", ColumnKind.TEXT, dimension=True),
    ReportColumn("day", "Day", ColumnKind.DATE, dimension=True),
    ReportColumn("count", "Appeals", ColumnKind.INTEGER),
    ReportColumn("share", "Share", ColumnKind.PERCENT),
    ReportColumn("median", "Median handling", ColumnKind.DURATION),
    ReportColumn("first", "First", ColumnKind.DATETIME),
)


def _table() -> ReportTable:
    rows = iter(
        [
            (
                "Нет связи {срочно}",
                dt.date(2026, 3, 1),
                1234,
                0.25,
                dt.timedelta(hours=26, minutes=5),
                dt.datetime(2026, 3, 1, 9, 30, tzinfo=MSK),
            ),
            ("C:\\path\nsecond line 😀", None, 0, None, None, None),
        ]
    )
    return ReportTable(
        "by_topic", "Обращения по темам", COLUMNS, rows, parameters=(("Период", "март 2026"),)
    )


def test_the_document_reads_back_as_title_parameters_and_table() -> None:
    out = io.BytesIO()
    assert write_table(_table(), "rtf", out) == 2
    data = out.getvalue()
    assert data.startswith(b"{\\rtf1\\ansi\\ansicpg1251")
    data.decode("ascii")  # every character outside ASCII is an escape
    document = read_rtf(data)
    assert document.paragraphs[:3] == [
        "Обращения по темам",
        "Период: март 2026",
        "Time zone: UTC+03:00",
    ]
    assert document.rows == [
        ["Тема", "Day", "Appeals", "Share", "Median handling", "First"],
        ["Нет связи {срочно}", "2026-03-01", "1234", "25.0 %", "26:05", "2026-03-01 09:30"],
        ["C:\\path\nsecond line 😀", "", "0", "", "", ""],
    ]


def test_numbers_are_right_aligned_and_text_left() -> None:
    out = io.BytesIO()
    write_table(_table(), "rtf", out)
    aligned = read_rtf(out.getvalue()).right_aligned
    assert aligned[0] == [False] * 6  # the header
    assert aligned[1] == [False, False, True, True, True, False]


def test_escapes() -> None:
    assert rtf_text("a{b}\\c") == "a\\{b\\}\\\\c"
    assert rtf_text("Я") == "\\u1071?"
    assert rtf_text("😀") == "\\u-10179?\\u-8704?"
