"""A real ``crmcms serve`` process on 127.0.0.1 and a free port, for the tests that need one."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from crmcms.dsl import load_catalog
from crmcms.engine import KeyProfile, LoginGateway
from crmcms.model import SYSTEM
from crmcms.storage.sql import SqlLoginStore, SqlStore

ROOT = Path(__file__).resolve().parents[1]
DEFINITIONS = ROOT / "examples" / "telecom"
PASSWORD = "кошка на окне 2026"
DIRECTORY = "examples.plugins.demo_directory:Directory"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def give_passwords(url: str, logins: tuple[str, ...] = ("olga", "bis")) -> None:
    """Bring the schema up and give ``logins`` :data:`PASSWORD` (cheap keys, for tests)."""
    SqlStore(url).dispose()
    store = SqlLoginStore(url)
    gateway = LoginGateway(store, load_catalog([DEFINITIONS]), profile=KeyProfile.CHEAPEST)
    for login in logins:
        gateway.set_password(SYSTEM, login, PASSWORD)
    store.dispose()


@contextmanager
def crmcms_serve(url: str, *, workers: int = 1) -> Iterator[str]:
    """``crmcms serve`` on ``url`` with the seed's definitions; yields its base URL and
    stops it (SIGTERM) afterwards."""
    port = free_port()
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
        DIRECTORY,
        "--port",
        str(port),
        "--workers",
        str(workers),
    ]
    process = subprocess.Popen(command, env=env, cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"crmcms serve exited with {process.returncode}")
            try:
                if httpx.get(f"{base}/health/ready", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("crmcms serve did not become ready in 60 s")
            time.sleep(0.2)
        yield base
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
