"""System problems at scale, and a large upload:

- resolving a problem linked to 10,000 appeals (each moved and its client notified through
  the outbox, in batches) beside moving the same appeals one by one through the engine,
  each with its notification, on SQLite (and PostgreSQL unless --no-postgres);
- linking the open appeals a problem's rule matches (the rule run as SQL);
- attaching a 100 MB file streamed from a generator: the peak resident memory of a process
  that does it, beside the same process that does not.

    python benchmarks/bench_problems.py --quick      # under a minute
    python benchmarks/bench_problems.py

PostgreSQL at $CRMCMS_BENCH_POSTGRES_URL (default the test server); skipped if unreachable.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from _report import run

from crmcms import AppealDraft, Client, Engine
from crmcms.dsl import load_catalog_text
from crmcms.engine import Notification, NotificationKind, routing
from crmcms.engine.transaction import Tx
from crmcms.model import SYSTEM
from crmcms.plugins import make_plugin_manager
from crmcms.storage.sql import SqlStore
from crmcms.testing.engine import FakeBilling

POSTGRES = os.environ.get(
    "CRMCMS_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)

DEFINITIONS = """
problem attribute REGION "Region": string required
topic NO_NET "No connection"
place kind CALL_CENTRE "Call centre"
place CC "Call centre" kind CALL_CENTRE
channel PHONE "Phone"
template T "Phone calls" {
    places: CC
    channel: PHONE
}
operator ann "Ann" { template: T }
queue LINE "Line" { members: ann }
route R "Repair" {
    topics: NO_NET
    process new "New" initial
    process done "Done" final
    transition fixed new -> done "Fixed"
}
"""
RULE = 'Appeal.Topic.Code = "NO_NET"'
PER_CONTACT = 50


def _engine(url: str) -> tuple[Engine, SqlStore]:
    store = SqlStore(url, id_block=1000)
    plugins = make_plugin_manager([FakeBilling([Client(1, "Client")])], load_entry_points=False)
    engine = Engine(
        load_catalog_text(DEFINITIONS), store.unit_of_work, plugins=plugins, trust_logins=True
    )
    return engine, store


def _populate(engine: Engine, count: int) -> int:
    """``count`` open appeals, then a problem that links them all by its rule (in SQL);
    the problem's id."""
    drafts = [AppealDraft("NO_NET")] * PER_CONTACT
    for _ in range(count // PER_CONTACT):
        engine.register_contact("ann", place="CC", channel="PHONE", client_id=1, drafts=drafts)
    problem = engine.problems.register(SYSTEM, "Outage", values={"REGION": "PSK"}, rule=RULE)
    return problem.id


def _one_by_one(engine: Engine, ids: list[int]) -> None:
    """The baseline: each appeal moved and its client notified, one transaction each."""
    for appeal_id in ids:

        def act(tx: Tx, appeal_id: int = appeal_id) -> None:
            appeal = tx.appeal(appeal_id)
            routing.perform(tx, appeal, "fixed", None, "resolved", tell_result=False)
            to = (f"client:{tx.contact(appeal.contact_id).client_id}",)
            tx.notify(Notification(NotificationKind.PROBLEM_RESOLVED, appeal_id, to, to, "ok"))

        engine.run(act)


def _notified(store: SqlStore) -> int:
    with store.engine.connect() as conn:
        query = sa.text("SELECT count(*) FROM crm_outbox WHERE kind = 'notification'")
        return int(conn.execute(query).scalar_one())


def _round(make: Callable[[], str], count: int) -> dict[str, float]:
    """Resolve in bulk on one copy of the data, one by one on another."""
    bulk_url, base_url = make(), make()
    bulk, bulk_store = _engine(bulk_url)
    base, base_store = _engine(base_url)
    problem_id = bulk.problems.find()[-1].id
    base_problem = base.problems.find()[-1].id
    start = time.perf_counter()
    linked = bulk.problems.link_matching(problem_id, SYSTEM)
    link_s = time.perf_counter() - start
    base.problems.link_matching(base_problem, SYSTEM)
    ids = base.problems.linked(base_problem)
    assert len(linked) == len(ids) == count, (len(linked), len(ids))
    start = time.perf_counter()
    resolved = bulk.problems.resolve(problem_id, SYSTEM, transition="fixed", batch=500)
    bulk_s = time.perf_counter() - start
    assert len(resolved.result.succeeded) == count, resolved.result.failed[:3]
    start = time.perf_counter()
    _one_by_one(base, ids)
    base_s = time.perf_counter() - start
    # One notice per client in both: the problem's (closing adds no result notice beside it).
    told = _notified(bulk_store)
    assert told == _notified(base_store) == count, told
    bulk_store.dispose()
    base_store.dispose()
    return {"link": count / link_s, "bulk": count / bulk_s, "base": count / base_s}


def _sqlite_rounds(folder: Path, count: int, rounds: int) -> list[dict[str, float]]:
    template = folder / "template.sqlite"
    engine, store = _engine(f"sqlite:///{template}")
    _populate(engine, count)
    store.dispose()
    copies = iter(range(1_000_000))

    def make() -> str:
        target = folder / f"copy-{next(copies)}.sqlite"
        shutil.copy(template, target)
        return f"sqlite:///{target}"

    return [_round(make, count) for _ in range(rounds)]


def _postgres_rounds(count: int, rounds: int) -> list[dict[str, float]]:
    """Each copy a database of its own, made from a template database."""
    admin = sa.create_engine(POSTGRES, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.OperationalError:
        return []
    base = admin.url
    made: list[str] = []
    template = f"crmcms_bench_problems_{uuid.uuid4().hex[:8]}"

    def create(name: str, source: str | None = None) -> str:
        with admin.connect() as conn:
            extra = "" if source is None else f" TEMPLATE {source}"
            conn.execute(sa.text(f'CREATE DATABASE "{name}"{extra}'))
        made.append(name)
        return base.set(database=name).render_as_string(hide_password=False)

    try:
        engine, store = _engine(create(template))
        _populate(engine, count)
        store.dispose()

        def make() -> str:
            return create(f"{template}_{len(made)}", template)

        return [_round(make, count) for _ in range(rounds)]
    finally:
        with admin.connect() as conn:
            for name in reversed(made):
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


_UPLOAD = r"""
import sys
from pathlib import Path
from crmcms import AppealDraft, Client, Engine
from crmcms.dsl import load_catalog_text
from crmcms.engine import Limits
from crmcms.plugins import make_plugin_manager
from crmcms.storage.files import DirectoryFileStore
from crmcms.storage.sql import SqlStore
from crmcms.testing.engine import FakeBilling

folder, definitions, mode = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
store = SqlStore(f"sqlite:///{folder / 'upload.sqlite'}")
plugins = make_plugin_manager([FakeBilling([Client(1, "Client")])], load_entry_points=False)
engine = Engine(
    load_catalog_text(definitions), store.unit_of_work, plugins=plugins, trust_logins=True,
    limits=Limits(attachment_size=200_000_000), file_store=DirectoryFileStore(folder / "files"),
)
made = engine.register_contact(
    "ann", place="CC", channel="PHONE", client_id=1, drafts=[AppealDraft("NO_NET")]
)
chunk = bytes(range(256)) * 4096  # 1 MiB


def content():
    for _ in range(100):
        yield chunk


if mode == "stream":
    kept = engine.attach(made.appeals[0].id, "ann", "trace.bin", content())
    assert kept.size == 100 * len(chunk), kept.size
elif mode == "bytes":  # the whole file in memory first, as a naive caller would
    whole = b"".join(content())
    kept = engine.attach(made.appeals[0].id, "ann", "trace.bin", [whole])
    assert kept.size == len(whole), kept.size
# VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the parent across exec.
print(open("/proc/self/status").read().split("VmHWM:")[1].split()[0])
"""


def _upload_rss(folder: Path, mode: str) -> float:
    """Peak resident memory of a fresh process, in MB (VmHWM is in KiB):
    ``stream`` attaches from a generator, ``bytes`` from one bytes object, ``idle`` not."""
    here = folder / mode
    here.mkdir()
    out = subprocess.run(
        [sys.executable, "-c", _UPLOAD, str(here), DEFINITIONS, mode],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    ).stdout
    return int(out.split()[-1]) / 1024


def measure(quick: bool) -> dict[str, Any]:
    count, rounds = (10_000, 1) if quick else (10_000, 3)
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        sqlite = _sqlite_rounds(folder, count, rounds)
        postgres = [] if quick else _postgres_rounds(count, rounds)
        upload = _upload_rss(folder, "stream")
        idle = _upload_rss(folder, "idle")
        whole = _upload_rss(folder, "bytes")

    def median(rows: list[dict[str, float]], key: str) -> float:
        return statistics.median(r[key] for r in rows)

    def ratio(rows: list[dict[str, float]]) -> float:
        return round(statistics.median(r["bulk"] / r["base"] for r in rows), 2)

    result: dict[str, Any] = {
        "quick": quick,
        "appeals": count,
        "rounds": rounds,
        "resolve_per_s": round(median(sqlite, "bulk")),
        "one_by_one_per_s": round(median(sqlite, "base")),
        "resolve_vs_one_by_one": ratio(sqlite),
        "link_matching_per_s": round(median(sqlite, "link")),
    }
    if postgres:
        result["pg_resolve_per_s"] = round(median(postgres, "bulk"))
        result["pg_one_by_one_per_s"] = round(median(postgres, "base"))
        result["pg_resolve_vs_one_by_one"] = ratio(postgres)
        result["pg_link_matching_per_s"] = round(median(postgres, "link"))
    result["upload_rss_mb"] = round(upload, 1)
    result["idle_rss_mb"] = round(idle, 1)
    result["upload_extra_mb"] = round(upload - idle, 1)
    result["upload_bytes_rss_mb"] = round(whole, 1)
    return result


def section(r: dict[str, Any]) -> str:
    rows = [
        "## System problems and a large upload (`benchmarks/bench_problems.py`)",
        "",
        f"A problem linked to {r['appeals']:,} open appeals (its rule run as SQL links them "
        "all); resolving it moves each along one transition and writes each client's "
        "notification to the outbox, 500 appeals a transaction with an outcome row each. The "
        "baseline moves the same appeals through the engine one transaction each, with the "
        f"same notification. Medians of {r['rounds']} round(s), each on fresh copies of the "
        "same data.",
        "",
        "| storage | resolved/s in bulk | one by one/s | ratio | linked by rule/s |",
        "|---|---|---|---|---|",
        f"| SQLite | {r['resolve_per_s']:,} | {r['one_by_one_per_s']:,} | "
        f"{r['resolve_vs_one_by_one']} | {r['link_matching_per_s']:,} |",
    ]
    if "pg_resolve_per_s" in r:
        rows.append(
            f"| PostgreSQL | {r['pg_resolve_per_s']:,} | {r['pg_one_by_one_per_s']:,} | "
            f"{r['pg_resolve_vs_one_by_one']} | {r['pg_link_matching_per_s']:,} |"
        )
    rows += [
        "",
        f"Attaching a 100 MB file streamed from a generator of 1 MiB chunks: a process peaks "
        f"at {r['upload_rss_mb']} MB resident, the same process without the upload at "
        f"{r['idle_rss_mb']} MB ({r['upload_extra_mb']} MB more): the file is never held "
        f"whole. The same upload handed over as one bytes object peaks at "
        f"{r['upload_bytes_rss_mb']} MB.",
    ]
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    return run("bench_problems", __doc__, measure, section, argv)


if __name__ == "__main__":
    sys.exit(main())
