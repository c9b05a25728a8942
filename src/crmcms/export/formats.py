"""The export formats by name, so that the CLI, the API and the HTTP adapter offer the same."""

from __future__ import annotations

from collections.abc import Callable
from typing import BinaryIO, Protocol

from crmcms.errors import Problem, ValidationError
from crmcms.export.csv_export import write_csv
from crmcms.export.html_export import write_html
from crmcms.export.rtf_export import write_rtf
from crmcms.export.tables import ReportTable
from crmcms.export.xlsx_export import write_xlsx

__all__ = ["FORMATS", "ExportFormat", "Writer", "export_format", "write_table"]


class Writer(Protocol):
    def __call__(
        self, table: ReportTable, out: BinaryIO, *, progress: Callable[[int], None] | None = ...
    ) -> int: ...


class ExportFormat:
    """A file format a report can be written in."""

    def __init__(self, name: str, suffix: str, media_type: str, writer: Writer) -> None:
        self.name = name
        self.suffix = suffix
        self.media_type = media_type
        self.writer = writer

    def __repr__(self) -> str:
        return f"ExportFormat({self.name!r})"


FORMATS: dict[str, ExportFormat] = {
    "csv": ExportFormat("csv", ".csv", "text/csv; charset=utf-8", write_csv),
    "xlsx": ExportFormat(
        "xlsx",
        ".xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        write_xlsx,
    ),
    "rtf": ExportFormat("rtf", ".rtf", "application/rtf", write_rtf),
    "html": ExportFormat("html", ".html", "text/html; charset=utf-8", write_html),
}
"""Every format by name."""


def export_format(name: str) -> ExportFormat:
    """The format called ``name``; a ValidationError naming the known ones otherwise."""
    try:
        return FORMATS[name]
    except KeyError:
        known = ", ".join(sorted(FORMATS))
        raise ValidationError(
            [Problem("format", f"no export format {name!r}; known: {known}")]
        ) from None


def write_table(
    table: ReportTable,
    format_name: str,
    out: BinaryIO,
    *,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Write ``table`` to ``out`` in the named format; the number of data rows written."""
    return export_format(format_name).writer(table, out, progress=progress)
