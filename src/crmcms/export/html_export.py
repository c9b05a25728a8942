"""HTML: a standalone page with the chart as inline SVG, the rows streamed into its table."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from importlib import resources
from typing import BinaryIO

import jinja2

from crmcms.export.cells import (
    NUMERIC_KINDS,
    display_text,
    parameters_with_zone,
    peek,
    report_zone,
)
from crmcms.export.svg_chart import render_chart
from crmcms.export.tables import ReportTable

__all__ = ["CHART_POINTS", "write_html"]

CHART_POINTS = 50
"""Categories the chart draws: the first rows; the table below has them all."""

_WRITE_BYTES = 64 * 1024  # the page goes out in pieces of about this size


@functools.cache
def _template() -> jinja2.Template:
    source = resources.files("crmcms.export").joinpath("templates/report.html.j2")
    environment = jinja2.Environment(
        autoescape=True, trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined
    )
    return environment.from_string(source.read_text(encoding="utf-8"))


class _Counter:
    """Rows written so far; the page's last line reads it once the rows have streamed."""

    def __init__(self) -> None:
        self.count = 0


def write_html(
    table: ReportTable, out: BinaryIO, *, progress: Callable[[int], None] | None = None
) -> int:
    """Write ``table`` to ``out`` as a UTF-8 HTML page; the number of data rows written.

    The title, the parameters, the chart (when the table has one) drawn from the first
    ``CHART_POINTS`` rows and saying so when there are more, then the table: numbers and
    durations right-aligned, durations as h:mm, dates in ISO form. Rows are rendered as they
    are read; the page is never held whole in memory.
    """
    head, rows = peek(table.rows, CHART_POINTS + 1)  # one more tells that the chart is cut
    parameters = list(parameters_with_zone(table, report_zone(table.columns, head)))
    if table.generated_at is not None:
        parameters.append(("Generated", table.generated_at.isoformat(timespec="seconds")))
    chart = None
    note = None
    if table.chart is not None and head:
        chart = render_chart(table, head[:CHART_POINTS])
        if len(head) > CHART_POINTS:
            note = f"The chart shows the first {CHART_POINTS} rows; the table has them all."
    kinds = [column.kind for column in table.columns]
    numeric = [kind in NUMERIC_KINDS for kind in kinds]
    counter = _Counter()

    def body() -> Iterator[list[tuple[str, bool]]]:
        for row in rows:
            yield [
                (display_text(value, kind), right)
                for value, kind, right in zip(row, kinds, numeric, strict=True)
            ]
            counter.count += 1
            if progress is not None and counter.count % 10_000 == 0:
                progress(counter.count)

    pieces = _template().generate(
        title=table.title,
        parameters=parameters,
        chart=chart,
        chart_note=note,
        header=[
            (column.title, right) for column, right in zip(table.columns, numeric, strict=True)
        ],
        rows=body(),
        counter=counter,
    )
    buffered: list[str] = []
    size = 0
    for piece in pieces:
        buffered.append(piece)
        size += len(piece)
        if size >= _WRITE_BYTES:
            out.write("".join(buffered).encode("utf-8"))
            buffered.clear()
            size = 0
    out.write("".join(buffered).encode("utf-8"))
    return counter.count
