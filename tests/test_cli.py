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
    # Running it again over the same file works: definitions are re-saved, not duplicated.
    again = CliRunner().invoke(cli, ["demo", "--db", str(db)])
    assert again.exit_code == 0, again.output


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
