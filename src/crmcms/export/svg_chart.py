"""A bar or line chart as inline SVG: drawn by hand, so the same table gives the same bytes."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from decimal import Decimal

from markupsafe import Markup, escape

from crmcms.export.cells import display_text
from crmcms.export.tables import ChartKind, ColumnKind, ReportCell, ReportColumn, ReportTable

__all__ = ["PALETTE", "chart_values", "nice_ticks", "render_chart"]

PALETTE = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1")
"""Series colours, in order; distinct for the colour-blind and in greyscale print."""

_FONT = "DejaVu Sans, Liberation Sans, Arial, sans-serif"  # fonts with Cyrillic letters
_LABEL_CHARS = 24  # a longer category label is cut with an ellipsis


def _number(value: float) -> str:
    # Coordinates with one decimal: enough for a screen, and stable across platforms.
    text = f"{value:.1f}"
    return "0.0" if text == "-0.0" else text


def chart_values(value: ReportCell) -> float | None:
    """A cell as a height on the chart: numbers as they are, durations in hours."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, dt.timedelta):
        return value.total_seconds() / 3600
    if isinstance(value, int | float | Decimal):
        number = float(value)
        return number if math.isfinite(number) else None
    return None


def nice_ticks(
    low: float, high: float, target: int = 5, *, whole: bool = False
) -> tuple[list[float], int]:
    """Round tick values covering ``low``..``high`` (steps of 1, 2, 2.5 or 5 times a power
    of ten; whole steps only for counts when ``whole``), and the decimals their labels need."""
    if high <= low:
        high = low + 1
    raw = (high - low) / target
    if whole:
        raw = max(raw, 1.0)
    magnitude = 10 ** math.floor(math.log10(raw))
    multiples = (1, 2, 5, 10) if whole and magnitude == 1 else (1, 2, 2.5, 5, 10)
    step = next(m * magnitude for m in multiples if m * magnitude >= raw * (1 - 1e-9))
    first = math.floor(low / step + 1e-9)
    last = math.ceil(high / step - 1e-9)
    exponent = math.floor(math.log10(step) + 1e-9)
    # 0.25 needs a decimal more than 0.2; 25 needs none.
    decimals = max(0, -exponent + (1 if round(step / 10**exponent, 6) == 2.5 else 0))
    ticks = [round(i * step, decimals + 6) for i in range(first, last + 1)]
    return ticks, decimals


def _tick_label(value: float, decimals: int, kind: ColumnKind) -> str:
    if kind is ColumnKind.PERCENT:
        return f"{value * 100:.{max(decimals - 2, 0)}f} %"
    text = f"{value:,.{decimals}f}".replace(",", "\u2009")  # a thin space between thousands
    return "0" if float(value) == 0 else text


def _cut(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= _LABEL_CHARS else line[: _LABEL_CHARS - 1] + "…"


def render_chart(
    table: ReportTable,
    rows: Sequence[tuple[ReportCell, ...]],
    *,
    width: int = 1000,
    height: int = 420,
) -> Markup:
    """The table's chart over ``rows`` as an ``<svg>`` element (the table must have a chart).

    Axes, round ticks with grid lines, a label under each category (slanted when they are
    many or long), a legend of the series. Text is escaped; numbers are written with fixed
    decimals, so equal input gives byte-identical output.
    """
    chart = table.chart
    if chart is None:
        raise ValueError("the table has no chart")
    codes = [column.code for column in table.columns]
    category_column = table.column(chart.category)
    series_columns: list[ReportColumn] = [table.column(code) for code in chart.series]
    category_at = codes.index(chart.category)
    labels = [display_text(row[category_at], category_column.kind) for row in rows]
    cells = [[row[codes.index(c.code)] for row in rows] for c in series_columns]
    series = [[chart_values(cell) for cell in column_cells] for column_cells in cells]
    known = [value for values in series for value in values if value is not None]
    low, high = min([0.0, *known]), max([0.0, *known])
    axis_kind = series_columns[0].kind
    ticks, decimals = nice_ticks(low, high, whole=axis_kind is ColumnKind.INTEGER)

    left, right, top = 80, 20, 44
    band = (width - right - left) / max(len(labels), 1)
    # About 7 pixels a character at 12 px: labels wider than their band are slanted.
    slanted = max((len(_cut(label)) for label in labels), default=0) * 7 > band * 0.9
    bottom = 130 if slanted else 44
    x0, x1, y0, y1 = left, width - right, top, height - bottom
    span = ticks[-1] - ticks[0]

    def y_of(value: float) -> float:
        return y1 - (value - ticks[0]) / span * (y1 - y0)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(table.title)}" font-family="{_FONT}" font-size="12">',
        f'<rect class="background" x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>',
    ]
    # The legend, across the top.
    x = float(x0)
    for index, column in enumerate(series_columns):
        colour = PALETTE[index % len(PALETTE)]
        unit = ", h" if column.kind is ColumnKind.DURATION else ""
        name = f"{column.title}{unit}"
        parts.append(
            f'<g class="legend"><rect x="{_number(x)}" y="12" width="12" height="12" '
            f'fill="{colour}"/><text x="{_number(x + 18)}" y="22">{escape(name)}</text></g>'
        )
        x += 18 + 7.5 * len(name) + 24
    # Grid lines and tick labels along the vertical axis.
    for tick in ticks:
        y = _number(y_of(tick))
        parts.append(
            f'<line class="grid" x1="{x0}" y1="{y}" x2="{x1}" y2="{y}" stroke="#e0e0e0"/>'
            f'<text class="tick" x="{x0 - 8}" y="{y}" text-anchor="end" '
            f'dominant-baseline="middle">{escape(_tick_label(tick, decimals, axis_kind))}</text>'
        )
    zero = y_of(0.0)
    if chart.kind is ChartKind.BAR:
        group = band * 0.8
        bar = group / max(len(series), 1)
        # A value over each bar while they are few enough for the numbers to fit.
        with_values = bar >= 28
        for s, values in enumerate(series):
            colour = PALETTE[s % len(PALETTE)]
            for c, value in enumerate(values):
                if value is None:
                    continue
                top_y = min(y_of(value), zero)
                left_x = x0 + c * band + band * 0.1 + s * bar
                shown = escape(display_text(cells[s][c], series_columns[s].kind))
                parts.append(
                    f'<rect class="bar" data-series="{escape(series_columns[s].code)}" '
                    f'x="{_number(left_x)}" y="{_number(top_y)}" width="{_number(bar)}" '
                    f'height="{_number(abs(y_of(value) - zero))}" fill="{colour}">'
                    f"<title>{escape(labels[c])}: {shown}</title></rect>"
                )
                if with_values:
                    parts.append(
                        f'<text class="value" x="{_number(left_x + bar / 2)}" '
                        f'y="{_number(top_y - 4)}" text-anchor="middle">{shown}</text>'
                    )
    else:
        for s, values in enumerate(series):
            colour = PALETTE[s % len(PALETTE)]
            # A missing value breaks the line: each run of known values is a line of its own.
            runs: list[list[tuple[float, float]]] = [[]]
            for c, value in enumerate(values):
                if value is None:
                    runs.append([])
                else:
                    runs[-1].append((x0 + (c + 0.5) * band, y_of(value)))
            for run in filter(None, runs):
                path = " ".join(f"{_number(px)},{_number(py)}" for px, py in run)
                parts.append(
                    f'<polyline class="line" data-series="{escape(series_columns[s].code)}" '
                    f'points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>'
                )
                parts.extend(
                    f'<circle class="point" cx="{_number(px)}" cy="{_number(py)}" r="3" '
                    f'fill="{colour}"/>'
                    for px, py in run
                )
    # The axes over the bars, then a label under each category.
    parts.append(
        f'<line class="axis" x1="{x0}" y1="{_number(zero)}" x2="{x1}" y2="{_number(zero)}" '
        f'stroke="#333333"/><line class="axis" x1="{x0}" y1="{y0}" x2="{x0}" y2="{y1}" '
        f'stroke="#333333"/>'
    )
    # Slanted labels need about 20 pixels apart not to overlap: then every n-th is shown.
    every = math.ceil(20 / band) if slanted else 1
    for c, label in enumerate(labels):
        if c % every:
            continue
        cx = _number(x0 + (c + 0.5) * band)
        text = escape(_cut(label))
        if slanted:
            parts.append(
                f'<text class="category" x="{cx}" y="{y1 + 14}" text-anchor="end" '
                f'transform="rotate(-40 {cx} {y1 + 14})">{text}</text>'
            )
        else:
            parts.append(
                f'<text class="category" x="{cx}" y="{y1 + 20}" text-anchor="middle">{text}</text>'
            )
    parts.append("</svg>")
    return Markup("\n".join(parts))
