"""Definition files: load and check 5,000 lines, against lark's bare parse of the same text."""

from __future__ import annotations

import gc
import platform
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

from _report import run
from lark import Lark
from lark.load_grammar import FromPackageLoader

from crmcms.dsl import format_source, load_catalog_text

LINES = 5000


def unit(n: int) -> str:
    """One self-contained slice of configuration (about 60 lines) with codes suffixed ``n``."""
    a = 1000 + n * 10
    return f"""# Slice {n}
dictionary CITY{n} "Cities {n}" {{
    MSK "Moscow"
    PSK "Pskov"
    SPB "Saint Petersburg"
}}

group G{n} "Group {n}" {{
    attribute {a} "Flag": boolean

    topic T{n} "Termination {n}" {{
        attribute {a + 1} "Reason": string required
        attribute {a + 2} "Reasons": string multiple
        attribute {a + 3} "Date": date required
        attribute {a + 4} "City": CITY{n}
        attribute {a + 5} "Card": string readonly when Client.Category = "VIP"

        attributes B{n} "Block" expanded {{
            attribute {a + 6} "Text": string readonly
            attribute {a + 7} "Number": decimal
        }}
    }}
}}

rule BIS{n} "BIS only": Клиент.Категория = "BIS" and Appeal.Priority >= 2
rule P{n} "Pskov": Client.Region = "Pskov"

queue REG{n} "Registration {n}" system {{
    processes: registration{n}
}}

queue Q{n} "Work {n}" {{
    members: op{n}, role R{n}
    admins: op{n}
    processes: work{n}
}}

role R{n} "Role {n}"

operator op{n} "Operator {n}" {{
    roles: R{n}
}}

route ROUTE{n} "Route {n}" version 1 {{
    topics: T{n}
    deadline: 5d
    process registration{n} "Registration" initial {{
        deadline: 4h
    }}
    process work{n} "Work" {{
        deadline: 2d warn 4h notify op{n}
        attribute {a + 5}: hidden
        attribute {a + 2}: inherit
    }}
    process closed{n} "Closed" final
    transition registration{n} -> work{n} "Hand over" when BIS{n} {{
        on hand_over: notify(to: "op{n}")
    }}
    transition work{n} -> closed{n} "Close" when Appeal.Attribute[{a + 3}] <= today()
}}
"""


def sources(lines: int = LINES) -> dict[str, str]:
    """At least ``lines`` lines of definitions, spread over ten files."""
    parts: list[str] = []
    total, n = 0, 0
    while total < lines:
        text = unit(n)
        parts.append(text)
        total += text.count("\n")
        n += 1
    files: dict[str, str] = {}
    for i in range(10):
        files[f"defs/part{i}.crm"] = "\n".join(parts[i::10])
    return files


def best(fn: Callable[[], Any], rounds: int) -> float:
    """Median seconds of ``rounds`` calls of ``fn`` (garbage collection paused)."""
    times = []
    for _ in range(rounds):
        gc.collect()
        gc.disable()
        try:
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        finally:
            gc.enable()
    return statistics.median(times)


def measure(quick: bool) -> dict[str, Any]:
    files = sources()
    lines = sum(t.count("\n") for t in files.values())
    rounds = 3 if quick else 7
    bare = Lark.open_from_package(
        "crmcms.dsl.definitions",
        "definitions.lark",
        import_paths=[FromPackageLoader("crmcms.dsl.rules")],
        parser="lalr",
    )
    catalog = load_catalog_text(files)  # warm: grammar built, schema made, problems none

    def bare_parse() -> None:
        for text in files.values():
            bare.parse(text)

    bare_s = best(bare_parse, rounds)
    load_s = best(lambda: load_catalog_text(files, check=False), rounds)
    load_check_s = best(lambda: load_catalog_text(files), rounds)
    fmt_s = best(lambda: [format_source(t) for t in files.values()], rounds)
    return {
        "lines": lines,
        "files": len(files),
        "topics": len(catalog.topics),
        "routes": len(catalog.routes),
        "rounds": rounds,
        "bare_parse_s": round(bare_s, 4),
        "load_s": round(load_s, 4),
        "load_check_s": round(load_check_s, 4),
        "format_s": round(fmt_s, 4),
        "vs_bare_parse": round(load_check_s / bare_s, 2),
        "python": platform.python_version(),
    }


def section(r: dict[str, Any]) -> str:
    return f"""
## Definition files (`benchmarks/bench_definitions.py`)

{r["lines"]} lines of definitions in {r["files"]} files ({r["topics"]} topics,
{r["routes"]} routes), median of {r["rounds"]} rounds, Python {r["python"]}.

| measure | seconds | goal |
|---|---|---|
| lark's bare parse (parse tree, no transformer) | {r["bare_parse_s"]} | |
| load to a catalog, no static checks | {r["load_s"]} | |
| load and check everything | **{r["load_check_s"]}** | under 1 s |
| load and check / bare parse | **{r["vs_bare_parse"]}x** | |
| format every file | {r["format_s"]} | |

The loader's parser builds declarations directly in lark's callbacks instead of a parse tree,
so building the catalog costs little beyond the parse; the static checks (rule types against
each topic's attributes, reachability, queue coverage, availability, route versions) add the
rest.
"""


def main(argv: list[str] | None = None) -> int:
    return run("bench_definitions", __doc__, measure, section, argv)


if __name__ == "__main__":
    sys.exit(main())
