"""Writing report tables to files: the table a report produces and the formats it goes out in."""

from __future__ import annotations

from crmcms.export.tables import (
    ChartKind,
    ColumnKind,
    ReportCell,
    ReportChart,
    ReportColumn,
    ReportTable,
)

__all__ = ["ChartKind", "ColumnKind", "ReportCell", "ReportChart", "ReportColumn", "ReportTable"]
