"""Custom reports run like the built-in ones: from definition files (a column dimension
spread across) and from plugins through the crmcms_reports hook."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from crmcms import hookimpl, make_plugin_manager
from crmcms.dsl import load_catalog
from crmcms.engine import Engine
from crmcms.errors import ValidationError
from crmcms.export import ColumnKind
from crmcms.model import DimensionKind, Measure, ReportDefinition, ReportDimension
from crmcms.storage.memory import MemoryStore
from crmcms.storage.memory_reports import MemoryReports
from report_world import START, generate

END = datetime(2026, 4, 1, tzinfo=UTC)

CUSTOM = """
report TOPIC_BY_CHANNEL "Topics by channel" {
    rows: topic
    columns: channel
    measures: count, closed
    filter: Appeal.Queue is empty
}
"""


class Plugged:
    @hookimpl
    def crmcms_reports(self) -> list[ReportDefinition]:
        return [
            ReportDefinition(
                "queues_weekly",
                "Queues by week",
                rows=(ReportDimension(DimensionKind.QUEUE),),
                measures=(Measure.COUNT,),
            )
        ]


def engine_with(tmp_path: Path, *plugins: object) -> tuple[Engine, list]:  # type: ignore[type-arg]
    (tmp_path / "reports.crm").write_text(CUSTOM, encoding="utf-8")
    catalog = load_catalog(["examples/telecom", str(tmp_path)])
    store = MemoryStore()
    made = generate(store.unit_of_work, 150)
    engine = Engine(
        catalog,
        store.unit_of_work,
        plugins=make_plugin_manager(list(plugins)),
        reports=MemoryReports(store, catalog),
        trust_logins=True,
    )
    return engine, made


def test_a_report_of_the_definitions_spreads_its_column_dimension(tmp_path: Path) -> None:
    engine, made = engine_with(tmp_path)
    table = engine.report("TOPIC_BY_CHANNEL", start=START, end=END)
    titles = [c.title for c in table.columns]
    assert titles == [
        "Topic",
        "Appeals: EMAIL",
        "Appeals: PHONE",
        "Closed: EMAIL",
        "Closed: PHONE",
    ]
    assert all(c.kind is ColumnKind.INTEGER for c in table.columns[1:])
    assert table.chart is not None
    assert table.chart.series == ("count_0", "count_1")
    rows = {row[0]: row[1:] for row in table.rows}
    period = [g for g in made if g.appeal.registered_at >= START and g.appeal.queue is None]
    counted = Counter((g.appeal.topic, g.contact.channel) for g in period)
    for topic, (email, phone, _, _) in rows.items():
        assert (email or 0, phone or 0) == (counted[topic, "EMAIL"], counted[topic, "PHONE"])
    assert ("Filter", "Appeal.Queue is empty") in table.parameters


def test_a_plugin_offers_reports_through_the_hook(tmp_path: Path) -> None:
    engine, made = engine_with(tmp_path, Plugged())
    codes = [d.code for d in engine.report_definitions()]
    assert codes[:6] == ["by_topic", "by_operator", "repeat_appeals", "sla", "backlog", "reopened"]
    assert codes[6:] == ["TOPIC_BY_CHANNEL", "queues_weekly"]
    table = engine.report("queues_weekly", start=START, end=END)
    assert sum(row[1] for row in table.rows) == sum(g.appeal.registered_at >= START for g in made)


def test_a_plugin_may_not_take_a_code_already_given(tmp_path: Path) -> None:
    class Clash:
        @hookimpl
        def crmcms_reports(self) -> list[ReportDefinition]:
            return [ReportDefinition("by_topic", "Mine", rows=(), measures=(Measure.COUNT,))]

    engine, _ = engine_with(tmp_path, Clash())
    with pytest.raises(ValidationError, match="'by_topic' is defined twice"):
        engine.report_definitions()


def test_every_built_in_report_has_a_chart_bar_by_category_or_line_over_time(
    tmp_path: Path,
) -> None:
    from crmcms.engine import BUILTIN_REPORTS
    from crmcms.export import ChartKind

    engine, _ = engine_with(tmp_path)
    for definition in BUILTIN_REPORTS:
        table = engine.report(definition.code, start=START, end=END)
        assert table.chart is not None, definition.code
        if definition.code == "backlog":
            assert (table.chart.kind, table.chart.category) == (ChartKind.LINE, "period")
        else:
            assert table.chart.kind is ChartKind.BAR, definition.code
            assert table.chart.category == table.columns[0].code
        assert table.chart.series, definition.code
        by_day = engine.report(definition.code, start=START, end=END, by=["period"])
        assert by_day.chart is not None
        assert by_day.chart.kind is ChartKind.LINE
