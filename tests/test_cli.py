"""The command line: every command documents itself; the demo runs end to end."""

from __future__ import annotations

import pathlib

import click
import pytest
from click.testing import CliRunner

from crmcms.entrypoints.cli import cli, main


def _commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found: list[tuple[str, ...]] = [prefix]
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            found += _commands(command, (*prefix, name))
        else:
            found.append((*prefix, name))
    return found


@pytest.mark.parametrize("path", _commands(cli), ids=lambda p: " ".join(p) or "crmcms")
def test_every_command_has_help(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(cli, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output


def test_demo_stores_definitions_and_validates_appeals(tmp_path: pathlib.Path) -> None:
    db = tmp_path / "sub" / "demo.sqlite"
    result = CliRunner().invoke(cli, ["demo", "--db", str(db)])
    assert result.exit_code == 0, result.output
    assert db.exists()
    assert "TERMINATION" in result.output
    # The outage links the three calls from Pskov and resolving it moves them at once.
    assert "3 appeals moved, 0 refused" in " ".join(result.output.split())
    # Running it again over the same file works: definitions are re-saved, not duplicated.
    again = CliRunner().invoke(cli, ["demo", "--db", str(db)])
    assert again.exit_code == 0, again.output


def test_demo_writes_every_built_in_report_in_every_format(tmp_path: pathlib.Path) -> None:
    from crmcms.engine import BUILTIN_REPORTS
    from crmcms.export import FORMATS

    db = tmp_path / "var" / "demo.sqlite"
    result = CliRunner().invoke(cli, ["demo", "--db", str(db)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    folder = tmp_path / "var" / "reports"
    assert f"written to {folder}/" in result.output
    for report in BUILTIN_REPORTS:
        for fmt in FORMATS.values():
            assert (folder / f"{report.code}{fmt.suffix}").stat().st_size > 0
    topics = (folder / "by_topic.csv").read_text(encoding="utf-8-sig").splitlines()
    assert topics[0].startswith("Topic,Appeals,Open,Closed")
    # Rows come by topic code; the outage's NO_SERVICE calls sort before TERMINATION.
    assert "TERMINATION" in {row.split(",")[0] for row in topics[1:]}


def test_our_errors_print_as_messages_not_tracebacks(
    capsys: pytest.CaptureFixture[str], tmp_path: pathlib.Path
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(SystemExit) as info:
        main(["demo", "--db", str(blocker / "demo.sqlite")])
    assert info.value.code == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ")
    assert "Traceback" not in err


def test_demo_shows_a_deadline_at_risk_broken_escalated_and_mailed() -> None:
    """The deadlines part: the ladder's levels fire once each, in order, the priority is
    raised, and every e-mail arrives at the demo's own SMTP server exactly once."""
    from collections import Counter

    from rich.console import Console

    from crmcms.entrypoints.demo import example_catalog
    from crmcms.entrypoints.demo_sla import run_sla_demo
    from crmcms.storage.memory import MemoryStore

    out = Console(record=True, width=120)
    result = run_sla_demo(example_catalog(), out, MemoryStore().unit_of_work)
    levels = [(f.clock, f.level.value) for _, f in result.findings]
    assert ("process:transfer_sd", "at_risk") in levels
    assert ("process:transfer_sd", "overdue") in levels
    assert levels[-1] == ("resolution", "overdue")
    fired = [(f.clock, f.step) for _, f in result.findings]
    assert len(fired) == len(set(fired))  # each level of each clock once
    assert [m for m, _ in result.findings] == sorted(m for m, _ in result.findings)
    assert result.appeal.priority == "HIGH"  # the ladder's last level raised it
    assert result.mails, "the demo's SMTP server received nothing"
    assert set(Counter(m.message_id for m in result.mails).values()) == {1}
    subjects = {str(m.message["Subject"]) for m in result.mails}
    assert any(s.startswith("Эскалация: обращение") for s in subjects), subjects
    text = out.export_text()
    assert "breached" in text
    assert "E-mail about appeal" in text


def test_demo_counts_deadlines_across_the_moscow_holidays() -> None:
    from zoneinfo import ZoneInfo

    from rich.console import Console

    from crmcms.entrypoints.demo import example_catalog
    from crmcms.entrypoints.demo_sla import show_calendar

    moscow = ZoneInfo("Europe/Moscow")
    dues = [d.astimezone(moscow) for d in show_calendar(example_catalog(), Console(width=120))]
    assert [d.strftime("%Y-%m-%d %H:%M") for d in dues] == [
        "2026-03-10 10:00",  # past the weekend and the 9 March holiday
        "2026-03-10 12:00",  # one hour on Friday, three on Tuesday
        "2027-01-11 16:00",  # past the New Year holidays
        "2027-02-20 10:30",  # the Saturday made a working day
    ]
