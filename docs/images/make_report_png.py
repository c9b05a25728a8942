"""Draw docs/images/report.png: a by-topic report exported to HTML, as Chromium shows it.

Run from the repository root: ``python docs/images/make_report_png.py``. The browser test
renders the same report and checks the picture is not blank.
"""

from __future__ import annotations

import datetime as dt
import pathlib
import shutil
import subprocess
import sys
import tempfile
import zoneinfo

from crmcms.export import (
    ChartKind,
    ColumnKind,
    ReportChart,
    ReportColumn,
    ReportTable,
    write_table,
)

HERE = pathlib.Path(__file__).resolve().parent

TOPICS = (
    ("Нет связи", 412, 95),
    ("Медленный интернет", 356, 140),
    ("Списание средств", 298, 62),
    ("Роуминг", 187, 48),
    ("Смена тарифа", 164, 25),
    ("Перенос номера (MNP)", 121, 310),
    ("Качество голосовой связи", 96, 180),
    ("SIM-карта и eSIM", 74, 35),
    ("Прочее", 58, 41),
)


def sample_table() -> ReportTable:
    """Appeals by topic for a month: counts with a bar chart, median handling times."""
    columns = (
        ReportColumn("topic", "Тема", ColumnKind.TEXT, dimension=True),
        ReportColumn("count", "Обращений", ColumnKind.INTEGER),
        ReportColumn("share", "Доля", ColumnKind.PERCENT),
        ReportColumn("median", "Медиана решения", ColumnKind.DURATION),
        ReportColumn("first", "Первое", ColumnKind.DATETIME),
    )
    total = sum(count for _, count, _ in TOPICS)
    moscow = zoneinfo.ZoneInfo("Europe/Moscow")
    rows = (
        (
            topic,
            count,
            count / total,
            dt.timedelta(minutes=minutes),
            dt.datetime(2026, 3, 1, 8, 5 + 4 * i, tzinfo=moscow),
        )
        for i, (topic, count, minutes) in enumerate(TOPICS)
    )
    return ReportTable(
        "by_topic",
        "Обращения по темам",
        columns,
        rows,
        parameters=(
            ("Период", "2026-03-01 – 2026-03-31"),
            ("Канал", "все"),
            ("Часовой пояс", "Europe/Moscow"),
        ),
        chart=ReportChart(ChartKind.BAR, "topic", ("count",)),
    )


def screenshot(html: pathlib.Path, png: pathlib.Path, *, chromium: str = "chromium") -> None:
    """Open ``html`` in headless Chromium and save what a 1200x900 window shows to ``png``."""
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [
                chromium,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--hide-scrollbars",
                f"--user-data-dir={profile}",
                f"--screenshot={png}",
                "--window-size=1200,900",
                html.resolve().as_uri(),
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )


def main() -> None:
    chromium = shutil.which("chromium")
    if chromium is None:
        sys.exit("chromium is not installed")
    with tempfile.TemporaryDirectory() as work:
        html = pathlib.Path(work) / "report.html"
        with html.open("wb") as out:
            write_table(sample_table(), "html", out)
        screenshot(html, HERE / "report.png", chromium=chromium)


if __name__ == "__main__":
    main()
