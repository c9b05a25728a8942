"""crmcms report: a report written to a file with a progress line, the list of reports, and
bad input refused naming the option."""

from __future__ import annotations

import csv
import io
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner

from crmcms.entrypoints.cli import cli
from crmcms.errors import NotFoundError
from crmcms.storage.sql import SqlStore
from report_world import START, generate

ENV = {"COLUMNS": "200"}


@pytest.fixture
def db(tmp_path: Path) -> tuple[str, list]:  # type: ignore[type-arg]
    url = f"sqlite:///{tmp_path / 'crm.sqlite'}"
    store = SqlStore(url)
    made = generate(store.unit_of_work, 150)
    store.dispose()
    return url, made


def run(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli, list(args), env=ENV)


def read_csv(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def test_a_report_is_written_to_a_file_with_numbers_as_numbers(db, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    url, made = db
    out = tmp_path / "reports" / "topics.csv"
    result = run(
        "report", "by_topic", "--db", url, "--definitions", "examples/telecom",
        "--from", "2026-03-01", "--to", "2026-03-31", "--tz", "UTC",
        "--format", "csv", "--output", str(out),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert f"to {out}" in result.output
    header, *rows = read_csv(out.read_bytes())
    assert header[:2] == ["Topic", "Appeals"]
    expected = Counter(g.appeal.topic for g in made if g.appeal.registered_at >= START)
    assert {r[0]: int(r[1]) for r in rows} == dict(expected)


def test_by_filter_and_bucket_options_reach_the_report(db) -> None:  # type: ignore[no-untyped-def]
    url, made = db
    result = run(
        "report", "by_topic", "--db", url, "--definitions", "examples/telecom",
        "--from", "2026-03-01", "--to", "2026-03-31", "--by", "channel",
        "--filter", 'Appeal.Topic.Code = "CLAIM"',
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    header, *rows = read_csv(result.stdout_bytes)
    assert header[0] == "Channel"
    expected = Counter(
        g.contact.channel
        for g in made
        if g.appeal.registered_at >= START and g.appeal.topic == "CLAIM"
    )
    assert {r[0]: int(r[1]) for r in rows} == dict(expected)
    weekly = run(
        "report", "backlog", "--db", url, "--from", "2026-03-02", "--to", "2026-03-29",
        "--bucket", "week", "--definitions", "examples/telecom",
    )  # fmt: skip
    assert weekly.exit_code == 0, weekly.output
    days = [r[0] for r in read_csv(weekly.stdout_bytes)[1:]]
    assert days == ["2026-03-02", "2026-03-09", "2026-03-16", "2026-03-23"]


def test_report_list_shows_every_report_in_a_table(db) -> None:  # type: ignore[no-untyped-def]
    url, _ = db
    result = run("report", "list", "--db", url, "--definitions", "examples/telecom")
    assert result.exit_code == 0, result.output
    for code in ("by_topic", "by_operator", "repeat_appeals", "sla", "backlog", "reopened"):
        assert code in result.output
    assert "built-in" in result.output


def test_bad_input_is_refused_naming_it(db) -> None:  # type: ignore[no-untyped-def]
    url, _ = db
    common = ["--db", url, "--definitions", "examples/telecom", "--to", "2026-03-31"]
    bad_date = run("report", "by_topic", "--from", "March", *common)
    assert bad_date.exit_code != 0
    assert "--from" in bad_date.output
    unknown = run("report", "by_topik", "--from", "2026-03-01", *common)
    assert isinstance(unknown.exception, NotFoundError)
    assert "by_topic" in str(unknown.exception)
    bad_format = run("report", "by_topic", "--from", "2026-03-01", "--format", "pdf", *common)
    assert bad_format.exit_code != 0
    assert "pdf" in bad_format.output
