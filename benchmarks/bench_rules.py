"""Rule speed: a compiled rule against a hand-written lambda, rule-engine and cel-python."""

from __future__ import annotations

import gc
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

from _report import run

from crmcms.dsl import compile_rule

RULE = 'Client.Category in ("BIS", "VIP") and Appeal.Priority >= 3 and Client.Region != "Pskov"'
RULE_ENGINE = (
    'Client["Category"] in ["BIS", "VIP"] and Appeal["Priority"] >= 3 '
    'and Client["Region"] != "Pskov"'
)
CEL = 'Client.Category in ["BIS", "VIP"] && Appeal.Priority >= 3 && Client.Region != "Pskov"'


def by_hand(d: dict[str, Any]) -> bool:
    return (
        d["Client"]["Category"] in ("BIS", "VIP")
        and d["Appeal"]["Priority"] >= 3
        and d["Client"]["Region"] != "Pskov"
    )


def records(n: int) -> list[dict[str, Any]]:
    rnd = random.Random(7)
    return [
        {
            "Client": {
                "Category": rnd.choice(("BIS", "VIP", "CMS CUSTOMER")),
                "Region": rnd.choice(("Pskov", "Moscow", "Tver")),
            },
            "Appeal": {"Priority": rnd.randint(1, 5)},
        }
        for _ in range(n)
    ]


def per_call(fn: Callable[[Any], Any], data: list[Any]) -> float:
    """Seconds per call of ``fn`` over ``data`` (one pass, garbage collection paused)."""
    gc.disable()
    try:
        start = time.perf_counter()
        for item in data:
            fn(item)
        return (time.perf_counter() - start) / len(data)
    finally:
        gc.enable()


def per_run(fn: Callable[[], Any], times: int) -> float:
    gc.disable()
    try:
        start = time.perf_counter()
        for _ in range(times):
            fn()
        return (time.perf_counter() - start) / times
    finally:
        gc.enable()


def measure(quick: bool) -> dict[str, Any]:
    import celpy
    import rule_engine

    n, repeats, compiles = (3_000, 7, 100) if quick else (30_000, 15, 400)
    data = records(n)
    ours = compile_rule(RULE)
    assert [ours.evaluate(d) for d in data] == [by_hand(d) for d in data]
    re_rule = rule_engine.Rule(RULE_ENGINE)
    env = celpy.Environment()
    cel = env.program(env.compile(CEL))
    cel_data = [celpy.json_to_cel(d) for d in data]
    slow = data[: n // 10]  # the peers are two orders of magnitude slower
    slow_cel = cel_data[: n // 10]

    ratios: dict[str, list[float]] = {k: [] for k in ("ours", "re", "cel", "compile")}
    times: dict[str, list[float]] = {k: [] for k in ("lambda", "ours", "compile", "re_compile")}
    for _ in range(repeats):
        # Each measurement is paired with its baseline in the same round, so drift in the
        # machine's speed cancels out of the ratio.
        base = per_call(by_hand, data)
        mine = per_call(ours.evaluate, data)
        ratios["ours"].append(mine / base)
        times["lambda"].append(base)
        times["ours"].append(mine)
        base_slow = per_call(by_hand, slow)
        ratios["re"].append(per_call(re_rule.matches, slow) / base_slow)
        ratios["cel"].append(per_call(cel.evaluate, slow_cel) / base_slow)
        theirs = per_run(lambda: rule_engine.Rule(RULE_ENGINE), compiles)
        # parse + check + generate + compile, from text, every time (nothing is cached)
        own = per_run(lambda: compile_rule(RULE), compiles)
        ratios["compile"].append(own / theirs)
        times["compile"].append(own)
        times["re_compile"].append(theirs)

    med = statistics.median
    return {
        "rule": RULE,
        "records": n,
        "repeats": repeats,
        "lambda_ns": round(med(times["lambda"]) * 1e9, 1),
        "eval_ns": round(med(times["ours"]) * 1e9, 1),
        "eval_vs_lambda": round(med(ratios["ours"]), 3),
        "rule_engine_vs_lambda": round(med(ratios["re"]), 1),
        "cel_vs_lambda": round(med(ratios["cel"]), 1),
        "compile_ms": round(med(times["compile"]) * 1e3, 4),
        "rule_engine_parse_ms": round(med(times["re_compile"]) * 1e3, 4),
        "compile_vs_rule_engine": round(med(ratios["compile"]), 3),
        "python": platform.python_version(),
    }


def section(r: dict[str, Any]) -> str:
    return f"""
## Rules (`benchmarks/bench_rules.py`)

Rule: `{r["rule"]}` over {r["records"]} records, {r["repeats"]} rounds, Python {r["python"]}.

| measure | value | goal |
|---|---|---|
| hand-written lambda, per record | {r["lambda_ns"]} ns | |
| compiled rule, per record | {r["eval_ns"]} ns | |
| compiled rule / lambda | **{r["eval_vs_lambda"]}x** | at most 1.5x |
| rule-engine / lambda | {r["rule_engine_vs_lambda"]}x | |
| cel-python / lambda | {r["cel_vs_lambda"]}x | |
| parse + check + compile, median | **{r["compile_ms"]} ms** | under 1 ms |
| rule-engine parse, median | {r["rule_engine_parse_ms"]} ms | |
| ours / rule-engine parse | **{r["compile_vs_rule_engine"]}x** | below 1x |

A compiled rule is Python source generated once and compiled: the function is a single
expression with plain subscripts (a missing key makes its guard rebuild the record with every
path present and call it again), literal lists become constant sets, and an empty check is
added only where a value may be empty. Parse + check + compile is measured from text every
time: nothing is cached between rounds.
"""


def main(argv: list[str] | None = None) -> int:
    return run("bench_rules", __doc__, measure, section, argv)


if __name__ == "__main__":
    sys.exit(main())
