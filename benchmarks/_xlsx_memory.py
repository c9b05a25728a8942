"""Peak memory of an xlsx export: generated rows written in a process of their own.

``python benchmarks/_xlsx_memory.py ROWS`` exports ROWS generated rows (seven typed columns)
to a temporary file and prints, as JSON, the peak resident memory after a 1,000-row warm-up
export and at the end. The report benchmark calls :func:`xlsx_peak_rss_mb`; a test checks
that 200,000 rows take hardly more than the warm-up.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import pathlib
import resource
import subprocess
import sys
import tempfile
import zoneinfo
from collections.abc import Iterator
from typing import NamedTuple

ROOT = pathlib.Path(__file__).resolve().parent.parent

TOPICS = ("Нет связи", "Медленный интернет", "Списание средств", "Роуминг", "Смена тарифа")


class XlsxMemory(NamedTuple):
    warm_mb: float  # peak after importing everything and a small export
    peak_mb: float  # peak after the export of all the rows


def _rss_mb() -> float:
    if sys.platform == "linux":
        # VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the parent across exec,
        # so a child of a big process would report the parent's peak.
        with open("/proc/self/status") as status:
            return int(status.read().split("VmHWM:")[1].split()[0]) / 2**10
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10  # bytes there, KiB here


def _export(rows: int, target: pathlib.Path) -> int:
    from crmcms.export import ColumnKind, ReportColumn, ReportTable, write_table

    moscow = zoneinfo.ZoneInfo("Europe/Moscow")
    start = dt.datetime(2026, 1, 1, 8, tzinfo=moscow)

    def generated() -> Iterator[tuple[object, ...]]:
        for i in range(rows):
            yield (
                f"{TOPICS[i % len(TOPICS)]} #{i}",
                start.date() + dt.timedelta(days=i % 365),
                i,
                (i % 100) / 100,
                dt.timedelta(seconds=60 * (i % 900)),
                start + dt.timedelta(minutes=i),
                i / 7,
            )

    columns = (
        ReportColumn("topic", "Тема", ColumnKind.TEXT, dimension=True),
        ReportColumn("day", "День", ColumnKind.DATE, dimension=True),
        ReportColumn("number", "Номер", ColumnKind.INTEGER),
        ReportColumn("share", "Доля", ColumnKind.PERCENT),
        ReportColumn("handling", "Обработка", ColumnKind.DURATION),
        ReportColumn("opened", "Открыто", ColumnKind.DATETIME),
        ReportColumn("mean", "Среднее", ColumnKind.DECIMAL),
    )
    table = ReportTable("generated", "Generated rows", columns, generated())  # type: ignore[arg-type]
    with target.open("wb") as out:
        return write_table(table, "xlsx", out)


def measure(rows: int) -> XlsxMemory:
    """Export ``rows`` rows in this process; its peak memory before and after (MB)."""
    with tempfile.TemporaryDirectory() as work:
        _export(1_000, pathlib.Path(work) / "warm.xlsx")
        warm = _rss_mb()
        written = _export(rows, pathlib.Path(work) / "rows.xlsx")
        assert written == rows
        return XlsxMemory(warm, _rss_mb())


def xlsx_memory(rows: int) -> XlsxMemory:
    """:func:`measure` in a fresh Python process, so that nothing else shares its peak."""
    environment = dict(os.environ)
    environment["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT / "src"), *filter(None, [environment.get("PYTHONPATH")])]
    )
    result = subprocess.run(
        [sys.executable, str(pathlib.Path(__file__).resolve()), str(rows)],
        check=True,
        capture_output=True,
        text=True,
        env=environment,
    )
    data = json.loads(result.stdout.strip().splitlines()[-1])
    return XlsxMemory(data["warm_mb"], data["peak_mb"])


def xlsx_peak_rss_mb(rows: int) -> float:
    """Peak resident memory, in MB, of a process exporting ``rows`` generated rows to xlsx."""
    return xlsx_memory(rows).peak_mb


if __name__ == "__main__":
    memory = measure(int(sys.argv[1]))
    print(json.dumps({"warm_mb": round(memory.warm_mb, 1), "peak_mb": round(memory.peak_mb, 1)}))
