"""HTML export: the page parsed back, its table cells and its chart's bars and lines."""

from __future__ import annotations

import datetime as dt
import io
from html.parser import HTMLParser

import attrs
import pytest

from crmcms.export import (
    ChartKind,
    ColumnKind,
    ReportChart,
    ReportColumn,
    ReportTable,
    write_table,
)
from crmcms.export.svg_chart import nice_ticks

COLUMNS = (
    ReportColumn("topic", "Тема", ColumnKind.TEXT, dimension=True),
    ReportColumn("day", "Day", ColumnKind.DATE),
    ReportColumn("count", "Обращений", ColumnKind.INTEGER),
    ReportColumn("median", "Median handling", ColumnKind.DURATION),
)


@attrs.define
class Page(HTMLParser):
    """What a reader of the page sees: the cells, the chart's shapes, the chart's caption."""

    cells: list[list[tuple[str, str]]] = attrs.field(factory=list)
    shapes: list[tuple[str, dict[str, str]]] = attrs.field(factory=list)
    texts: dict[str, list[str]] = attrs.field(factory=dict)
    _open: list[str] = attrs.field(factory=list)
    _text: list[str] | None = None
    _cell_class: str = ""

    def __attrs_post_init__(self) -> None:
        HTMLParser.__init__(self, convert_charrefs=True)

    def handle_starttag(self, tag: str, attrs_: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs_}
        if tag == "tr":
            self.cells.append([])
        elif tag in {"td", "th"}:
            self._text, self._cell_class = [], attributes.get("class", "")
        elif tag in {"rect", "polyline", "circle"}:
            self.shapes.append((tag, attributes))
        elif tag in {"text", "figcaption", "h1", "title", "dt", "dd"}:
            self._open.append(attributes.get("class", tag))
            self._text = []

    def handle_startendtag(self, tag: str, attrs_: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs_)

    def handle_endtag(self, tag: str) -> None:
        if tag in {"td", "th"} and self._text is not None:
            self.cells[-1].append(("".join(self._text), self._cell_class))
            self._text = None
        elif tag in {"text", "figcaption", "h1", "title", "dt", "dd"} and self._open:
            key = self._open.pop()
            self.texts.setdefault(key, []).append("".join(self._text or []))
            self._text = None

    def handle_data(self, data: str) -> None:
        if self._text is not None:
            self._text.append(data)

    def bars(self) -> list[dict[str, str]]:
        return [a for tag, a in self.shapes if tag == "rect" and a.get("class") == "bar"]


def _rows(count: int) -> list[tuple[object, ...]]:
    return [
        (
            f"Тема {i} <b>&amp;",
            dt.date(2026, 3, 1) + dt.timedelta(days=i),
            (i * 7) % 40 + 1,
            dt.timedelta(minutes=30 + i),
        )
        for i in range(count)
    ]


def _page(rows: list[tuple[object, ...]], kind: ChartKind = ChartKind.BAR) -> tuple[Page, bytes]:
    chart = ReportChart(kind, "topic", ("count",))
    table = ReportTable(
        "by_topic",
        "Обращения <по> темам",
        COLUMNS,
        iter(rows),  # type: ignore[arg-type]
        parameters=(("Период", "март & апрель"),),
        chart=chart,
    )
    out = io.BytesIO()
    assert write_table(table, "html", out) == len(rows)
    page = Page()
    page.feed(out.getvalue().decode("utf-8"))
    return page, out.getvalue()


def test_the_table_reads_back_with_numbers_right_aligned() -> None:
    rows = _rows(3)
    page, data = _page(rows)
    assert data.startswith(b"<!DOCTYPE html>")
    assert page.texts["h1"] == ["Обращения <по> темам"]
    assert page.texts["dt"] == ["Период"]
    assert page.texts["dd"] == ["март & апрель"]
    header, first = page.cells[0], page.cells[1]
    assert header == [("Тема", ""), ("Day", ""), ("Обращений", "num"), ("Median handling", "num")]
    assert first == [("Тема 0 <b>&amp;", ""), ("2026-03-01", ""), ("1", "num"), ("0:30", "num")]
    assert len(page.cells) == 4
    assert b"<b>" not in data  # autoescape: a topic's markup is text


def test_bars_are_as_many_as_rows_and_as_high_as_their_values() -> None:
    rows = _rows(12)
    page, _ = _page(rows)
    bars = page.bars()
    assert len(bars) == 12
    values = [row[2] for row in rows]
    heights = [float(bar["height"]) for bar in bars]
    scale = max(heights) / max(values)  # type: ignore[type-var, operator]
    for height, value in zip(heights, values, strict=True):
        assert height == pytest.approx(scale * value, abs=0.15)  # type: ignore[operator]
    assert page.texts["category"][0] == "Тема 0 <b>&amp;"
    assert page.texts["text"] == ["Обращений"]  # the legend
    assert "figcaption" not in page.texts


def test_the_chart_draws_the_first_rows_and_says_so() -> None:
    page, _ = _page(_rows(60))
    assert len(page.bars()) == 50
    assert page.texts["figcaption"] == [
        "The chart shows the first 50 rows; the table has them all."
    ]
    assert len(page.cells) == 61


def test_a_line_chart_has_a_point_a_row() -> None:
    page, _ = _page(_rows(5), ChartKind.LINE)
    lines = [a for tag, a in page.shapes if tag == "polyline"]
    assert len(lines) == 1
    assert len(lines[0]["points"].split()) == 5
    assert len([1 for tag, _ in page.shapes if tag == "circle"]) == 5
    assert page.bars() == []


def test_a_missing_value_breaks_the_line() -> None:
    rows = _rows(5)
    rows[2] = (*rows[2][:2], None, rows[2][3])
    page, _ = _page(rows, ChartKind.LINE)
    lines = [a["points"].split() for tag, a in page.shapes if tag == "polyline"]
    assert [len(points) for points in lines] == [2, 2]


def test_many_categories_are_labelled_every_few() -> None:
    page, _ = _page(_rows(50))
    assert len(page.texts["category"]) == 25  # 18 pixels a category: every second one
    assert page.texts["category"][1] == "Тема 2 <b>&amp;"


def test_the_same_table_gives_the_same_bytes() -> None:
    assert _page(_rows(20))[1] == _page(_rows(20))[1]


def test_ticks_are_round_numbers() -> None:
    assert nice_ticks(0, 79) == ([0, 20, 40, 60, 80], 0)
    assert nice_ticks(0, 0.37) == ([0, 0.1, 0.2, 0.3, 0.4], 1)
    assert nice_ticks(0, 1234) == ([0, 250, 500, 750, 1000, 1250], 0)
    assert nice_ticks(-3, 9) == ([-5, -2.5, 0, 2.5, 5, 7.5, 10], 1)
    assert nice_ticks(-3, 9, whole=True) == ([-5, 0, 5, 10], 0)
    assert nice_ticks(0, 3, whole=True) == ([0, 1, 2, 3], 0)
    assert nice_ticks(0, 0.11) == ([0, 0.025, 0.05, 0.075, 0.1, 0.125], 3)
    assert nice_ticks(0, 0) == ([0, 0.2, 0.4, 0.6, 0.8, 1.0], 1)
