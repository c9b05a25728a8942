"""Custom reports in definition files: the syntax, the checks and the layout."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from hypothesis import given, settings

from crmcms.dsl import format_source, load_catalog_text
from crmcms.dsl.definitions.build_reports import BUILTIN_REPORT_CODES
from crmcms.dsl.definitions.loader import check_sources
from crmcms.dsl.definitions.printer import dump_catalog
from crmcms.engine.reports import BUILTIN_REPORTS
from crmcms.entrypoints.cli import cli
from crmcms.model import Catalog, DimensionKind, Measure, ReportDimension, TimeBucket
from crmcms.testing import report_definitions

REPORT = """
report CLAIMS_BY_CHANNEL "Claims by channel" {
    description: "Claims each week, spread by channel"
    rows: topic, period, attribute 166
    columns: channel
    measures: count, closed, handling_median
    filter: Appeal.Topic.Code = "CLAIM" and Appeal.Queue != "79"
    bucket: week
    repeat: 14 days
}
"""


def problems(text: str) -> list[str]:
    return [
        f"{p.span.line}:{p.span.column}: {p.message}" for p in check_sources({"x.crm": text})[1]
    ]


def test_a_report_names_rows_columns_measures_and_a_filter() -> None:
    report = load_catalog_text(REPORT).report("CLAIMS_BY_CHANNEL")
    assert report.title == "Claims by channel"
    assert report.rows == (
        ReportDimension(DimensionKind.TOPIC),
        ReportDimension(DimensionKind.PERIOD),
        ReportDimension(DimensionKind.ATTRIBUTE, "166"),
    )
    assert report.columns == (ReportDimension(DimensionKind.CHANNEL),)
    assert report.measures == (Measure.COUNT, Measure.CLOSED, Measure.HANDLING_MEDIAN)
    assert report.filter == 'Appeal.Topic.Code = "CLAIM" and Appeal.Queue != "79"'
    assert (report.bucket, report.repeat_days) == (TimeBucket.WEEK, 14)


def test_unknown_words_are_reported_at_their_line_and_column_with_a_hint() -> None:
    assert problems(REPORT.replace("channel\n", "chanel\n")) == [
        "5:14: unknown dimension 'chanel' in report CLAIMS_BY_CHANNEL"
    ]
    text = REPORT.replace("closed,", "clsoed,")
    assert problems(text) == ["6:22: unknown measure 'clsoed' in report CLAIMS_BY_CHANNEL"]
    hint = check_sources({"x.crm": text})[1][0].hint
    assert hint is not None
    assert "closed" in hint
    assert problems(REPORT.replace("bucket: week", "bucket: fortnight")) == [
        "8:13: unknown bucket 'fortnight' in report CLAIMS_BY_CHANNEL"
    ]
    assert problems(REPORT.replace("Appeal.Queue", "Appeal.Qeue"))[0].startswith(
        "7:52: Appeal has no field"
    )


def test_a_built_in_code_missing_parts_and_mixed_measures_are_refused() -> None:
    assert problems('report by_topic "x" { rows: topic measures: count }') == [
        "1:8: report by_topic is a built-in report: choose another code"
    ]
    assert problems('report X "x" { rows: topic }') == [
        "1:8: report X needs 'measures: count, ...'"
    ]
    mixed = problems('report X "x" { rows: topic measures: count, backlog }')
    assert len(mixed) == 1
    assert "cannot be mixed" in mixed[0]
    assert problems(REPORT + REPORT)[0].startswith(
        "12:8: report CLAIMS_BY_CHANNEL is defined twice"
    )


def test_the_built_in_codes_the_files_may_not_take_are_those_of_the_engine() -> None:
    assert {r.code for r in BUILTIN_REPORTS} == BUILTIN_REPORT_CODES


def test_crmcms_check_names_the_file_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "reports.crm"
    path.write_text(REPORT.replace("handling_median", "handling_mean"), encoding="utf-8")
    done = CliRunner().invoke(cli, ["check", str(path)])
    assert done.exit_code != 0
    assert f"{path}:6:30" in done.output
    assert "unknown measure 'handling_mean'" in done.output


def test_fmt_lays_a_report_out_one_statement_a_line() -> None:
    squeezed = (
        'report R "Weekly" { measures: count,open rows: topic ,attribute  166'
        " filter: Appeal.Queue is empty   bucket: week }"
    )
    assert format_source(squeezed) == (
        'report R "Weekly" {\n'
        "    measures: count, open\n"
        "    rows: topic, attribute 166\n"
        "    filter: Appeal.Queue is empty\n"
        "    bucket: week\n"
        "}\n"
    )
    assert format_source(REPORT) == REPORT.lstrip("\n")


@settings(max_examples=60, deadline=None)
@given(report_definitions())
def test_a_report_printed_and_loaded_again_is_the_same(report) -> None:  # type: ignore[no-untyped-def]
    if report.code in BUILTIN_REPORT_CODES:
        return
    text = dump_catalog(Catalog(reports=(report,)))
    assert load_catalog_text(text).reports == (report,)
    assert format_source(text) == text


def test_the_report_permission_stays_a_bare_word_in_a_role() -> None:
    text = 'role R "r" {\n    permissions: read, report, export\n}\n'
    assert format_source(text) == text
    assert load_catalog_text(text).role("R").permissions == ("read", "report", "export")
