"""What every benchmark shares: its options, its closing JSON line and its part of the docs."""

from __future__ import annotations

import argparse
import json
import pathlib
import sys
from collections.abc import Callable
from typing import Any

PERFORMANCE_DOC = pathlib.Path(__file__).resolve().parent.parent / "docs" / "performance.md"

INTRO = """# Performance

Benchmarks live in `benchmarks/`; `make bench` runs each with `--quick` and each rewrites its own
section below (between its marker comments), leaving the others alone. Figures are medians of
repeated rounds; every ratio pairs a measurement with its baseline taken in the same round.
"""


def write_section(name: str, body: str, path: pathlib.Path = PERFORMANCE_DOC) -> None:
    """Put ``body`` between the ``name`` markers of ``path``, replacing what stood there."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    block = f"{start}\n{body.strip()}\n{end}"
    text = path.read_text(encoding="utf-8") if path.exists() else INTRO
    if start in text and end in text:
        head, rest = text.split(start, 1)
        _, tail = rest.split(end, 1)
        text = head + block + tail
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    path.write_text(text, encoding="utf-8")


def run(
    name: str,
    description: str | None,
    measure: Callable[[bool], dict[str, Any]],
    section: Callable[[dict[str, Any]], str],
    argv: list[str] | None = None,
) -> int:
    """Parse ``--quick``/``--no-docs``, measure, show the figures, update the docs, print JSON.

    The JSON object of the figures is always the last line on standard output.
    """
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="smaller run, well under 60 s")
    parser.add_argument("--no-docs", action="store_true", help="do not update the docs")
    args = parser.parse_args(argv)
    result = measure(args.quick)
    width = max(map(len, result), default=0)
    for key, value in result.items():
        print(f"{key:>{width}}: {value}", file=sys.stderr)
    if not args.no_docs:
        write_section(name, section(result))
    print(json.dumps(result, ensure_ascii=False))
    return 0
