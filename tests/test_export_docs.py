"""The examples of docs/export.md run as written, in order, sharing one namespace."""

from __future__ import annotations

import pathlib
import re

import pytest

DOC = pathlib.Path(__file__).resolve().parents[1] / "docs" / "export.md"


def test_export_doc_examples_run(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    assert len(blocks) >= 5
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": "guide"}
    for number, block in enumerate(blocks, 1):
        exec(compile(block, f"export.md example {number}", "exec"), namespace)


def test_the_screenshot_it_shows_is_there() -> None:
    assert "](images/report.png)" in DOC.read_text(encoding="utf-8")
    assert (DOC.parent / "images" / "report.png").stat().st_size > 10_000
