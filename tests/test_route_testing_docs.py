"""The commands of the route testing walkthrough in docs/testing.md run, exit as it says and
print what it shows (``...`` standing for what changes between runs)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner

from crmcms.entrypoints.cli import cli

ROOT = Path(__file__).resolve().parents[1]


def _section() -> str:
    text = (ROOT / "docs" / "testing.md").read_text(encoding="utf-8")
    start = text.index("## Testing routes")
    return text[start : text.index("\n## ", start + 1)]


def _commands() -> list[tuple[str, int | None, str | None]]:
    """Each ``crmcms`` command of a sh block, its documented exit status, and the text block
    right after it, if any."""
    blocks = re.findall(r"```(\w+)\n(.*?)```", _section(), flags=re.S)
    found = []
    for i, (lang, body) in enumerate(blocks):
        if lang != "sh" or not body.startswith("crmcms "):
            continue
        command, _, comment = body.strip().partition("#")
        status = re.search(r"exit status (\d+)", comment)
        after = blocks[i + 1] if i + 1 < len(blocks) and blocks[i + 1][0] == "text" else None
        if status is None and after is None:
            continue  # shown as usage only; other tests run it
        found.append(
            (command.strip(), int(status.group(1)) if status else None, after and after[1])
        )
    return found


def _plain(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def test_the_walkthrough_has_commands() -> None:
    commands = [c for c, _, _ in _commands()]
    assert "crmcms verify examples/broken --seed 0" in commands
    assert any(c.startswith("crmcms verify examples/telecom") for c in commands)
    assert "crmcms check examples/broken" in commands


@pytest.mark.parametrize(("command", "status", "shown"), _commands(), ids=lambda v: str(v)[:40])
def test_a_documented_command_prints_what_the_guide_shows(
    command: str, status: int | None, shown: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    args = shlex.split(command)[1:]
    result = CliRunner().invoke(cli, args, env={"COLUMNS": "200"})
    if status is not None:
        assert result.exit_code == status, result.output
    if shown is None:
        return
    output = _plain(result.output)
    for line in shown.splitlines():
        if not line.strip():
            continue
        at = 0
        for fragment in (_plain(f) for f in line.split("...")):
            if not fragment:
                continue
            found = output.find(fragment, at)
            assert found >= 0, f"{fragment!r} of {line!r} not in:\n{result.output}"
            at = found + len(fragment)
