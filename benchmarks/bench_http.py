"""The HTTP API under load: N concurrent clients register appeals and move them along their
route through ``crmcms serve`` (2 workers, PostgreSQL) for a fixed time, beside the same
operations called directly on the engine in the same run.

    python benchmarks/bench_http.py --quick     # under a minute: 50 and 200 clients, 4 s each
    python benchmarks/bench_http.py             # 20 s each

Each client, on loopback only, registers an appeal (``POST /appeals``) and hands it on
(``POST /appeals/{id}/transitions/to_sd`` under ``If-Match``), again and again. Errors are
responses other than those; lost updates are moves the clients were told succeeded that the
database does not hold (both must be 0). Needs PostgreSQL at $CRMCMS_BENCH_POSTGRES_URL.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from _databases import database
from _report import run

from crmcms.dsl import load_catalog
from crmcms.engine import AppealDraft, Engine, KeyProfile, LoginGateway
from crmcms.model import SYSTEM
from crmcms.plugins import make_plugin_manager
from crmcms.storage.sql import SqlLoginStore, SqlStore

ROOT = Path(__file__).resolve().parent.parent
DEFINITIONS = ROOT / "examples" / "telecom"
PASSWORD = "кошка на окне 2026"
BODY = {
    "topic": "TERMINATION",
    "client_id": 1,
    "place": "CC",
    "channel": "PHONE",
    "attributes": {"166": "Переезд", "168": "2026-04-01"},
}
CLIENTS = (50, 200)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Server:
    """``crmcms serve --workers 2`` on a free loopback port."""

    def __init__(self, url: str) -> None:
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
        command = [
            sys.executable,
            "-c",
            "from crmcms.entrypoints.cli import main; main()",
            "serve",
            "--db",
            url,
            "--definitions",
            str(DEFINITIONS),
            "--plugin",
            "examples.plugins.demo_directory:Directory",
            "--port",
            str(self.port),
            "--workers",
            "2",
        ]
        self.process = subprocess.Popen(command, env=env, cwd=ROOT)
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{self.base}/health/ready", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("crmcms serve did not start")
            time.sleep(0.2)

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()


async def _clients(base: str, token: str, n: int, seconds: float) -> dict[str, Any]:
    auth = {"Authorization": f"Bearer {token}"}
    latencies: list[float] = []
    counts = {"requests": 0, "errors": 0, "refused": 0, "moves": 0}
    stop = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=n, max_keepalive_connections=n)

    async with httpx.AsyncClient(base_url=base, headers=auth, limits=limits, timeout=60) as http:

        async def call(method: str, path: str, **kwargs: Any) -> httpx.Response | None:
            started = time.perf_counter()
            try:
                reply = await http.request(method, path, **kwargs)
            except httpx.HTTPError:
                counts["errors"] += 1
                return None
            latencies.append(time.perf_counter() - started)
            counts["requests"] += 1
            if reply.status_code in (409, 412):
                counts["refused"] += 1
                return None
            if reply.status_code >= 300:
                counts["errors"] += 1
                return None
            return reply

        async def client() -> None:
            while time.monotonic() < stop:
                made = await call("POST", "/appeals", json=BODY)
                if made is None:
                    continue
                appeal = made.json()
                moved = await call(
                    "POST",
                    f"/appeals/{appeal['id']}/transitions/to_sd",
                    headers={"If-Match": made.headers["etag"]},
                )
                if moved is not None:
                    counts["moves"] += 1

        started = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(n)))
        elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        **counts,
        "rps": counts["requests"] / elapsed,
        "p50_ms": 1000 * statistics.median(latencies),
        "p95_ms": 1000 * latencies[int(0.95 * (len(latencies) - 1))],
    }


def _direct(url: str, seconds: float, threads: int = 4) -> float:
    """Operations per second of the same two steps called on the engine in this process."""
    catalog = load_catalog([DEFINITIONS])
    from examples.plugins.demo_directory import Directory

    store = SqlStore(url)
    engine = Engine(catalog, store.unit_of_work, plugins=make_plugin_manager([Directory()]))
    olga = engine.trusted("olga")
    draft = AppealDraft("TERMINATION", {"166": "Переезд", "168": date(2026, 4, 1)})
    done = [0] * threads
    stop = time.monotonic() + seconds

    def work(i: int) -> None:
        while time.monotonic() < stop:
            made = engine.register_contact(
                olga, place="CC", channel="PHONE", client_id=1, drafts=[draft]
            ).appeals[0]
            engine.transition(made.id, olga, "to_sd", expected_version=made.version)
            done[i] += 2

    started = time.perf_counter()
    workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    elapsed = time.perf_counter() - started
    store.dispose()
    return sum(done) / elapsed


def _stored_moves(url: str) -> int:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        count = conn.execute(
            sa.text("SELECT count(*) FROM crm_history WHERE transition = :t"), {"t": "to_sd"}
        ).scalar_one()
    engine.dispose()
    return int(count)


def measure(quick: bool) -> dict[str, Any]:
    seconds = 4.0 if quick else 20.0
    sys.path.insert(0, str(ROOT))
    result: dict[str, Any] = {"quick": quick, "clients": list(CLIENTS)}
    errors = lost = 0
    with database("postgresql", "") as url:
        SqlStore(url).dispose()
        logins = SqlLoginStore(url)
        catalog = load_catalog([DEFINITIONS])
        LoginGateway(logins, catalog, profile=KeyProfile.CHEAPEST).set_password(
            SYSTEM, "olga", PASSWORD
        )
        logins.dispose()
        server = _Server(url)
        try:
            token = httpx.post(
                f"{server.base}/sessions", json={"login": "olga", "password": PASSWORD}
            ).json()["token"]
            for n in CLIENTS:
                before = _stored_moves(url)
                got = asyncio.run(_clients(server.base, token, n, seconds))
                stored = _stored_moves(url) - before
                errors += got["errors"]
                lost += got["moves"] - stored
                result[f"rps_{n}"] = round(got["rps"], 1)
                result[f"p50_ms_{n}"] = round(got["p50_ms"], 1)
                result[f"p95_ms_{n}"] = round(got["p95_ms"], 1)
                result[f"refused_{n}"] = got["refused"]
        finally:
            server.stop()
        direct = _direct(url, seconds)
    result["direct_ops_per_s"] = round(direct, 1)
    result["rps"] = result[f"rps_{CLIENTS[-1]}"]
    result["p95_ms"] = result[f"p95_ms_{CLIENTS[-1]}"]
    result["http_vs_direct"] = round(result["rps"] / direct, 3)
    result["errors"] = errors
    result["lost"] = lost
    return result


def section(result: dict[str, Any]) -> str:
    rows = "\n".join(
        f"| {n} | {result[f'rps_{n}']} | {result[f'p50_ms_{n}']} | {result[f'p95_ms_{n}']} |"
        for n in result["clients"]
    )
    return f"""## The HTTP API (`bench_http.py`)

Clients on loopback register appeals and hand each on (`to_sd`, under `If-Match`) through
`crmcms serve --workers 2` on PostgreSQL, for a fixed time; beside them, the same two
operations called on the engine directly by 4 threads in the same run.

| clients | requests/s | p50 ms | p95 ms |
|---|---|---|---|
{rows}

HTTP with {result["clients"][-1]} clients does {result["http_vs_direct"]}× the operations per
second of the direct calls ({result["direct_ops_per_s"]}/s). Errors other than expected
refusals: {result["errors"]}; moves the clients saw succeed but the database lacks:
{result["lost"]}."""


def main(argv: list[str] | None = None) -> int:
    return run("bench_http", __doc__, measure, section, argv)


if __name__ == "__main__":
    sys.exit(main())
