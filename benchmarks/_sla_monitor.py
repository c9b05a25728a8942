"""The SLA monitor's part of benchmarks/bench_sla.py, each figure beside its baseline.

``--quick`` uses 100,000 stored clocks per backend, a full run 1,000,000.

- ``scan_vs_raw``: the monitor's search for due escalations (``uow.clocks.due_escalations``)
  over N stored clocks of which 1% are due, against the raw SQL query selecting the same
  rows, on SQLite and PostgreSQL (the worse of the two; each backend too);
- ``escalations_per_s``: levels fired per second by one monitor (``engine.scan_deadlines``)
  on PostgreSQL, each in its own transaction with its history event and outbox message;
- ``workers_2_vs_1``: two monitors at once, each in a process of its own, against one on
  the same work (throughput ratio);
- ``statements_per_appeal``: SQL statements one monitor sends per appeal it fires (besides
  commits and rollbacks): the round trips that bound ``escalations_per_s``.

Needs PostgreSQL at $CRMCMS_BENCH_POSTGRES_URL (default the test server); works in a private
schema and drops it afterwards. Rewrites its own section of docs/performance.md.
"""

from __future__ import annotations

import multiprocessing
import statistics
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from _databases import database

from crmcms.dsl.definitions.loader import load_catalog_text
from crmcms.engine import AppealDraft, Engine
from crmcms.model import Client
from crmcms.plugins import make_plugin_manager
from crmcms.storage.schema import sla_clock
from crmcms.storage.sql import SqlStore
from crmcms.testing.engine import FakeBilling, ManualClock

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
RAW = (
    "SELECT appeal_id, clock FROM crm_sla_clock WHERE next_escalation_at IS NOT NULL"
    " AND next_escalation_at <= {p} ORDER BY next_escalation_at LIMIT {p}"
)
DEFINITIONS = """
place kind CALL_CENTRE "Call centre"
place CC "Call centre" kind CALL_CENTRE
channel PHONE "Phone"
role AGENT "Agent"
template T "Phone calls" {
    places: CC
    channel: PHONE
}
operator ann "Ann" {
    roles: AGENT
    template: T
}
topic REPAIR "Repair"
queue LINE "First line" {
    members: ann
}
route R "Repair" {
    topics: REPAIR
    deadline: 4h { at +0: notify ann }
    process new "New" initial
    process done "Done" final
    transition finish new -> done "Finish"
}
"""


# --- The search ------------------------------------------------------------------------------


def _clock_rows(n: int) -> Iterator[tuple[Any, ...]]:
    """One resolution clock per appeal; every hundredth has an escalation due at NOW."""
    limit_us = 4 * 3600 * 10**6
    for i in range(1, n + 1):
        due = i % 100 == 0
        at = NOW - timedelta(minutes=i % 50 + 1) if due else NOW + timedelta(minutes=i % 5000 + 1)
        yield (
            i,
            "resolution",
            "resolution",
            "",
            1,
            T0,
            limit_us,
            at,
            0,
            limit_us,
            None,
            None,
            None,
            False,
            T0,
            at,
        )


_COLUMNS = [c.name for c in sla_clock.c]


def fill(store: SqlStore, n: int) -> None:
    """``n`` stored clocks written in bulk: COPY on PostgreSQL, executemany on SQLite."""
    raw = store.engine.raw_connection()
    try:
        if store.engine.dialect.name == "postgresql":
            columns = ", ".join(f'"{c}"' for c in _COLUMNS)
            with raw.cursor() as cur, cur.copy(f"COPY crm_sla_clock ({columns}) FROM STDIN") as cp:
                for row in _clock_rows(n):
                    cp.write_row(row)
        else:
            fmt = "%Y-%m-%d %H:%M:%S.%f"
            marks = ", ".join("?" for _ in _COLUMNS)
            cur = raw.cursor()
            batch: list[tuple[Any, ...]] = []
            for row in _clock_rows(n):
                batch.append(
                    tuple(
                        v.astimezone(UTC).strftime(fmt) if isinstance(v, datetime) else v
                        for v in row
                    )
                )
                if len(batch) == 50_000:
                    cur.executemany(f"INSERT INTO crm_sla_clock VALUES ({marks})", batch)
                    batch.clear()
            if batch:
                cur.executemany(f"INSERT INTO crm_sla_clock VALUES ({marks})", batch)
        raw.commit()
    finally:
        raw.close()
    with store.engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE")
        conn.commit()


def search(kind: str, folder: str, n: int, rounds: int) -> dict[str, Any]:
    """Medians of the monitor's search and of the raw query, alternating, same rows."""
    with database(kind, folder) as url:
        store = SqlStore(url)
        start = time.perf_counter()
        fill(store, n)
        filled = time.perf_counter() - start
        due = n // 100
        raw_param = NOW.strftime("%Y-%m-%d %H:%M:%S.%f") if kind == "sqlite" else NOW
        raw_sql = RAW.format(p="?" if kind == "sqlite" else "%s")
        ours_s, raw_s = [], []
        for _ in range(rounds):
            with store.unit_of_work() as uow:
                uow.connection()  # both sides query over a connection they already hold
                begin = time.perf_counter()
                found = uow.clocks.due_escalations(NOW, due + 1)
                ours_s.append(time.perf_counter() - begin)
            assert len(found) == due, (len(found), due)
            with store.engine.connect() as conn:
                begin = time.perf_counter()
                rows = conn.exec_driver_sql(raw_sql, (raw_param, due + 1)).fetchall()
                raw_s.append(time.perf_counter() - begin)
            assert len(rows) == due
            assert sorted(found) == sorted((int(a), str(c)) for a, c in rows)
        store.dispose()
    ours, raw = statistics.median(ours_s), statistics.median(raw_s)
    return {"ours_ms": ours * 1000, "raw_ms": raw * 1000, "ratio": ours / raw, "fill_s": filled}


# --- Firing ----------------------------------------------------------------------------------


def _engine(store: SqlStore, clock: ManualClock) -> Engine:
    billing = FakeBilling([Client(1, "Client")])
    plugins = make_plugin_manager([billing], load_entry_points=False)
    return Engine(
        load_catalog_text(DEFINITIONS),
        store.unit_of_work,
        plugins=plugins,
        clock=clock,
        trust_logins=True,
    )


def _register(engine: Engine, n: int) -> None:
    drafts = [AppealDraft("REPAIR")] * 50
    for _ in range(n // 50):
        engine.register_contact("ann", place="CC", channel="PHONE", client_id=1, drafts=drafts)


def _monitor_process(url: str, ready: Any, go: Any, counts: Any, i: int) -> None:
    """One monitor in a process of its own: ready, wait for the start, scan, report."""
    store = SqlStore(url)
    engine = _engine(store, ManualClock(T0 + timedelta(hours=5)))
    engine.run(lambda tx: tx.uow.clocks.due_escalations(tx.now, 1))  # connected and warm
    ready.wait()
    go.wait()
    counts[i] = len(engine.scan_deadlines(batch=100))
    store.dispose()


def firing(folder: str, n: int, workers: int) -> float:
    """Levels fired per second by ``workers`` monitors at once, each in a process of its
    own (as ``crmcms worker`` runs), on ``n`` due appeals."""
    context = multiprocessing.get_context("spawn")
    with database("postgresql", folder) as url:
        store = SqlStore(url)
        clock = ManualClock(T0)
        _register(_engine(store, clock), n)
        store.dispose()
        ready, go = context.Barrier(workers + 1), context.Event()
        counts = context.Array("i", workers)
        procs = [
            context.Process(target=_monitor_process, args=(url, ready, go, counts, i))
            for i in range(workers)
        ]
        for p in procs:
            p.start()
        ready.wait()
        begin = time.perf_counter()
        go.set()
        for p in procs:
            p.join()
        took = time.perf_counter() - begin
        assert all(p.exitcode == 0 for p in procs), [p.exitcode for p in procs]
        assert sum(counts) == n, (list(counts), n)
    return n / took


def statements_per_appeal(folder: str, n: int) -> float:
    """Statements sent to PostgreSQL per appeal fired by one monitor (round trips)."""
    with database("postgresql", folder) as url:
        store = SqlStore(url)
        clock = ManualClock(T0)
        _register(_engine(store, clock), n)
        clock.advance(hours=5)
        monitor = _engine(store, clock)
        sent = [0]

        def count(*_: object) -> None:
            sent[0] += 1

        sa.event.listen(store.engine, "before_cursor_execute", count)
        fired = len(monitor.scan_deadlines(batch=100))
        sa.event.remove(store.engine, "before_cursor_execute", count)
        store.dispose()
    assert fired == n
    return sent[0] / n


def measure(quick: bool) -> dict[str, Any]:
    n = 100_000 if quick else 1_000_000
    fired = 150 if quick else 2_000
    rounds = 11
    with tempfile.TemporaryDirectory() as folder:
        found = {kind: search(kind, folder, n, rounds) for kind in ("sqlite", "postgresql")}
        repeats = 2 if quick else 5
        one = statistics.median(firing(folder, fired, 1) for _ in range(repeats))
        two = statistics.median(firing(folder, fired, 2) for _ in range(repeats))
        statements = statements_per_appeal(folder, fired)
    return {
        "clocks": n,
        "scan_vs_raw": round(max(f["ratio"] for f in found.values()), 3),
        "scan_vs_raw_sqlite": round(found["sqlite"]["ratio"], 3),
        "scan_vs_raw_postgresql": round(found["postgresql"]["ratio"], 3),
        "scan_ms_sqlite": round(found["sqlite"]["ours_ms"], 2),
        "raw_ms_sqlite": round(found["sqlite"]["raw_ms"], 2),
        "scan_ms_postgresql": round(found["postgresql"]["ours_ms"], 2),
        "raw_ms_postgresql": round(found["postgresql"]["raw_ms"], 2),
        "fill_s_sqlite": round(found["sqlite"]["fill_s"], 1),
        "fill_s_postgresql": round(found["postgresql"]["fill_s"], 1),
        "escalated_appeals": fired,
        "escalations_per_s": round(one, 1),
        "escalations_per_s_2_workers": round(two, 1),
        "workers_2_vs_1": round(two / one, 3),
        "statements_per_appeal": round(statements, 1),
    }


def section(r: dict[str, Any]) -> str:
    size = f"{r['clocks']:,}"
    table = "\n".join(
        f"| {shown} | {r[f'scan_ms_{kind}']} ms | {r[f'raw_ms_{kind}']} ms"
        f" | {r[f'scan_vs_raw_{kind}']}x |"
        for kind, shown in (("sqlite", "SQLite"), ("postgresql", "PostgreSQL"))
    )
    run = "`--quick`" if r.get("quick") else "full"
    return f"""### The SLA monitor ({run} run)

The monitor's search for due escalation levels over {size} stored clocks (one per appeal,
1% due), written in bulk (COPY on PostgreSQL: {r["fill_s_postgresql"]} s; executemany on
SQLite: {r["fill_s_sqlite"]} s), against the raw SQL query selecting the same rows; medians.

| backend | monitor's search | raw SQL | ratio |
| --- | ---: | ---: | ---: |
{table}

Firing on PostgreSQL ({r["escalated_appeals"]} appeals with one level due, each fired in its
own transaction with its history event, stored clocks and outbox message): one monitor
{r["escalations_per_s"]} levels/s, two at once, each in a process of its own as two
`crmcms worker`s run, {r["escalations_per_s_2_workers"]} levels/s
(`workers_2_vs_1` = {r["workers_2_vs_1"]}). One monitor sends
{r["statements_per_appeal"]} SQL statements per appeal it fires (`statements_per_appeal`,
commits and rollbacks aside). Before the unit of work kept what it had read of an appeal's
history, fired levels and failed attempts (measured the same way on this machine): 18.0
statements, 42 levels/s with one monitor, 38 with two processes.
"""
