"""Route testing: `crmcms verify examples/telecom` with its default budget, and the preview of a
new route version over 100,000 waiting appeals beside the raw GROUP BY it runs.

    python benchmarks/bench_verify.py --quick      # under a minute
    python benchmarks/bench_verify.py              # three rounds, 300,000 appeals as well

The preview's appeals wait on version 1 of the example termination route and would move to
version 2; a twentieth of those handed over lack an attribute version 2 requires there (they are
stuck). PostgreSQL at $CRMCMS_BENCH_POSTGRES_URL (default the test server) in a private schema,
dropped afterwards; skipped when no server answers.
"""

from __future__ import annotations

import pathlib
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, date, datetime
from typing import Any

sys.path.insert(0, str(pathlib.Path(__file__).parent))

import sqlalchemy as sa
from _databases import database as fresh_database
from _report import run

from crmcms.dsl.definitions.loader import load_catalog
from crmcms.model import Appeal, Contact, Direction
from crmcms.storage import SqlStore
from crmcms.storage.schema import appeal, contact
from crmcms.storage.sql.codec import appeal_row, contact_row
from crmcms.testing.preview import preview_route_version

ROOT = pathlib.Path(__file__).resolve().parent.parent
TELECOM = ROOT / "examples" / "telecom"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
RAW_GROUP_BY = (
    "SELECT route, route_version, topic, process, queue, count(*) FROM crm_appeal "
    "WHERE state = 'open' GROUP BY route, route_version, topic, process, queue"
)


def verify_seconds() -> float:
    """Wall time of the command as a CI job runs it: a fresh interpreter, default budget."""
    started = time.perf_counter()
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "from crmcms.entrypoints.cli import main; main()",
            "verify",
            str(TELECOM),
            "--junit",
            str(pathlib.Path(tempfile.gettempdir()) / "verify.xml"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"crmcms verify examples/telecom failed:\n{done.stdout}{done.stderr}")
    return seconds


@contextmanager
def database(kind: str, folder: str) -> Iterator[str | None]:
    """A fresh database URL, or ``None`` when the PostgreSQL server does not answer."""
    with ExitStack() as stack:
        try:
            url: str | None = stack.enter_context(fresh_database(kind, folder))
        except sa.exc.OperationalError:
            url = None
        yield url


def _rows(n: int) -> Iterator[dict[str, Any]]:
    template = appeal_row(
        Appeal(
            id=1,
            contact_id=1,
            topic="TERMINATION",
            route="TERMINATION",
            route_version=1,
            process="registration",
            operator="olga",
            registered_at=T0,
            queue="REGISTRATION",
            process_entered_at=T0,
            values={"166": "Переезд", "168": date(2026, 4, 1)},
        ),
        1,
    )
    lacking = appeal_row(
        Appeal(
            id=1,
            contact_id=1,
            topic="TERMINATION",
            route="TERMINATION",
            route_version=1,
            process="transfer_sd",
            operator="olga",
            registered_at=T0,
            values={"166": "Переезд"},
        ),
        1,
    )["attribute_values"]
    for i in range(1, n + 1):
        row = dict(template, id=i)
        if i % 5 < 2:  # two in five handed over, to CP or to Pskov
            row.update(process="transfer_sd", queue="67" if i % 2 else "79")
            if i % 100 < 5:
                row["attribute_values"] = lacking
        yield row


def fill(store: SqlStore, n: int) -> None:
    made = Contact(
        id=1,
        place="CC",
        direction=Direction.INCOMING,
        channel="PHONE",
        operator="olga",
        registered_at=T0,
    )
    with store.engine.begin() as conn:
        conn.execute(sa.insert(contact), [contact_row(made)])
    batch: list[dict[str, Any]] = []
    with store.engine.begin() as conn:
        for row in _rows(n):
            batch.append(row)
            if len(batch) == 20_000:
                conn.execute(sa.insert(appeal), batch)
                batch.clear()
        if batch:
            conn.execute(sa.insert(appeal), batch)
    with store.engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE")
        conn.commit()


def preview_round(store: SqlStore, rounds: int) -> dict[str, Any]:
    catalog = load_catalog([TELECOM])
    ours, raw = [], []
    preview = None
    for _ in range(rounds):
        started = time.perf_counter()
        preview = preview_route_version(store, catalog)
        ours.append(time.perf_counter() - started)
        started = time.perf_counter()
        with store.engine.connect() as conn:
            conn.exec_driver_sql(RAW_GROUP_BY).all()
        raw.append(time.perf_counter() - started)
    assert preview is not None
    return {
        "s": statistics.median(ours),
        "raw_s": statistics.median(raw),
        "vs_raw": statistics.median([o / r for o, r in zip(ours, raw, strict=True)]),
        "waiting": preview.waiting,
        "stuck": preview.stuck_count,
    }


def measure(quick: bool) -> dict[str, Any]:
    rounds = 1 if quick else 3
    verify = [verify_seconds() for _ in range(rounds)]
    result: dict[str, Any] = {"quick": quick, "verify_s": round(statistics.median(verify), 2)}
    sizes = [100_000] if quick else [100_000, 300_000]
    with tempfile.TemporaryDirectory() as folder:
        for kind in ("sqlite", "postgresql"):
            for n in sizes:
                with database(kind, folder) as url:
                    if url is None:
                        result[f"preview_{kind}"] = "no server"
                        continue
                    store = SqlStore(url)
                    try:
                        fill(store, n)
                        found = preview_round(store, 5 if quick else 7)
                    finally:
                        store.dispose()
                suffix = "" if n == 100_000 else f"_{n // 1000}k"
                result[f"preview_{kind}{suffix}_s"] = round(found["s"], 3)
                result[f"raw_{kind}{suffix}_s"] = round(found["raw_s"], 3)
                result[f"preview_vs_raw_{kind}{suffix}"] = round(found["vs_raw"], 2)
                result[f"stuck_{kind}{suffix}"] = found["stuck"]
    result["appeals"] = 100_000
    result["preview_s"] = result["preview_sqlite_s"]
    result["preview_vs_raw"] = result["preview_vs_raw_sqlite"]
    return result


def section(r: dict[str, Any]) -> str:
    rows = []
    for kind in ("sqlite", "postgresql"):
        for suffix, n in (("", "100,000"), ("_300k", "300,000")):
            if f"preview_{kind}{suffix}_s" in r:
                rows.append(
                    f"| {kind}, {n} waiting | {r[f'preview_{kind}{suffix}_s']} s | "
                    f"{r[f'raw_{kind}{suffix}_s']} s | {r[f'preview_vs_raw_{kind}{suffix}']} | "
                    f"{r[f'stuck_{kind}{suffix}']:,} |"
                )
    return "\n".join(
        [
            "## Route testing (`benchmarks/bench_verify.py`)",
            "",
            f"`crmcms verify examples/telecom` with its default budget (static checks, the "
            f"route test files, 10 s of route machines), in a fresh interpreter: "
            f"**{r['verify_s']} s** (median of {1 if r['quick'] else 3}).",
            "",
            "The preview of a new route version (`crmcms verify --against`) over appeals "
            "waiting on version 1 of the example termination route, which version 2 keeps "
            "and whose handed-over appeals need attribute 168 there; beside it, the raw "
            "GROUP BY of the waiting appeals it starts from, in the same round (medians):",
            "",
            "| database | preview | raw GROUP BY | ratio | stuck found |",
            "|---|---|---|---|---|",
            *rows,
            "",
            "The preview adds, per group of appeals alike, one count of those lacking a "
            "required value and, for the stuck ones, one query for the first ids listed.",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    return run("bench_verify", __doc__, measure, section, argv)


if __name__ == "__main__":
    sys.exit(main())
