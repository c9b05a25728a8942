"""bench_reports: every built-in report through the engine, beside the same figures from a
hand-written SQL aggregate, on SQLite and PostgreSQL, and the memory of a big export.

    python benchmarks/bench_reports.py --quick     # 50,000 appeals, under a minute
    python benchmarks/bench_reports.py             # 1,000,000 appeals (a long while)

Data: the deterministic dataset of ``crmcms dev seed`` (bulk inserts, COPY on PostgreSQL),
with SLA clocks and reopenings added by INSERT ... SELECT. Each round runs the engine's report
(rows read to the end) and the hand-written query (rows fetched) in turn; the figures are
medians of the rounds, and ``<report>_<backend>_vs_raw`` their ratio.
"""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from _databases import database
from _report import run
from _xlsx_memory import xlsx_peak_rss_mb

from crmcms.dsl import load_catalog
from crmcms.engine import Engine
from crmcms.export import FORMATS
from crmcms.storage.database import create_engine
from crmcms.storage.sql import SqlStore
from crmcms.storage.sql.dataset import generate

START = datetime(2025, 1, 1, tzinfo=UTC)
END = datetime(2026, 1, 1, tzinfo=UTC)
REPORTS = ("by_topic", "by_operator", "repeat_appeals", "sla", "backlog", "reopened")


# Clocks in microseconds, from the dataset's own times: a first response for every appeal,
# a resolution clock with a 24 h limit (breached when the appeal took longer), and a reopening
# in the history of one appeal in nine.
_CLOCKS = {
    "sqlite": """
INSERT INTO crm_sla_clock (appeal_id, clock, kind, process, cycle, start, limit_us, due,
    elapsed_us, remaining_us, paused_since, breached_at, stopped_at, overridden, at)
SELECT id, 'resolution', 'resolution', '', 1, registered_at, 86400000000,
    datetime(registered_at, '+1 day'),
    CAST((julianday(coalesce(closed_at, '2026-01-01')) - julianday(registered_at))
         * 86400000000 AS INTEGER) / 3,
    NULL, NULL,
    CASE WHEN julianday(coalesce(closed_at, '2026-01-01')) - julianday(registered_at) > 3
         THEN datetime(registered_at, '+1 day') END,
    closed_at, 0, registered_at
FROM crm_appeal""",
    "postgresql": """
INSERT INTO crm_sla_clock (appeal_id, clock, kind, process, cycle, start, limit_us, due,
    elapsed_us, remaining_us, paused_since, breached_at, stopped_at, overridden, at)
SELECT id, 'resolution', 'resolution', '', 1, registered_at, 86400000000,
    registered_at + interval '1 day',
    (extract(epoch FROM coalesce(closed_at, '2026-01-01') - registered_at) * 1000000)::bigint / 3,
    NULL, NULL,
    CASE WHEN coalesce(closed_at, '2026-01-01') - registered_at > interval '3 days'
         THEN registered_at + interval '1 day' END,
    closed_at, false, registered_at
FROM crm_appeal""",
}
_FIRST = """
INSERT INTO crm_sla_clock (appeal_id, clock, kind, process, cycle, start, limit_us, due,
    elapsed_us, remaining_us, paused_since, breached_at, stopped_at, overridden, at)
SELECT appeal_id, 'first_response', 'first_response', '', 1, start, 3600000000, due,
    (appeal_id * 7919) % 7200000000, NULL, NULL, NULL, start, overridden, at
FROM crm_sla_clock WHERE clock = 'resolution'"""
_REOPENED = """
INSERT INTO crm_history (id, appeal_id, kind, at, operator, process, queue, transition,
    changes, comment, reason)
SELECT id + 100000000, id, 'reopened', registered_at, operator, process, NULL, NULL,
    '[]', '', ''
FROM crm_appeal WHERE id % 9 = 0"""


def seed(url: str, n: int) -> float:
    started = time.perf_counter()
    engine = create_engine(url)
    SqlStore(engine).dispose()
    generate(engine, n)
    kind = engine.dialect.name
    with engine.begin() as conn:
        for statement in (_CLOCKS[kind], _FIRST, _REOPENED):
            conn.execute(sa.text(statement))
    with engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE")
        conn.commit()
    engine.dispose()
    return time.perf_counter() - started


# --- Hand-written aggregates: what one would write for each report ------------------------

_PERIOD = "a.registered_at >= :start AND a.registered_at < :end"
_RES = "LEFT JOIN crm_sla_clock r ON r.appeal_id = a.id AND r.clock = 'resolution'"
_FR = "LEFT JOIN crm_sla_clock f ON f.appeal_id = a.id AND f.clock = 'first_response'"
_HANDLING = "CASE WHEN r.stopped_at IS NOT NULL AND a.state <> 'open' THEN r.elapsed_us END"
_FIRST_US = "CASE WHEN f.stopped_at IS NOT NULL THEN f.elapsed_us END"
_MET = (
    "CASE WHEN r.stopped_at IS NOT NULL AND a.state <> 'open' AND r.limit_us IS NOT NULL"
    " AND r.breached_at IS NULL THEN 1 ELSE 0 END"
)
_BREACHED = "CASE WHEN r.breached_at IS NOT NULL THEN 1 ELSE 0 END"


def _pct(share: float) -> str:
    """SQLite: the interpolated percentile of ``v`` over ranks ``rn`` of ``n`` values."""
    pos = f"((n - 1) * {share})"
    low = f"CAST({pos} AS INTEGER)"
    return (
        f"sum(CASE WHEN rn = {low} + 1 THEN v * (1 - ({pos} - {low}))"
        f" WHEN rn = {low} + 2 THEN v * ({pos} - {low}) ELSE 0 END)"
    )


def _sqlite_with_percentiles(keys: list[str], rows: str, counts: str, value: str) -> str:
    k = ", ".join(keys)
    on = " AND ".join(f"g.{x} IS p.{x}" for x in keys)
    order = ", ".join("g." + x for x in keys)
    return f"""
WITH rows AS ({rows}),
groups AS (SELECT {k}, {counts} FROM rows GROUP BY {k}),
ranked AS (SELECT {k}, {value} AS v,
    row_number() OVER (PARTITION BY {k} ORDER BY {value}) AS rn,
    count({value}) OVER (PARTITION BY {k}) AS n FROM rows WHERE {value} IS NOT NULL),
pct AS (SELECT {k}, {_pct(0.5)} AS p50, {_pct(0.9)} AS p90 FROM ranked GROUP BY {k})
SELECT g.*, p.p50, p.p90 FROM groups g LEFT JOIN pct p ON {on} ORDER BY {order}"""


def raw_sql(report: str, dialect: str) -> str:
    pg = dialect == "postgresql"
    if report == "by_topic":
        if pg:
            return f"""
SELECT a.topic, count(*), sum(CASE WHEN a.state = 'open' THEN 1 ELSE 0 END),
    sum(CASE WHEN a.state <> 'open' THEN 1 ELSE 0 END),
    percentile_cont(0.5) WITHIN GROUP (ORDER BY {_HANDLING}),
    percentile_cont(0.9) WITHIN GROUP (ORDER BY {_HANDLING}), sum({_BREACHED})
FROM crm_appeal a {_RES} WHERE {_PERIOD} GROUP BY a.topic ORDER BY a.topic"""
        rows = (
            f"SELECT a.topic AS topic, a.state AS state, {_HANDLING} AS h, {_BREACHED} AS b"
            f" FROM crm_appeal a {_RES} WHERE {_PERIOD}"
        )
        counts = (
            "count(*), sum(CASE WHEN state = 'open' THEN 1 ELSE 0 END),"
            " sum(CASE WHEN state <> 'open' THEN 1 ELSE 0 END), sum(b)"
        )
        return _sqlite_with_percentiles(["topic"], rows, counts, "h")
    if report == "by_operator":
        if pg:
            return f"""
SELECT a.operator, count(*), sum(CASE WHEN a.state <> 'open' THEN 1 ELSE 0 END),
    percentile_cont(0.5) WITHIN GROUP (ORDER BY {_HANDLING}),
    percentile_cont(0.5) WITHIN GROUP (ORDER BY {_FIRST_US}), sum({_BREACHED})
FROM crm_appeal a {_RES} {_FR} WHERE {_PERIOD} GROUP BY a.operator ORDER BY a.operator"""
        # Two medians of two columns: two rankings.
        return f"""
WITH rows AS (SELECT a.operator AS operator, a.state AS state, {_HANDLING} AS h,
    {_FIRST_US} AS fr, {_BREACHED} AS b FROM crm_appeal a {_RES} {_FR} WHERE {_PERIOD}),
groups AS (SELECT operator, count(*) AS c, sum(CASE WHEN state <> 'open' THEN 1 ELSE 0 END)
    AS closed, sum(b) AS b FROM rows GROUP BY operator),
rh AS (SELECT operator, h AS v, row_number() OVER (PARTITION BY operator ORDER BY h) AS rn,
    count(h) OVER (PARTITION BY operator) AS n FROM rows WHERE h IS NOT NULL),
ph AS (SELECT operator, {_pct(0.5)} AS p FROM rh GROUP BY operator),
rf AS (SELECT operator, fr AS v, row_number() OVER (PARTITION BY operator ORDER BY fr) AS rn,
    count(fr) OVER (PARTITION BY operator) AS n FROM rows WHERE fr IS NOT NULL),
pf AS (SELECT operator, {_pct(0.5)} AS p FROM rf GROUP BY operator)
SELECT g.operator, g.c, g.closed, ph.p, pf.p, g.b FROM groups g
LEFT JOIN ph ON ph.operator IS g.operator LEFT JOIN pf ON pf.operator IS g.operator
ORDER BY g.operator"""
    if report == "repeat_appeals":
        gap = (
            "p.registered_at - p.prev_c <= interval '7 days'"
            if pg
            else "(julianday(p.registered_at) - julianday(p.prev_c)) * 86400.0 <= 604800.001"
        )
        gap_s = gap.replace("prev_c", "prev_s")
        since = (
            "CAST(:start AS timestamptz) - interval '7 days'"
            if pg
            else "datetime(:start, '-7 days')"
        )
        return f"""
WITH recent AS (
    SELECT a.id, a.client_id, c.subscriber_id, a.topic, a.registered_at
    FROM crm_appeal a LEFT JOIN crm_contact c ON c.id = a.contact_id
    WHERE a.registered_at >= {since} AND a.registered_at < :end),
p AS (SELECT id, client_id, subscriber_id, registered_at,
    lag(registered_at) OVER (PARTITION BY client_id, topic ORDER BY registered_at, id) AS prev_c,
    lag(registered_at) OVER (PARTITION BY subscriber_id, topic ORDER BY registered_at, id)
        AS prev_s FROM recent),
flags AS (SELECT id, CASE WHEN (p.client_id IS NOT NULL AND p.prev_c IS NOT NULL AND {gap})
    OR (p.subscriber_id IS NOT NULL AND p.prev_s IS NOT NULL AND {gap_s}) THEN 1 ELSE 0 END AS rep
    FROM p)
SELECT a.topic, count(*), sum(flags.rep), sum(flags.rep) * 1.0 / count(*)
FROM flags JOIN crm_appeal a ON a.id = flags.id WHERE {_PERIOD}
GROUP BY a.topic ORDER BY a.topic"""
    if report == "sla":
        if pg:
            return f"""
SELECT a.queue, a.topic, count(*), sum({_MET}), sum({_BREACHED}),
    sum({_MET}) * 1.0 / nullif(sum({_MET}) + sum({_BREACHED}), 0),
    percentile_cont(0.5) WITHIN GROUP (ORDER BY {_HANDLING})
FROM crm_appeal a {_RES} WHERE {_PERIOD} GROUP BY a.queue, a.topic ORDER BY a.queue, a.topic"""
        rows = (
            f"SELECT a.queue AS queue, a.topic AS topic, {_MET} AS m, {_BREACHED} AS b,"
            f" {_HANDLING} AS h FROM crm_appeal a {_RES} WHERE {_PERIOD}"
        )
        counts = "count(*), sum(m), sum(b), sum(m) * 1.0 / nullif(sum(m) + sum(b), 0)"
        return _sqlite_with_percentiles(["queue", "topic"], rows, counts, "h")
    if report == "backlog":
        day = "date_trunc('day', timezone('UTC', {}))" if pg else "date(datetime({}))"
        reg, closed = day.format("a.registered_at"), day.format("a.closed_at")
        first = day.format("CAST(:start AS timestamptz)" if pg else ":start")
        return f"""
WITH events AS (
    SELECT {reg} AS d, 1 AS o, 0 AS r, 0 AS i FROM crm_appeal a WHERE {_PERIOD}
    UNION ALL
    SELECT {closed}, 0, 1, 0 FROM crm_appeal a WHERE a.state <> 'open'
        AND a.closed_at IS NOT NULL AND a.closed_at >= :start AND a.closed_at < :end
    UNION ALL
    SELECT {first}, 0, 0, 1 FROM crm_appeal a WHERE a.registered_at < :start
        AND NOT (a.state <> 'open' AND a.closed_at IS NOT NULL AND a.closed_at < :start)),
sums AS (SELECT d, sum(o) AS o, sum(r) AS r, sum(i) AS i FROM events GROUP BY d)
SELECT d, o, r, sum(i + o - r) OVER (ORDER BY d) FROM sums ORDER BY d"""
    if report == "reopened":
        reopened = (
            "CASE WHEN EXISTS (SELECT 1 FROM crm_history h WHERE h.appeal_id = a.id"
            " AND h.kind = 'reopened') THEN 1 ELSE 0 END"
        )
        return f"""
SELECT a.topic, count(*), sum({reopened}), sum({reopened}) * 1.0 / count(*)
FROM crm_appeal a WHERE {_PERIOD} GROUP BY a.topic ORDER BY a.topic"""
    raise KeyError(report)


def _params(dialect: str) -> dict[str, Any]:
    if dialect == "postgresql":
        return {"start": START, "end": END}
    # SQLite keeps UTC wall times as text.
    return {"start": "2025-01-01 00:00:00.000000", "end": "2026-01-01 00:00:00.000000"}


def median_pair(
    rounds: int, ours: Callable[[], int], raw: Callable[[], int]
) -> tuple[float, float, int, int]:
    mine, theirs = [], []
    count_mine = count_raw = 0
    for i in range(rounds):
        for which in (0, 1) if i % 2 == 0 else (1, 0):
            started = time.perf_counter()
            if which == 0:
                count_mine = ours()
                mine.append(time.perf_counter() - started)
            else:
                count_raw = raw()
                theirs.append(time.perf_counter() - started)
    return statistics.median(mine), statistics.median(theirs), count_mine, count_raw


def bench_backend(url: str, rounds: int) -> dict[str, Any]:
    catalog = load_catalog(["examples/telecom"])
    store = SqlStore(url, upgrade=False)
    engine = Engine(catalog, store.unit_of_work, reports=store.reports(), trust_logins=True)
    dialect = store.engine.dialect.name
    out: dict[str, Any] = {}
    try:
        for code in REPORTS:
            sql = raw_sql(code, dialect)
            params = _params(dialect)

            def ours(code: str = code) -> int:
                return len(list(engine.report(code, start=START, end=END, timezone="UTC").rows))

            def raw(sql: str = sql, params: dict[str, Any] = params) -> int:
                with store.engine.connect() as conn:
                    return len(conn.execute(sa.text(sql), params).fetchall())

            mine, theirs, n_mine, n_raw = median_pair(rounds, ours, raw)
            out[code] = {
                "s": round(mine, 4),
                "raw_s": round(theirs, 4),
                "rows": n_mine,
                "raw_rows": n_raw,
                "vs_raw": round(mine / theirs, 2),
            }
    finally:
        store.dispose()
    return out


EXPORT_CHILD = """
import sys
from datetime import UTC, datetime
from crmcms.dsl import load_catalog
from crmcms.engine import Engine
from crmcms.export import write_table
from crmcms.storage.sql import SqlStore
url, fmt, path = sys.argv[1:]
store = SqlStore(url, upgrade=False)
engine = Engine(load_catalog(["examples/telecom"]), store.unit_of_work,
                reports=store.reports(), trust_logins=True)
table = engine.report("by_topic", start=datetime(2025, 1, 1, tzinfo=UTC),
                      end=datetime(2026, 1, 1, tzinfo=UTC), by=["period", "operator"],
                      bucket="day")
with open(path, "wb") as out:
    rows = write_table(table, fmt, out)
# VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the parent across exec.
print(rows, int(open("/proc/self/status").read().split("VmHWM:")[1].split()[0]) / 1024)
"""


def bench_export(url: str, folder: str) -> tuple[str, int, float]:
    """The big result (appeals per operator and day) exported in a fresh process: xlsx when
    that format exists, else CSV; its rows and the peak resident MB."""
    fmt = "xlsx" if "xlsx" in FORMATS else "csv"
    path = os.path.join(folder, f"big.{fmt}")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(["src", os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run(
        [sys.executable, "-c", EXPORT_CHILD, url, fmt, path],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    rows, rss = done.stdout.split()
    return fmt, int(rows), float(rss)


def measure(quick: bool) -> dict[str, Any]:
    n = 50_000 if quick else 1_000_000
    rounds = 7 if quick else 3
    out: dict[str, Any] = {"quick": quick, "appeals": n, "python": platform.python_version()}
    details: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as folder:
        for kind in ("sqlite", "postgresql"):
            with database(kind, folder) as url:
                details[f"seed_s_{kind}"] = round(seed(url, n), 1)
                found = bench_backend(url, rounds)
                details[kind] = found
                for code, figures in found.items():
                    out[f"{code}_{kind}_vs_raw"] = figures["vs_raw"]
                if kind == "postgresql":
                    fmt, rows, rss = bench_export(url, folder)
                    details["export"] = {"format": fmt, "rows": rows, "rss_mb": round(rss, 1)}
                    out[f"report_{fmt}_rss_mb"] = round(rss, 1)
    # No report of the example catalog has a million groups: the export of a million rows
    # is measured on generated ones, streamed from a generator as a report's cursor is.
    xlsx_rows = 100_000 if quick else 1_000_000
    details["xlsx_rows"] = xlsx_rows
    out["xlsx_rss_mb"] = round(xlsx_peak_rss_mb(xlsx_rows), 1)
    out["details"] = details
    return out


def section(r: dict[str, Any]) -> str:
    d = r["details"]
    mode = "quick run" if r["quick"] else "full run"
    lines = [
        f"## Reports ({mode}: {r['appeals']:,} appeals, Python {r['python']})",
        "",
        "`benchmarks/bench_reports.py`: each built-in report through `Engine.report` (its",
        "rows read to the end) beside a hand-written SQL aggregate of the same figures, over",
        "the dataset's year, medians of the rounds.",
        "",
        "| report | backend | engine s | raw SQL s | groups | engine / raw |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for kind in ("sqlite", "postgresql"):
        for code, f in d[kind].items():
            lines.append(
                f"| {code} | {kind} | {f['s']} | {f['raw_s']} | {f['rows']} | {f['vs_raw']} |"
            )
    e = d["export"]
    lines += [
        "",
        "`reopened` on PostgreSQL: the engine reads the reopened appeals' ids once and hash-joins"
        " them, where the hand-written query probes the history once per appeal.",
        "",
        f"Exporting the big result (appeals by operator and day, {e['rows']:,} rows) to"
        f" {e['format']} in a fresh process peaked at {e['rss_mb']} MB resident. Seeding took"
        f" {d['seed_s_sqlite']} s on SQLite and {d['seed_s_postgresql']} s on PostgreSQL.",
        "",
        f"Exporting {d['xlsx_rows']:,} generated rows of seven typed columns to xlsx (constant"
        f" memory) in a fresh process peaked at {r['xlsx_rss_mb']} MB resident (limit: 200 MB"
        " for 1,000,000 rows).",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(
        run(
            "bench_reports" if "--quick" in sys.argv else "bench_reports_full",
            __doc__.splitlines()[0] if __doc__ else None,
            measure,
            section,
        )
    )
