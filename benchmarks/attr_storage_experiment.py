"""Topic attribute storage: a typed side table against JSON with expression indexes.

Loads the same appeals twice, once with their attribute values in a typed side table and
once in a JSON column with one expression index per filtered attribute, then times the
filters an operator's saved filter runs: one page of 50 by id, and the count.

    python benchmarks/attr_storage_experiment.py --appeals 1000000 --backend postgresql
    python benchmarks/attr_storage_experiment.py --appeals 200000 --backend sqlite

The findings are written down in docs/storage.md.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import sqlite3
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from typing import Any

PG_DSN = os.environ.get("CRMCMS_BENCH_POSTGRES_DSN", "host=127.0.0.1 user=postgres dbname=test")
REASONS = [f"R{i:03d}" for i in range(100)]
START = date(2023, 1, 1)


def rows(n: int, seed: int = 7) -> Iterator[tuple[int, str, str, str, str, str, str]]:
    """(id, topic, state, reason, due, amount, comment) for ``n`` appeals."""
    rnd = random.Random(seed)
    weights = [1 / (i + 1) for i in range(len(REASONS))]
    reasons = rnd.choices(REASONS, weights, k=n)
    for i in range(n):
        due = START + timedelta(days=rnd.randrange(730))
        amount = f"{rnd.randrange(100, 500000) / 100:.2f}"
        state = "open" if rnd.random() < 0.2 else "closed"
        topic = rnd.choice(("CLAIM", "REQUEST", "CONSULTATION", "TERMINATION"))
        yield i + 1, topic, state, reasons[i], due.isoformat(), amount, f"note {rnd.random():.8f}"


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[18] * 1000 if len(samples) > 1 else samples[0]


def timed(run: Callable[[Any], Any], params: list[Any]) -> float:
    samples = []
    for p in params:
        t0 = time.perf_counter()
        run(p)
        samples.append(time.perf_counter() - t0)
    return round(p95(samples), 2)


# --- PostgreSQL ----------------------------------------------------------------------------

PG_SIDE = """
CREATE TABLE side_appeal (id bigint PRIMARY KEY, topic text, state text);
CREATE TABLE side_value (appeal_id bigint, code text, seq int, s text, n numeric, d date,
  PRIMARY KEY (appeal_id, code, seq));
"""
PG_SIDE_INDEX = """
CREATE INDEX ON side_value (code, s, appeal_id) WHERE s IS NOT NULL;
CREATE INDEX ON side_value (code, n, appeal_id) WHERE n IS NOT NULL;
CREATE INDEX ON side_value (code, d, appeal_id) WHERE d IS NOT NULL;
"""
PG_JSON = "CREATE TABLE json_appeal (id bigint PRIMARY KEY, topic text, state text, vals jsonb);"
PG_JSON_INDEX = """
CREATE INDEX ON json_appeal ((vals->>'REASON'));
CREATE INDEX ON json_appeal ((vals->>'DUE'));
CREATE INDEX ON json_appeal (((vals->>'AMOUNT')::numeric));
"""
PG_QUERIES = {
    "side": {
        "eq_page": "SELECT id FROM side_appeal WHERE id IN (SELECT appeal_id FROM side_value"
        " WHERE code='REASON' AND s=%s) ORDER BY id DESC LIMIT 50",
        "eq_count": "SELECT count(*) FROM side_appeal WHERE id IN (SELECT appeal_id FROM"
        " side_value WHERE code='REASON' AND s=%s)",
        "range_page": "SELECT id FROM side_appeal WHERE id IN (SELECT appeal_id FROM side_value"
        " WHERE code='DUE' AND d >= %s::date AND d < %s::date + 7) ORDER BY id DESC LIMIT 50",
        "range_count": "SELECT count(*) FROM side_appeal WHERE id IN (SELECT appeal_id FROM"
        " side_value WHERE code='DUE' AND d >= %s::date AND d < %s::date + 7)",
        "eq_open_page": "SELECT id FROM side_appeal WHERE state='open' AND id IN (SELECT"
        " appeal_id FROM side_value WHERE code='REASON' AND s=%s) ORDER BY id DESC LIMIT 50",
    },
    "json": {
        "eq_page": "SELECT id FROM json_appeal WHERE vals->>'REASON' = %s"
        " ORDER BY id DESC LIMIT 50",
        "eq_count": "SELECT count(*) FROM json_appeal WHERE vals->>'REASON' = %s",
        "range_page": "SELECT id FROM json_appeal WHERE vals->>'DUE' >= %s AND vals->>'DUE' <"
        " (%s::date + 7)::text ORDER BY id DESC LIMIT 50",
        "range_count": "SELECT count(*) FROM json_appeal WHERE vals->>'DUE' >= %s AND"
        " vals->>'DUE' < (%s::date + 7)::text",
        "eq_open_page": "SELECT id FROM json_appeal WHERE state='open' AND"
        " vals->>'REASON' = %s ORDER BY id DESC LIMIT 50",
    },
}


def _copy(cur: Any, sql: str, lines: Iterator[str]) -> None:
    with cur.copy(sql) as copy:
        buf = io.StringIO()
        for k, line in enumerate(lines, 1):
            buf.write(line)
            if k % 20000 == 0:
                copy.write(buf.getvalue())
                buf = io.StringIO()
        copy.write(buf.getvalue())


def run_postgres(n: int) -> dict[str, Any]:
    import psycopg

    schema = f"crmcms_attr_{uuid.uuid4().hex[:10]}"
    out: dict[str, Any] = {"backend": "postgresql", "appeals": n}
    with psycopg.connect(PG_DSN, autocommit=True) as conn, conn.cursor() as cur:
        cur.execute(f"CREATE SCHEMA {schema}")
        cur.execute(f"SET search_path TO {schema}")
        try:
            cur.execute(PG_SIDE)
            cur.execute(PG_JSON)
            t0 = time.perf_counter()
            _copy(
                cur, "COPY side_appeal FROM STDIN", (f"{r[0]}\t{r[1]}\t{r[2]}\n" for r in rows(n))
            )

            def side_lines() -> Iterator[str]:
                for i, _t, _s, reason, due, amount, comment in rows(n):
                    yield f"{i}\tREASON\t0\t{reason}\t\\N\t\\N\n"
                    yield f"{i}\tDUE\t0\t\\N\t\\N\t{due}\n"
                    yield f"{i}\tAMOUNT\t0\t\\N\t{amount}\t\\N\n"
                    yield f"{i}\tCOMMENT\t0\t{comment}\t\\N\t\\N\n"

            _copy(cur, "COPY side_value FROM STDIN", side_lines())
            cur.execute(PG_SIDE_INDEX)
            out["side_load_s"] = round(time.perf_counter() - t0, 1)
            t0 = time.perf_counter()

            def json_lines() -> Iterator[str]:
                for i, topic, state, reason, due, amount, comment in rows(n):
                    doc = {"REASON": reason, "DUE": due, "AMOUNT": amount, "COMMENT": comment}
                    yield f"{i}\t{topic}\t{state}\t{json.dumps(doc)}\n"

            _copy(cur, "COPY json_appeal FROM STDIN", json_lines())
            cur.execute(PG_JSON_INDEX)
            out["json_load_s"] = round(time.perf_counter() - t0, 1)
            cur.execute("VACUUM ANALYZE")
            cur.execute(
                "SELECT pg_total_relation_size('side_appeal') + pg_total_relation_size"
                "('side_value'), pg_total_relation_size('json_appeal')"
            )
            side_bytes, json_bytes = cur.fetchone()  # type: ignore[misc]
            out["side_mb"] = round(side_bytes / 2**20)
            out["json_mb"] = round(json_bytes / 2**20)
            rnd = random.Random(1)
            reasons = [(r,) for r in rnd.choices(REASONS[:40], k=40)]
            days = [
                (d.isoformat(), d.isoformat())
                for d in (START + timedelta(days=rnd.randrange(700)) for _ in range(40))
            ]
            for layout, queries in PG_QUERIES.items():
                for name, sql in queries.items():
                    params = days if name.startswith("range") else reasons
                    for p in params[:3]:  # warm the cache before timing
                        cur.execute(sql, p)
                        cur.fetchall()

                    def run(p: Any, sql: str = sql) -> None:
                        cur.execute(sql, p)
                        cur.fetchall()

                    out[f"{layout}_{name}_p95_ms"] = timed(run, params)
        finally:
            cur.execute(f"DROP SCHEMA {schema} CASCADE")
    return out


# --- SQLite --------------------------------------------------------------------------------

SQLITE_SIDE = """
CREATE TABLE side_appeal (id INTEGER PRIMARY KEY, topic TEXT, state TEXT);
CREATE TABLE side_value (appeal_id INTEGER, code TEXT, seq INT, s TEXT, n NUMERIC, d TEXT,
  PRIMARY KEY (appeal_id, code, seq)) WITHOUT ROWID;
"""
SQLITE_SIDE_INDEX = """
CREATE INDEX side_s ON side_value (code, s, appeal_id) WHERE s IS NOT NULL;
CREATE INDEX side_n ON side_value (code, n, appeal_id) WHERE n IS NOT NULL;
CREATE INDEX side_d ON side_value (code, d, appeal_id) WHERE d IS NOT NULL;
"""
SQLITE_JSON = "CREATE TABLE json_appeal (id INTEGER PRIMARY KEY, topic TEXT, state TEXT, vals);"
SQLITE_JSON_INDEX = """
CREATE INDEX json_r ON json_appeal (json_extract(vals, '$.REASON'));
CREATE INDEX json_d ON json_appeal (json_extract(vals, '$.DUE'));
CREATE INDEX json_a ON json_appeal (CAST(json_extract(vals, '$.AMOUNT') AS NUMERIC));
"""
SQLITE_QUERIES = {
    "side": {
        key: sql.replace("%s::date + 7", "date(?, '+7 days')")
        .replace("%s::date", "?")
        .replace("%s", "?")
        for key, sql in PG_QUERIES["side"].items()
    },
    "json": {
        key: sql.replace("vals->>'REASON'", "json_extract(vals, '$.REASON')")
        .replace("vals->>'DUE'", "json_extract(vals, '$.DUE')")
        .replace("(%s::date + 7)::text", "date(?, '+7 days')")
        .replace("%s", "?")
        for key, sql in PG_QUERIES["json"].items()
    },
}


def run_sqlite(n: int) -> dict[str, Any]:
    out: dict[str, Any] = {"backend": "sqlite", "appeals": n}
    with tempfile.TemporaryDirectory() as tmp:
        sizes = {}
        for layout in ("side", "json"):
            path = os.path.join(tmp, f"{layout}.sqlite")
            conn = sqlite3.connect(path)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            t0 = time.perf_counter()
            if layout == "side":
                conn.executescript(SQLITE_SIDE)
                conn.executemany("INSERT INTO side_appeal VALUES (?,?,?)", (r[:3] for r in rows(n)))

                def values() -> Iterator[tuple[Any, ...]]:
                    for i, _t, _s, reason, due, amount, comment in rows(n):
                        yield i, "REASON", 0, reason, None, None
                        yield i, "DUE", 0, None, None, due
                        yield i, "AMOUNT", 0, None, amount, None
                        yield i, "COMMENT", 0, comment, None, None

                conn.executemany("INSERT INTO side_value VALUES (?,?,?,?,?,?)", values())
                conn.executescript(SQLITE_SIDE_INDEX)
            else:
                conn.executescript(SQLITE_JSON)
                conn.executemany(
                    "INSERT INTO json_appeal VALUES (?,?,?,?)",
                    (
                        (
                            i,
                            t,
                            s,
                            json.dumps({"REASON": r, "DUE": d, "AMOUNT": a, "COMMENT": c}),
                        )
                        for i, t, s, r, d, a, c in rows(n)
                    ),
                )
                conn.executescript(SQLITE_JSON_INDEX)
            conn.commit()
            conn.execute("ANALYZE")
            out[f"{layout}_load_s"] = round(time.perf_counter() - t0, 1)
            conn.close()
            sizes[layout] = os.path.getsize(path)
            out[f"{layout}_mb"] = round(sizes[layout] / 2**20)
        rnd = random.Random(1)
        reasons = [(r,) for r in rnd.choices(REASONS[:40], k=40)]
        days = [
            (d.isoformat(), d.isoformat())
            for d in (START + timedelta(days=rnd.randrange(700)) for _ in range(40))
        ]
        for layout, queries in SQLITE_QUERIES.items():
            conn = sqlite3.connect(os.path.join(tmp, f"{layout}.sqlite"))
            for name, sql in queries.items():
                params = days if name.startswith("range") else reasons

                def run(p: Any, sql: str = sql, conn: sqlite3.Connection = conn) -> None:
                    conn.execute(sql, p).fetchall()

                for p in params[:3]:
                    run(p)
                out[f"{layout}_{name}_p95_ms"] = timed(run, params)
            conn.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--appeals", type=int, default=200_000)
    parser.add_argument("--backend", choices=("postgresql", "sqlite"), default="postgresql")
    args = parser.parse_args()
    run = run_postgres if args.backend == "postgresql" else run_sqlite
    print(json.dumps(run(args.appeals)))


if __name__ == "__main__":
    main()
