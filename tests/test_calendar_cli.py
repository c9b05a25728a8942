"""crmcms calendar holidays: a country's holidays as calendar text that loads as written."""

from __future__ import annotations

import pathlib
import sys
from datetime import date

import pytest
from click.testing import CliRunner

from crmcms.dsl import load_catalog
from crmcms.entrypoints.cli import cli, main

pytest.importorskip("holidays")


def test_holiday_lines_name_each_run_and_the_moved_working_days() -> None:
    result = CliRunner().invoke(
        cli, ["calendar", "holidays", "--country", "RU", "--years", "2026", "2027"]
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "holidays: 2026-01-01..2026-01-06  # New Year Holidays" in lines
    assert "holidays: 2026-02-23  # Defender of the Fatherland Day" in lines
    assert "working: 2027-02-20 09:00-18:00  # a weekend day made a working day" in lines
    assert not any(line.startswith("holidays: 2028") for line in lines)


def test_a_whole_calendar_loads_as_printed(tmp_path: pathlib.Path) -> None:
    result = CliRunner().invoke(
        cli,
        [
            "calendar",
            "holidays",
            "--country",
            "ru",
            "--years",
            "2026",
            "--code",
            "MSK",
            "--timezone",
            "Europe/Moscow",
            "--hours",
            "09:00-13:00,14:00-18:00",
        ],
    )
    assert result.exit_code == 0, result.output
    (tmp_path / "c.crm").write_text(result.output, encoding="utf-8")
    calendar = load_catalog([tmp_path]).calendar("MSK")
    assert calendar.timezone == "Europe/Moscow"
    assert date(2026, 1, 5) in calendar.holidays
    assert [str(i) for i in calendar.week[0]] == ["09:00-13:00", "14:00-18:00"]


def test_an_unknown_country_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["calendar", "holidays", "--country", "RX", "--years", "2026"])
    assert caught.value.code == 1
    assert "country 'RX' not found" in capsys.readouterr().err


def test_without_the_package_it_says_which_extra_to_install(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "holidays", None)
    with pytest.raises(SystemExit):
        main(["calendar", "holidays", "--country", "RU", "--years", "2026"])
    assert "pip install 'crmcms[calendars]'" in capsys.readouterr().err
