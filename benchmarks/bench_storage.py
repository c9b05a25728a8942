"""SQL storage speed and memory, each figure against raw SQL doing the same work in the same run.

    python benchmarks/bench_storage.py --quick          # small data, under a minute
    python benchmarks/bench_storage.py                  # 1,000,000 appeals per backend

Needs PostgreSQL at $CRMCMS_BENCH_POSTGRES_URL (default the test server); works in a private
schema and drops it afterwards. Rewrites its own section of docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

sys.path.insert(0, str(pathlib.Path(__file__).parent))
from _databases import database
from _report import write_section
from bench_engine import VALUES, bench_catalog

from crmcms.engine import AppealDraft, Engine, appeals, contacts
from crmcms.engine.transaction import Tx
from crmcms.model import Client
from crmcms.plugins import make_plugin_manager
from crmcms.storage.database import create_engine
from crmcms.storage.schema import appeal, contact, history
from crmcms.storage.sql import AppealFilters, AppealReads, AppealSummary, SqlStore
from crmcms.storage.sql.binding import index_attributes
from crmcms.storage.sql.dataset import DATASET_ATTRIBUTES, DATASET_END, generate
from crmcms.testing.engine import FakeBilling

# Quick and full runs keep a section each: `make bench` must not erase the 1,000,000 figures.
SECTIONS = {True: "bench_storage", False: "bench_storage_full"}


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[18]


# --- Registration --------------------------------------------------------------------------


def register(url: str, n: int, batch: int) -> tuple[float, dict[str, list[dict[str, Any]]]]:
    """Seconds to register ``n`` contacts with one appeal each through the engine, ``batch``
    registrations per transaction; and every row that registration wrote."""
    store = SqlStore(url)
    billing = FakeBilling([Client(1, "Client", category="BIS", region="Moscow")])
    plugins = make_plugin_manager([billing], load_entry_points=False)
    engine = Engine(bench_catalog(), store.unit_of_work, plugins=plugins, trust_logins=True)

    def act(tx: Tx) -> None:
        for _ in range(batch):
            made = contacts.register_contact(tx, "olga", place="CC", channel="PHONE", client_id=1)
            appeals.register_appeals(tx, made.id, "olga", [AppealDraft("T", VALUES)])

    start = time.perf_counter()
    for _ in range(n // batch):
        engine.run(act)
    took = time.perf_counter() - start
    rows: dict[str, list[dict[str, Any]]] = {}
    with store.engine.connect() as conn:
        for table in (contact, appeal, history):
            rows[table.name] = [dict(r._mapping) for r in conn.execute(sa.select(table))]
    store.dispose()
    return took, rows


def core_insert(url: str, rows: dict[str, list[dict[str, Any]]], batch: int) -> float:
    """Seconds for SQLAlchemy Core to insert the same rows, in transactions of the same size."""
    store = SqlStore(url)
    per_batch = {name: len(r) * batch // len(rows["crm_appeal"]) for name, r in rows.items()}
    tables = {"crm_contact": contact, "crm_appeal": appeal, "crm_history": history}
    chunks = len(rows["crm_appeal"]) // batch
    start = time.perf_counter()
    for k in range(chunks):
        with store.engine.begin() as conn:
            for name, table in tables.items():
                size = per_batch[name]
                conn.execute(sa.insert(table), rows[name][k * size : (k + 1) * size])
    took = time.perf_counter() - start
    store.dispose()
    return took


def bench_register(kind: str, folder: str, n: int, batch: int, rounds: int) -> dict[str, Any]:
    ratios, ours, raw = [], [], []
    for _ in range(rounds):
        with database(kind, folder) as url:
            mine, rows = register(url, n, batch)
        with database(kind, folder) as url:
            theirs = core_insert(url, rows, batch)
        ratios.append(theirs / mine)
        ours.append(n / mine)
        raw.append(n / theirs)
    per_registration = sum(len(r) for r in rows.values()) / n
    return {
        "ratio": round(statistics.median(ratios), 3),
        "ours_per_s": round(statistics.median(ours)),
        "core_per_s": round(statistics.median(raw)),
        "rows_per_registration": per_registration,
    }


# --- Reads on a generated dataset ------------------------------------------------------------


def timed_pair(
    ours: Callable[[Any], Any], raw: Callable[[Any], Any], params: list[Any]
) -> tuple[float, float]:
    """p95 seconds of ``ours`` and ``raw`` over ``params``, interleaved so drift cancels.

    Every parameter is first run once by both, untimed: on a large table the first query of
    a parameter reads its pages from disk and leaves them cached, so whichever side went
    first would pay for both (on 1,000,000 appeals that alone made either side 2-20x slower
    than the other, depending only on the order). The order also alternates.
    """
    for p in params:
        ours(p)
        raw(p)
    a, b = [], []
    for k, p in enumerate(params):
        first, second = (ours, raw) if k % 2 == 0 else (raw, ours)
        t0 = time.perf_counter()
        first(p)
        t1 = time.perf_counter()
        second(p)
        t2 = time.perf_counter()
        (a if k % 2 == 0 else b).append(t1 - t0)
        (b if k % 2 == 0 else a).append(t2 - t1)
    return p95(a), p95(b)


def bench_reads(url: str, samples: int) -> dict[str, Any]:
    engine = create_engine(url)
    reads = AppealReads(engine)
    t = appeal.c
    rnd = random.Random(5)
    with engine.connect() as conn:
        queues = [
            q for (q,) in conn.execute(sa.select(t.queue).where(t.queue.is_not(None)).distinct())
        ]
        top = conn.execute(sa.select(sa.func.max(t.client_id))).scalar_one()
    cols = ", ".join(AppealSummary._fields)
    queue_sql = sa.text(
        f"SELECT {cols} FROM crm_appeal WHERE queue = :q AND state = 'open'"
        " AND deadline IS NOT NULL ORDER BY deadline, id LIMIT 51"
    )
    # The queue view reads appeals without a deadline as a second range when the first one
    # does not fill the page; raw SQL doing the same work runs the same two statements.
    undated_sql = sa.text(
        f"SELECT {cols} FROM crm_appeal WHERE queue = :q AND state = 'open'"
        " AND deadline IS NULL ORDER BY id LIMIT :n"
    )

    def raw_queue(params: dict[str, Any]) -> Any:
        with engine.connect() as conn:
            rows = conn.execute(queue_sql, params).fetchall()
            if len(rows) <= 50:
                rows += conn.execute(undated_sql, {**params, "n": 51 - len(rows)}).fetchall()
            return rows

    overdue_sql = sa.text(
        f"SELECT {cols} FROM crm_appeal WHERE state = 'open' AND deadline <= :now"
        " ORDER BY deadline, id LIMIT 101"
    ).bindparams(sa.bindparam("now", type_=appeal.c.deadline.type))
    history_sql = sa.text(
        f"SELECT {cols} FROM crm_appeal WHERE client_id = :c"
        " ORDER BY registered_at DESC, id DESC LIMIT 51"
    )

    def raw(query: sa.TextClause) -> Callable[[dict[str, Any]], Any]:
        def run(params: dict[str, Any]) -> Any:
            with engine.connect() as conn:
                return conn.execute(query, params).fetchall()

        return run

    out: dict[str, Any] = {}
    q_params = [{"q": rnd.choice(queues)} for _ in range(samples)]
    ours, theirs = timed_pair(lambda p: reads.queue_page(p["q"]), raw_queue, q_params)
    out["queue_view"] = (ours, theirs)
    o_params = [
        {"now": DATASET_END - timedelta(hours=rnd.randrange(1, 300))} for _ in range(samples)
    ]
    ours, theirs = timed_pair(
        lambda p: reads.overdue(p["now"], limit=100), raw(overdue_sql), o_params
    )
    out["overdue"] = (ours, theirs)
    c_params = [{"c": rnd.randint(1, top)} for _ in range(samples)]
    ours, theirs = timed_pair(
        lambda p: reads.client_history(p["c"], archived=False), raw(history_sql), c_params
    )
    out["client_history"] = (ours, theirs)

    index_attributes(engine, DATASET_ATTRIBUTES)
    filters = AppealFilters(engine, attributes=DATASET_ATTRIBUTES)
    page, count = [], []
    for k in range(samples):
        rule = f'Appeal.Attribute[reason] = "R{rnd.randrange(40):03d}"'
        if k % 2:
            low = DATASET_END.date() - timedelta(days=rnd.randrange(7, 300))
            high = low + timedelta(days=7)
            rule = f"Appeal.Attribute[due] >= {low} and Appeal.Attribute[due] < {high}"
        t0 = time.perf_counter()
        filters.page(rule, limit=50)
        t1 = time.perf_counter()
        filters.count(rule)
        page.append(t1 - t0)
        count.append(time.perf_counter() - t1)
    out["attr_filter_page_ms"] = p95(page) * 1000
    out["attr_filter_count_ms"] = p95(count) * 1000
    engine.dispose()
    return out


STREAM_CHILD = """
import sys
from crmcms.storage.database import create_engine
from crmcms.storage.sql import AppealReads
n = sum(1 for _ in AppealReads(create_engine(sys.argv[1])).stream())
# VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the parent across exec.
status = open("/proc/self/status").read().split("VmHWM:")[1]
print(n, int(status.split()[0]) / 1024)
"""


def bench_stream(url: str) -> tuple[int, float, float]:
    """Appeals streamed, peak resident MB of a fresh process doing only that, seconds."""
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", STREAM_CHILD, url], capture_output=True, text=True, check=True
    )
    count, rss = done.stdout.split()
    return int(count), float(rss), time.perf_counter() - start


def seed(url: str, n: int) -> float:
    start = time.perf_counter()
    engine = create_engine(url)
    SqlStore(engine)
    generate(engine, n)
    engine.dispose()
    return time.perf_counter() - start


# --- Report ----------------------------------------------------------------------------------


def measure(quick: bool, appeals_n: int | None) -> dict[str, Any]:
    n = appeals_n or (20_000 if quick else 1_000_000)
    reg_n, reg_batch, rounds = (1500, 500, 3) if quick else (20_000, 500, 3)
    samples = 40 if quick else 200
    out: dict[str, Any] = {"quick": quick, "appeals": n, "python": platform.python_version()}
    with tempfile.TemporaryDirectory() as folder:
        for kind in ("sqlite", "postgresql"):
            out[f"register_{kind}"] = bench_register(kind, folder, reg_n, reg_batch, rounds)
            with database(kind, folder) as url:
                out[f"seed_s_{kind}"] = round(seed(url, n), 1)
                out[f"reads_{kind}"] = bench_reads(url, samples)
                if kind == "postgresql":
                    count, rss, took = bench_stream(url)
                    out["stream"] = {"appeals": count, "rss_mb": round(rss, 1), "s": round(took, 1)}
    return out


def summary(r: dict[str, Any]) -> dict[str, Any]:
    def ratio(kind: str, what: str) -> float:
        ours, raw = r[f"reads_{kind}"][what]
        return round(ours / raw, 2)

    return {
        "register_vs_core_sqlite": r["register_sqlite"]["ratio"],
        "register_vs_core_postgres": r["register_postgresql"]["ratio"],
        "queue_view_p95_vs_raw": max(ratio(k, "queue_view") for k in ("sqlite", "postgresql")),
        "overdue_p95_vs_raw": max(ratio(k, "overdue") for k in ("sqlite", "postgresql")),
        "client_history_p95_vs_raw": max(
            ratio(k, "client_history") for k in ("sqlite", "postgresql")
        ),
        "attr_filter_p95_ms_postgres": round(r["reads_postgresql"]["attr_filter_page_ms"], 2),
        "attr_count_p95_ms_postgres": round(r["reads_postgresql"]["attr_filter_count_ms"], 2),
        "stream_rss_mb": r["stream"]["rss_mb"],
        "appeals": r["appeals"],
    }


def section(r: dict[str, Any], s: dict[str, Any]) -> str:
    mode = "quick run" if r["quick"] else "full run"
    title = "" if r["quick"] else ", full run"
    lines = [
        f"## Storage (`benchmarks/bench_storage.py`{title})",
        "",
        f"Latest {mode}: {r['appeals']:,} generated appeals per backend (`crmcms dev seed`), "
        f"Python {r['python']}, SQLite file in WAL mode and PostgreSQL on the same machine.",
        "",
        "| measure | SQLite | PostgreSQL | goal |",
        "|---|---|---|---|",
    ]
    reg = (r["register_sqlite"], r["register_postgresql"])
    lines.append(
        "| registration through the engine / Core inserts of the same rows"
        f" | **{reg[0]['ratio']}x** | **{reg[1]['ratio']}x** | at least 0.25x |"
    )
    lines.append(
        "| registrations per second: engine / Core"
        f" | {reg[0]['ours_per_s']} / {reg[0]['core_per_s']}"
        f" | {reg[1]['ours_per_s']} / {reg[1]['core_per_s']} | |"
    )
    for what, label in (
        ("queue_view", "queue view (50 by deadline), p95"),
        ("overdue", "overdue scan (100 most overdue), p95"),
        ("client_history", "client history (50 newest), p95"),
    ):
        cells = []
        for kind in ("sqlite", "postgresql"):
            ours, raw = r[f"reads_{kind}"][what]
            cells.append(f"{ours * 1000:.2f} ms / {raw * 1000:.2f} ms = **{ours / raw:.2f}x**")
        lines.append(f"| {label}: ours / raw SQL | {cells[0]} | {cells[1]} | within 2x |")
    pg, lite = r["reads_postgresql"], r["reads_sqlite"]
    lines.append(
        f"| attribute filter, page of 50, p95 | {lite['attr_filter_page_ms']:.2f} ms"
        f" | **{pg['attr_filter_page_ms']:.2f} ms** | under 50 ms on PostgreSQL |"
    )
    lines.append(
        f"| attribute filter, count, p95 | {lite['attr_filter_count_ms']:.2f} ms"
        f" | {pg['attr_filter_count_ms']:.2f} ms | |"
    )
    lines.append(
        f"| stream every appeal: peak resident memory | | **{r['stream']['rss_mb']} MB**"
        f" ({r['stream']['appeals']:,} in {r['stream']['s']} s) | under 200 MB |"
    )
    lines.append(
        f"| generate the dataset | {r['seed_s_sqlite']} s | {r['seed_s_postgresql']} s | |"
    )
    lines += [
        "",
        f"Registration: {reg[0]['rows_per_registration']:.0f} rows per registration (contact,"
        " appeal, history), several registrations per engine transaction (`Engine.run`); the"
        " baseline inserts the very rows the engine wrote with SQLAlchemy Core, in"
        " transactions of the same size. Reads: raw SQL is the same statement as text,"
        " fetched as tuples; ours builds `AppealSummary` objects with aware UTC datetimes."
        " Each read's parameters are run once by both, untimed, before the timed pairs, so"
        " neither side finds pages on disk that the other then reads from cache; the order"
        " within a pair alternates. Attribute filters alternate"
        " `Appeal.Attribute[reason] = ...` and a date range on `Appeal.Attribute[due]`, over"
        " expression indexes.",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small data, under a minute")
    parser.add_argument("--appeals", type=int, default=None, help="appeals per backend")
    parser.add_argument(
        "--no-docs", "--no-doc", action="store_true", help="do not touch docs/performance.md"
    )
    args = parser.parse_args()
    result = measure(args.quick, args.appeals)
    s = summary(result)
    if not args.no_docs:
        write_section(SECTIONS[args.quick], section(result, s))
    print(json.dumps(result, default=str))
    print(json.dumps(s))


if __name__ == "__main__":
    main()
