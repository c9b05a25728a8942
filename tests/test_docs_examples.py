"""Every ```python block of the guides runs, in order, one namespace per guide."""

from __future__ import annotations

import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
# engine.md has a test of its own (tests/test_engine_docs.py); ```py blocks are shapes only.
GUIDES = [
    "model.md",
    "rules.md",
    "storage.md",
    "plugins.md",
    "testing.md",
    "outbox.md",
    "mail.md",
    "sla.md",
    "calendars.md",
    "security.md",
    "attachments.md",
    "notes.md",
    "prospects.md",
    "problems.md",
    "reports.md",
]


@pytest.mark.parametrize("guide", GUIDES)
def test_guide_examples_run(
    guide: str, tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = (ROOT / "docs" / guide).read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert blocks, f"{guide} has no runnable example"
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": "guide"}
    for number, block in enumerate(blocks, 1):
        exec(compile(block, f"{guide} example {number}", "exec"), namespace)
