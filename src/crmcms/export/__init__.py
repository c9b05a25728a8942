"""Writing report tables to files: the table a report produces and the formats it goes out in."""

from __future__ import annotations

from crmcms.export.formats import FORMATS, ExportFormat, export_format, write_table
from crmcms.export.tables import (
    ChartKind,
    ColumnKind,
    ReportCell,
    ReportChart,
    ReportColumn,
    ReportTable,
)

__all__ = [
    "FORMATS",
    "ChartKind",
    "ColumnKind",
    "ExportFormat",
    "ReportCell",
    "ReportChart",
    "ReportColumn",
    "ReportTable",
    "export_format",
    "write_table",
]
