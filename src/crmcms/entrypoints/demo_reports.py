"""The demo's reports: every built-in report over the demo's appeals, written to files in
every export format, computed by SQLite."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from rich.console import Console
from rich.table import Table

from crmcms.engine import BUILTIN_REPORTS, Engine
from crmcms.export import FORMATS, write_table
from crmcms.model import Catalog
from crmcms.storage.sql import SqlStore

__all__ = ["run_reports_demo"]

ZONE = "Europe/Moscow"


def run_reports_demo(catalog: Catalog, out: Console, store: SqlStore, folder: Path) -> list[Path]:
    """Write each built-in report, over the year either side of today, to ``folder`` in every
    format there is; returns the files written."""
    engine = Engine(catalog, store.unit_of_work, reports=store.reports(), trust_logins=True)
    today = datetime.now(UTC).date()
    start, end = today - timedelta(days=365), today + timedelta(days=365)
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    shown = Table("report", "rows", "files", title=f"Reports, {start} to {end} ({ZONE})")
    for definition in BUILTIN_REPORTS:
        bucket = "month" if definition.code == "backlog" else None
        names = []
        rows = 0
        for name, fmt in sorted(FORMATS.items()):
            table = engine.report(
                definition.code, start=start, end=end, timezone=ZONE, bucket=bucket
            )
            path = folder / f"{definition.code}{fmt.suffix}"
            with path.open("wb") as file:
                rows = write_table(table, name, file)
            written.append(path)
            names.append(path.name)
        shown.add_row(definition.title, str(rows), ", ".join(names))
    out.print(shown)
    out.print(f"[bold]Reports[/bold] written to {folder}/ in {', '.join(sorted(FORMATS))}")
    return written
